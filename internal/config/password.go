package config

import "time"

// Password configures the permanent password's life.
type Password struct {
	// Lifetime is how long a password lasts once set; after it the citizen
	// must choose a new one to sign in with it. 0 (the default): passwords
	// do not expire. Cl@ve uses one year (8760h).
	Lifetime time.Duration `yaml:"lifetime"`
	// ExpiryWarning is how long before expiry the citizen is warned: a page
	// after sign-in (go on, or change it now) and an email and SMS notice.
	ExpiryWarning time.Duration `yaml:"expiry_warning"`
}

func (ps *problems) password(c *Config) {
	if c.Password.Lifetime < 0 {
		ps.add("password.lifetime", "must not be negative (0 turns expiry off)")
	}
	if c.Password.ExpiryWarning < 0 {
		ps.add("password.expiry_warning", "must not be negative")
	}
	if c.Password.Lifetime > 0 && c.Password.ExpiryWarning >= c.Password.Lifetime {
		ps.add("password.expiry_warning", "must be shorter than password.lifetime")
	}
}
