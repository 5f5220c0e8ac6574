package config

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

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
	// substantial (the default) or high. Levels may raise or lower it per
	// authenticator model.
	LoA string `yaml:"loa"`
	// Attestation is what registration asks the authenticator to prove
	// about itself: none (the default), indirect or direct. Levels above
	// LoA need indirect or direct.
	Attestation string `yaml:"attestation"`
	// Levels set the level of passkeys made by some authenticator models.
	// From the environment, CLAU_PASSKEY_LEVELS holds the whole list as
	// YAML or JSON.
	Levels []PasskeyLevel `yaml:"levels"`
}

// PasskeyLevel is the level of the passkeys of some authenticator models,
// computed at each sign-in from the passkey as registered.
type PasskeyLevel struct {
	// AAGUIDs name the authenticator models (from the vendor or the FIDO
	// metadata service), e.g. "cb69481e-8ff7-4039-93ec-0a2729a154a8".
	AAGUIDs []string `yaml:"aaguids"`
	// LoA is low, substantial or high.
	LoA string `yaml:"loa"`
	// Roots are PEM files of the vendors' attestation roots. Required for a
	// level above passkey.loa: it counts only when the passkey's attestation
	// statement verified to one of them; self-attestation and "none" never
	// get more than passkey.loa.
	Roots []string `yaml:"roots"`
}

func (ps *problems) quickSignIn(c *Config) {
	ps.positive("pin.validity", int64(c.PIN.Validity))
	ps.positive("pin.notice_before", int64(c.PIN.NoticeBefore))
	if c.PIN.Validity > 0 && c.PIN.NoticeBefore >= c.PIN.Validity {
		ps.add("pin.notice_before", "must be shorter than pin.validity")
	}
	ps.oneOf("pin.loa", c.PIN.LoA, "low", "substantial")
	ps.oneOf("passkey.loa", c.Passkey.LoA, "substantial", "high")
	ps.oneOf("passkey.attestation", c.Passkey.Attestation, "none", "indirect", "direct")
	rank := map[string]int{"low": 1, "substantial": 2, "high": 3}
	seen, needsAttestation := map[uuid.UUID]bool{}, false
	for i, l := range c.Passkey.Levels {
		key := fmt.Sprintf("passkey.levels[%d]", i)
		ps.oneOf(key+".loa", l.LoA, "low", "substantial", "high")
		if len(l.AAGUIDs) == 0 {
			ps.add(key+".aaguids", "list at least one AAGUID")
		}
		for _, a := range l.AAGUIDs {
			id, err := uuid.Parse(a)
			switch {
			case err != nil || id == uuid.Nil:
				ps.add(key+".aaguids", fmt.Sprintf("%q is not an authenticator AAGUID (e.g. cb69481e-8ff7-4039-93ec-0a2729a154a8)", a))
			case seen[id]:
				ps.add(key+".aaguids", fmt.Sprintf("%s is in an earlier rule", a))
			}
			seen[id] = true
		}
		if rank[l.LoA] > rank[c.Passkey.LoA] {
			if len(l.Roots) == 0 {
				ps.add(key+".roots", "a level above passkey.loa needs the PEM files of the vendors' attestation roots")
			}
			needsAttestation = true
		}
	}
	if needsAttestation && c.Passkey.Attestation == "none" {
		ps.add("passkey.attestation", "levels above passkey.loa need indirect or direct attestation")
	}
}
