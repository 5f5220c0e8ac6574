package desk_test

import (
	"context"
	"encoding/json"
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

	"github.com/pquerna/otp/totp"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/letterpdf"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

// world is the whole server stack on a real SQLite store.
type world struct {
	t        *testing.T
	ctx      context.Context
	store    store.Store
	sql      *sqlstore.Store
	keyring  *secure.Keyring
	clock    *fakeclock.Clock
	srv      *httptest.Server
	bcn, gir *identity.Office
	appts    *appointments.Service
	reg      *registration.Service
}

const maxBody = 64 << 10

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st := sqltest.Open(t, sqlstore.SQLite)
	clk := fakeclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	kr, err := secure.NewKeyring(nil, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := httpserver.New(httpserver.Options{MaxBodyBytes: maxBody, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), st)
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := web.NewRenderer(srv, log)
	if err != nil {
		t.Fatal(err)
	}
	web.Mount(srv, renderer)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, clk.Now)
	codes := secure.NewOneTimeCodes(kr, clk.Now, nil)
	reg := registration.New(st, codes, hasher, n, registration.Options{Now: clk.Now})
	reg.EnableLetters(registration.LetterOptions{Keyring: kr, ActivateURL: "https://clau.example.org/activate"})
	pinMethod := pin.New(st, kr, codes, n, pin.Options{Now: clk.Now})
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	appts := appointments.New(st, kr, n, madrid, clk.Now)
	appts.BaseURL = "https://clau.example.org"
	d, err := desk.New(desk.Deps{Store: st, Keyring: kr, Hasher: hasher, Registration: reg, PIN: pinMethod, Server: srv, Renderer: renderer,
		Log: log, Now: clk.Now, ActivationURL: "https://clau.example.org/activate", Appointments: appts,
		Letters: &letterpdf.Printer{T: i18n.MustLoad().T}})
	if err != nil {
		t.Fatal(err)
	}
	d.Mount()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	w := &world{t: t, ctx: ctx, store: st, sql: st, keyring: kr, clock: clk, srv: ts, appts: appts, reg: reg}
	w.bcn = w.office("BCN-01", "OAC Barcelona")
	w.gir = w.office("GIR-01", "OAC Girona")
	return w
}

