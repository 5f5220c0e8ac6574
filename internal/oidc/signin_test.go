package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/store"
)

// Every page of a sign-in a service asked for names the service, in the
// citizen's language, escaped: its configured name, or its client ID when
// it has none.
func TestSignInPagesNameTheService(t *testing.T) {
	s := newSite(t, withClients(
		oidc.ClientConfig{ID: "girona", Name: "Ajuntament <b>de</b> Girona", Secret: rpSecret, RedirectURIs: []string{rpRedirect}},
		oidc.ClientConfig{ID: "sense-nom", Secret: rpSecret, RedirectURIs: []string{rpRedirect}},
	))
	const girona = "Ajuntament &lt;b&gt;de&lt;/b&gt; Girona"
	for _, c := range []struct {
		client, lang, want string
	}{
		{"girona", "ca", "Esteu accedint a " + girona},
		{"girona", "es", "Está accediendo a " + girona},
		{"girona", "en", "Signing in to " + girona},
		{"sense-nom", "en", "Signing in to sense-nom"},
	} {
		t.Run(c.client+"/"+c.lang, func(t *testing.T) {
			r := newRP(t, s, c.client, rpSecret)
			b := newBrowser(t)
			st := r.start(oauth2.SetAuthURLParam("ui_locales", c.lang),
				oauth2.SetAuthURLParam("acr_values", broker.Substantial.URI()))
			a := b.do("GET", st.url, nil)
			if !signInPath.MatchString(a.url.Path) || !strings.Contains(a.body, `<p class="service" id="service">`+c.want+`</p>`) {
				t.Fatalf("password page at %s does not say %q:\n%.2000s", a.url, c.want, a.body)
			}
			if strings.Contains(a.body, "<b>de</b>") {
				t.Fatal("the service's name went into the page unescaped")
			}
			// The SMS step of the same sign-in names it too.
			a = b.signIn(s, a)
			if !strings.HasSuffix(a.url.Path, "/sms") || !strings.Contains(a.body, c.want) {
				t.Fatalf("SMS page at %s does not say %q:\n%.2000s", a.url, c.want, a.body)
			}
			code(t, b.do("POST", s.url+a.url.Path, url.Values{"code": {s.lastSMS()}}), st)
		})
	}
}

// authRequestID opens the service's authorize URL without following
// Clau's redirects and returns the ID of the auth request it stored, as
// someone reading the browser's address bar would.
func (b *browser) authRequestID(st start) string {
	b.t.Helper()
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(st.url)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("id") == "" {
		b.t.Fatalf("authorize answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("id")
}

// A sign-in started by hand on Clau's own pages (/login?loa=low with the
// service's continue path) cannot answer a request that asked for level
// substantial: back at /oidc/continue the service's own transaction is
// not done, so the citizen is asked for what is missing (the SMS code)
// before the service gets a code.
func TestForgedLocalSignInCannotAnswerTheService(t *testing.T) {
	s := newSite(t)
	r := newRP(t, s, "ajuntament", rpSecret)
	b := newBrowser(t)
	st := r.start(oauth2.SetAuthURLParam("acr_values", broker.Substantial.URI()))
	id := b.authRequestID(st)
	if a := b.do("GET", s.url+"/oidc/login?id="+id, nil); !actionRE.MatchString(a.body) {
		t.Fatalf("no sign-in form at %s", a.url)
	}
	forged := s.url + "/login?loa=low&continue=" + url.QueryEscape("/oidc/continue?id="+id)
	a := b.signIn(s, b.do("GET", forged, nil))
	if a.location != nil && a.location.Host == "rp.example" {
		t.Fatalf("a sign-in at level low answered the service: %v", a.location)
	}
	if !strings.HasSuffix(a.url.Path, "/sms") {
		t.Fatalf("after the forged sign-in: %d at %s", a.status, a.url)
	}
	_, _, cl := r.exchange(t, code(t, b.do("POST", s.url+a.url.Path, url.Values{"code": {s.lastSMS()}}), st), st)
	if cl.ACR != broker.Substantial.URI() {
		t.Fatalf("acr %s", cl.ACR)
	}
}

// Two tabs, two services: the sign-in finished in one tab does not
// complete the other tab's request. That request gets its own
// transaction (here answered from the SSO session), recorded for its own
// service.
func TestEachRequestIsAnsweredByItsOwnTransaction(t *testing.T) {
	s := newSite(t)
	ra, rb := newRP(t, s, "ajuntament", rpSecret), newRP(t, s, "ajuntament-jwt", rpSecret)
	br := newBrowser(t)
	stA := ra.start()
	idA := br.authRequestID(stA)
	if a := br.do("GET", s.url+"/oidc/login?id="+idA, nil); !actionRE.MatchString(a.body) {
		t.Fatalf("tab A: no sign-in form at %s", a.url)
	}
	stB := rb.start()
	rb.exchange(t, code(t, br.authorize(s, stB), stB), stB)

	logins := func() map[string][]string { // service → methods of its login.ok events
		out := map[string][]string{}
		_ = s.store.ScanAudit(context.Background(), 0, func(e store.AuditEvent) error {
			if e.Action == "login.ok" {
				out[e.Details["sp"]] = append(out[e.Details["sp"]], e.Details["method"])
			}
			return nil
		})
		return out
	}
	if got := logins(); len(got["ajuntament"]) != 0 || len(got["ajuntament-jwt"]) != 1 {
		t.Fatalf("logins after tab B: %v", got)
	}
	// Tab A goes on to its continue path (as the finished sign-in of tab
	// B would have sent it, had the two mixed).
	_, _, cl := ra.exchange(t, code(t, br.do("GET", s.url+"/oidc/continue?id="+idA, nil), stA), stA)
	if cl.ACR != broker.Low.URI() {
		t.Fatalf("acr %s", cl.ACR)
	}
	if got := logins(); len(got["ajuntament"]) != 1 || got["ajuntament"][0] != "sso" {
		t.Fatalf("tab A was answered without a transaction of its own: %v", got)
	}
}

// The cookie that ties a request to the browser lives only while the
// sign-in pages have it: gone once the code is issued, and never set
// for a request answered at once from the SSO session. A relying party
// that renews its tokens with prompt=none every few seconds would
// otherwise fill the browser's cookie header until the server refused
// it (431).
func TestBindingCookiesDoNotPileUp(t *testing.T) {
	s := newSite(t)
	r := newRP(t, s, "ajuntament", rpSecret)
	b := newBrowser(t)
	bound := func() (n int) {
		u, _ := url.Parse(s.url + "/oidc/")
		for _, c := range b.c.Jar.Cookies(u) {
			if strings.HasPrefix(c.Name, "clau_oidc_req_") {
				n++
			}
		}
		return n
	}
	st := r.start()
	a := b.do("GET", st.url, nil)
	if bound() != 1 {
		t.Fatalf("during the sign-in: %d binding cookies, want 1", bound())
	}
	r.exchange(t, code(t, b.signIn(s, a), st), st)
	if bound() != 0 {
		t.Fatalf("after the code was issued: %d binding cookies", bound())
	}
	for range 5 {
		st := r.start(oauth2.SetAuthURLParam("prompt", "none"))
		r.exchange(t, code(t, b.do("GET", st.url, nil), st), st)
	}
	if bound() != 0 {
		t.Fatalf("after prompt=none answers: %d binding cookies", bound())
	}
}
