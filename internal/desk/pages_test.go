package desk_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
)

func TestRegisterShowsTheReceiptOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "ca") // the officer works in Catalan

	if p := b.get("/desk/register"); p.status != 200 || !strings.Contains(p.body, `<label for="f-document_checked">`) {
		t.Fatalf("register form: %d", p.status)
	}
	receipt, id := b.register(citizenForm("12345678Z", "612 345 678", "es")) // the citizen reads Spanish
	body := text(receipt.body)
	code := codeRE.FindString(receipt.body)
	if code == "" || !strings.Contains(receipt.body, `class="code"`) {
		t.Fatalf("receipt without a code:\n%s", body)
	}
	for _, want := range []string{"Justificante de registro en Clau", "OAC Barcelona (BCN-01)", "Plaça de la Vila 1",
		"08002 Barcelona", "02/03/2026", "Núria Puig Ferrer", "DNI 12345678Z", "https://clau.example.org/activate",
		"+34*****678", "Qué debe hacer ahora", "hasta el 01/04/2026"} {
		if !strings.Contains(body, want) {
			t.Errorf("receipt lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(receipt.body, `<html lang="es">`) || receipt.header.Get("Cache-Control") != "no-store" {
		t.Errorf("receipt language or caching: %s", receipt.header)
	}
	// Reloading (or going back to) the receipt does not show the code again.
	again := b.get(receipt.url)
	if again.status != http.StatusGone || codeRE.MatchString(again.body) || !strings.Contains(text(again.body), "Ja s'ha mostrat") {
		t.Fatalf("reload: %d\n%s", again.status, text(again.body))
	}
	// Another officer cannot open someone else's receipt.
	other := w.signedIn(w.officer(w.bcn, "other", identity.RoleOfficer, true), "en")
	if p := other.get(receipt.url); p.status != http.StatusNotFound {
		t.Fatalf("another officer's receipt: %d", p.status)
	}

	c, err := w.store.CitizenByID(w.ctx, id)
	if err != nil || c.Level != identity.LevelAdvanced || c.OfficeID != w.bcn.ID || c.Language != "es" {
		t.Fatalf("stored citizen: %+v %v", c, err)
	}
	if _, err := w.store.LiveCode(w.ctx, "activation", id); err != nil {
		t.Fatalf("no live activation code: %v", err)
	}
	for _, want := range []string{"citizen.register:ok", "code.issue:ok"} {
		if !strings.Contains(strings.Join(w.auditActions(), " "), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	// The flows keep the receipt sealed, never the code in clear.
	rows, err := w.sql.DB().Query(`SELECT data FROM flows`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		rows.Scan(&data)
		if strings.Contains(data, code) || strings.Contains(data, strings.ReplaceAll(code, "-", "")) || strings.Contains(data, "Puig") {
			t.Fatalf("a flow holds the receipt in clear: %s", data)
		}
	}
}

func TestRegisterFormReportsEveryProblem(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "en")
	bad := citizenForm("12345678A", "912345678", "ca")
	bad.Set("birth_date", "31/02/1980")
	bad.Del("document_checked")
	bad.Set("document_shown", "")
	p := b.post("/desk/register", bad)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid form: %d", p.status)
	}
	body := text(p.body)
	for _, want := range []string{"There is a problem", "does not match its number", "date of birth is not valid",
		"mobile number is not valid", "Choose which identity document", "Confirm which identity document"} {
		if !strings.Contains(body, want) {
			t.Errorf("errors lack %q:\n%s", want, body)
		}
	}
	// Each message sits by its field, tied to it, and the summary links it.
	for _, f := range []string{"document", "birth_date", "mobile", "document_shown", "document_checked"} {
		if !strings.Contains(p.body, `id="f-`+f+`-error"`) || !strings.Contains(p.body, `href="#f-`+f+`"`) {
			t.Errorf("field %s: no error next to it or no link from the summary", f)
		}
	}
	if !regexp.MustCompile(`id="f-mobile"[^>]*aria-invalid="true"[^>]*aria-describedby="f-mobile-hint f-mobile-error"`).MatchString(p.body) {
		t.Errorf("mobile input not described by its error")
	}
	// What was typed is kept.
	if !strings.Contains(p.body, `value="912345678"`) || !strings.Contains(p.body, `value="Núria"`) {
		t.Error("typed values lost")
	}
	if n, _ := w.store.CountCitizens(w.ctx); n != 0 {
		t.Fatalf("an invalid form registered %d citizens", n)
	}
}

func TestDuplicateDocumentAndMobile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	ca := w.signedIn(marta, "ca")
	first := citizenForm("12345678Z", "612345678", "ca")
	_, id := ca.register(first)

	// The same form sent again (a double submit): refused, clearly.
	p := ca.post("/desk/register", first)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(text(p.body), "Ja hi ha una persona registrada amb aquest DNI/NIE.") {
		t.Fatalf("duplicate document (ca): %d\n%s", p.status, text(p.body))
	}
	if !strings.Contains(p.body, "/desk/citizens/"+id) {
		t.Error("the refusal does not link to the existing record")
	}
	es := w.browser("es")
	es.c.Jar = ca.c.Jar
	other := citizenForm("87654321X", "612 345 678", "es")
	p = es.post("/desk/register", other)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(text(p.body), "Este número de móvil ya lo usa otra persona registrada") {
		t.Fatalf("duplicate mobile (es): %d\n%s", p.status, text(p.body))
	}
	if !strings.Contains(p.body, `id="f-mobile-error"`) {
		t.Error("the mobile error is not next to the field")
	}
	if n, _ := w.store.CountCitizens(w.ctx); n != 1 {
		t.Fatalf("%d citizens after refused duplicates", n)
	}
	if n := strings.Count(strings.Join(w.auditActions(), " "), "citizen.register:denied"); n != 2 {
		t.Fatalf("refusals audited: %d", n)
	}
}

