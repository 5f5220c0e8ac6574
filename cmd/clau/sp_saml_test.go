package main

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const spMetadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://tramits.example.org/saml/metadata">
<md:SPSSODescriptor AuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://tramits.example.org/saml/acs" index="0"/>
</md:SPSSODescriptor></md:EntityDescriptor>`

// TestSPCommands: `clau sp` registers, lists and removes SAML service
// providers, refuses bad metadata and audits each change.
func TestSPCommands(t *testing.T) {
	e := newEnv(t)
	good := filepath.Join(e.dir, "sp.xml")
	os.WriteFile(good, []byte(spMetadata), 0o600)
	bad := filepath.Join(e.dir, "bad.xml")
	os.WriteFile(bad, []byte(strings.Replace(spMetadata, "https://tramits.example.org/saml/acs", "javascript:alert(1)", 1)), 0o600)

	out := e.ok("sp", "saml", "add", "--metadata", good, "--min-loa", "substantial", "--methods", "permanent,certificate")
	if !strings.Contains(out, "registered https://tramits.example.org/saml/metadata (min level substantial") {
		t.Fatalf("sp add: %q", out)
	}
	list := e.ok("sp", "saml", "list")
	if !strings.Contains(list, "https://tramits.example.org/saml/metadata\tmin_loa=substantial\tmethods=permanent,certificate") {
		t.Fatalf("sp list: %q", list)
	}
	for _, args := range [][]string{
		{"sp", "saml", "add", "--metadata", bad},
		{"sp", "saml", "add", "--metadata", good, "--methods", "telepathy"},
		{"sp", "saml", "add"},
		{"sp", "saml", "remove", "--entity-id", "https://nobody.example/md"},
	} {
		if r := e.run(args...); r.code != 2 {
			t.Errorf("clau %s: exit %d, want 2\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := e.run("sp", "saml", "add", "--metadata", bad); !strings.Contains(r.stderr, "not an absolute http(s) URL") {
		t.Errorf("bad metadata explained as: %s", r.stderr)
	}
	e.ok("sp", "saml", "remove", "--entity-id", "https://tramits.example.org/saml/metadata")
	if list := e.ok("sp", "saml", "list"); !strings.Contains(list, "no SAML service providers registered") {
		t.Fatalf("after remove: %q", list)
	}
	exp := e.ok("audit", "export")
	if strings.Count(exp, `"saml.sp_add"`) != 1 || strings.Count(exp, `"saml.sp_remove"`) != 1 {
		t.Fatalf("audit trail:\n%s", exp)
	}
}

// TestSPAdminAPI: an admin officer's desk API token manages SAML service
// providers over HTTP; the running server serves a registered SP at once.
func TestSPAdminAPI(t *testing.T) {
	e := newEnv(t)
	e.ok("office", "add", "--code", "BCN-01", "--name", "OAC Barcelona", "--address", "Plaça Sant Jaume 1",
		"--postal-code", "08002", "--municipality", "Barcelona", "--province", "Barcelona")
	e.ok("officer", "add", "--office", "BCN-01", "--username", "admin1", "--name", "Admin", "--role", "admin")
	e.ok("officer", "add", "--office", "BCN-01", "--username", "clerk1", "--name", "Clerk")
	admin := strings.TrimSpace(e.ok("officer", "token", "--username", "admin1"))
	clerk := strings.TrimSpace(e.ok("officer", "token", "--username", "clerk1"))
	s := e.serve()
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
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
	body, _ := json.Marshal(map[string]any{"metadata": spMetadata, "min_loa": "low"})
	const path = "/api/admin/v1/saml/sps"
	if code, _ := call("POST", path, "", string(body)); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, out := call("POST", path, clerk, string(body)); code != 403 || !strings.Contains(out, "Only administrators") {
		t.Errorf("officer token: %d %s", code, out)
	}
	bad, _ := json.Marshal(map[string]any{"metadata": strings.Replace(spMetadata, "https://tramits.example.org/saml/acs", "javascript:x", 1)})
	if code, out := call("POST", path, admin, string(bad)); code != 422 || !strings.Contains(out, "not an absolute http(s) URL") {
		t.Errorf("bad metadata: %d %s", code, out)
	}
	if code, out := call("POST", path, admin, `{"metadata":"x","unknown":1}`); code != 400 {
		t.Errorf("unknown member: %d %s", code, out)
	}
	if code, out := call("POST", path, admin, string(body)); code != 201 || !strings.Contains(out, `"entity_id": "https://tramits.example.org/saml/metadata"`) {
		t.Fatalf("register: %d %s", code, out)
	}
	if code, out := call("GET", path, admin, ""); code != 200 || !strings.Contains(out, `"added_by": "officer:admin1"`) {
		t.Fatalf("list: %d %s", code, out)
	}

	// The server serves it now: an (unsigned, as its metadata allows)
	// request gets the sign-in page, not a refusal.
	req := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="` +
		time.Now().UTC().Format(time.RFC3339) + `"><saml:Issuer>https://tramits.example.org/saml/metadata</saml:Issuer></samlp:AuthnRequest>`
	jar, _ := cookiejar.New(nil)
	res, err := (&http.Client{Jar: jar}).PostForm(s.base+"/saml/sso",
		url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(req))}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Request.URL.Path, "/login") {
		t.Fatalf("request from the registered SP: %d at %s\n%.500s", res.StatusCode, res.Request.URL, page)
	}

	if code, _ := call("DELETE", path+"?entity_id="+url.QueryEscape("https://tramits.example.org/saml/metadata"), admin, ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := call("DELETE", path+"?entity_id=nope", admin, ""); code != 404 {
		t.Errorf("delete unknown: %d", code)
	}
}

var samlRequestRE = regexp.MustCompile(`name="SAMLRequest" value="([^"]+)"`)

// demoSAML: the demo's SAML service sends a signed AuthnRequest that the
// IdP accepts (the browser lands on the sign-in page).
func demoSAML(t *testing.T, base string) {
	t.Helper()
	if code, body, _ := get(t, base+"/demo-saml/"); code != 200 || !strings.Contains(body, "/demo-saml/login") {
		t.Fatalf("demo SAML service home = %d", code)
	}
	_, body, _ := get(t, base+"/demo-saml/login?loa=substantial")
	m := samlRequestRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no SAMLRequest form:\n%.600s", body)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequest("POST", base+"/saml/sso",
		strings.NewReader(url.Values{"SAMLRequest": {html.UnescapeString(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Request.URL.Path, "/login/") ||
		!strings.Contains(string(page), "Signing in to Diputació de Demo") {
		t.Fatalf("the demo's request: %d at %s\n%.600s", res.StatusCode, res.Request.URL, page)
	}
}
