package account_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/clau-eid/clau/internal/fakeclock"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/selfservice"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

type site struct {
	t      *testing.T
	clock  *fakeclock.Clock
	url    string
	store  store.Store
	reg    *registration.Service
	desk   registration.Actor
	hasher *secure.Hasher
	pin    *pin.Method
	origin string // the site as browsers reach it (localhost)
}

func newSite(t *testing.T) *site { t.Helper(); return newSiteWith(t, nil) }

// siteOption changes what newSiteWith builds.
type siteOption func(*siteConfig)

type siteConfig struct {
	store   store.Store              // nil: a new SQLite store
	passkey func(o *passkey.Options) // adjusts the passkey method's options
}

// newSiteWith runs the citizen pages with a registry of sign-in methods
// (nil: the default, the permanent password only).
func newSiteWith(t *testing.T, methods *broker.Registry, opts ...siteOption) *site {
	t.Helper()
	var cfg siteConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := cfg.store
	if s == nil {
		s = sqltest.Open(t, sqlstore.SQLite)
	}
	clk := fakeclock.New(time.Now())
	kr, _ := secure.NewKeyring(nil, time.Now())
	codes := secure.NewOneTimeCodes(kr, clk.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := web.NewRenderer(srv, log)
	if err != nil {
		t.Fatal(err)
	}
	web.Mount(srv, r)
	reg := registration.New(s, codes, hasher, n, registration.Options{Now: clk.Now})
	pinMethod := pin.New(s, kr, codes, n, pin.Options{Now: clk.Now})
	// Browsers reach the site as localhost (WebAuthn takes no IP address
	// as relying party ID); Go clients use 127.0.0.1.
	ts := httptest.NewUnstartedServer(nil)
	origin := "http://localhost:" + strings.TrimPrefix(ts.Listener.Addr().String(), "127.0.0.1:")
	po := passkey.Options{RPID: "localhost", Origins: []string{origin}}
	if cfg.passkey != nil {
		cfg.passkey(&po)
	}
	pk, err := passkey.New(s, po)
	if err != nil {
		t.Fatal(err)
	}
	perm := permanent.New(s, hasher, codes, n, nil)
	br := broker.New(s, broker.Options{Sealer: kr})
	self := selfservice.New(s, codes, hasher, n, perm, br, selfservice.Options{Now: clk.Now})
	pk.OnRegister(self.PasskeyAdded)
	pages, err := account.New(account.Deps{Store: s, Broker: br, PIN: pinMethod, Passkey: pk,
		Permanent: perm, Methods: methods, Registration: reg, SelfService: self, Server: srv, Renderer: r,
		Policy: secure.DefaultPasswordPolicy(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pages.Mount()
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	ctx := context.Background()
	o := &identity.Office{ID: store.NewID(), Code: "BCN-01", Name: "OAC", Address: "Plaça 1", PostalCode: "08001",
		Municipality: "Barcelona", Province: "Barcelona", Active: true}
	s.CreateOffice(ctx, o)
	off := &identity.Officer{ID: store.NewID(), Username: "mgarcia", DisplayName: "M", PasswordHash: "x", OfficeID: o.ID,
		Role: identity.RoleOfficer, Status: identity.OfficerActive}
	s.CreateOfficer(ctx, off)
	return &site{t: t, clock: clk, url: ts.URL, store: s, reg: reg, desk: registration.Actor{Officer: off, Office: o},
		pin: pinMethod, origin: origin, hasher: hasher}
}

func (s *site) register() string {
	s.t.Helper()
	iss, err := s.reg.Register(context.Background(), s.desk, &identity.Citizen{Document: identity.Document{Number: "12345678Z"},
		DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30}, GivenName: "Núria", FirstSurname: "Puig",
		BirthDate: identity.Date{Year: 1980, Month: 2, Day: 29}, Email: "nuria@example.org", Mobile: "612345678",
		Language: "ca"}, registration.DocumentCheck{Shown: "dni", Checked: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return iss.Code
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (s *site) lastSMS() string {
	s.t.Helper()
	msgs, _ := s.store.ListMessages(context.Background(), 1)
	if len(msgs) == 0 {
		s.t.Fatal("no SMS sent")
	}
	return sixDigits.FindString(msgs[0].Body)
}

// browser is a cookie-keeping client that speaks one language.
type browser struct {
	t    *testing.T
	c    *http.Client
	lang string
	last http.Header // the last response's headers
}

func (s *site) browser(lang string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, c: &http.Client{Jar: jar}, lang: lang}
}

func (b *browser) do(method, u string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Accept-Language", b.lang)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	b.last = res.Header
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.Path, string(out)
}

func (b *browser) get(u string) (int, string, string) { return b.do("GET", u, nil) }
func (b *browser) post(u string, kv ...string) (int, string, string) {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return b.do("POST", u, f)
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q:\n%s", w, body)
		}
	}
}

const good = "Groc-Mar-Tramuntana-7"

func TestActivateThenSignInAtBothLevels(t *testing.T) {
	s := newSite(t)
	code := s.register()
	b := s.browser("ca")

	st, _, body := b.get(s.url + "/activate")
	if st != 200 {
		t.Fatal(st)
	}
	mustContain(t, body, "Activeu la vostra Clau", `for="document"`, `autocomplete="one-time-code"`)

	// Wrong email: the same answer as an unknown document, in Catalan, the typed document kept.
	st, _, body = b.post(s.url+"/activate", "document", "12345678z", "email", "other@example.org", "code", code)
	if st != 400 {
		t.Fatalf("mismatch status %d", st)
	}
	mustContain(t, body, "no coincideixen", `role="alert"`, `value="12345678z"`)
	if strings.Contains(body, code) {
		t.Fatal("the activation code was echoed back into the page")
	}
	// A malformed document gets its field error, tied to the input.
	_, _, body = b.post(s.url+"/activate", "document", "12345678A", "email", "nuria@example.org", "code", code)
	mustContain(t, body, `id="document-error"`, `aria-invalid="true"`, `aria-describedby="document-hint document-error"`)

	st, path, body := b.post(s.url+"/activate", "document", "12345678Z", "email", "nuria@example.org", "code", strings.ToLower(code))
	if st != 200 || !strings.HasSuffix(path, "/sms") {
		t.Fatalf("after step 1: %d %s", st, path)
	}
	mustContain(t, body, "34*****678")
	flow := strings.TrimSuffix(path, "/sms")

	// Another browser with the link gets nowhere.
	other := s.browser("es")
	if st, _, body := other.get(s.url + flow + "/sms"); st != 403 || !strings.Contains(body, "otro navegador") {
		t.Fatalf("other browser: %d", st)
	}

	_, _, body = b.post(s.url+flow+"/sms", "code", "000000")
	mustContain(t, body, "El codi no és correcte", "2 intents")
	_, path, _ = b.post(s.url+flow+"/sms", "code", s.lastSMS())
	if !strings.HasSuffix(path, "/password") {
		t.Fatalf("after the SMS code: %s", path)
	}
	// The back button to the SMS step lands on the password step.
	if _, p, _ := b.get(s.url + flow + "/sms"); !strings.HasSuffix(p, "/password") {
		t.Fatalf("back button went to %s", p)
	}
	_, _, body = b.post(s.url+flow+"/password", "password", good, "password_again", good+"x")
	mustContain(t, body, `id="password_again-error"`)
	_, _, body = b.post(s.url+flow+"/password", "password", "Nuria-2026-abc", "password_again", "Nuria-2026-abc")
	mustContain(t, body, `id="password-error"`, "nom")
	st, path, body = b.post(s.url+flow+"/password", "password", good, "password_again", good)
	if st != 200 || !strings.HasSuffix(path, "/done") {
		t.Fatalf("after the password: %d %s", st, path)
	}
	mustContain(t, body, "La vostra Clau està activa")
	// A double submit of the last step is harmless.
	if _, p, _ := b.post(s.url+flow+"/password", "password", good, "password_again", good); !strings.HasSuffix(p, "/done") {
		t.Fatalf("double submit went to %s", p)
	}

	// Sign in at level low.
	b = s.browser("es")
	_, _, body = b.get(s.url + "/login?continue=/me")
	mustContain(t, body, "Acceda con Clau", `autocomplete="current-password"`)
	path = formAction(t, body)
	_, _, body = b.post(s.url+path, "document", "12345678Z", "password", "Wrong-pass-123")
	mustContain(t, body, "no son correctos")
	_, _, bodyUnknown := b.post(s.url+path, "document", "87654321X", "password", "Wrong-pass-123")
	mustContain(t, bodyUnknown, "no son correctos")
	st, path, body = b.post(s.url+path, "document", "12345678Z", "password", good)
	if st != 200 || path != "/me" {
		t.Fatalf("after sign-in: %d %s", st, path)
	}
	mustContain(t, body, "Núria", `id="loa">Bajo`, "Contraseña permanente")

	// Open redirect is refused: a foreign continue URL ends on /me.
	b2 := s.browser("en")
	_, _, page := b2.get(s.url + "/login?continue=https://evil.example/")
	_, p3, _ := b2.post(s.url+formAction(t, page), "document", "12345678Z", "password", good)
	if p3 != "/me" {
		t.Fatalf("continue to a foreign site went to %s", p3)
	}

	// Step up to substantial: only the SMS code is asked.
	_, path, body = b.get(s.url + "/login?continue=/me&loa=substantial")
	if !strings.HasSuffix(path, "/sms") {
		t.Fatalf("step-up went to %s", path)
	}
	mustContain(t, body, "nivel de seguridad más alto")
	stepUp := strings.TrimSuffix(strings.TrimPrefix(path, "/login/"), "/sms")
	if _, err := s.store.LiveCode(context.Background(), permanent.SMSCode.Purpose, stepUp); err != nil {
		t.Fatalf("no live SMS code for the step-up: %v", err)
	}
	st, path, body = b.post(s.url+path, "code", s.lastSMS())
	if st != 200 || path != "/me" {
		t.Fatalf("after the SMS code: %d %s", st, path)
	}
	// The code was used up with the sign-in it finished.
	if _, err := s.store.LiveCode(context.Background(), permanent.SMSCode.Purpose, stepUp); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the SMS code is still live after signing in with it: %v", err)
	}
	mustContain(t, body, `id="loa">Sustancial`, "Código por SMS")

	// SSO: another request at substantial goes straight through.
	if _, p, _ := b.get(s.url + "/login?continue=/me&loa=substantial"); p != "/me" {
		t.Fatalf("SSO went to %s", p)
	}
	// Sign-out.
	b.post(s.url + "/logout")
	if _, p, body := b.get(s.url + "/me"); p != "/login" || !strings.Contains(body, `autocomplete="current-password"`) {
		t.Fatalf("after sign-out /me went to %s", p)
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	s := newSite(t)
	code := s.register()
	req, _ := http.NewRequest("POST", s.url+"/activate", strings.NewReader(url.Values{"document": {"12345678Z"},
		"email": {"nuria@example.org"}, "code": {code}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST = %d", res.StatusCode)
	}
}

var actionRE = regexp.MustCompile(`<form method="post" action="(/login/[a-z0-9]+(?:/permanent)?)"`)

// formAction is where the sign-in form on a page posts to.
func formAction(t *testing.T, body string) string {
	t.Helper()
	m := actionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", body)
	}
	return m[1]
}

// The activation code's bad cases as a citizen meets them in the pages:
// wrong, killed after five wrong tries, expired, reused after activation,
// replaced by a reissued one. Each answer is in the citizen's language.
func TestActivationCodeBadInput(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	try := func(code string) (int, string) {
		st, _, body := b.post(s.url+"/activate", "document", "12345678Z", "email", "nuria@example.org", "code", code)
		return st, body
	}
	code := s.register()
	for i := 1; i <= 4; i++ {
		_, body := try("AAAA-AAAA-AAAA-AAAA")
		mustContain(t, body, "The code is not correct", fmt.Sprintf("%d attempts left", 5-i))
	}
	_, body := try("AAAA-AAAA-AAAA-AAAA")
	mustContain(t, body, "Too many wrong attempts")
	_, body = try(code)
	mustContain(t, body, "Too many wrong attempts")

	// A reissued code works; the killed one stays dead.
	iss, err := s.reg.Reissue(context.Background(), s.desk, mustCitizen(t, s).ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Add(31 * 24 * time.Hour)
	_, body = try(iss.Code)
	mustContain(t, body, "The code has expired")

	iss, _ = s.reg.Reissue(context.Background(), s.desk, mustCitizen(t, s).ID)
	if _, path, _ := b.post(s.url+"/activate", "document", "12345678Z", "email", "nuria@example.org", "code", iss.Code); !strings.HasSuffix(path, "/sms") {
		t.Fatalf("fresh code: %s", path)
	}
	flow := strings.TrimSuffix(mustPath(t, b, s.url+"/activate", iss.Code), "/sms")
	b.post(s.url+flow+"/sms", "code", s.lastSMS())
	if _, p, _ := b.post(s.url+flow+"/password", "password", good, "password_again", good); !strings.HasSuffix(p, "/done") {
		t.Fatalf("activation did not finish: %s", p)
	}
	_, body = try(iss.Code)
	mustContain(t, body, "There is no valid code to check")
	events, _ := s.store.ListAudit(context.Background(), store.AuditFilter{Action: "activation.", Limit: 100})
	denied := 0
	for _, e := range events {
		if e.Outcome == "denied" {
			denied++
		}
	}
	if denied < 8 {
		t.Fatalf("refused activation attempts audited: %d", denied)
	}
}

func mustCitizen(t *testing.T, s *site) *identity.Citizen {
	t.Helper()
	c, err := s.store.CitizenByDocument(context.Background(), "12345678Z")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustPath starts an activation with code and returns where it landed.
func mustPath(t *testing.T, b *browser, u, code string) string {
	t.Helper()
	_, p, _ := b.post(u, "document", "12345678Z", "email", "nuria@example.org", "code", code)
	return p
}
