package account_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/method/permanent"
)

// The security pages in Chromium, in Catalan, Spanish and English: the
// expiry warning after sign-in, history, sessions (ending another one),
// recovery, the reset page refused in a password session, and renounce
// with a wrong and then a right confirmation. Every page passes axe-core.
func TestSecurityPagesInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)
	s := newSecSite(t, permanent.Lifecycle{Lifetime: 365 * 24 * time.Hour, Warning: 30 * 24 * time.Hour})
	s.activate()
	s.clock.Add(340 * 24 * time.Hour)
	for _, tc := range []struct{ lang, history, sessions, recover, renounce, wrong string }{
		{"ca", "Historial d'accessos", "Sessions obertes", "Recuperar l'accés", "Donar-se de baixa", "ni el vostre DNI/NIE"},
		{"es", "Historial de accesos", "Sesiones abiertas", "Recuperar el acceso", "Darse de baja", "ni su DNI/NIE"},
		{"en", "Sign-in history", "Open sessions", "Recover your access", "Cancel your registration", "neither your DNI/NIE"},
	} {
		b.SetLanguage(t, tc.lang)
		other := s.browser(tc.lang)
		if _, p, _ := s.signIn(other, good); strings.HasSuffix(p, "/renew") {
			other.post(s.url+p, "action", "keep") // a session elsewhere, the one to end
		}
		b.Open(t, s.url+"/login?method=permanent&prompt=login&continue=/me")
		b.Fill(t, "#document", "12345678Z")
		b.Fill(t, "#password", good)
		b.Submit(t, "#password")
		if !strings.HasSuffix(b.URL(t), "/renew") || !strings.Contains(b.Text(t, "#renew-state"), "2027") {
			t.Fatalf("%s: no expiry warning, at %s", tc.lang, b.URL(t))
		}
		b.AssertAccessible(t)
		b.Click(t, "button[value=keep]")
		if !strings.HasSuffix(b.URL(t), "/me") {
			t.Fatalf("%s: going on ended at %s", tc.lang, b.URL(t))
		}
		b.AssertAccessible(t)

		b.Click(t, "a[href='/me/history']")
		if got := b.Text(t, "h1"); got != tc.history || b.Text(t, "#history tbody tr") == "" {
			t.Fatalf("%s: history h1 %q", tc.lang, got)
		}
		b.AssertAccessible(t)

		b.Open(t, s.url+"/me/sessions")
		if got := b.Text(t, "h1"); got != tc.sessions || b.Text(t, "li[aria-current=true] h2") == "" {
			t.Fatalf("%s: sessions h1 %q", tc.lang, got)
		}
		b.AssertAccessible(t)
		b.Click(t, "#sessions li:not([aria-current]) button")
		if b.Text(t, "p[role=status]") == "" {
			t.Fatalf("%s: ending a session not confirmed", tc.lang)
		}
		b.AssertAccessible(t)

		b.Open(t, s.url+"/recover")
		if got := b.Text(t, "h1"); got != tc.recover || b.Text(t, "#recover-certificate") == "" {
			t.Fatalf("%s: recover h1 %q", tc.lang, got)
		}
		b.AssertAccessible(t)
		b.Open(t, s.url+"/me/password/reset")
		if b.Text(t, "#error-summary") == "" {
			t.Fatalf("%s: reset in a password session not refused", tc.lang)
		}
		b.AssertAccessible(t)

		b.Open(t, s.url+"/me/renounce")
		if got := b.Text(t, "h1"); got != tc.renounce {
			t.Fatalf("%s: renounce h1 %q", tc.lang, got)
		}
		b.AssertAccessible(t)
		b.Fill(t, "#confirm", "87654321X")
		b.Submit(t, "#confirm")
		if !strings.Contains(b.Text(t, "#confirm-error"), tc.wrong) || b.Text(t, "#error-summary") == "" {
			t.Fatalf("%s: wrong confirmation not shown", tc.lang)
		}
		b.AssertAccessible(t)
	}
	b.Fill(t, "#confirm", "12345678Z")
	b.Submit(t, "#confirm")
	if b.Text(t, "p[role=status]") == "" {
		t.Fatal("renounce not confirmed")
	}
	b.AssertAccessible(t)
	b.Open(t, s.url+"/me")
	if !strings.Contains(b.URL(t), "/login") {
		t.Fatalf("signed in after renouncing: %s", b.URL(t))
	}
}