func TestSearchAndCitizenRecord(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "en")
	_, id := b.register(citizenForm("12345678Z", "612345678", "ca"))
	p := b.get("/desk/search?document=" + url.QueryEscape("12.345.678-z"))
	if p.url != "/desk/citizens/"+id || !strings.Contains(text(p.body), "Núria Puig Ferrer") ||
		!strings.Contains(text(p.body), "registered, not yet activated") || !strings.Contains(text(p.body), "valid until 01/04/2026") {
		t.Fatalf("search: %d %s\n%s", p.status, p.url, text(p.body))
	}
	if !w.hasAudit("citizen.view", "ok") {
		t.Error("viewing a record is not audited")
	}
	p = b.get("/desk/search?document=87654321X")
	if p.status != http.StatusNotFound || !strings.Contains(text(p.body), "No registered citizen has this DNI/NIE") ||
		!strings.Contains(p.body, "/desk/register?document=87654321X") {
		t.Fatalf("search for nobody: %d\n%s", p.status, text(p.body))
	}
	if p := b.get("/desk/search?document=1234"); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("search for garbage: %d", p.status)
	}
}

func TestOfficerOfAnotherOfficeIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	jordi := w.officer(w.gir, "jpuig", identity.RoleOfficer, true)
	_, id := w.signedIn(marta, "en").register(citizenForm("12345678Z", "612345678", "ca"))

	b := w.signedIn(jordi, "ca")
	p := b.get("/desk/citizens/" + id)
	if p.status != 200 || !strings.Contains(text(p.body), "es va registrar en una altra oficina") || strings.Contains(p.body, `name="ticket"`) {
		t.Fatalf("another office's record: %d\n%s", p.status, text(p.body))
	}
	p = b.post("/desk/citizens/"+id+"/code", url.Values{"ticket": {"forged"}})
	if p.status != http.StatusForbidden || !strings.Contains(text(p.body), "només aquella oficina pot modificar el registre") || codeRE.MatchString(p.body) {
		t.Fatalf("reissue from another office: %d\n%s", p.status, text(p.body))
	}
	p = b.post("/desk/citizens/"+id+"/contact", url.Values{"version": {"1"}, "email": {"x@example.org"}, "mobile": {"699000111"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("correction from another office: %d", p.status)
	}
	if n := strings.Count(strings.Join(w.auditActions(), " "), ":denied"); n != 2 {
		t.Fatalf("refusals audited: %v", w.auditActions())
	}
}

func TestCrossSitePostIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "en")
	for _, path := range []string{"/desk/register", "/desk/logout", "/desk/login"} {
		req := formRequest(t, w.srv.URL+path, citizenForm("12345678Z", "612345678", "ca"), "en")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST %s: %d", path, res.StatusCode)
		}
	}
	// An Origin of another site is refused too.
	req := formRequest(t, w.srv.URL+"/desk/register", citizenForm("12345678Z", "612345678", "ca"), "en")
	req.Header.Del("Sec-Fetch-Site")
	req.Header.Set("Origin", "https://evil.example")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Origin: %d", res.StatusCode)
	}
	if n, _ := w.store.CountCitizens(w.ctx); n != 0 {
		t.Fatal("a cross-site POST registered a citizen")
	}
}

