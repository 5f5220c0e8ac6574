package oidc_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/oidc"
)

// refusal checks the browser went back to the service with an error.
func refusal(t *testing.T, a answer, st start, want string) {
	t.Helper()
	if a.location == nil || a.location.Host != "rp.example" {
		t.Fatalf("no redirect to the service (%d at %s)", a.status, a.url)
	}
	if q := a.location.Query(); q.Get("error") != want || q.Get("state") != st.state {
		t.Fatalf("back at the service with %s, want error %s", a.location, want)
	}
}

func TestLevelsAndMethods(t *testing.T) {
	s := newSite(t, withClients(
		oidc.ClientConfig{ID: "pin-only", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, Methods: []string{broker.MethodPIN}},
		oidc.ClientConfig{ID: "permanent-only", Secret: rpSecret, RedirectURIs: []string{rpRedirect},
			Methods: []string{broker.MethodPermanent}},
	))
	r := newRP(t, s, "ajuntament", rpSecret)
	b := newBrowser(t)

	// Essential acr in the claims parameter is a minimum: step-up to
	// substantial after a sign-in at low.
	idToken(t, s, r, b)
	claims := `{"id_token":{"acr":{"essential":true,"values":["` + broker.Substantial.URI() + `"]}}}`
	st := r.start(oauth2.SetAuthURLParam("claims", claims))
	a := b.do("GET", st.url, nil)
	if !strings.HasSuffix(a.url.Path, "/sms") {
		t.Fatalf("essential acr substantial went to %s", a.url)
	}
	_, _, cl := r.exchange(t, code(t, b.do("POST", s.url+a.url.Path, url.Values{"code": {s.lastSMS()}}), st), st)
	if cl.ACR != broker.Substantial.URI() {
		t.Fatalf("acr %s", cl.ACR)
	}

	// A level no method reaches, asked either way, fails as the
	// specifications say, back at the service.
	st = r.start(oauth2.SetAuthURLParam("acr_values", broker.High.URI()))
	refusal(t, b.do("GET", st.url, nil), st, "unmet_authentication_requirements")
	st = r.start(oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":{"essential":true,"values":["urn:other:gold"]}}}`))
	refusal(t, b.do("GET", st.url, nil), st, "unmet_authentication_requirements")
	// A voluntary unknown acr is ignored.
	st = r.start(oauth2.SetAuthURLParam("acr_values", "urn:other:gold"))
	r.exchange(t, code(t, b.do("GET", st.url, nil), st), st)
	// A claims parameter that is not JSON.
	st = r.start(oauth2.SetAuthURLParam("claims", "{acr"))
	refusal(t, b.do("GET", st.url, nil), st, "invalid_request")

	// A service allowing only a method this deployment does not offer.
	pin := newRP(t, s, "pin-only", rpSecret)
	st = pin.start()
	refusal(t, b.do("GET", st.url, nil), st, "unmet_authentication_requirements")
	// One allowing the password gets SSO.
	perm := newRP(t, s, "permanent-only", rpSecret)
	st = perm.start()
	perm.exchange(t, code(t, b.do("GET", st.url, nil), st), st)
	if s.deniedAudit("oidc.authorize") < 4 {
		t.Errorf("refusals audited: %d", s.deniedAudit("oidc.authorize"))
	}
}

func TestSubjectsScopesAndHints(t *testing.T) {
	s := newSite(t, withClients(
		oidc.ClientConfig{ID: "pub-a", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, SubjectType: "public"},
		oidc.ClientConfig{ID: "pub-b", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, SubjectType: "public"},
		oidc.ClientConfig{ID: "tax-1", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, SectorIdentifier: "hisenda"},
		oidc.ClientConfig{ID: "tax-2", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, SectorIdentifier: "hisenda",
			Scopes: []string{"profile", oidc.ScopeDocument}},
	))
	b := newBrowser(t)
	ctx := context.Background()

	// login_hint prefills the document; ui_locales picks the language.
	r := newRP(t, s, "pub-a", rpSecret)
	st := r.start(oauth2.SetAuthURLParam("login_hint", "12345678z"), oauth2.SetAuthURLParam("ui_locales", "es-ES ca"))
	a := b.do("GET", st.url, nil)
	if !strings.Contains(a.body, `value="12345678Z"`) || !strings.Contains(a.body, "Acceda con Clau") {
		t.Fatalf("login_hint / ui_locales not honoured:\n%.2000s", a.body)
	}
	_, idt, _ := r.exchange(t, code(t, b.signIn(s, a), st), st)
	subs := map[string]string{"pub-a": idt.Subject}
	for _, id := range []string{"pub-b", "tax-1", "tax-2", "ajuntament"} {
		rp := newRP(t, s, id, rpSecret)
		rp.conf.Scopes = append(rp.conf.Scopes, oidc.ScopeDocument)
		st := rp.start()
		tok, idt, cl := rp.exchange(t, code(t, b.do("GET", st.url, nil), st), st)
		subs[id] = idt.Subject
		var doc struct {
			Number *string `json:"document_number"`
		}
		_ = idt.Claims(&doc)
		ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		var uiDoc struct {
			Number *string `json:"document_number"`
		}
		_ = ui.Claims(&uiDoc)
		switch id {
		case "tax-2": // allowed the document, and only profile besides
			if doc.Number == nil || *doc.Number != document || uiDoc.Number == nil || *uiDoc.Number != document {
				t.Errorf("%s: document_number %v / %v", id, doc.Number, uiDoc.Number)
			}
			if cl.Email != "" || cl.FirstSurname != "Puig" {
				t.Errorf("%s: scopes beyond its setting granted: %+v", id, cl)
			}
		default:
			if doc.Number != nil || uiDoc.Number != nil {
				t.Errorf("%s: got the document number without the setting", id)
			}
			if cl.Email == "" {
				t.Errorf("%s: email scope not granted", id)
			}
		}
	}
	if subs["pub-a"] != subs["pub-b"] || subs["tax-1"] != subs["tax-2"] {
		t.Errorf("grouped subjects differ: %v", subs)
	}
	uniq := slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, v := range subs {
			if !yield(v) {
				return
			}
		}
	}))
	if len(uniq) != 3 || strings.Contains(subs["pub-a"], "12345678") {
		t.Errorf("subjects: %v", subs)
	}
}
