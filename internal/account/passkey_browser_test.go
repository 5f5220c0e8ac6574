package account_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
)

// Passkeys end to end in Chromium with its DevTools virtual authenticator
// (resident keys, user verification): the citizen signs in at substantial,
// creates a passkey on the account page, signs out, signs in with the
// passkey from the chooser without typing the DNI, removes it, and the
// removed passkey is refused. Every page passes axe.
func TestPasskeyInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)
	s := newSiteWith(t, allMethods())
	s.activateAndSignIn(s.browser("ca"), "/me") // the account exists and has a password
	auth := b.AddVirtualAuthenticator(t)
	b.SetLanguage(t, "ca")

	// Sign in at substantial with the password and the SMS code.
	b.Open(t, s.origin+"/login?continue=/me/passkeys&loa=substantial&method=permanent")
	b.Fill(t, "#document", "12345678Z")
	b.Fill(t, "#password", good)
	b.Submit(t, "#password")
	b.Fill(t, "#code", s.lastSMS())
	b.Submit(t, "#code")
	if !strings.HasSuffix(b.URL(t), "/me/passkeys") {
		t.Fatalf("after sign-in at %s", b.URL(t))
	}
	if b.Text(t, "#no-passkeys") == "" {
		t.Fatal("a new account lists passkeys")
	}
	b.AssertAccessible(t)

	// Create a passkey.
	b.Fill(t, "#name", "Portàtil")
	b.Click(t, "#passkey-form button[type=submit]")
	if !strings.Contains(b.URL(t), "done=added") {
		t.Fatalf("creating the passkey ended at %s, status %q, error %q", b.URL(t), b.Text(t, "#passkey-status"), errorText(t, b))
	}
	if got := b.Text(t, ".passkey strong"); got != "Portàtil" {
		t.Fatalf("listed passkey %q", got)
	}
	b.AssertAccessible(t)
	if got := b.Text(t, ".passkey .passkey-level"); got != "Nivell de seguretat: Substancial" {
		t.Fatalf("listed level %q", got)
	}
	if creds := auth.Credentials(t); len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("authenticator holds %d credentials", len(creds))
	}

	// Sign out, then in with the passkey: no document typed.
	b.Open(t, s.origin+"/me")
	b.Click(t, "main form[action='/logout'] button")
	b.Open(t, s.origin+"/login?continue=/me&loa=substantial")
	b.AssertAccessible(t)
	b.Click(t, "#method-passkey a")
	if !strings.HasSuffix(b.URL(t), "/passkey") {
		t.Fatalf("chose the passkey, at %s", b.URL(t))
	}
	b.AssertAccessible(t)
	b.Click(t, "#passkey-form button[type=submit]")
	if got := b.Text(t, "#loa"); got != "Substancial" {
		t.Fatalf("level after the passkey %q at %s (%q)", got, b.URL(t), errorText(t, b))
	}
	if got := b.Text(t, "#methods"); got != "Clau d'accés" {
		t.Fatalf("methods shown %q", got)
	}
	keys, _ := s.store.PasskeysOf(context.Background(), mustCitizen(t, s).ID)
	if len(keys) != 1 || keys[0].LastUsedAt.IsZero() || keys[0].SignCount == 0 {
		t.Fatalf("stored passkey after use: %+v", keys)
	}

	// Remove it; it no longer signs anyone in.
	b.Open(t, s.origin+"/me/passkeys")
	b.Click(t, ".passkey form button")
	if !strings.Contains(b.URL(t), "done=removed") || b.Text(t, "#no-passkeys") == "" {
		t.Fatalf("removal ended at %s", b.URL(t))
	}
	b.Open(t, s.origin+"/login?continue=/me&loa=substantial&prompt=login&method=passkey")
	b.Click(t, "#passkey-form button[type=submit]")
	if got := errorText(t, b); !strings.Contains(got, "No s'ha pogut verificar la clau d'accés") {
		t.Fatalf("removed passkey: %q at %s", got, b.URL(t))
	}
	b.AssertAccessible(t)
	if s.audited("passkey.login_fail") != 1 || s.audited("passkey.remove") != 1 || s.audited("passkey.register") != 1 {
		t.Fatal("passkey events not audited")
	}
}

func errorText(t *testing.T, b *browsertest.Browser) string {
	var s string
	b.Eval(t, `(document.getElementById("error-summary") || {}).innerText || ""`, &s)
	return s
}
