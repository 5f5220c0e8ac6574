package certlogin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/clau-eid/clau/internal/certlogin"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/pkitest"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

// stack is the real server stack: the main site (citizen pages and the
// certificate hand-over) over HTTP and the certificate listener over
// real TLS that asks for a client certificate.
type stack struct {
	t       *testing.T
	ctx     context.Context
	clock   *fakeclock.Clock
	pki     *pkitest.Spain
	store   store.Store
	cat     *i18n.Catalog
	mainURL string
	certURL string
	roots   *x509.CertPool
	hasher  *secure.Hasher
}

func newStack(t *testing.T, registrationServices ...string) *stack {
	t.Helper()
	clk := fakeclock.New(time.Now().UTC().Truncate(time.Second))
	pki := pkitest.NewSpain(clk.Now)
	t.Cleanup(pki.Close)
	s := sqltest.Open(t, "sqlite")
	cat := i18n.MustLoad()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	kr, _ := secure.NewKeyring(nil, clk.Now())
	codes := secure.NewOneTimeCodes(kr, clk.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, clk.Now)
	b := broker.New(s, broker.Options{Now: clk.Now, Sealer: kr})
	opts := httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}
	main, err := httpserver.New(opts, log, cat, s)
	if err != nil {
		t.Fatal(err)
	}
	mr, _ := web.NewRenderer(main, log)
	web.Mount(main, mr)
	methods := broker.NewRegistry(broker.MethodInfo{Name: broker.MethodPermanent, MaxLoA: broker.Substantial, Enabled: true},
		broker.MethodInfo{Name: broker.MethodCertificate, MaxLoA: broker.High, Enabled: true})
	pages, err := account.New(account.Deps{Store: s, Broker: b, Methods: methods, Permanent: permanent.New(s, hasher, codes, n, clk.Now),
		Registration: registration.New(s, codes, hasher, n, registration.Options{Now: clk.Now}), Server: main,
		Renderer: mr, Policy: secure.DefaultPasswordPolicy(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pages.Mount()
	ls, _ := httpserver.New(opts, log, cat, s)
	lr, _ := web.NewRenderer(ls, log)
	web.Mount(ls, lr)
	v, err := certificate.NewValidator([]*certificate.Profile{
		{Name: "dnie", Roots: []*x509.Certificate{pki.DNIeRoot.Cert}, Intermediates: []*x509.Certificate{pki.DNIe.Cert},
			Policies: []x509.OID{pkitest.PolicyDNIeAuth}, LoA: broker.High, AMR: "hwk"},
		{Name: "fnmt", Roots: []*x509.Certificate{pki.FNMTRoot.Cert}, Intermediates: []*x509.Certificate{pki.FNMT.Cert},
			Policies: []x509.OID{pkitest.PolicyFNMTCitizen}, LoA: broker.Substantial, AMR: "swk"},
	}, certificate.Options{FailClosed: true, RequireNonce: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mainTS := httptest.NewServer(main.Handler())
	t.Cleanup(mainTS.Close)
	certTS := httptest.NewUnstartedServer(ls.Handler())
	certTS.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	certTS.StartTLS()
	t.Cleanup(certTS.Close)
	h, err := certlogin.New(certlogin.Deps{Store: s, Broker: b, Method: certificate.New(s, v, clk.Now), Codes: codes,
		Notifier: n, Main: main, MainR: mr, Listener: ls, ListenerR: lr, MainURL: mainTS.URL, CertURL: certTS.URL,
		RegistrationServices: registrationServices, Log: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.Mount()
	roots := x509.NewCertPool()
	roots.AddCert(certTS.Certificate())
	return &stack{t: t, ctx: context.Background(), clock: clk, pki: pki, store: s, cat: cat, mainURL: mainTS.URL,
		certURL: certTS.URL, roots: roots, hasher: hasher}
}

// browser is a client with a cookie jar presenting chain (none when nil)
// to the listener, in a language.
type browser struct {
	*http.Client
	lang string
}

func (st *stack) browser(chain *tls.Certificate, lang string) *browser {
	jar, _ := cookiejar.New(nil)
	tc := &tls.Config{RootCAs: st.roots, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if chain == nil {
			return &tls.Certificate{}, nil
		}
		return chain, nil
	}}
	return &browser{Client: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc}}, lang: lang}
}

func (b *browser) do(t *testing.T, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", b.lang)
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

var txPath = regexp.MustCompile(`(/login/[a-z0-9]{26})\b`)

// start opens a local sign-in at a level and returns its transaction path.
func (st *stack) start(b *browser, loa string) string {
	st.t.Helper()
	// The chooser (or the only method left) names the transaction; stop
	// before following it into a method.
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(st.mainURL + "/login?continue=/me&loa=" + loa)
	if err != nil {
		st.t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := txPath.FindStringSubmatch(res.Header.Get("Location") + string(data))
	if res.StatusCode != 200 && res.StatusCode != http.StatusSeeOther || m == nil {
		st.t.Fatalf("login start: %d", res.StatusCode)
	}
	return m[1]
}

// signIn runs the certificate sign-in and returns the last answer.
func (st *stack) signIn(b *browser, loa string) (*http.Response, string) {
	st.t.Helper()
	return b.do(st.t, "GET", st.mainURL+st.start(b, loa)+"/certificate", nil)
}

func tlsCert(i *pkitest.Issued, extra ...*x509.Certificate) *tls.Certificate {
	c := &tls.Certificate{Certificate: [][]byte{i.Cert.Raw}, PrivateKey: i.Key, Leaf: i.Cert}
	for _, e := range append(i.Chain[:1], extra...) {
		c.Certificate = append(c.Certificate, e.Raw)
	}
	return c
}

func (st *stack) citizen(doc string, level identity.Level, status identity.CitizenStatus) *identity.Citizen {
	c := &identity.Citizen{ID: store.NewID(), Document: identity.Document{Type: identity.DNI, Number: doc},
		DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30}, GivenName: "Juan", FirstSurname: "Español",
		BirthDate: identity.Date{Year: 1980, Month: 2, Day: 28}, Nationality: "ES", Email: "juan@example.org",
		Mobile: "+3461" + doc[:7], Language: "es", Level: level, Channel: identity.ChannelLetter, Status: status}
	if err := st.store.CreateCitizen(st.ctx, c); err != nil {
		st.t.Fatal(err)
	}
	return c
}

var juan = pkitest.Person{SerialNumber: "IDCES-12345678Z", GivenName: "JUAN", FirstSurname: "ESPAÑOL", SecondSurname: "ESPAÑOL"}

func TestSignInOverTLS(t *testing.T) {
	st := newStack(t)
	c := st.citizen("12345678Z", identity.LevelBasic, identity.StatusActive)
	dnie := st.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, st.clock.Now()))
	b := st.browser(tlsCert(dnie), "ca")
	res, _ := st.signIn(b, "high")
	if res.StatusCode != 200 || res.Request.URL.Path != "/me" {
		t.Fatalf("ended at %d %s", res.StatusCode, res.Request.URL)
	}
	ses, _ := st.store.ListSessions(st.ctx, store.SessionCitizen, c.ID, st.clock.Now())
	if len(ses) != 1 || ses[0].LoA != "high" || strings.Join(ses[0].AMR, ",") != "hwk,sc" {
		t.Fatalf("sessions %+v", ses)
	}
	// A basic (letter) registration is now advanced.
	if got, _ := st.store.CitizenByID(st.ctx, c.ID); got.Level != identity.LevelAdvanced {
		t.Errorf("level %s", got.Level)
	}
	evs, _ := st.store.ListAudit(st.ctx, store.AuditFilter{Action: "login.cert.ok"})
	if len(evs) != 1 || evs[0].Details["serial"] == "" || !strings.Contains(evs[0].Details["issuer"], "AC DNIE 004") {
		t.Errorf("audit %+v", evs)
	}
	if evs, _ := st.store.ListAudit(st.ctx, store.AuditFilter{Action: "citizen.upgrade"}); len(evs) != 1 {
		t.Errorf("upgrade audit %+v", evs)
	}

	// FNMT (software key) reaches substantial, not high.
	st.citizen("00000023T", identity.LevelAdvanced, identity.StatusActive)
	fnmt := st.pki.FNMT.Issue(pkitest.FNMTLeaf(pkitest.Person{SerialNumber: "00000023T", GivenName: "ANNA", FirstSurname: "PUIG"}, st.clock.Now()))
	if res, _ := st.signIn(st.browser(tlsCert(fnmt), "en"), "substantial"); res.Request.URL.Path != "/me" {
		t.Fatalf("fnmt substantial ended at %d %s", res.StatusCode, res.Request.URL)
	}
	res, body := st.signIn(st.browser(tlsCert(fnmt), "es"), "high")
	if res.StatusCode != 403 || !strings.Contains(body, htmlText(st.cat.T("es", "cert.level_too_low", nil))) {
		t.Fatalf("fnmt at high: %d", res.StatusCode)
	}
}

// htmlText is how html/template writes a message.
func htmlText(s string) string {
	return strings.NewReplacer("'", "&#39;", "\"", "&#34;").Replace(s)
}

func TestRefusalsOverTLS(t *testing.T) {
	type tc struct {
		name   string
		chain  func(st *stack) *tls.Certificate
		msg    string
		status int
	}
	leaf := func(st *stack, mod func(l *pkitest.Leaf)) *tls.Certificate {
		l := pkitest.DNIeLeaf(juan, st.clock.Now())
		if mod != nil {
			mod(&l)
		}
		return tlsCert(st.pki.DNIe.Issue(l))
	}
	ocsp := func(m pkitest.OCSPMode) func(st *stack) *tls.Certificate {
		return func(st *stack) *tls.Certificate { st.pki.DNIeRev.SetOCSP(m); return leaf(st, nil) }
	}
	crl := func(m pkitest.CRLMode) func(st *stack) *tls.Certificate {
		return func(st *stack) *tls.Certificate {
			st.pki.DNIeRev.SetOCSP(pkitest.OCSPDown)
			st.pki.DNIeRev.SetCRL(m)
			return leaf(st, nil)
		}
	}
	cases := []tc{
		{"no certificate", func(st *stack) *tls.Certificate { return nil }, "cert.none", 403},
		{"expired", func(st *stack) *tls.Certificate {
			return leaf(st, func(l *pkitest.Leaf) {
				l.NotBefore, l.NotAfter = l.NotBefore.AddDate(-3, 0, 0), st.clock.Now().Add(-time.Hour)
			})
		}, "cert.expired", 403},
		{"not yet valid", func(st *stack) *tls.Certificate {
			return leaf(st, func(l *pkitest.Leaf) { l.NotBefore = st.clock.Now().Add(48 * time.Hour) })
		}, "cert.not_yet_valid", 403},
		{"unknown issuer", func(st *stack) *tls.Certificate {
			rogue := pkitest.NewRoot("AC RAIZ DNIE 2", "DIRECCION GENERAL DE LA POLICIA", st.clock.Now()).NewIntermediate("AC DNIE 004", st.clock.Now())
			return tlsCert(rogue.Issue(pkitest.DNIeLeaf(juan, st.clock.Now())))
		}, "cert.untrusted", 403},
		{"chain loops", func(st *stack) *tls.Certificate {
			now := st.clock.Now()
			x := pkitest.NewRoot("AC LOOP X", "Loop", now)
			y := x.NewIntermediate("AC LOOP Y", now)
			x2 := x.Recertify(y, now)
			return tlsCert(x2.Issue(pkitest.DNIeLeaf(juan, now)), y.Cert)
		}, "cert.untrusted", 403},
		{"wrong key usage", func(st *stack) *tls.Certificate {
			return leaf(st, func(l *pkitest.Leaf) { l.ExtKeyUse = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection} })
		}, "cert.key_usage", 403},
		{"revoked (OCSP)", func(st *stack) *tls.Certificate {
			c := leaf(st, nil)
			st.pki.DNIeRev.Revoke(c.Leaf, st.clock.Now().Add(-time.Minute))
			return c
		}, "cert.revoked", 403},
		{"revoked (CRL)", func(st *stack) *tls.Certificate {
			c := crl(pkitest.CRLGood)(st)
			st.pki.DNIeRev.Revoke(c.Leaf, st.clock.Now().Add(-time.Minute))
			return c
		}, "cert.revoked", 403},
		{"issuing CA revoked (its root's OCSP)", func(st *stack) *tls.Certificate {
			st.pki.DNIeRootRev.Revoke(st.pki.DNIe.Cert, st.clock.Now().Add(-time.Hour))
			return leaf(st, nil)
		}, "cert.revoked", 403},
		{"issuing CA revoked (its root's CRL)", func(st *stack) *tls.Certificate {
			st.pki.DNIeRootRev.SetOCSP(pkitest.OCSPDown)
			st.pki.DNIeRootRev.Revoke(st.pki.DNIe.Cert, st.clock.Now().Add(-time.Hour))
			return leaf(st, nil)
		}, "cert.revoked", 403},
		{"OCSP unsigned", ocsp(pkitest.OCSPUnsigned), "cert.revocation_failed", 403},
		{"OCSP stale", ocsp(pkitest.OCSPStale), "cert.revocation_failed", 403},
		{"OCSP for another certificate", ocsp(pkitest.OCSPOtherCert), "cert.revocation_failed", 403},
		{"OCSP replayed nonce", ocsp(pkitest.OCSPReplayNonce), "cert.revocation_failed", 403},
		{"CRL does not parse", crl(pkitest.CRLGarbage), "cert.revocation_failed", 503},
		{"CRL out of date", crl(pkitest.CRLStale), "cert.revocation_failed", 503},
		{"deregistered citizen", func(st *stack) *tls.Certificate {
			c, _ := st.store.CitizenByDocument(st.ctx, "12345678Z")
			c.Status = identity.StatusDeregistered
			if err := st.store.UpdateCitizen(st.ctx, c); err != nil {
				t.Fatal(err)
			}
			return leaf(st, nil)
		}, "cert.not_registered", 403},
	}
	langs := []string{"ca", "es", "en"}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStack(t)
			st.citizen("12345678Z", identity.LevelAdvanced, identity.StatusActive)
			chain := c.chain(st)
			lang := langs[i%3]
			res, body := st.signIn(st.browser(chain, lang), "high")
			if res.StatusCode != c.status || res.Request.URL.Host != strings.TrimPrefix(st.certURL, "https://") {
				t.Fatalf("status %d at %s, want %d on the listener", res.StatusCode, res.Request.URL, c.status)
			}
			want := htmlText(st.cat.T(lang, c.msg, nil))
			if !strings.Contains(body, want) || !strings.Contains(body, `lang="`+lang+`"`) {
				t.Fatalf("page lacks %q in %s", want, lang)
			}
			// The way back leads to the transaction's sign-in page.
			if !strings.Contains(body, st.mainURL+"/login/") {
				t.Error("no way back to the sign-in")
			}
			evs, _ := st.store.ListAudit(st.ctx, store.AuditFilter{Action: "login.cert.refused"})
			if len(evs) != 1 {
				t.Fatalf("audit: %d refusals", len(evs))
			}
			if chain != nil && (evs[0].Details["serial"] != strings.ToUpper(chain.Leaf.SerialNumber.Text(16)) ||
				evs[0].Details["issuer"] != chain.Leaf.Issuer.String()) {
				t.Errorf("audit %v", evs[0].Details)
			}
			if ca := st.pki.DNIe.Cert; strings.HasPrefix(c.name, "issuing CA") &&
				(evs[0].Details["ca_serial"] != strings.ToUpper(ca.SerialNumber.Text(16)) || evs[0].Details["ca_issuer"] != ca.Issuer.String()) {
				t.Errorf("audit does not name the revoked CA: %v", evs[0].Details)
			}
			// Nothing was signed in, and the citizen's record is untouched.
			if n, _ := st.store.ListAudit(st.ctx, store.AuditFilter{Action: "login.ok"}); len(n) != 0 {
				t.Error("signed in")
			}
		})
	}
}

