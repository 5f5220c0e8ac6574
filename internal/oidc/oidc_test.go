package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

const (
	rpRedirect = "https://rp.example/cb"
	rpSecret   = "ajuntament-secret-0123456789"
	password   = "Groc-Mar-Tramuntana-7"
	document   = "12345678Z"
)

type site struct {
	t       *testing.T
	url     string
	store   store.Store
	keyring *secure.Keyring
	op      *oidc.Provider
}

// adminToken is what testAdminGuard takes for an admin (the real guard,
// desk API tokens of admin officers, is tried in cmd/clau).
const adminToken = "test-admin-token"

func testAdminGuard(h func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+adminToken {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		h(w, r, "officer:tester")
	})
}

// siteOption changes the provider's dependencies before it starts.
type siteOption func(*oidc.Deps)

// newSite runs Clau's real handler stack (sign-in pages and the provider)
// on loopback, with one citizen who has activated her Clau.
func newSite(t *testing.T, opts ...siteOption) *site {
	t.Helper()
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	kr, _ := secure.NewKeyring(nil, time.Now())
	codes := secure.NewOneTimeCodes(kr, time.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	slog.SetDefault(log)

	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)

	srv, err := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := web.NewRenderer(srv, log)
	if err != nil {
		t.Fatal(err)
	}
	web.Mount(srv, r)
	reg := registration.New(s, codes, hasher, n, registration.Options{})
	b := broker.New(s, broker.Options{Sealer: kr})
	pages, err := account.New(account.Deps{Store: s, Broker: b, Permanent: permanent.New(s, hasher, codes, n, nil),
		Registration: reg, Server: srv, Renderer: r, Policy: secure.DefaultPasswordPolicy(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pages.Mount()
	deps := oidc.Deps{Issuer: ts.URL, Store: s, Broker: b, Keyring: kr, Server: srv, Renderer: r, SignIn: pages,
		SessionCookie: account.SessionCookie, Log: log, Clients: []oidc.ClientConfig{
			{ID: "ajuntament", Secret: rpSecret, RedirectURIs: []string{rpRedirect}},
			{ID: "app", Public: true, RedirectURIs: []string{rpRedirect}, MinLoA: broker.Substantial},
			{ID: "ajuntament-jwt", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, JWTAccessTokens: true},
			{ID: "ajuntament-rs256", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, IDTokenAlg: oidc.AlgRS256},
			{ID: "ajuntament-jwt-rs256", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, JWTAccessTokens: true,
				IDTokenAlg: oidc.AlgRS256},
			{ID: "passkeys-only", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, Methods: []string{"passkey"}},
		},
		// The deployment offers passkeys, so a passkeys-only client's
		// level is reachable; these pages serve only the password.
		Methods: map[string]broker.LoA{broker.MethodPermanent: broker.Substantial, broker.MethodPasskey: broker.Substantial}}
	for _, o := range opts {
		o(&deps)
	}
	p, err := oidc.New(ctx, deps)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount()
	p.MountAdminAPI(srv, testAdminGuard)
	h = srv.Handler()

	// A second provider on the same store finds the same key: nothing
	// lives in one process's memory.
	if _, err := oidc.New(ctx, oidc.Deps{Issuer: ts.URL, Store: s, Broker: b, Keyring: kr, Server: srv, Log: log,
		Now: deps.Now}); err != nil {
		t.Fatal(err)
	}

	o := &identity.Office{ID: store.NewID(), Code: "BCN-01", Name: "OAC", Address: "Plaça 1", PostalCode: "08001",
		Municipality: "Barcelona", Province: "Barcelona", Active: true}
	s.CreateOffice(ctx, o)
	off := &identity.Officer{ID: store.NewID(), Username: "mgarcia", DisplayName: "M", PasswordHash: "x", OfficeID: o.ID,
		Role: identity.RoleOfficer, Status: identity.OfficerActive}
	s.CreateOfficer(ctx, off)
	if _, err := reg.Register(ctx, registration.Actor{Officer: off, Office: o}, &identity.Citizen{
		Document: identity.Document{Number: document}, DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30},
		GivenName: "Núria", FirstSurname: "Puig", SecondSurname: "Vila", BirthDate: identity.Date{Year: 1980, Month: 2, Day: 29},
		Email: "nuria@example.org", Mobile: "612345678", Language: "ca"}, registration.DocumentCheck{Shown: "dni", Checked: true}); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CitizenByDocument(ctx, document)
	hash, _ := hasher.Hash(ctx, password)
	if err := s.SetPassword(ctx, &store.Password{CitizenID: c.ID, Hash: hash, SetAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c.Status = identity.StatusActive
	if err := s.UpdateCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	return &site{t: t, url: ts.URL, store: s, keyring: kr, op: p}
}

// browser follows redirects inside Clau and stops at the service's
// redirect URI, as a real browser would hand the code to the service.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "rp.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

type answer struct {
	status   int
	url      *url.URL // where the browser ended
	location *url.URL // the redirect to the service, if it ended there
	body     string
}

func (b *browser) do(method, u string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Accept-Language", "en")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, url: res.Request.URL, body: string(out)}
	if loc, err := res.Location(); err == nil {
		a.location = loc
	}
	return a
}

// signInPath is a page of a sign-in transaction: /login/{id}, or one of
// its methods' pages.
var signInPath = regexp.MustCompile(`^/login/[a-z0-9]{26}(/[a-z]+)?$`)

var actionRE = regexp.MustCompile(`<form method="post" action="(/login/[a-z0-9]+(?:/permanent|/sms)?)"`)

// signIn posts the password form the answer shows.
func (b *browser) signIn(s *site, a answer) answer {
	b.t.Helper()
	m := actionRE.FindStringSubmatch(a.body)
	if m == nil {
		b.t.Fatalf("no sign-in form at %s (%d):\n%s", a.url, a.status, a.body)
	}
	return b.do("POST", s.url+m[1], url.Values{"document": {document}, "password": {password}})
}

// authorize opens the service's authorize URL and, if the sign-in form
// shows, signs in; it returns where the browser ended.
func (b *browser) authorize(s *site, st start) answer {
	b.t.Helper()
	a := b.do("GET", st.url, nil)
	if a.location == nil && actionRE.MatchString(a.body) {
		a = b.signIn(s, a)
	}
	return a
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (s *site) lastSMS() string {
	msgs, _ := s.store.ListMessages(context.Background(), 1)
	if len(msgs) == 0 {
		s.t.Fatal("no SMS sent")
	}
	return sixDigits.FindString(msgs[0].Body)
}

// rp is a relying party built on go-oidc and x/oauth2 only.
type rp struct {
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func newRP(t *testing.T, s *site, id, secret string) *rp {
	ctx := context.Background()
	p, err := gooidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	return &rp{provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: id}), conf: oauth2.Config{ClientID: id,
		ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "phone"}}}
}

func random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// start is the service's authorize redirect.
type start struct {
	url, state, nonce, verifier string
}

func (r *rp) start(extra ...oauth2.AuthCodeOption) start {
	st := start{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(st.nonce), oauth2.S256ChallengeOption(st.verifier)}, extra...)
	st.url = r.conf.AuthCodeURL(st.state, opts...)
	return st
}

// code checks the browser came back to the service and returns the code.
func code(t *testing.T, a answer, st start) string {
	t.Helper()
	if a.location == nil || a.location.Host != "rp.example" {
		t.Fatalf("the browser did not come back to the service: %d at %s:\n%.600s", a.status, a.url, a.body)
	}
	q := a.location.Query()
	if q.Get("state") != st.state || q.Get("code") == "" {
		t.Fatalf("back at the service with %s", a.location)
	}
	return q.Get("code")
}

type claims struct {
	ACR           string   `json:"acr"`
	AMR           []string `json:"amr"`
	AuthTime      int64    `json:"auth_time"`
	Nonce         string   `json:"nonce"`
	GivenName     string   `json:"given_name"`
	FamilyName    string   `json:"family_name"`
	FirstSurname  string   `json:"first_surname"`
	SecondSurname string   `json:"second_surname"`
	Birthdate     string   `json:"birthdate"`
	Email         string   `json:"email"`
	PhoneNumber   string   `json:"phone_number"`
}

// exchange swaps the code and verifies the ID token with go-oidc.
func (r *rp) exchange(t *testing.T, c string, st start) (*oauth2.Token, *gooidc.IDToken, claims) {
	t.Helper()
	ctx := context.Background()
	tok, err := r.conf.Exchange(ctx, c, oauth2.VerifierOption(st.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Nonce != st.nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, st.nonce)
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		t.Fatal(err)
	}
	return tok, idt, cl
}

func TestCodeFlowWithPKCEAndStepUp(t *testing.T) {
	s := newSite(t)
	r := newRP(t, s, "ajuntament", rpSecret)
	b := newBrowser(t)

	// Level low: password only.
	st := r.start()
	a := b.do("GET", st.url, nil)
	if !signInPath.MatchString(a.url.Path) {
		t.Fatalf("authorize went to %s", a.url)
	}
	c := code(t, b.signIn(s, a), st)
	tok, idt, cl := r.exchange(t, c, st)
	if cl.ACR != broker.Low.URI() || !slices.Contains(cl.AMR, "pwd") || cl.AuthTime == 0 {
		t.Fatalf("claims %+v", cl)
	}
	if cl.GivenName != "Núria" || cl.FirstSurname != "Puig" || cl.SecondSurname != "Vila" || cl.FamilyName != "Puig Vila" ||
		cl.Birthdate != "1980-02-29" || cl.Email != "nuria@example.org" || cl.PhoneNumber != "+34612345678" {
		t.Fatalf("profile claims %+v", cl)
	}
	if strings.Contains(idt.Subject, "12345678") || len(idt.Subject) < 20 {
		t.Fatalf("sub %q is not pairwise", idt.Subject)
	}
	sub := idt.Subject

	// Userinfo answers the same for the access token.
	ui, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uc claims
	_ = ui.Claims(&uc)
	if ui.Subject != sub || uc.FirstSurname != "Puig" || ui.Email != "nuria@example.org" {
		t.Fatalf("userinfo %+v %+v", ui, uc)
	}

	// The code a second time fails, and revokes what the first issued.
	if _, err := r.conf.Exchange(context.Background(), c, oauth2.VerifierOption(st.verifier)); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("second use of a code: %v", err)
	}
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo still works after the code was replayed")
	}

	// Step-up: acr_values substantial asks only for the SMS code.
	st = r.start(oauth2.SetAuthURLParam("acr_values", broker.Substantial.URI()+" "+broker.High.URI()))
	a = b.do("GET", st.url, nil)
	if !strings.HasSuffix(a.url.Path, "/sms") {
		t.Fatalf("step-up went to %s", a.url)
	}
	c = code(t, b.do("POST", s.url+a.url.Path, url.Values{"code": {s.lastSMS()}}), st)
	_, idt, cl = r.exchange(t, c, st)
	if cl.ACR != broker.Substantial.URI() || !slices.Contains(cl.AMR, "sms") || !slices.Contains(cl.AMR, "pwd") {
		t.Fatalf("after step-up: %+v", cl)
	}
	if idt.Subject != sub {
		t.Fatal("the subject changed between sign-ins to one service")
	}

	// SSO: another request goes straight back; prompt=none too.
	st = r.start(oauth2.SetAuthURLParam("prompt", "none"))
	c = code(t, b.do("GET", st.url, nil), st)
	r.exchange(t, c, st)

	// prompt=login asks for the password again.
	st = r.start(oauth2.SetAuthURLParam("prompt", "login"))
	a = b.do("GET", st.url, nil)
	if !signInPath.MatchString(a.url.Path) || !actionRE.MatchString(a.body) {
		t.Fatalf("prompt=login went to %s", a.url)
	}
	code(t, b.signIn(s, a), st)

	// Another service gets another subject.
	other := newRP(t, s, "app", "")
	st = other.start()
	a = b.do("GET", st.url, nil) // the app needs substantial: SMS step-up, or SSO if at substantial
	if strings.HasSuffix(a.url.Path, "/sms") {
		a = b.do("POST", s.url+a.url.Path, url.Values{"code": {s.lastSMS()}})
	}
	_, idt, _ = other.exchange(t, code(t, a, st), st)
	if idt.Subject == sub {
		t.Fatal("two services got the same subject")
	}
}

