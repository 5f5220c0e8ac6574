package saml_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
)

// TestBrowserCrossSite: in Chromium, a service on another site posts a
// signed AuthnRequest to Clau (through its cross-origin protection), the
// citizen signs in, the auto-submitting form (static script, under a CSP
// whose form-action names the service) delivers the response, which the
// service verifies with gosaml2; a second sign-in from the service is
// answered by SSO, because the SameSite=Lax session cookie travels on
// the 303 hop. The pages pass axe-core's WCAG 2.1 AA rules.
func TestBrowserCrossSite(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)

	var handler http.Handler
	spSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(spSrv.Close)
	// "localhost" is another site than Clau's 127.0.0.1: a real cross-site post.
	spBase := strings.Replace(spSrv.URL, "127.0.0.1", "localhost", 1)
	sp := newTestSP(t, "ajuntament", false)
	sp.acs = spBase + "/acs"
	s := newSite(t, sp)
	c := sp.client(s)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		req := authnRequest(t, c)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Ajuntament</title></head><body><main>
<h1>Ajuntament</h1><form method="post" action="%s/saml/sso" id="go">
<input type="hidden" name="SAMLRequest" value="%s"><button type="submit">Sign in with Clau</button></form></main></body></html>`,
			s.url, html.EscapeString(encode(req)))
	})
	mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		info, err := c.RetrieveAssertionInfo(r.PostFormValue("SAMLResponse"))
		if err != nil {
			fmt.Fprintf(w, `<p id="sp-error">%s</p>`, html.EscapeString(err.Error()))
			return
		}
		fmt.Fprintf(w, `<p id="sp-ok">%s</p>`, html.EscapeString(info.Values.Get("http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier")))
	})
	handler = mux

	b.SetLanguage(t, "ca")
	b.Open(t, spBase+"/")
	b.Submit(t, "#go")
	if u := b.URL(t); !strings.HasPrefix(u, s.url+"/login") {
		t.Fatalf("the cross-site post ended at %s: %s", u, b.Text(t, "body"))
	}
	if got := b.Text(t, "#service"); got != "Esteu accedint a Test SP" {
		t.Errorf("the sign-in page names the service as %q", got)
	}
	b.AssertAccessible(t)
	b.Fill(t, "#document", document)
	b.Fill(t, "#password", password)
	b.Submit(t, "#password")
	b.WaitVisible(t, "#sp-ok, #sp-error")
	if got := b.Text(t, "body"); !strings.Contains(got, "ES/ES/"+document) {
		t.Fatalf("the service got: %s (at %s)", got, b.URL(t))
	}

	// SSO: the service asks again; no password.
	b.Open(t, spBase+"/")
	b.Submit(t, "#go")
	b.WaitVisible(t, "#sp-ok, #sp-error")
	if got := b.Text(t, "body"); !strings.Contains(got, "ES/ES/"+document) {
		t.Fatalf("SSO: the service got: %s (at %s)", got, b.URL(t))
	}

	// The refusal page, in each language.
	for _, lang := range []string{"ca", "es", "en"} {
		b.SetLanguage(t, lang)
		b.Open(t, s.url+"/saml/sso?SAMLRequest=bm90LXhtbA")
		var htmlLang string
		b.Eval(t, `document.documentElement.lang`, &htmlLang)
		if htmlLang != lang {
			t.Errorf("error page in %q, want %q", htmlLang, lang)
		}
		b.AssertAccessible(t)
	}
}
