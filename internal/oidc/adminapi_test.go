package oidc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/store"
)

const adminClients = "/api/admin/v1/oidc/clients"

// apiCall sends an admin API request as the test admin (or with token).
func apiCall(t *testing.T, s *site, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "en")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type apiProblem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Fields []struct {
		Name, Code, Message string
	} `json:"fields"`
}

func problemOf(t *testing.T, body string) apiProblem {
	t.Helper()
	var p apiProblem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem: %v\n%s", err, body)
	}
	return p
}

// fieldCodes lists "name=code" of a problem's fields.
func fieldCodes(p apiProblem) []string {
	var out []string
	for _, f := range p.Fields {
		out = append(out, f.Name+"="+f.Code)
	}
	return out
}

// A client registered through the admin API signs a citizen in at once
// with the secret the answer showed once (a coreos/go-oidc relying party,
// code flow with PKCE), even when this process had just looked it up and
// not found it; removed through the API, it is refused at once.
func TestAdminAPIRegisteredClientSignsIn(t *testing.T) {
	clock := fakeclock.New(time.Now())
	s := newSite(t, withClock(clock, oidc.KeyOptions{}))
	b := newBrowser(t)

	// Looked up before it exists: the process caches "unknown".
	early := newRP(t, s, "seu-api", "nope")
	if a := b.do("GET", early.start().url, nil); a.status != http.StatusBadRequest {
		t.Fatalf("an unregistered client: %d", a.status)
	}

	body := `{"id":"seu-api","redirect_uris":["` + rpRedirect + `"],"min_loa":"low",
		"token_endpoint_auth_method":"client_secret_basic","scopes":["profile","email"]}`
	code, out := apiCall(t, s, "POST", adminClients, adminToken, body)
	if code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, out)
	}
	var got oidc.APIClient
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "seu-api" || got.Source != "database" || len(got.ClientSecret) < 32 ||
		got.TokenEndpointAuthMethod != oidc.MethodSecretBasic || got.MinLoA != "low" ||
		got.RegisteredAt.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("registered: %+v", got)
	}

	r := newRP(t, s, "seu-api", got.ClientSecret)
	_, tok := idToken(t, s, r, b)
	if tok.AccessToken == "" {
		t.Fatal("no access token")
	}
	// A wrong secret is still refused.
	wrong := newRP(t, s, "seu-api", "not-the-secret-0123456789")
	st := wrong.start()
	if _, err := wrong.conf.Exchange(context.Background(), code2(t, b, s, st), oauth2.VerifierOption(st.verifier)); err == nil {
		t.Fatal("a wrong secret was accepted")
	}

	// The secret is never shown again.
	for _, p := range []string{adminClients, adminClients + "/seu-api"} {
		code, out := apiCall(t, s, "GET", p, adminToken, "")
		if code != 200 || strings.Contains(out, got.ClientSecret) || strings.Contains(out, rpSecret) ||
			strings.Contains(out, "client_secret\"") {
			t.Fatalf("GET %s: %d %s", p, code, out)
		}
	}

	if code, out := apiCall(t, s, "DELETE", adminClients+"/seu-api", adminToken, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, out)
	}
	if a := b.do("GET", r.start().url, nil); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("a client removed through the API: %d %v", a.status, a.location)
	}
}

// code2 runs the browser part of a code flow and returns the code.
func code2(t *testing.T, b *browser, s *site, st start) string {
	t.Helper()
	return code(t, b.authorize(s, st), st)
}