func (w *world) office(code, name string) *identity.Office {
	o := &identity.Office{ID: store.NewID(), Code: code, Name: name, Address: "Plaça de la Vila 1", PostalCode: "08002",
		Municipality: "Barcelona", Province: "Barcelona", Phone: "+34 900 000 000", Active: true}
	if err := w.store.CreateOffice(w.ctx, o); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// staff is an officer with the credentials a test signs in with.
type staff struct {
	*identity.Officer
	password, secret string
}

const testPassword = "Correct-Horse-2026"

func (w *world) officer(office *identity.Office, username string, role identity.Role, enrolled bool) *staff {
	w.t.Helper()
	h := secure.NewHasher(secure.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, nil)
	hash, err := h.Hash(w.ctx, testPassword)
	if err != nil {
		w.t.Fatal(err)
	}
	o := &identity.Officer{ID: store.NewID(), Username: username, DisplayName: "Officer " + username, PasswordHash: hash,
		OfficeID: office.ID, Role: role, Status: identity.OfficerActive}
	s := &staff{Officer: o, password: testPassword}
	if enrolled {
		if s.secret, _, err = desk.SealNewTOTP(w.keyring, o); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := w.store.CreateOfficer(w.ctx, o); err != nil {
		w.t.Fatal(err)
	}
	return s
}

// code is the officer's authenticator app showing a code now.
func (w *world) code(secret string) string {
	w.t.Helper()
	c, err := totp.GenerateCode(secret, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// browser is one officer's browser: cookies, a language, and the headers
// a browser sends on a same-origin form submit.
type browser struct {
	w    *world
	c    *http.Client
	lang string
}

func (w *world) browser(lang string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{w: w, c: &http.Client{Jar: jar}, lang: lang}
}

type page struct {
	status int
	body   string
	url    string // after redirects
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.w.t.Helper()
	req.Header.Set("Accept-Language", b.lang)
	res, err := b.c.Do(req)
	if err != nil {
		b.w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, body: string(body), url: res.Request.URL.Path, header: res.Header}
}

func (b *browser) get(path string) page {
	b.w.t.Helper()
	req, _ := http.NewRequest("GET", b.w.srv.URL+path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.w.t.Helper()
	req, _ := http.NewRequest("POST", b.w.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.w.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signIn goes through both steps and must land on the desk home.
func (b *browser) signIn(s *staff) page {
	b.w.t.Helper()
	p := b.post("/desk/login", url.Values{"username": {s.Username}, "password": {s.password}})
	if p.url != "/desk/login/totp" {
		b.w.t.Fatalf("password step for %s: %d %s\n%s", s.Username, p.status, p.url, text(p.body))
	}
	p = b.post("/desk/login/totp", url.Values{"code": {b.w.code(s.secret)}})
	if p.status != http.StatusOK || p.url != "/desk" {
		b.w.t.Fatalf("TOTP step for %s: %d %s\n%s", s.Username, p.status, p.url, text(p.body))
	}
	// The next sign-in of anyone in this test needs a fresh TOTP step.
	b.w.clock.Add(30 * time.Second)
	return p
}

func (w *world) signedIn(s *staff, lang string) *browser {
	b := w.browser(lang)
	b.signIn(s)
	return b
}

// registration form values for a citizen.
func citizenForm(doc, mobile, lang string) url.Values {
	return url.Values{"document": {doc}, "doc_validity": {"2031-04-30"}, "given_name": {"Núria"},
		"first_surname": {"Puig"}, "second_surname": {"Ferrer"}, "birth_date": {"1980-02-29"}, "nationality": {"ES"},
		"email": {"nuria@example.org"}, "mobile": {mobile}, "language": {lang}, "document_shown": {"dni"},
		"document_checked": {"1"}}
}

var (
	codeRE    = regexp.MustCompile(`[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}`)
	tagRE     = regexp.MustCompile(`<[^>]*>`)
	spaceRE   = regexp.MustCompile(`\s+`)
	citizenRE = regexp.MustCompile(`/desk/citizens/([a-z2-7]{26})`)
)

// text is a page's visible text, for failure messages and checks.
func text(html string) string {
	t := tagRE.ReplaceAllString(html, " ")
	for _, r := range [][2]string{{"&#39;", "'"}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&#34;", `"`}, {"&#43;", "+"}, {"&quot;", `"`}} {
		t = strings.ReplaceAll(t, r[0], r[1])
	}
	return strings.TrimSpace(spaceRE.ReplaceAllString(t, " "))
}

func hidden(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden %s in the page", name)
	}
	return m[1]
}

// register registers a citizen through the form and returns the receipt
// page and the citizen's ID.
func (b *browser) register(form url.Values) (page, string) {
	b.w.t.Helper()
	p := b.post("/desk/register", form)
	if p.status != http.StatusOK || !strings.HasPrefix(p.url, "/desk/once/") {
		b.w.t.Fatalf("register: %d %s\n%s", p.status, p.url, text(p.body))
	}
	m := citizenRE.FindStringSubmatch(p.body)
	if m == nil {
		b.w.t.Fatalf("receipt has no link to the record:\n%s", p.body)
	}
	return p, m[1]
}

// auditActions lists the trail's events as action:outcome, oldest first.
func (w *world) auditActions() []string {
	var out []string
	_ = w.store.ScanAudit(w.ctx, 1, func(e store.AuditEvent) error {
		out = append(out, e.Action+":"+e.Outcome)
		return nil
	})
	return out
}

func (w *world) hasAudit(action, outcome string) bool {
	for _, a := range w.auditActions() {
		if a == action+":"+outcome {
			return true
		}
	}
	return false
}

// api is a desk API client with a bearer token.
type api struct {
	w     *world
	token string
	lang  string
}

type apiResult struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a *api) call(method, path, contentType, body string) apiResult {
	a.w.t.Helper()
	req, _ := http.NewRequest(method, a.w.srv.URL+path, strings.NewReader(body))
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if a.lang != "" {
		req.Header.Set("Accept-Language", a.lang)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := apiResult{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (a *api) json(method, path string, v any) apiResult {
	a.w.t.Helper()
	b, _ := json.Marshal(v)
	return a.call(method, path, "application/json", string(b))
}

func (w *world) api(s *staff, ttl time.Duration) *api {
	w.t.Helper()
	tok, err := desk.NewAPIToken(w.ctx, w.store, s.Officer, desk.TokenSpec{Name: "test", TTL: ttl, Source: "test"}, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return &api{w: w, token: tok}
}
