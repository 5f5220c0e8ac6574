package config

import "time"

// PIN configures the Cl@ve-PIN-style method (one-time PIN by SMS after a
// check of the identity document's data).
type PIN struct {
	// Enabled offers the method in the sign-in chooser and the PIN pages.
	Enabled bool `yaml:"enabled"`
	// Validity is how long the PIN service stays on after a citizen or an
	// officer enables or renews it.
	Validity time.Duration `yaml:"validity"`
	// NoticeBefore is how long before the service expires the citizen is
	// told by SMS and email.
	NoticeBefore time.Duration `yaml:"notice_before"`
	// LoA is the level a PIN sign-in reaches: low (the default) or substantial.
	LoA string `yaml:"loa"`
}

// Passkey configures sign-in with passkeys (WebAuthn).
type Passkey struct {
	// Enabled offers passkeys in the chooser and on the account page.
	Enabled bool `yaml:"enabled"`
	// RPID is the WebAuthn relying party ID: the public_url's host or a
	// registrable suffix of it. Empty: the public_url's host. Changing it
	// orphans every registered passkey.
	RPID string `yaml:"rp_id"`
	// LoA is the level a passkey sign-in (with user verification) reaches:
	// substantial (the default) or high.
	LoA string `yaml:"loa"`
}

func (ps *problems) quickSignIn(c *Config) {
	ps.positive("pin.validity", int64(c.PIN.Validity))
	ps.positive("pin.notice_before", int64(c.PIN.NoticeBefore))
	if c.PIN.Validity > 0 && c.PIN.NoticeBefore >= c.PIN.Validity {
		ps.add("pin.notice_before", "must be shorter than pin.validity")
	}
	ps.oneOf("pin.loa", c.PIN.LoA, "low", "substantial")
	ps.oneOf("passkey.loa", c.Passkey.LoA, "substantial", "high")
}
