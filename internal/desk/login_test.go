package desk_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

func TestSignInWithPasswordAndTOTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleSupervisor, true)
	b := w.browser("ca")

	// Desk pages need a session.
	if p := b.get("/desk"); p.url != "/desk/login" || !strings.Contains(text(p.body), "Accés del personal") {
		t.Fatalf("anonymous /desk: %d %s", p.status, p.url)
	}
	p := b.post("/desk/login", url.Values{"username": {"MGarcia "}, "password": {marta.password}})
	if p.url != "/desk/login/totp" || !strings.Contains(text(p.body), "Codi d'autenticació") {
		t.Fatalf("password step: %d %s\n%s", p.status, p.url, text(p.body))
	}
	if b.cookie(desk.SessionCookie) != "" {
		t.Fatal("a session exists before the second factor")
	}
	// Stop at the first answer to see its cookies (the jar keeps them).
	noRedirect := &http.Client{Jar: b.c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Do(formRequest(t, w.srv.URL+"/desk/login/totp", url.Values{"code": {w.code(marta.secret)}}, b.lang))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == desk.SessionCookie {
			cookie = c
		}
	}
	if res.StatusCode != http.StatusSeeOther || cookie == nil {
		t.Fatalf("TOTP step: %d, cookie %v", res.StatusCode, cookie)
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.MaxAge != int(8*time.Hour/time.Second) {
		t.Fatalf("session cookie attributes: %+v", cookie)
	}
	home := b.get("/desk")
	if home.status != 200 || !strings.Contains(text(home.body), "Officer mgarcia, OAC Barcelona (BCN-01), supervisió") {
		t.Fatalf("home: %d\n%s", home.status, text(home.body))
	}
	if cc := home.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("desk pages must not be cached: %q", cc)
	}

	// Only a hash of the token is stored.
	if _, err := w.store.SessionByID(w.ctx, cookie.Value); err == nil {
		t.Fatal("the session token is stored in clear")
	}
	live, _ := w.store.ListSessions(w.ctx, store.SessionDesk, marta.ID, w.clock.Now())
	if len(live) != 1 || strings.Join(live[0].AMR, " ") != "pwd otp" {
		t.Fatalf("sessions: %+v", live)
	}

	// Signing in again in the same browser rotates the session.
	w.clock.Add(30 * time.Second)
	old := b.cookie(desk.SessionCookie)
	b.signIn(marta)
	if now := b.cookie(desk.SessionCookie); now == old || now == "" {
		t.Fatal("the session was not rotated at sign-in")
	}
	if live, _ := w.store.ListSessions(w.ctx, store.SessionDesk, marta.ID, w.clock.Now()); len(live) != 1 {
		t.Fatalf("the old session lives on: %d live", len(live))
	}

	// Sign-out revokes the session: the old cookie no longer works.
	stolen := b.cookie(desk.SessionCookie)
	p = b.post("/desk/logout", nil)
	if p.url != "/desk/login" || !strings.Contains(text(p.body), "Heu tancat la sessió") {
		t.Fatalf("logout: %d %s", p.status, p.url)
	}
	u, _ := url.Parse(w.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: desk.SessionCookie, Value: stolen, Path: "/"}})
	if p := b.get("/desk"); p.url != "/desk/login" {
		t.Fatalf("a signed-out session still opens the desk: %s", p.url)
	}
	for _, want := range []string{"desk.login:ok", "desk.logout:ok"} {
		if !w.hasAudit(strings.Split(want, ":")[0], strings.Split(want, ":")[1]) {
			t.Errorf("audit lacks %s: %v", want, w.auditActions())
		}
	}
}

func formRequest(t *testing.T, u string, form url.Values, lang string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Accept-Language", lang)
	return req
}

