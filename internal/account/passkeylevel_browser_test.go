package account_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/method/passkey"
)

// Passkey level by attestation, end to end in Chromium: its virtual
// authenticator answers a "direct" registration with a packed attestation
// (its batch certificate and a fixed AAGUID). Registered while no rule
// names that model, the passkey is substantial; once the operator adds a
// rule for the AAGUID with that certificate as the vendor root, the same
// passkey signs in at high and the account page says it is certified.
func TestPasskeyLevelByAttestationInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)
	direct := func(c *siteConfig) { c.passkey = func(o *passkey.Options) { o.Attestation = "direct" } }
	a := newSiteWith(t, allMethods(), direct)
	a.activateAndSignIn(a.browser("ca"), "/me")
	b.AddVirtualAuthenticator(t)
	b.SetLanguage(t, "ca")
	b.Open(t, a.origin+"/login?continue=/me/passkeys&loa=substantial&method=permanent")
	b.Fill(t, "#document", "12345678Z")
	b.Fill(t, "#password", good)
	b.Submit(t, "#password")
	b.Fill(t, "#code", a.lastSMS())
	b.Submit(t, "#code")
	b.Fill(t, "#name", "Clau USB")
	b.Click(t, "#passkey-form button[type=submit]")
	if !strings.Contains(b.URL(t), "done=added") {
		t.Fatalf("creating the passkey ended at %s (%q)", b.URL(t), errorText(t, b))
	}
	if got := b.Text(t, ".passkey .passkey-level"); got != "Nivell de seguretat: Substancial" {
		t.Fatalf("level with no rule: %q", got)
	}

	// What Chromium's authenticator proved: its model and its certificate.
	keys, _ := a.store.PasskeysOf(context.Background(), mustCitizen(t, a).ID)
	var cred webauthn.Credential
	if len(keys) != 1 || json.Unmarshal(keys[0].Credential, &cred) != nil {
		t.Fatalf("stored passkeys %+v", keys)
	}
	var obj struct {
		Fmt     string         `cbor:"fmt"`
		AttStmt map[string]any `cbor:"attStmt"`
	}
	if err := webauthncbor.Unmarshal(cred.Attestation.Object, &obj); err != nil || obj.Fmt != "packed" || cred.AttestationType != "basic_full" {
		t.Fatalf("Chromium's attestation: %s %s %v", obj.Fmt, cred.AttestationType, err)
	}
	x5c, _ := obj.AttStmt["x5c"].([]any)
	der, _ := x5c[0].([]byte)
	batch, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)

	// The operator's new rule, on the same data: a second server.
	high := broker.NewRegistry(broker.MethodInfo{Name: broker.MethodPermanent, MaxLoA: broker.Substantial, Enabled: true},
		broker.MethodInfo{Name: broker.MethodPasskey, MaxLoA: broker.High, Enabled: true})
	rules := func(c *siteConfig) {
		c.store = a.store
		c.passkey = func(o *passkey.Options) {
			o.Attestation = "direct"
			o.Levels = []passkey.LevelRule{{AAGUIDs: []uuid.UUID{aaguid}, LoA: broker.High, Roots: []*x509.Certificate{batch}}}
		}
	}
	s := newSiteWith(t, high, rules)
	b.Open(t, s.origin+"/login?continue=/me&loa=high&prompt=login&method=passkey")
	b.Click(t, "#passkey-form button[type=submit]")
	if got := b.Text(t, "#loa"); got != "Alt" {
		t.Fatalf("level after the certified passkey %q at %s (%q)", got, b.URL(t), errorText(t, b))
	}
	b.Open(t, s.origin+"/me/passkeys")
	if got := b.Text(t, ".passkey .passkey-level"); got != "Nivell de seguretat: Alt (autenticador certificat)" {
		t.Fatalf("level with the rule: %q", got)
	}
	b.AssertAccessible(t)
}
