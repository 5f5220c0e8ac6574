package desk_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/identity"
)

func newCitizen(doc, mobile string) map[string]any {
	return map[string]any{"document": doc, "doc_validity": "2031-04-30", "given_name": "Núria", "first_surname": "Puig",
		"birth_date": "1980-02-29", "email": "nuria@example.org", "mobile": mobile, "language": "ca",
		"document_shown": "dni", "document_checked": true}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	good := w.api(marta, time.Hour)
	if r := good.call("GET", "/api/desk/v1/me", "", ""); r.status != 200 || r.body["username"] != "mgarcia" || r.body["office"] != "BCN-01" {
		t.Fatalf("me: %d %s", r.status, r.raw)
	}
	for name, a := range map[string]*api{
		"missing": {w: w},
		"unknown": {w: w, token: "not-a-token"},
		"expired": w.api(marta, time.Minute),
	} {
		if name == "expired" {
			w.clock.Add(2 * time.Minute)
		}
		for _, lang := range []string{"ca", "es", "en"} {
			a.lang = lang
			r := a.call("GET", "/api/desk/v1/citizens?document=12345678Z", "", "")
			want := map[string]string{"ca": "Cal un token vàlid", "es": "Hace falta un token válido", "en": "A valid desk API token is required"}[lang]
			if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") ||
				!strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || !strings.Contains(fmt.Sprint(r.body["title"]), want) {
				t.Fatalf("%s token (%s): %d %s %s", name, lang, r.status, r.header, r.raw)
			}
		}
		if name == "expired" {
			w.clock.Add(-2 * time.Minute)
		}
	}
	// A browser session cookie is no API credential, and an API token is
	// no desk session.
	b := w.signedIn(marta, "en")
	req, _ := http.NewRequest("GET", w.srv.URL+"/api/desk/v1/me", nil)
	if res, err := b.c.Do(req); err != nil || res.StatusCode != 401 {
		t.Fatalf("cookie on the API: %v %v", res, err)
	}
	// A disabled officer's token stops working at once.
	fresh, _ := w.store.OfficerByID(w.ctx, marta.ID)
	fresh.Status = identity.OfficerDisabled
	marta.Officer = fresh
	if err := w.store.UpdateOfficer(w.ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if r := good.call("GET", "/api/desk/v1/me", "", ""); r.status != 401 {
		t.Fatalf("disabled officer's token: %d", r.status)
	}
	if _, err := desk.NewAPIToken(w.ctx, w.store, marta.Officer, desk.TokenSpec{}, w.clock.Now()); err == nil {
		t.Fatal("a token was made for a disabled officer")
	}
	if !w.hasAudit("desk.token.create", "ok") {
		t.Fatal("token creation not audited")
	}
}

func TestAPICitizenLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	a := w.api(marta, time.Hour)

	r := a.json("POST", "/api/desk/v1/citizens", newCitizen("12345678-z", "612 345 678"))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	cit := r.body["citizen"].(map[string]any)
	code := r.body["activation_code"].(map[string]any)
	id := cit["id"].(string)
	if cit["document"] != "12345678Z" || cit["mobile"] != "+34612345678" || cit["level"] != "advanced" || cit["office"] != "BCN-01" ||
		!codeRE.MatchString(code["code"].(string)) || r.header.Get("Location") != "/api/desk/v1/citizens/"+id {
		t.Fatalf("created: %s %s", r.raw, r.header)
	}

	r = a.json("POST", "/api/desk/v1/citizens", newCitizen("12345678Z", "699000111"))
	if r.status != 422 || !strings.Contains(r.raw, `"duplicate.document"`) {
		t.Fatalf("duplicate: %d %s", r.status, r.raw)
	}
	bad := newCitizen("12345678A", "912")
	bad["document_checked"] = false
	a.lang = "es"
	r = a.json("POST", "/api/desk/v1/citizens", bad)
	if r.status != 422 || !strings.Contains(r.raw, "La letra del DNI/NIE no corresponde") || !strings.Contains(r.raw, `"document_checked"`) ||
		!strings.Contains(r.raw, `"mobile"`) {
		t.Fatalf("invalid: %d %s", r.status, r.raw)
	}
	a.lang = ""

	r = a.call("GET", "/api/desk/v1/citizens?document=12345678z", "", "")
	if list := r.body["citizens"].([]any); r.status != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("find: %d %s", r.status, r.raw)
	}
	r = a.call("GET", "/api/desk/v1/citizens?document=87654321X", "", "")
	if list := r.body["citizens"].([]any); r.status != 200 || len(list) != 0 {
		t.Fatalf("find nobody: %d %s", r.status, r.raw)
	}
	r = a.call("GET", "/api/desk/v1/citizens/"+id, "", "")
	if r.status != 200 || r.body["version"] != float64(1) {
		t.Fatalf("get: %d %s", r.status, r.raw)
	}
	if r := a.call("GET", "/api/desk/v1/citizens/nosuchid", "", ""); r.status != 404 {
		t.Fatalf("get unknown: %d", r.status)
	}

	r = a.call("POST", "/api/desk/v1/citizens/"+id+"/activation-code", "", "")
	if r.status != 201 || r.body["code"] == code["code"] || !codeRE.MatchString(fmt.Sprint(r.body["code"])) {
		t.Fatalf("reissue: %d %s", r.status, r.raw)
	}

	r = a.json("PUT", "/api/desk/v1/citizens/"+id+"/contact", map[string]any{"version": 1, "email": "n@example.org", "mobile": "699000111"})
	if r.status != 200 || r.body["mobile"] != "+34699000111" || r.body["version"] != float64(2) {
		t.Fatalf("contact: %d %s", r.status, r.raw)
	}
	r = a.json("PUT", "/api/desk/v1/citizens/"+id+"/contact", map[string]any{"version": 1, "email": "x@example.org", "mobile": "699000111"})
	if r.status != 409 || r.body["code"] != "store.stale" {
		t.Fatalf("stale contact: %d %s", r.status, r.raw)
	}
	if r := a.json("PUT", "/api/desk/v1/citizens/"+id+"/contact", map[string]any{"email": "x@example.org", "mobile": "699000111"}); r.status != 422 {
		t.Fatalf("contact without version: %d %s", r.status, r.raw)
	}

	r = a.json("POST", "/api/desk/v1/citizens/"+id+"/deregistration", map[string]any{"version": 2, "reason": ""})
	if r.status != 422 || !strings.Contains(r.raw, "desk.reason_required") {
		t.Fatalf("deregister without reason: %d %s", r.status, r.raw)
	}
	r = a.json("POST", "/api/desk/v1/citizens/"+id+"/deregistration", map[string]any{"version": 2, "reason": "asked by the citizen"})
	if r.status != 200 || r.body["status"] != "deregistered" {
		t.Fatalf("deregister: %d %s", r.status, r.raw)
	}
	if r := a.call("POST", "/api/desk/v1/citizens/"+id+"/activation-code", "", ""); r.status != 409 {
		t.Fatalf("reissue after deregistration: %d %s", r.status, r.raw)
	}

	// Another office's officer: refused, in the reader's language, audited.
	jordi := w.api(w.officer(w.gir, "jpuig", identity.RoleOfficer, true), time.Hour)
	jordi.lang = "ca"
	r = jordi.json("POST", "/api/desk/v1/citizens", newCitizen("87654321X", "611222333"))
	other := r.body["citizen"].(map[string]any)["id"].(string)
	r = a.call("POST", "/api/desk/v1/citizens/"+other+"/activation-code", "", "")
	if r.status != 403 || r.body["code"] != "desk.not_your_office" {
		t.Fatalf("another office: %d %s", r.status, r.raw)
	}
	for _, want := range []string{"citizen.register:ok", "code.issue:ok", "citizen.correct:ok", "citizen.deregister:ok", "code.issue:denied"} {
		if !strings.Contains(strings.Join(w.auditActions(), " "), want) {
			t.Errorf("audit lacks %s: %v", want, w.auditActions())
		}
	}
}

func TestAPIBadRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.api(w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true), time.Hour)
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"not JSON", "application/json", `{"document": `, 400, "desk.api.malformed"},
		{"unknown member", "application/json", `{"document": "12345678Z", "admin": true}`, 400, "desk.api.malformed"},
		{"two objects", "application/json", `{} {}`, 400, "desk.api.malformed"},
		{"wrong type", "application/json", `{"document_checked": "yes"}`, 400, "desk.api.malformed"},
		{"form body", "application/x-www-form-urlencoded", `document=12345678Z`, 415, "desk.api.content_type"},
		{"too large", "application/json", `{"given_name": "` + strings.Repeat("a", maxBody) + `"}`, 413, "request.too_large"},
	}
	for _, tc := range cases {
		for _, lang := range []string{"ca", "es", "en"} {
			a.lang = lang
			r := a.call("POST", "/api/desk/v1/citizens", tc.contentType, tc.body)
			if r.status != tc.status || r.body["code"] != tc.code || r.body["title"] == tc.code || r.header.Get("Content-Language") != lang {
				t.Errorf("%s (%s): %d %s", tc.name, lang, r.status, r.raw)
			}
		}
	}
	if n, _ := w.store.CountCitizens(w.ctx); n != 0 {
		t.Fatalf("bad requests registered %d citizens", n)
	}
}