func TestReissueIsNeverSilentlyDoubled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "en")
	_, id := b.register(citizenForm("12345678Z", "612345678", "en"))
	record := b.get("/desk/citizens/" + id)
	ticket := hidden(t, record.body, "ticket")
	first := b.post("/desk/citizens/"+id+"/code", url.Values{"ticket": {ticket}})
	if !strings.HasPrefix(first.url, "/desk/once/") || !strings.Contains(text(first.body), "New Clau activation code") {
		t.Fatalf("reissue: %d %s\n%s", first.status, first.url, text(first.body))
	}
	second := b.post("/desk/citizens/"+id+"/code", url.Values{"ticket": {ticket}})
	if second.status != http.StatusConflict || codeRE.MatchString(second.body) || !strings.Contains(text(second.body), "already sent") {
		t.Fatalf("double submit: %d\n%s", second.status, text(second.body))
	}
	if n := strings.Count(strings.Join(w.auditActions(), " "), "code.issue:ok"); n != 2 {
		t.Fatalf("codes issued: %d, want 2 (registration + one reissue)", n)
	}
	// The code on the reissue receipt is the live one.
	code := strings.ReplaceAll(codeRE.FindString(first.body), "-", "")
	live, _ := w.store.LiveCode(w.ctx, "activation", id)
	if !w.keyring.VerifyHash("code:activation", []byte(id+"\x00"+code), live.Hash) {
		t.Fatal("the receipt's code is not the live one")
	}
}