func TestHandoffTokens(t *testing.T) {
	st := newStack(t)
	st.citizen("12345678Z", identity.LevelAdvanced, identity.StatusActive)
	dnie := tlsCert(st.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, st.clock.Now())))
	b := st.browser(dnie, "en")
	tx := st.start(b, "high")

	// The handoff link, used by someone else's browser: it works once on
	// the listener, but the main site completes only for the browser that
	// started the sign-in.
	noFollow := func(br *browser) *browser {
		c := *br.Client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &browser{Client: &c, lang: br.lang}
	}
	res, _ := noFollow(b).do(t, "GET", st.mainURL+tx+"/certificate", nil)
	handoff := res.Header.Get("Location")
	if res.StatusCode != 303 || !strings.HasPrefix(handoff, st.certURL+certlogin.HandoffPath) {
		t.Fatalf("handoff %d %q", res.StatusCode, handoff)
	}
	victim := st.browser(dnie, "en")
	res, body := victim.do(t, "GET", handoff, nil)
	if res.StatusCode != 403 || !strings.Contains(body, htmlText(st.cat.T("en", "flow.other_browser", nil))) {
		t.Fatalf("another browser: %d %s", res.StatusCode, res.Request.URL)
	}
	// Used once: the link is dead for everyone, the starter included.
	res, body = b.do(t, "GET", handoff, nil)
	if res.StatusCode != 400 || !strings.Contains(body, htmlText(st.cat.T("en", "cert.handoff_invalid", nil))) {
		t.Fatalf("reused handoff: %d", res.StatusCode)
	}
	// That sign-in is spent; nobody completes it. Expired links die too.
	if res, _ := b.do(t, "GET", st.mainURL+tx+"/certificate", nil); res.StatusCode != 409 {
		t.Errorf("spent transaction: %d", res.StatusCode)
	}
	tx = st.start(b, "high")
	res, _ = noFollow(b).do(t, "GET", st.mainURL+tx+"/certificate", nil)
	st.clock.Add(certlogin.TokenTTL + time.Second)
	if res, _ := b.do(t, "GET", res.Header.Get("Location"), nil); res.StatusCode != 400 {
		t.Fatalf("expired handoff: %d", res.StatusCode)
	}
	// Made-up tokens and a browser that did not start the sign-in.
	if res, _ := b.do(t, "GET", st.certURL+certlogin.HandoffPath+"?h=forged", nil); res.StatusCode != 400 {
		t.Errorf("forged: %d", res.StatusCode)
	}
	if res, _ := st.browser(dnie, "en").do(t, "GET", st.mainURL+tx+"/certificate", nil); res.StatusCode != 403 {
		t.Errorf("unbound start: %d", res.StatusCode)
	}
	if n, _ := st.store.ListAudit(st.ctx, store.AuditFilter{Action: "login.ok"}); len(n) != 0 {
		t.Error("somebody was signed in")
	}
	// The rightful browser still signs in with a fresh hand-over.
	if res, _ := b.do(t, "GET", st.mainURL+tx+"/certificate", nil); res.Request.URL.Path != "/me" {
		t.Fatalf("rightful: %d %s", res.StatusCode, res.Request.URL)
	}
}

