package account_test

import (
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/i18n"
)

// The account pages in Chromium, in Catalan, Spanish and English: the
// overview, a change of email with a wrong and then the right code, a
// refused change of password, and the page that turns away a change of
// mobile after a password sign-in; then, after a passkey sign-in, a change
// of mobile. Every page, with and without errors, passes axe-core.
func TestAccountPagesInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)
	s := newSiteWith(t, allMethods())
	s.activateAndSignIn(s.browser("ca"), "/me") // the account exists and has a password
	cat := i18n.MustLoad()
	auth := b.AddVirtualAuthenticator(t)

	b.SetLanguage(t, "ca")
	b.Open(t, s.origin+"/login?continue=/me&loa=substantial&method=permanent")
	b.Fill(t, "#document", "12345678Z")
	b.Fill(t, "#password", good)
	b.Submit(t, "#password")
	b.Fill(t, "#code", s.lastSMS())
	b.Submit(t, "#code")

	for _, lang := range []string{"ca", "es", "en"} {
		tr := func(id string) string { return cat.T(lang, id, nil) }
		b.SetLanguage(t, lang)

		b.Open(t, s.origin+"/me")
		if got := b.Text(t, "h1"); got != tr("me.title") {
			t.Fatalf("%s: overview h1 %q", lang, got)
		}
		if got := b.Text(t, "#document"); got != "***4567*" {
			t.Fatalf("%s: document shown %q", lang, got)
		}
		b.AssertAccessible(t)

		// Email: a malformed address, then a real one, a wrong code, the code.
		b.Click(t, "#account-links a[href='/me/email']")
		b.AssertAccessible(t)
		b.Fill(t, "#email", "not an address")
		b.Submit(t, "#email")
		if b.Text(t, "#error-summary") == "" || b.Text(t, "#email-error") == "" {
			t.Fatalf("%s: malformed email not announced", lang)
		}
		b.AssertAccessible(t)
		to := "nuria." + lang + "@example.net"
		b.Fill(t, "#email", to)
		b.Submit(t, "#email")
		if got := b.Text(t, "h1"); got != tr("me_email.code_title") {
			t.Fatalf("%s: code page h1 %q at %s", lang, got, b.URL(t))
		}
		b.AssertAccessible(t)
		b.Fill(t, "#code", "00000")
		b.Submit(t, "#code")
		if b.Text(t, "#code-error") == "" {
			t.Fatalf("%s: wrong code not shown beside the field", lang)
		}
		b.AssertAccessible(t)
		b.Fill(t, "#code", sixDigits.FindString(s.outboxTo(to)[0].Body))
		b.Submit(t, "#code")
		if got := b.Text(t, "#done"); got != tr("me_overview.done_email") {
			t.Fatalf("%s: after the change %q at %s", lang, got, b.URL(t))
		}
		b.AssertAccessible(t)

		// Password: a wrong current one and a weak new one.
		b.Open(t, s.origin+"/me/password")
		b.AssertAccessible(t)
		b.Fill(t, "#current_password", "Not-the-one-9")
		b.Fill(t, "#password", "short")
		b.Fill(t, "#password_again", "short")
		b.Submit(t, "#password")
		if b.Text(t, "#password-error") == "" || b.Text(t, "#error-summary") == "" {
			t.Fatalf("%s: weak password not announced", lang)
		}
		b.AssertAccessible(t)

		// Mobile after a password sign-in: the way to do it instead.
		b.Open(t, s.origin+"/me/mobile")
		if got := b.Text(t, "h1"); got != tr("me_mobile.weak_title") {
			t.Fatalf("%s: mobile page h1 %q", lang, got)
		}
		b.AssertAccessible(t)
	}

	// A passkey, then a sign-in with it through the mobile page's link.
	b.Open(t, s.origin+"/me/passkeys")
	b.Fill(t, "#name", "Portàtil")
	b.Click(t, "#passkey-form button[type=submit]")
	if !strings.Contains(b.URL(t), "done=added") {
		t.Fatalf("creating the passkey ended at %s", b.URL(t))
	}
	if creds := auth.Credentials(t); len(creds) != 1 {
		t.Fatalf("authenticator holds %d credentials", len(creds))
	}
	b.Open(t, s.origin+"/me/mobile")
	b.Click(t, "#step-up")
	b.Click(t, "#method-passkey a")
	b.Click(t, "#passkey-form button[type=submit]")
	if !strings.HasSuffix(b.URL(t), "/me/mobile") {
		t.Fatalf("the passkey sign-in ended at %s (%q)", b.URL(t), errorText(t, b))
	}
	b.AssertAccessible(t)
	b.Fill(t, "#mobile", "12")
	b.Submit(t, "#mobile")
	if b.Text(t, "#mobile-error") == "" {
		t.Fatal("malformed mobile not shown beside the field")
	}
	b.AssertAccessible(t)
	b.Fill(t, "#mobile", "699 111 222")
	b.Submit(t, "#mobile")
	b.AssertAccessible(t)
	b.Fill(t, "#code", sixDigits.FindString(s.outboxTo("+34699111222")[0].Body))
	b.Submit(t, "#code")
	if got := b.Text(t, "#mobile"); !strings.HasSuffix(got, "222") {
		t.Fatalf("mobile shown after the change %q at %s", got, b.URL(t))
	}
	b.AssertAccessible(t)
}
