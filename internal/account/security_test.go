package account_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

// secSite is the citizen pages with every clock on one fake clock (the
// broker's sessions and the password's life too), a password lifecycle,
// and a logout hook that records which sessions ended through the broker.
type secSite struct {
	*site
	broker *broker.Broker
	perm   *permanent.Method
	mu     sync.Mutex
	hooked []string // session IDs the logout hook saw
}

func newSecSite(t *testing.T, life permanent.Lifecycle) *secSite {
	t.Helper()
	s := sqltest.Open(t, sqlstore.SQLite)
	clk := fakeclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	kr, _ := secure.NewKeyring(nil, clk.Now())
	codes := secure.NewOneTimeCodes(kr, clk.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, clk.Now)
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
	reg := registration.New(s, codes, hasher, n, registration.Options{Now: clk.Now, BaseURL: "https://clau.example"})
	br := broker.New(s, broker.Options{Now: clk.Now, Sealer: kr})
	perm := permanent.New(s, hasher, codes, n, clk.Now)
	life.BaseURL = "https://clau.example"
	perm.SetLifecycle(life)
	ss := &secSite{broker: br, perm: perm}
	br.OnLogout(func(ctx context.Context, tx store.Tx, se *store.Session) error {
		ss.mu.Lock()
		ss.hooked = append(ss.hooked, se.ID)
		ss.mu.Unlock()
		return nil
	})
	pages, err := account.New(account.Deps{Store: s, Broker: br, Permanent: perm, Methods: allMethods(), Registration: reg,
		Server: srv, Renderer: r, Policy: secure.DefaultPasswordPolicy(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pages.Mount()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ctx := context.Background()
	o := &identity.Office{ID: store.NewID(), Code: "BCN-01", Name: "OAC", Address: "Plaça 1", PostalCode: "08001",
		Municipality: "Barcelona", Province: "Barcelona", Active: true}
	s.CreateOffice(ctx, o)
	off := &identity.Officer{ID: store.NewID(), Username: "mgarcia", DisplayName: "M", PasswordHash: "x", OfficeID: o.ID,
		Role: identity.RoleOfficer, Status: identity.OfficerActive}
	s.CreateOfficer(ctx, off)
	ss.site = &site{t: t, clock: clk, url: ts.URL, store: s, reg: reg, desk: registration.Actor{Officer: off, Office: o},
		hasher: hasher, origin: ts.URL}
	return ss
}

// uaTransport sends a browser's User-Agent, as a real browser would.
type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

const firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func (s *secSite) browserUA(lang, ua string) *browser {
	b := s.browser(lang)
	b.c.Transport = uaTransport{ua}
	return b
}

// activate registers and activates the citizen with the good password.
func (s *secSite) activate() *identity.Citizen {
	s.t.Helper()
	code := s.register()
	b := s.browser("ca")
	_, path, _ := b.post(s.url+"/activate", "document", "12345678Z", "email", "nuria@example.org", "code", code)
	flow := strings.TrimSuffix(path, "/sms")
	b.post(s.url+flow+"/sms", "code", s.lastSMS())
	if _, p, _ := b.post(s.url+flow+"/password", "password", good, "password_again", good); !strings.HasSuffix(p, "/done") {
		s.t.Fatalf("activation ended at %s", p)
	}
	return mustCitizen(s.t, s.site)
}

// signIn signs b in with the password at level low; it returns where it landed.
func (s *secSite) signIn(b *browser, password string) (int, string, string) {
	s.t.Helper()
	_, _, body := b.get(s.url + "/login?method=permanent&prompt=login&continue=/me")
	return b.post(s.url+formAction(s.t, body), "document", "12345678Z", "password", password)
}

// messages counts outbox messages whose body holds want, per channel.
func (s *secSite) messages(want string) (email, sms int) {
	msgs, _ := s.store.ListMessages(context.Background(), 200)
	for _, m := range msgs {
		if strings.Contains(m.Body, want) {
			if m.Channel == "email" {
				email++
			} else {
				sms++
			}
		}
	}
	return
}

func (s *secSite) events(c *identity.Citizen, actions ...string) []store.AuditEvent {
	evs, err := s.store.ListAudit(context.Background(), store.AuditFilter{Subject: "citizen:" + c.ID, Actions: actions})
	if err != nil {
		s.t.Fatal(err)
	}
	return evs
}

var sessionIDs = regexp.MustCompile(`action="/me/sessions/([0-9a-f]{64})/end"`)

// History and sessions: sign-ins and refusals newest first with service,
// method, level and where from, in pages; sessions listed with this one
// marked, another ended through the broker (its logout hooks run), then
// all others, then this one; bad input refused and audited.
func TestHistoryAndSessions(t *testing.T) {
	s := newSecSite(t, permanent.Lifecycle{})
	c := s.activate()
	home := s.browserUA("ca", firefoxLinux)
	if _, p, _ := home.get(s.url + "/me/history"); p != "/login" {
		t.Fatalf("history without a session went to %s", p)
	}
	if st, p, _ := s.signIn(home, good); st != 200 || p != "/me" {
		t.Fatalf("sign-in: %d %s", st, p)
	}
	phone := s.browserUA("es", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36")
	s.signIn(phone, "Wrong-password-1")
	s.clock.Add(time.Minute)
	if _, p, _ := s.signIn(phone, good); p != "/me" {
		t.Fatalf("second browser: %s", p)
	}

	_, _, body := home.get(s.url + "/me")
	mustContain(t, body, `href="/me/history"`, `href="/me/sessions"`, `href="/me/renounce"`, `href="/recover"`)
	st, _, body := home.get(s.url + "/me/history")
	if st != 200 {
		t.Fatalf("history: %d", st)
	}
	mustContain(t, body, "Historial d&#39;accessos", "Accés correcte", "Clau (el vostre compte)", "Clau permanent",
		"Rebutjat: contrasenya incorrecta", "Firefox · Linux", "Chrome · Android", "127.0.0.1", `<th scope="col">`)
	if strings.Index(body, "Chrome · Android") > strings.Index(body, "Firefox · Linux") {
		t.Error("history is not newest first")
	}
	// A service's name, not only its ID; and pages of 20.
	tr := audit.New(s.store, s.clock.Now)
	for i := range 25 {
		tr.Record(context.Background(), audit.Event{Actor: "citizen:" + c.ID, Action: "login.ok", Subject: "citizen:" + c.ID,
			Source: "198.51.100.7", Details: map[string]string{"sp": "ajuntament", "sp_name": "Ajuntament de Girona",
				"method": "permanent", "loa": "substantial", "n": string(rune('a' + i))}})
	}
	_, _, body = home.get(s.url + "/me/history")
	mustContain(t, body, "Ajuntament de Girona", "Substancial", `rel="next"`)
	if strings.Contains(body, "Firefox · Linux") {
		t.Error("the first page holds more than the 20 newest")
	}
	older := regexp.MustCompile(`href="(/me/history\?before=\d+)"`).FindStringSubmatch(body)
	_, _, body = home.get(s.url + strings.ReplaceAll(older[1], "&amp;", "&"))
	mustContain(t, body, "Firefox · Linux", "Rebutjat: contrasenya incorrecta", `href="/me/history"`)
	// Another citizen's events never show; a bad page number is the first page.
	if _, _, body := home.get(s.url + "/me/history?before=-5"); !strings.Contains(body, "Ajuntament de Girona") {
		t.Error("a bad page number did not show the first page")
	}

	// Sessions: both listed, this one marked.
	_, _, body = home.get(s.url + "/me/sessions")
	mustContain(t, body, "Sessions obertes", `aria-current="true"`, "(aquest navegador)", "Chrome · Android", "Firefox · Linux")
	ids := sessionIDs.FindAllStringSubmatch(body, -1)
	if len(ids) != 2 {
		t.Fatalf("sessions listed: %d", len(ids))
	}
	phoneID := ids[0][1] // newest first: the phone's
	// Bad input: an unknown session, another citizen's, a GET.
	st, _, body = home.post(s.url + "/me/sessions/" + strings.Repeat("0", 64) + "/end")
	if st != 404 || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("ending an unknown session: %d", st)
	}
	if st, _, _ := home.get(s.url + "/me/sessions/" + phoneID + "/end"); st != 405 {
		t.Fatalf("GET ends a session: %d", st)
	}
	// End the phone's session: the broker's hooks run, the phone is signed out.
	st, p, body := home.post(s.url + "/me/sessions/" + phoneID + "/end")
	if st != 200 || p != "/me/sessions" {
		t.Fatalf("end: %d %s", st, p)
	}
	mustContain(t, body, "S&#39;ha tancat aquella sessió")
	if len(sessionIDs.FindAllString(body, -1)) != 1 || len(s.hooked) != 1 || s.hooked[0] != phoneID {
		t.Fatalf("after ending: hooks %v", s.hooked)
	}
	if _, p, _ := phone.get(s.url + "/me"); p != "/login" {
		t.Fatalf("the ended session still works: %s", p)
	}
	var viaAccount int
	for _, e := range s.events(c, "logout") {
		if e.Details["via"] == "account" {
			viaAccount++
		}
	}
	if viaAccount != 1 {
		t.Errorf("logout via the account audited %d times", viaAccount)
	}
	// Sign out every other: two more browsers end, this one stays.
	for range 2 {
		s.signIn(s.browser("en"), good)
	}
	st, _, body = home.post(s.url + "/me/sessions/others/end")
	if st != 200 || !strings.Contains(body, "S&#39;han tancat totes") || len(sessionIDs.FindAllString(body, -1)) != 1 ||
		len(s.hooked) != 3 {
		t.Fatalf("end others: %d, hooks %d", st, len(s.hooked))
	}
	// And this one: signed out here.
	own := sessionIDs.FindStringSubmatch(body)[1]
	if _, p, _ := home.post(s.url + "/me/sessions/" + own + "/end"); p != "/" {
		t.Fatalf("ending this session went to %s", p)
	}
	if _, p, _ := home.get(s.url + "/me/sessions"); p != "/login" {
		t.Fatalf("after signing out here: %s", p)
	}
}

// Renounce: a wrong confirmation is refused beside its field and
// audited; the right one deregisters (the desk's deregistration, by the
// citizen), signs out and sends the notices.
func TestRenouncePage(t *testing.T) {
	s := newSecSite(t, permanent.Lifecycle{})
	c := s.activate()
	b := s.browser("en")
	s.signIn(b, good)
	other := s.browser("en")
	s.signIn(other, good)
	_, _, body := b.get(s.url + "/me/renounce")
	mustContain(t, body, "Cancel your registration", "office or sign in with an electronic certificate", `aria-describedby="confirm-hint"`)
	for _, typed := range []string{"", "87654321X", "Not-my-password-9"} {
		st, _, body := b.post(s.url+"/me/renounce", "confirm", typed)
		if st != 422 {
			t.Fatalf("confirm %q: %d", typed, st)
		}
		mustContain(t, body, `id="confirm-error"`, "neither your DNI/NIE nor your password", `role="alert"`,
			`aria-describedby="confirm-hint confirm-error"`)
	}
	if got := mustCitizen(t, s.site); got.Status != identity.StatusActive {
		t.Fatal("a refused renounce changed the record")
	}
	st, _, body := b.post(s.url+"/me/renounce", "confirm", "12345678-z")
	if st != 200 {
		t.Fatalf("renounce: %d", st)
	}
	mustContain(t, body, "Registration cancelled", "by email and SMS")
	if _, err := s.store.CitizenByDocument(context.Background(), "12345678Z"); err == nil {
		t.Fatal("still registered")
	}
	for _, br := range []*browser{b, other} {
		if _, p, _ := br.get(s.url + "/me"); p != "/login" {
			t.Fatalf("a session outlived the renounce: %s", p)
		}
	}
	// In the citizen's language, Catalan.
	if e, m := s.messages("a petició vostra"); e != 1 || m != 1 {
		t.Errorf("renounce notices: %d emails, %d SMS", e, m)
	}
	var denied, done int
	for _, e := range s.events(c, "citizen.renounce", "citizen.deregister") {
		switch {
		case e.Action == "citizen.renounce" && e.Outcome == audit.Denied:
			denied++
		case e.Action == "citizen.renounce" && e.Outcome != audit.Denied && e.Actor == "citizen:"+c.ID:
			done++
		}
	}
	if denied != 3 || done != 1 {
		t.Errorf("audit: %d refusals, %d deregistrations", denied, done)
	}
}

// Password expiry with a fake clock: no warning while young; a warning
// page within the window (go on, or change now); the notice once by email
// and SMS; once expired the sign-in waits for a new password, which meets
// the policy, and the old one stops working.
func TestPasswordExpiry(t *testing.T) {
	year := 365 * 24 * time.Hour
	s := newSecSite(t, permanent.Lifecycle{Lifetime: year, Warning: 30 * 24 * time.Hour})
	c := s.activate()
	b := s.browser("en")
	if _, p, _ := s.signIn(b, good); p != "/me" {
		t.Fatalf("young password: %s", p)
	}
	if n, err := s.perm.NotifyExpiring(context.Background()); err != nil || n != 0 {
		t.Fatalf("notices for a young password: %d %v", n, err)
	}

	s.clock.Add(340 * 24 * time.Hour)
	// Two processes run the job at once: one notice.
	var (
		wg   sync.WaitGroup
		sent [2]int
		errs [2]error
	)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); sent[i], errs[i] = s.perm.NotifyExpiring(context.Background()) }()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || sent[0]+sent[1] != 1 {
		t.Fatalf("expiry notices: %v %v", sent, errs)
	}
	if n, _ := s.perm.NotifyExpiring(context.Background()); n != 0 {
		t.Fatalf("the notice went twice")
	}
	if e, m := s.messages("contrasenya permanent caduca el 02/03/2027"); e != 1 || m != 1 {
		t.Errorf("expiry notice: %d emails, %d SMS", e, m)
	}
	st, p, body := s.signIn(b, good)
	if st != 200 || !strings.HasSuffix(p, "/renew") {
		t.Fatalf("within the window: %d %s", st, p)
	}
	mustContain(t, body, "Your password expires on 02/03/2027", `value="keep"`, `autocomplete="new-password"`)
	if _, p, _ := b.post(s.url+p, "action", "keep"); p != "/me" {
		t.Fatalf("go on: %s", p)
	}

	s.clock.Add(30 * 24 * time.Hour)
	st, p, body = s.signIn(b, good)
	if st != 200 || !strings.HasSuffix(p, "/renew") {
		t.Fatalf("expired: %d %s", st, p)
	}
	renew := p
	mustContain(t, body, "Your password expired on 02/03/2027")
	if strings.Contains(body, `value="keep"`) {
		t.Fatal("an expired password can be kept")
	}
	// Another browser cannot use the sign-in's link.
	if st, _, _ := s.browser("en").post(s.url+renew, "password", good+"-new", "password_again", good+"-new"); st != 403 {
		t.Fatalf("renewal from another browser: %d", st)
	}
	for _, tc := range []struct {
		name      string
		form      []string
		status    int
		fieldErr  string
		wantInMsg string
	}{
		{"keep", []string{"action", "keep"}, 422, "password-error", "has expired"},
		{"mismatch", []string{"password", good + "-new", "password_again", good + "-neu"}, 422, "password_again-error", ""},
		{"policy", []string{"password", "short1A", "password_again", "short1A"}, 422, "password-error", ""},
		{"own name", []string{"password", "Nuria-Puig-2027", "password_again", "Nuria-Puig-2027"}, 422, "password-error", ""},
	} {
		st, _, body := b.post(s.url+renew, tc.form...)
		if st != tc.status || !strings.Contains(body, `id="`+tc.fieldErr+`"`) || !strings.Contains(body, tc.wantInMsg) {
			t.Errorf("%s: %d\n%s", tc.name, st, errorSummary.FindString(body))
		}
	}
	if st, p, body := b.post(s.url+renew, "password", good+"-new", "password_again", good+"-new"); st != 200 || p != "/me" {
		t.Fatalf("renewed: %d %s\n%s", st, p, body)
	}
	// In the citizen's language, Catalan.
	if e, m := s.messages("contrasenya permanent nova"); e != 1 || m != 1 {
		t.Errorf("renewal notice: %d emails, %d SMS", e, m)
	}
	if ev := s.events(c, "password.renew"); len(ev) != 4 || ev[0].Outcome != "ok" || ev[1].Outcome != audit.Denied {
		t.Errorf("renewal audit: %+v", ev)
	}
	if _, _, body := s.signIn(s.browser("en"), good); !strings.Contains(body, "password is not correct") {
		t.Error("the expired password still signs in")
	}
	if _, p, _ := s.signIn(s.browser("en"), good+"-new"); p != "/me" {
		t.Errorf("the new password: %s", p)
	}
}

// A lockout tells the citizen and links to /recover; /recover lists the
// ways; the reset page works only in a session a certificate started, and
// lifts the lockout.
func TestLockoutRecoverAndReset(t *testing.T) {
	s := newSecSite(t, permanent.Lifecycle{})
	c := s.activate()
	b := s.browser("es")
	var body string
	for range 5 {
		_, _, body = s.signIn(b, "Wrong-password-1")
	}
	mustContain(t, body, `href="/recover"`, "bloquead")
	s.signIn(b, good) // while locked: refused, and in the citizen's history
	if ev := s.events(c, "login.locked"); len(ev) != 1 || ev[0].Outcome != audit.Denied {
		t.Fatalf("attempt while locked: %+v", ev)
	}
	// In the citizen's language, Catalan.
	if e, m := s.messages("es va bloquejar"); e != 1 || m != 1 {
		t.Errorf("lockout notice: %d emails, %d SMS", e, m)
	}
	_, _, body = b.get(s.url + "/recover")
	mustContain(t, body, "Recuperar el acceso", `id="recover-office"`, `id="recover-certificate"`, `href="/offices"`,
		"continue=/me/password/reset")
	if strings.Contains(body, `id="recover-letter"`) {
		t.Error("the letter way shows with letters off")
	}

	// A password session may not reset.
	s.clock.Add(25 * time.Hour) // the lockout has passed
	if _, p, _ := s.signIn(b, good); p != "/me" {
		t.Fatalf("sign-in after the lockout: %s", p)
	}
	if st, _, body := b.get(s.url + "/me/password/reset"); st != 403 || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("reset in a password session: %d", st)
	}
	if ev := s.events(c, "password.reset"); len(ev) != 1 || ev[0].Outcome != audit.Denied {
		t.Fatalf("refused reset audit: %+v", ev)
	}
	// Locked again, then a certificate session resets.
	for range 5 {
		s.signIn(s.browser("es"), "Wrong-password-1")
	}
	cert := s.certificateSession(c)
	st, _, body := cert.get(s.url + "/me/password/reset")
	if st != 200 {
		t.Fatalf("reset page with a certificate: %d", st)
	}
	mustContain(t, body, "Establecer una nueva contraseña", `autocomplete="new-password"`, `aria-describedby="password-hint"`)
	st, _, body = cert.post(s.url+"/me/password/reset", "password", "x", "password_again", "y")
	if st != 422 || !strings.Contains(body, `id="password_again-error"`) {
		t.Fatalf("mismatch: %d", st)
	}
	st, p, body := cert.post(s.url+"/me/password/reset", "password", good+"-cert", "password_again", good+"-cert")
	if st != 200 || !strings.Contains(body, `id="reset-done"`) {
		t.Fatalf("reset: %d %s", st, p)
	}
	if e, m := s.messages("contrasenya permanent nova"); e != 1 || m != 1 {
		t.Errorf("reset notice: %d emails, %d SMS", e, m)
	}
	if _, p, _ := s.signIn(s.browser("es"), good+"-cert"); p != "/me" {
		t.Errorf("the reset password (lockout lifted): %s", p)
	}
}

// certificateSession is a browser holding an SSO session a certificate
// sign-in started, as the certificate listener leaves it.
func (s *secSite) certificateSession(c *identity.Citizen) *browser {
	s.t.Helper()
	ctx := context.Background()
	tr, err := s.broker.Start(ctx, broker.Request{SP: "local", MinLoA: broker.Substantial, ContinueURL: "/me"})
	if err != nil {
		s.t.Fatal(err)
	}
	tr.Identified(c.ID, broker.MethodCertificate, broker.Substantial, []string{"swk", "mfa"}, s.clock.Now())
	se, err := s.broker.Complete(ctx, tr, "", broker.Meta{Source: "127.0.0.1", UserAgent: firefoxLinux})
	if err != nil {
		s.t.Fatal(err)
	}
	b := s.browser("es")
	u, _ := url.Parse(s.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: account.SessionCookie, Value: se.Token, Path: "/"}})
	return b
}