func TestRegistrationWithCertificate(t *testing.T) {
	st := newStack(t, "local")
	p := pkitest.Person{SerialNumber: "IDCES-00000023T", GivenName: "NÚRIA", FirstSurname: "PUIG", SecondSurname: "FERRER"}
	dnie := tlsCert(st.pki.DNIe.Issue(pkitest.DNIeLeaf(p, st.clock.Now())))
	b := st.browser(dnie, "ca")
	res, body := st.signIn(b, "high")
	if res.StatusCode != 200 || !strings.Contains(res.Request.URL.Path, "/certificate/register/") ||
		!strings.Contains(body, "NÚRIA PUIG FERRER") {
		t.Fatalf("register page: %d %s", res.StatusCode, res.Request.URL)
	}
	regURL := res.Request.URL.String()
	// Bad contact data: translated field errors, nothing created.
	other := st.citizen("12345678Z", identity.LevelAdvanced, identity.StatusActive)
	for _, bad := range []url.Values{{"mobile": {"12"}, "email": {"nope"}}, {"mobile": {other.Mobile}, "email": {"n@example.org"}}} {
		res, body = b.do(t, "POST", regURL, bad)
		if res.StatusCode != 422 || !strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("bad contact %v: %d", bad, res.StatusCode)
		}
	}
	res, body = b.do(t, "POST", regURL, url.Values{"mobile": {"699 111 222"}, "email": {"nuria@example.org"}})
	if res.StatusCode != 200 || !strings.HasSuffix(res.Request.URL.Path, "/confirm") || !strings.Contains(body, "n***@example.org") {
		t.Fatalf("confirm page: %d %s", res.StatusCode, res.Request.URL)
	}
	confirmURL := res.Request.URL.String()
	msgs, _ := st.store.ListMessages(st.ctx, 10)
	codes := map[string]string{}
	for _, m := range msgs {
		codes[m.Channel] = regexp.MustCompile(`\b(\d{6})\b`).FindString(m.Body)
	}
	if codes["sms"] == "" || codes["email"] == "" {
		t.Fatalf("codes %v", codes)
	}
	// A wrong email code: the SMS code is not used up, the error is on its field.
	res, body = b.do(t, "POST", confirmURL, url.Values{"code": {codes["sms"]}, "email_code": {"000000"}})
	if res.StatusCode != 400 && res.StatusCode != 422 || !strings.Contains(body, `id="email_code-error"`) {
		t.Fatalf("wrong code: %d", res.StatusCode)
	}
	res, _ = b.do(t, "POST", confirmURL, url.Values{"code": {codes["sms"]}, "email_code": {codes["email"]}})
	if res.StatusCode != 200 || res.Request.URL.Path != "/me" {
		t.Fatalf("after confirm: %d %s", res.StatusCode, res.Request.URL)
	}
	c, err := st.store.CitizenByDocument(st.ctx, "00000023T")
	if err != nil || c.Level != identity.LevelAdvanced || c.Channel != identity.ChannelCertificate ||
		c.Status != identity.StatusActive || c.Mobile != "+34699111222" || c.GivenName != "NÚRIA" {
		t.Fatalf("citizen %+v %v", c, err)
	}
	ses, _ := st.store.ListSessions(st.ctx, store.SessionCitizen, c.ID, st.clock.Now())
	if len(ses) != 1 || ses[0].LoA != "high" {
		t.Fatalf("session %+v", ses)
	}
	// The next time the certificate simply signs in.
	if res, _ := st.signIn(st.browser(dnie, "es"), "high"); res.Request.URL.Path != "/me" {
		t.Fatalf("second sign-in: %d %s", res.StatusCode, res.Request.URL)
	}
	// Without the service's permission an unknown certificate is refused.
	st2 := newStack(t)
	res, body = st2.signIn(st2.browser(tlsCert(st2.pki.DNIe.Issue(pkitest.DNIeLeaf(p, st2.clock.Now()))), "en"), "high")
	if res.StatusCode != 403 || !strings.Contains(body, htmlText(st2.cat.T("en", "cert.not_registered", nil))) {
		t.Fatalf("not allowed: %d", res.StatusCode)
	}
}