// A client that allows only passkeys gets no code from a password
// session: not by SSO, not with prompt=none; the browser is sent to sign
// in with an allowed method (none on this site, so it is told so).
func TestClientMethodsAreEnforced(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t)
	st := newRP(t, s, "ajuntament", rpSecret).start()
	code(t, b.signIn(s, b.do("GET", st.url, nil)), st)

	only := newRP(t, s, "passkeys-only", rpSecret)
	st = only.start(oauth2.SetAuthURLParam("prompt", "none"))
	if a := b.do("GET", st.url, nil); a.location == nil || a.location.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none from a password session: %d %v", a.status, a.location)
	}
	st = only.start()
	a := b.do("GET", st.url, nil)
	if a.location != nil && a.location.Host == "rp.example" {
		t.Fatalf("a password session answered a passkeys-only client: %v", a.location)
	}
	if !signInPath.MatchString(a.url.Path) || a.status != http.StatusForbidden || !strings.Contains(a.body, "does not offer here") {
		t.Fatalf("passkeys-only client: %d at %s\n%.400s", a.status, a.url, a.body)
	}
}

func TestPromptNoneWithoutSession(t *testing.T) {
	s := newSite(t)
	r := newRP(t, s, "ajuntament", rpSecret)
	st := r.start(oauth2.SetAuthURLParam("prompt", "none"))
	a := newBrowser(t).do("GET", st.url, nil)
	if a.location == nil || a.location.Query().Get("error") != "login_required" || a.location.Query().Get("state") != st.state {
		t.Fatalf("prompt=none without a session: %d %v", a.status, a.location)
	}
}