func TestCorrectContactAndDeregister(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "es")
	_, id := b.register(citizenForm("12345678Z", "612345678", "ca"))
	record := b.get("/desk/citizens/" + id)
	version := hidden(t, record.body, "version")

	p := b.post("/desk/citizens/"+id+"/contact", url.Values{"version": {version}, "email": {"bad"}, "mobile": {"612345678"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="f-email-error"`) {
		t.Fatalf("bad email: %d", p.status)
	}
	p = b.post("/desk/citizens/"+id+"/contact", url.Values{"version": {version}, "email": {"Nuria@Example.ORG"}, "mobile": {"699 000 111"}})
	if p.url != "/desk/citizens/"+id || !strings.Contains(text(p.body), "Se han guardado los datos de contacto") ||
		!strings.Contains(text(p.body), "+34699000111") {
		t.Fatalf("correction: %d %s\n%s", p.status, p.url, text(p.body))
	}
	// A second officer's form, read before the correction, is now stale.
	p = b.post("/desk/citizens/"+id+"/contact", url.Values{"version": {version}, "email": {"old@example.org"}, "mobile": {"612345678"}})
	if p.status != http.StatusConflict || !strings.Contains(text(p.body), "Otra persona ha modificado este registro") {
		t.Fatalf("stale correction: %d\n%s", p.status, text(p.body))
	}
	version = hidden(t, p.body, "version")
	p = b.post("/desk/citizens/"+id+"/deregister", url.Values{"version": {version}, "reason": {"  "}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="f-reason-error"`) {
		t.Fatalf("deregister without reason: %d", p.status)
	}
	p = b.post("/desk/citizens/"+id+"/deregister", url.Values{"version": {version}, "reason": {"Lo pide la persona"}})
	if p.url != "/desk/citizens/"+id || !strings.Contains(text(p.body), "Se ha dado de baja a la persona") || strings.Contains(p.body, `name="ticket"`) {
		t.Fatalf("deregister: %d\n%s", p.status, text(p.body))
	}
	if _, err := w.store.LiveCode(w.ctx, "activation", id); err == nil {
		t.Fatal("the activation code survived deregistration")
	}
	for _, want := range []string{"citizen.correct:ok", "citizen.deregister:ok"} {
		if !strings.Contains(strings.Join(w.auditActions(), " "), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestSupervisorManagesOfficeStaff(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	boss := w.officer(w.bcn, "boss", identity.RoleSupervisor, true)
	plain := w.officer(w.bcn, "plain", identity.RoleOfficer, true)
	w.officer(w.gir, "faraway", identity.RoleOfficer, true)

	if p := w.signedIn(plain, "en").get("/desk/officers"); p.status != http.StatusForbidden {
		t.Fatalf("an officer manages staff: %d", p.status)
	}
	b := w.signedIn(boss, "en")
	p := b.get("/desk/officers")
	if p.status != 200 || !strings.Contains(p.body, ">plain<") || strings.Contains(p.body, "faraway") {
		t.Fatalf("staff list: %d\n%s", p.status, text(p.body))
	}
	if strings.Contains(p.body, `value="admin"`) {
		t.Fatal("a supervisor is offered the admin role")
	}
	p = b.post("/desk/officers", url.Values{"username": {"New.Person"}, "display_name": {"New Person"}, "role": {"officer"}})
	if !strings.HasPrefix(p.url, "/desk/once/") || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		t.Fatalf("add officer: %d %s\n%s", p.status, p.url, text(p.body))
	}
	password := regexp.MustCompile(`[A-Z2-7]{7}-[A-Z2-7]{6}-[A-Z2-7]{6}-[A-Z2-7]{7}`).FindString(p.body)
	secret := regexp.MustCompile(`<span class="mono">([A-Z2-7]{32})</span>`).FindStringSubmatch(p.body)
	if password == "" || secret == nil {
		t.Fatalf("credentials not shown:\n%s", text(p.body))
	}
	if again := b.get(p.url); again.status != http.StatusGone || strings.Contains(again.body, password) {
		t.Fatal("the credentials page shows twice")
	}
	if p := b.post("/desk/officers", url.Values{"username": {"new.person"}, "display_name": {"Again"}, "role": {"officer"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(text(p.body), "This username is already taken") {
		t.Fatalf("duplicate username: %d", p.status)
	}
	newcomer, err := w.store.OfficerByUsername(w.ctx, "new.person")
	if err != nil || newcomer.OfficeID != w.bcn.ID {
		t.Fatalf("new officer: %+v %v", newcomer, err)
	}
	nb := w.signedIn(&staff{Officer: newcomer, password: password, secret: secret[1]}, "en")

	// Disabling ends the newcomer's session at once.
	list := b.get("/desk/officers")
	version := regexp.MustCompile(`action="/desk/officers/` + newcomer.ID + `/status"[^>]*>\s*<input type="hidden" name="version" value="(\d+)"`).FindStringSubmatch(list.body)
	if version == nil {
		t.Fatalf("no disable form for the newcomer:\n%s", list.body)
	}
	p = b.post("/desk/officers/"+newcomer.ID+"/status", url.Values{"version": {version[1]}, "status": {"disabled"}})
	if p.url != "/desk/officers" || !strings.Contains(text(p.body), "has been disabled") {
		t.Fatalf("disable: %d %s\n%s", p.status, p.url, text(p.body))
	}
	if p := nb.get("/desk"); p.url != "/desk/login" {
		t.Fatal("a disabled officer's session still works")
	}
	// A lost phone: the supervisor gives "plain" a new seed, shown once;
	// the old app's codes stop working and the new one signs in.
	list = b.get("/desk/officers")
	m := regexp.MustCompile(`action="/desk/officers/` + plain.ID + `/totp"[^>]*>\s*<input type="hidden" name="version" value="(\d+)"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatal("no TOTP reset form for plain")
	}
	p = b.post("/desk/officers/"+plain.ID+"/totp", url.Values{"version": {m[1]}})
	fresh := regexp.MustCompile(`<span class="mono">([A-Z2-7]{32})</span>`).FindStringSubmatch(p.body)
	if fresh == nil || fresh[1] == plain.secret || strings.Contains(text(p.body), "Password") {
		t.Fatalf("TOTP reset: %d\n%s", p.status, text(p.body))
	}
	w.clock.Add(30 * time.Second)
	old := w.browser("en")
	old.post("/desk/login", url.Values{"username": {"plain"}, "password": {plain.password}})
	if p := old.post("/desk/login/totp", url.Values{"code": {w.code(plain.secret)}}); p.url == "/desk" {
		t.Fatal("the old authenticator still works")
	}
	plain.secret = fresh[1]
	w.signedIn(plain, "en")

	// Nobody disables themselves or another office's staff.
	if p := b.post("/desk/officers/"+boss.ID+"/status", url.Values{"version": {"1"}, "status": {"disabled"}}); p.status != http.StatusForbidden {
		t.Fatalf("self-disable: %d", p.status)
	}
	for _, want := range []string{"officer.create:ok", "officer.disable:ok", "officer.totp_enroll:ok"} {
		if !strings.Contains(strings.Join(w.auditActions(), " "), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestEveryPageInEveryLanguage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleSupervisor, true)
	titles := map[string][]string{
		"ca": {"Accés del personal", "Taulell de registre", "Registra una persona", "Personal de l'oficina", "Registre de la persona"},
		"es": {"Acceso del personal", "Mostrador de registro", "Registrar a una persona", "Personal de la oficina", "Registro de la persona"},
		"en": {"Staff sign-in", "Registration desk", "Register a citizen", "Office staff", "Citizen record"},
	}
	var id string
	for _, lang := range []string{"ca", "es", "en"} {
		b := w.browser(lang)
		pages := []page{b.get("/desk/login")}
		b.signIn(marta)
		if id == "" {
			_, id = b.register(citizenForm("12345678Z", "612345678", "ca"))
		}
		pages = append(pages, b.get("/desk"), b.get("/desk/register"), b.get("/desk/officers"), b.get("/desk/citizens/"+id))
		for i, p := range pages {
			if p.status != 200 || !strings.Contains(p.body, `<html lang="`+lang+`">`) || !strings.Contains(text(p.body), titles[lang][i]) {
				t.Errorf("%s page %d (%s): %d, want title %q", lang, i, p.url, p.status, titles[lang][i])
			}
		}
	}
}
