package account_test

import (
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
)

// The method chooser in a real browser, in Catalan, Spanish and English:
// it lists the methods with their explanations, the "no method" refusal
// is announced, and every page passes axe-core (WCAG 2.1 AA).
func TestChooserIsAccessible(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)
	s := newSiteWith(t, allMethods())
	for _, tc := range []struct{ lang, h1, pin string }{
		{"ca", "Accediu amb Clau", "Clau PIN"},
		{"es", "Acceda con Clau", "Clau PIN"},
		{"en", "Sign in with Clau", "Clau PIN"},
	} {
		b.SetLanguage(t, tc.lang)
		b.Open(t, s.url+"/login?continue=/me")
		if got := b.Text(t, "h1"); got != tc.h1 {
			t.Fatalf("%s: h1 %q", tc.lang, got)
		}
		if got := b.Text(t, "#method-pin a"); !strings.HasPrefix(got, tc.pin) {
			t.Fatalf("%s: PIN entry %q", tc.lang, got)
		}
		b.AssertAccessible(t)
		b.Click(t, "#method-permanent a")
		if !strings.HasSuffix(b.URL(t), "/permanent") {
			t.Fatalf("%s: chose the password, at %s", tc.lang, b.URL(t))
		}
		b.AssertAccessible(t)
		b.Open(t, s.url+"/login?continue=/me")
		if got := b.Text(t, "main li:first-child .last-used"); got == "" {
			t.Fatalf("%s: last choice not marked first", tc.lang)
		}
		b.AssertAccessible(t)
		b.Open(t, s.url+"/login?continue=/me&loa=high&methods=pin")
		if b.Text(t, "#error-summary") == "" {
			t.Fatalf("%s: no-method refusal not announced", tc.lang)
		}
		b.AssertAccessible(t)
	}
}