func TestBadRequests(t *testing.T) {
	s := newSite(t)
	r := newRP(t, s, "ajuntament", rpSecret)
	b := newBrowser(t)

	// An unregistered redirect URI or an unknown client: an error page,
	// never a redirect.
	for name, u := range map[string]string{
		"redirect": strings.Replace(r.start().url, url.QueryEscape(rpRedirect), url.QueryEscape("https://evil.example/cb"), 1),
		"client":   strings.Replace(r.start().url, "client_id=ajuntament", "client_id=nobody", 1),
	} {
		a := b.do("GET", u, nil)
		if a.status != http.StatusBadRequest || a.location != nil || a.url.Host == "evil.example" {
			t.Errorf("%s: %d at %s", name, a.status, a.url)
		}
		want := map[string]string{"redirect": "has not registered with Clau", "client": "is not registered with Clau"}[name]
		if !strings.Contains(a.body, want) || !strings.Contains(a.body, `lang="en"`) {
			t.Errorf("%s: the error page does not say why:\n%.1500s", name, a.body)
		}
	}
	// In the reader's language.
	req, _ := http.NewRequest("GET", strings.Replace(r.start().url, "client_id=ajuntament", "client_id=nobody", 1), nil)
	req.Header.Set("Accept-Language", "ca")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "no està registrat a Clau") {
			t.Errorf("Catalan error page: %d\n%.1500s", res.StatusCode, body)
		}
	}
	if n := s.deniedAudit("oidc.authorize"); n < 3 {
		t.Errorf("refused authorization requests audited: %d", n)
	}

	// A public client must use PKCE.
	app := newRP(t, s, "app", "")
	u := app.conf.AuthCodeURL("st", gooidc.Nonce("n"))
	if a := b.do("GET", u, nil); a.location == nil || a.location.Query().Get("error") != "invalid_request" {
		t.Errorf("public client without PKCE: %d %v", a.status, a.location)
	}

	signIn := func() (string, start) {
		st := r.start()
		a := b.do("GET", st.url, nil)
		if a.location == nil { // the first time; then SSO
			a = b.signIn(s, a)
		}
		return code(t, a, st), st
	}
	ctx := context.Background()

	// A wrong PKCE verifier fails.
	c, _ := signIn()
	if _, err := r.conf.Exchange(ctx, c, oauth2.VerifierOption(oauth2.GenerateVerifier())); !isOAuthError(err, "invalid_grant") {
		t.Errorf("wrong verifier: %v", err)
	}
	// A missing verifier fails.
	c, _ = signIn()
	if _, err := r.conf.Exchange(ctx, c); err == nil {
		t.Error("missing verifier accepted")
	}
	// A wrong client secret fails (basic, then post).
	c, st := signIn()
	bad := r.conf
	bad.ClientSecret = "wrong-secret-0123456789"
	bad.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if _, err := bad.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); !isOAuthError(err, "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
	// A failed attempt does not burn the code: the right client still gets it.
	if _, err := r.conf.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); err != nil {
		t.Errorf("the code after a wrong secret: %v", err)
	}
	c, st = signIn()
	post := r.conf
	post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := post.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); err != nil {
		t.Errorf("client_secret_post: %v", err)
	}
	// A garbage code fails.
	before := s.deniedAudit("oidc.token")
	if _, err := r.conf.Exchange(ctx, "not-a-code", oauth2.VerifierOption(st.verifier)); !isOAuthError(err, "invalid_grant") {
		t.Errorf("garbage code: %v", err)
	}
	if s.deniedAudit("oidc.token") != before+1 {
		t.Error("the refused exchange is not audited")
	}
	// A bogus access token gets no userinfo.
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})); err == nil {
		t.Error("userinfo with a bogus token")
	}

	// Discovery says what the library and Clau support.
	res, err := http.Get(s.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	_ = json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if d["issuer"] != s.url || !strings.HasSuffix(d["jwks_uri"].(string), "/oidc/keys") ||
		!strings.Contains(asJSON(d["code_challenge_methods_supported"]), "S256") ||
		!strings.Contains(asJSON(d["token_endpoint_auth_methods_supported"]), "client_secret_post") {
		t.Errorf("discovery: %v", d)
	}
	// Clau's own /healthz is still Clau's.
	if res, err := http.Get(s.url + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Errorf("healthz: %v", err)
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
