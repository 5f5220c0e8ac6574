package oidc_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/oidc"
)

// The provider's error pages (an unknown service, an unregistered
// redirect URI) in a real browser, in each language: they say why, stay
// on Clau, and pass axe-core's WCAG 2.1 AA rules.
func TestErrorPagesAreAccessible(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newSite(t)
	r := newRP(t, s, "ajuntament", rpSecret)
	b := browsertest.New(t)
	for _, lang := range []string{"ca", "es", "en"} {
		for _, u := range []string{
			strings.Replace(r.start().url, "client_id=ajuntament", "client_id=nobody", 1),
			strings.Replace(r.start().url, url.QueryEscape(rpRedirect), url.QueryEscape("https://evil.example/cb"), 1),
		} {
			b.Open(t, u+"&lang="+lang)
			if got := b.URL(t); !strings.HasPrefix(got, s.url) {
				t.Fatalf("left Clau for %s", got)
			}
			var htmlLang string
			b.Eval(t, `document.documentElement.lang`, &htmlLang)
			if htmlLang != lang || b.Text(t, "h1") == "" || b.Text(t, "[role=alert]") == "" {
				t.Errorf("error page in %q for %s", htmlLang, lang)
			}
			b.AssertAccessible(t)
		}
	}
}

// A service's sign-in in a real browser, in each language: the page says
// which service asked and passes axe-core's WCAG 2.1 AA rules.
func TestSignInPageNamesTheServiceAccessibly(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := newSite(t, withClients(oidc.ClientConfig{ID: "girona", Name: "Ajuntament de Girona", Secret: rpSecret,
		RedirectURIs: []string{rpRedirect}}))
	r := newRP(t, s, "girona", rpSecret)
	b := browsertest.New(t)
	for lang, want := range map[string]string{"ca": "Esteu accedint a Ajuntament de Girona",
		"es": "Está accediendo a Ajuntament de Girona", "en": "Signing in to Ajuntament de Girona"} {
		b.Open(t, r.start(oauth2.SetAuthURLParam("ui_locales", lang)).url)
		if u, _ := url.Parse(b.URL(t)); u == nil || !signInPath.MatchString(u.Path) {
			t.Fatalf("authorize ended at %s", b.URL(t))
		}
		if got := b.Text(t, "#service"); got != want {
			t.Errorf("%s: the page says %q, want %q", lang, got, want)
		}
		b.AssertAccessible(t)
	}
}