func TestTOTPCodeCannotBeReplayed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	code := w.code(marta.secret)

	first := w.browser("en")
	first.post("/desk/login", url.Values{"username": {marta.Username}, "password": {marta.password}})
	if p := first.post("/desk/login/totp", url.Values{"code": {code}}); p.url != "/desk" {
		t.Fatalf("first use: %d %s", p.status, p.url)
	}
	// Someone who saw the code types it within its 30 seconds.
	thief := w.browser("en")
	thief.post("/desk/login", url.Values{"username": {marta.Username}, "password": {marta.password}})
	p := thief.post("/desk/login/totp", url.Values{"code": {code}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "was already used") {
		t.Fatalf("replayed code: %d %s\n%s", p.status, p.url, text(p.body))
	}
	if thief.cookie(desk.SessionCookie) != "" {
		t.Fatal("a replayed code gave a session")
	}
	// A wrong code is refused too, and the field says why.
	p = thief.post("/desk/login/totp", url.Values{"code": {"000000"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `aria-describedby="f-code-hint f-code-error"`) {
		t.Fatalf("wrong code: %d\n%s", p.status, p.body)
	}
	// The next step's code works.
	w.clock.Add(30 * time.Second)
	if p := thief.post("/desk/login/totp", url.Values{"code": {w.code(marta.secret)}}); p.url != "/desk" {
		t.Fatalf("next code: %d %s", p.status, p.url)
	}
	if !w.hasAudit("desk.login", "denied") {
		t.Fatalf("refused codes are not audited: %v", w.auditActions())
	}
}

func TestUnknownUsernameAndWrongPasswordLookAlike(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	for _, lang := range []string{"ca", "es", "en"} {
		b := w.browser(lang)
		wrong := b.post("/desk/login", url.Values{"username": {"mgarcia"}, "password": {"not-the-password"}})
		unknown := b.post("/desk/login", url.Values{"username": {"nobody"}, "password": {"not-the-password"}})
		if wrong.status != unknown.status || wrong.url != unknown.url {
			t.Fatalf("%s: wrong password %d %s, unknown user %d %s", lang, wrong.status, wrong.url, unknown.status, unknown.url)
		}
		if a, b := strings.ReplaceAll(wrong.body, "mgarcia", "X"), strings.ReplaceAll(unknown.body, "nobody", "X"); a != b {
			t.Fatalf("%s: the pages differ:\n%s\n%s", lang, text(a), text(b))
		}
		want := map[string]string{"ca": "El nom d'usuari o la contrasenya no són correctes.",
			"es": "El nombre de usuario o la contraseña no son correctos.", "en": "The username or the password is not correct."}[lang]
		if !strings.Contains(text(wrong.body), want) || !strings.Contains(wrong.body, `role="alert"`) {
			t.Fatalf("%s: message missing:\n%s", lang, text(wrong.body))
		}
		if strings.Contains(wrong.body, "not-the-password") {
			t.Fatal("the password is sent back in the page")
		}
	}
}

func TestLockoutAfterFiveFailures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.browser("es")
	var p page
	for i := 1; i <= 5; i++ {
		p = b.post("/desk/login", url.Values{"username": {"mgarcia"}, "password": {"wrong"}})
	}
	if p.status != http.StatusTooManyRequests || !strings.Contains(text(p.body), "Demasiados intentos") {
		t.Fatalf("5th failure: %d\n%s", p.status, text(p.body))
	}
	// Locked: even the right password does not pass, from any browser.
	p = w.browser("en").post("/desk/login", url.Values{"username": {"mgarcia"}, "password": {marta.password}})
	if p.status != http.StatusTooManyRequests || p.url != "/desk/login" {
		t.Fatalf("right password while locked: %d %s", p.status, p.url)
	}
	// An unknown username locks the same way: no enumeration by lockout.
	for i := 1; i <= 5; i++ {
		p = b.post("/desk/login", url.Values{"username": {"ghost"}, "password": {"wrong"}})
	}
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("unknown username not locked: %d", p.status)
	}
	if !w.hasAudit("desk.lockout", "denied") {
		t.Fatalf("lockout not audited: %v", w.auditActions())
	}
	// The lock ends.
	w.clock.Add(6 * time.Minute)
	b.signIn(marta)
}

func TestStaffWithoutSecondFactorCannotSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	nofactor := w.officer(w.bcn, "jpuig", identity.RoleOfficer, false)
	p := w.browser("en").post("/desk/login", url.Values{"username": {nofactor.Username}, "password": {nofactor.password}})
	if p.status != http.StatusForbidden || p.url != "/desk/login" || !strings.Contains(p.body, "Ask your supervisor") {
		t.Fatalf("no TOTP: %d %s\n%s", p.status, p.url, text(p.body))
	}
	// Disabled officers and officers of an inactive office neither.
	off := w.officer(w.bcn, "disabled", identity.RoleOfficer, true)
	off.Status = identity.OfficerDisabled
	if err := w.store.UpdateOfficer(w.ctx, off.Officer); err != nil {
		t.Fatal(err)
	}
	if p := w.browser("en").post("/desk/login", url.Values{"username": {"disabled"}, "password": {off.password}}); p.status != http.StatusForbidden {
		t.Fatalf("disabled officer: %d", p.status)
	}
	gir := w.officer(w.gir, "girona", identity.RoleOfficer, true)
	w.gir.Active = false
	if err := w.store.UpdateOffice(w.ctx, w.gir); err != nil {
		t.Fatal(err)
	}
	if p := w.browser("en").post("/desk/login", url.Values{"username": {"girona"}, "password": {gir.password}}); p.status != http.StatusForbidden {
		t.Fatalf("inactive office: %d", p.status)
	}
	if n := strings.Count(strings.Join(w.auditActions(), " "), "desk.login:denied"); n != 3 {
		t.Fatalf("refusals audited: %d, want 3: %v", n, w.auditActions())
	}
}

func TestSessionIdleAndAbsoluteTimeouts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.signedIn(marta, "en")
	w.clock.Add(29 * time.Minute)
	if p := b.get("/desk"); p.url != "/desk" {
		t.Fatal("a session idle for 29 minutes ended")
	}
	w.clock.Add(31 * time.Minute)
	if p := b.get("/desk"); p.url != "/desk/login" || !strings.Contains(p.body, "Your session has ended") {
		t.Fatalf("a session idle for 31 minutes still works: %s", p.url)
	}
	b = w.signedIn(marta, "en")
	for range 17 { // keep it busy past 8 hours
		w.clock.Add(29 * time.Minute)
		b.get("/desk")
	}
	if p := b.get("/desk"); p.url != "/desk/login" {
		t.Fatal("a session lived past 8 hours")
	}
}

func TestTOTPStepExpires(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	b := w.browser("en")
	b.post("/desk/login", url.Values{"username": {marta.Username}, "password": {marta.password}})
	w.clock.Add(6 * time.Minute)
	p := b.post("/desk/login/totp", url.Values{"code": {w.code(marta.secret)}})
	if p.url != "/desk/login" || !strings.Contains(p.body, "Start again") {
		t.Fatalf("late TOTP step: %d %s", p.status, p.url)
	}
	// Without the password step, the TOTP page sends back to the start.
	if p := w.browser("en").get("/desk/login/totp"); p.url != "/desk/login" {
		t.Fatalf("TOTP page without a flow: %s", p.url)
	}
}
