package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestOIDCAdminAPI: an admin officer's desk API token manages OpenID
// Connect clients over HTTP; other callers are refused and audited; the
// running server accepts a registered client's sign-in request at once.
func TestOIDCAdminAPI(t *testing.T) {
	e := newEnv(t, `CLAU_OIDC_CLIENTS=[{"id":"ajuntament","secret":"ajuntament-secret-0123456789","redirect_uris":["https://ajuntament.example/cb"]}]`)
	e.ok("office", "add", "--code", "BCN-01", "--name", "OAC Barcelona", "--address", "Plaça Sant Jaume 1",
		"--postal-code", "08002", "--municipality", "Barcelona", "--province", "Barcelona")
	e.ok("officer", "add", "--office", "BCN-01", "--username", "admin1", "--name", "Admin", "--role", "admin")
	e.ok("officer", "add", "--office", "BCN-01", "--username", "clerk1", "--name", "Clerk")
	admin := strings.TrimSpace(e.ok("officer", "token", "--username", "admin1"))
	clerk := strings.TrimSpace(e.ok("officer", "token", "--username", "clerk1"))
	s := e.serve()
	call := func(method, path, token, lang, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", lang)
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
	const path = "/api/admin/v1/oidc/clients"
	body := `{"id":"seu-api","name":"Seu <electrònica>","redirect_uris":["https://seu.example.org/cb"],"min_loa":"substantial","scopes":["profile"]}`
	if code, _ := call("POST", path, "", "en", body); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := call("GET", path, "not-a-token", "en", ""); code != 401 {
		t.Errorf("bad token: %d", code)
	}
	if code, out := call("POST", path, clerk, "en", body); code != 403 || !strings.Contains(out, "Only administrators") {
		t.Errorf("officer token: %d %s", code, out)
	}
	// Refusals come in the caller's language, field by field.
	code, out := call("POST", path, admin, "ca", `{"id":"ajuntament","redirect_uris":["https://*.example/cb"],"min_loa":"mitjà"}`)
	if code != 422 || !strings.Contains(out, "està declarat a la configuració") || !strings.Contains(out, "ha de ser absolut") ||
		!strings.Contains(out, `"name": "min_loa"`) && !strings.Contains(out, `"name":"min_loa"`) {
		t.Errorf("bad registration: %d %s", code, out)
	}
	code, out = call("POST", path, admin, "en", body)
	var reg struct {
		ID, Source   string
		ClientSecret string `json:"client_secret"`
	}
	if code != 201 || json.Unmarshal([]byte(out), &reg) != nil || reg.ID != "seu-api" || len(reg.ClientSecret) < 32 {
		t.Fatalf("register: %d %s", code, out)
	}
	if code, out := call("GET", path, admin, "en", ""); code != 200 || !strings.Contains(out, `"source": "config"`) ||
		!strings.Contains(out, `"source": "database"`) || strings.Contains(out, reg.ClientSecret) ||
		strings.Contains(out, "ajuntament-secret") {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := call("GET", path+"/seu-api", admin, "en", ""); code != 200 || !strings.Contains(out, `"min_loa": "substantial"`) {
		t.Fatalf("show: %d %s", code, out)
	}

	// The server takes its sign-in request now: to the sign-in page,
	// which names the service (escaped).
	q := url.Values{"client_id": {"seu-api"}, "redirect_uri": {"https://seu.example.org/cb"}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"st-12345678"}, "nonce": {"n-12345678"},
		"code_challenge": {"E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGKSsfjmBg"}, "code_challenge_method": {"S256"}}
	jar, _ := cookiejar.New(nil)
	req, _ := http.NewRequest("GET", s.base+"/oidc/authorize?"+q.Encode(), nil)
	req.Header.Set("Accept-Language", "en")
	res, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Request.URL.Path, "/login/") ||
		!strings.Contains(string(page), "Signing in to Seu &lt;electrònica&gt;") {
		t.Fatalf("request from the registered client: %d at %s\n%.500s", res.StatusCode, res.Request.URL, page)
	}

	if code, _ := call("DELETE", path+"/ajuntament", admin, "en", ""); code != 409 {
		t.Errorf("delete a config client: %d", code)
	}
	if code, _ := call("DELETE", path+"/seu-api", admin, "en", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := call("DELETE", path+"/seu-api", admin, "en", ""); code != 404 {
		t.Errorf("delete again: %d", code)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(e.ok("audit", "export")), "\n") {
		var ev struct{ Actor, Action, Outcome string }
		if json.Unmarshal([]byte(line), &ev) != nil {
			t.Fatalf("audit line %q", line)
		}
		if strings.HasPrefix(ev.Action, "oidc.client_") || ev.Action == "admin.api_denied" {
			counts[ev.Actor+" "+ev.Action+" "+ev.Outcome]++
		}
	}
	want := map[string]int{"anonymous admin.api_denied denied": 2, "officer:clerk1 admin.api_denied denied": 1,
		"officer:admin1 oidc.client_add denied": 1, "officer:admin1 oidc.client_add ok": 1,
		"officer:admin1 oidc.client_list ok": 1, "officer:admin1 oidc.client_view ok": 1,
		"officer:admin1 oidc.client_remove denied": 2, "officer:admin1 oidc.client_remove ok": 1}
	if len(counts) != len(want) {
		t.Errorf("audit: %v", counts)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("audit %s: %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
}