// The admin API lists config and database clients with their source and
// no secret, shows one, refuses bad registrations field by field (422),
// refuses to touch config clients (409) and audits every call.
func TestAdminAPIClients(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()

	if code, _ := apiCall(t, s, "GET", adminClients, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}

	code, out := apiCall(t, s, "GET", adminClients, adminToken, "")
	var list []oidc.APIClient
	if code != 200 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("list: %d %s", code, out)
	}
	if i := slices.IndexFunc(list, func(c oidc.APIClient) bool { return c.ID == "app" }); i < 0 ||
		list[i].Source != "config" || !list[i].Public || list[i].MinLoA != "substantial" {
		t.Fatalf("config client app in %s", out)
	}
	if strings.Contains(out, rpSecret) {
		t.Fatalf("a secret in the list: %s", out)
	}

	// One request wrong in every way names every member at fault.
	bad := `{"id":"ajuntament","redirect_uris":["https://*.example/cb","/relative","https://x.example/cb#frag","javascript:alert(1)","https:///cb"],
		"min_loa":"medium","methods":["telepathy"],"scopes":["openid","salary"],
		"token_endpoint_auth_method":"client_secret_jwt","subject_type":"secret","access_token_format":"xml"}`
	code, out = apiCall(t, s, "POST", adminClients, adminToken, bad)
	p := problemOf(t, out)
	want := []string{"id=oidc.api.id_config", "redirect_uris=oidc.api.redirect_uri", "redirect_uris=oidc.api.redirect_uri",
		"redirect_uris=oidc.api.redirect_uri", "redirect_uris=oidc.api.redirect_uri", "redirect_uris=oidc.api.redirect_uri", "min_loa=oidc.api.min_loa", "methods=oidc.api.method", "scopes=oidc.api.scope",
		"token_endpoint_auth_method=oidc.api.auth_method", "subject_type=oidc.api.subject_type",
		"access_token_format=oidc.api.access_token_format"}
	if code != 422 || !slices.Equal(fieldCodes(p), want) {
		t.Fatalf("bad registration: %d %v\n%s", code, fieldCodes(p), out)
	}
	if !strings.Contains(out, "The level medium is not low, substantial or high.") ||
		!strings.Contains(out, "telepathy is not a sign-in method") {
		t.Fatalf("messages: %s", out)
	}

	for _, c := range []struct{ body, field, code string }{
		{`{"redirect_uris":["https://a.example/cb"]}`, "id", "oidc.api.id_missing"},
		{`{"id":"x y","redirect_uris":["https://a.example/cb"]}`, "id", "oidc.api.id_form"},
		{`{"id":"x"}`, "redirect_uris", "oidc.api.redirect_missing"},
		{`{"id":"x","redirect_uris":["https://a.example/cb"],"public":true,"token_endpoint_auth_method":"client_secret_post"}`,
			"token_endpoint_auth_method", "oidc.api.settings"},
		{`{"id":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`,
			"jwks", "oidc.api.settings"},
		{`{"id":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct"}]}}`,
			"jwks", "oidc.api.settings"},
		{`{"id":"x","redirect_uris":["https://a.example/cb"],"backchannel_logout_uri":"ftp://a.example/"}`,
			"backchannel_logout_uri", "oidc.api.settings"},
		{`{"id":"x","redirect_uris":["https://a.example/cb"],"jwks":[1]}`, "jwks", "oidc.api.jwks"},
		{`{"id":"x","redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":"HS256"}`,
			"id_token_signed_response_alg", "oidc.api.settings"},
	} {
		code, out := apiCall(t, s, "POST", adminClients, adminToken, c.body)
		if p := problemOf(t, out); code != 422 || len(p.Fields) != 1 || p.Fields[0].Name != c.field ||
			p.Fields[0].Code != c.code || p.Fields[0].Message == "" || p.Fields[0].Message == c.code {
			t.Errorf("%s: %d %s", c.body, code, out)
		}
	}
	for _, body := range []string{`{"id":"x","redirect_uris":["https://a.example/cb"],"secret":"mine"}`,
		`{"id":"x","redirect_uris":["https://a.example/cb"],"client_secret":"mine"}`, `not json`, `{"id":"x"} {}`,
		`{"id":"x","redirect_uris":["https://a.example/cb"],"source":"config"}`,
		`{"id":"x","redirect_uris":["https://a.example/cb"],"registered_at":"2020-01-01T00:00:00Z"}`} {
		if code, out := apiCall(t, s, "POST", adminClients, adminToken, body); code != 400 ||
			problemOf(t, out).Code != "oidc.api.malformed" {
			t.Errorf("%s: %d %s", body, code, out)
		}
	}
	// Nothing was saved by any refusal.
	if recs, _ := s.store.ListOIDCClients(ctx); len(recs) != 0 {
		t.Fatalf("refused registrations stored %d clients", len(recs))
	}

	// A public app and a private_key_jwt service get no secret.
	jwks := `{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"sig","kid":"k1"}]}`
	for _, body := range []string{
		`{"id":"app-mobil","redirect_uris":["https://rp.example/cb","cat.example.app:/oidc"],"public":true,"min_loa":"substantial","methods":["permanent"]}`,
		`{"id":"seu-jwt","redirect_uris":["https://rp.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":` + jwks + `,"id_token_signed_response_alg":"RS256"}`,
	} {
		code, out := apiCall(t, s, "POST", adminClients, adminToken, body)
		if code != 201 || strings.Contains(out, "client_secret\"") {
			t.Fatalf("%s: %d %s", body, code, out)
		}
	}
	code, out = apiCall(t, s, "POST", adminClients, adminToken, `{"id":"app-mobil","redirect_uris":["https://rp.example/cb"],"public":true}`)
	if p := problemOf(t, out); code != 422 || !slices.Equal(fieldCodes(p), []string{"id=oidc.api.id_taken"}) {
		t.Fatalf("duplicate: %d %s", code, out)
	}
	code, out = apiCall(t, s, "GET", adminClients+"/seu-jwt", adminToken, "")
	var one oidc.APIClient
	if code != 200 || json.Unmarshal([]byte(out), &one) != nil || one.Source != "database" || len(one.JWKS) == 0 ||
		one.TokenEndpointAuthMethod != oidc.MethodPrivateKey || one.RegisteredAt.IsZero() || one.IDTokenAlg != "RS256" {
		t.Fatalf("show: %d %s", code, out)
	}
	code, out = apiCall(t, s, "GET", adminClients+"/ajuntament", adminToken, "")
	if code != 200 || !strings.Contains(out, `"source": "config"`) || strings.Contains(out, rpSecret) {
		t.Fatalf("show config client: %d %s", code, out)
	}
	if code, out := apiCall(t, s, "GET", adminClients+"/nobody", adminToken, ""); code != 404 ||
		problemOf(t, out).Code != "oidc.api.unknown" {
		t.Fatalf("show unknown: %d %s", code, out)
	}
	code, out = apiCall(t, s, "GET", adminClients, adminToken, "")
	if code != 200 || strings.Count(out, `"source": "database"`) != 2 || strings.Count(out, `"source": "config"`) != 6 {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := apiCall(t, s, "DELETE", adminClients+"/ajuntament", adminToken, ""); code != 409 ||
		problemOf(t, out).Code != "oidc.api.config_client" {
		t.Fatalf("delete a config client: %d %s", code, out)
	}
	if code, _ := apiCall(t, s, "DELETE", adminClients+"/nobody", adminToken, ""); code != 404 {
		t.Fatalf("delete unknown: %d", code)
	}
	if code, _ := apiCall(t, s, "DELETE", adminClients+"/app-mobil", adminToken, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if _, err := s.store.OIDCClientByID(ctx, "app-mobil"); err != store.ErrNotFound {
		t.Fatalf("after delete: %v", err)
	}

	// Every call the guard let through is in the trail, as the officer.
	counts := map[string]int{}
	s.store.ScanAudit(ctx, 1, func(e store.AuditEvent) error {
		if strings.HasPrefix(e.Action, "oidc.client_") {
			if e.Actor != "officer:tester" {
				t.Errorf("actor %q on %s", e.Actor, e.Action)
			}
			counts[e.Action+"/"+e.Outcome]++
		}
		return nil
	})
	wantCounts := map[string]int{"oidc.client_list/ok": 2, "oidc.client_view/ok": 2, "oidc.client_view/denied": 1,
		"oidc.client_add/ok": 2, "oidc.client_add/denied": 1 + 9 + 6 + 1,
		"oidc.client_remove/ok": 1, "oidc.client_remove/denied": 2}
	for k, v := range wantCounts {
		if counts[k] != v {
			t.Errorf("audit %s: %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
}
