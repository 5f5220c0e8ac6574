package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/saml"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

const (
	password = "Groc-Mar-Tramuntana-7"
	document = "12345678Z"
)

// testSP is a service provider: its own key and certificate, and the
// metadata Clau is configured with.
type testSP struct {
	entityID, acs, slo string
	key                *rsa.PrivateKey
	cert               *x509.Certificate
	encrypt            bool // publish an encryption key
	unsignedOK         bool // metadata says AuthnRequestsSigned="false"
	cfg                saml.SPConfig
}

func newTestSP(t testing.TB, name string, encrypt bool) *testSP {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	base := "https://" + name + ".example"
	return &testSP{entityID: base + "/saml/metadata", acs: base + "/saml/acs", slo: base + "/saml/slo", key: k, cert: c,
		encrypt: encrypt}
}

func (s *testSP) metadata() string {
	cert := base64.StdEncoding.EncodeToString(s.cert.Raw)
	kd := func(use string) string {
		return `<md:KeyDescriptor use="` + use + `"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + cert +
			`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	}
	enc := ""
	if s.encrypt {
		enc = kd("encryption")
	}
	signed := "true"
	if s.unsignedOK {
		signed = "false"
	}
	return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + s.entityID + `">
<md:SPSSODescriptor AuthnRequestsSigned="` + signed + `" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
` + kd("signing") + enc + `
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + s.slo + `"/>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + s.acs + `" index="0" isDefault="true"/>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + s.acs + `2" index="1"/>
</md:SPSSODescriptor>
<md:Organization><md:OrganizationName xml:lang="en">` + s.entityID + `</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">Test SP</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">https://sp.example</md:OrganizationURL></md:Organization>
</md:EntityDescriptor>`
}

// client is gosaml2, the independent SP library, configured for s.
func (s *testSP) client(st *site) *saml2.SAMLServiceProvider {
	c := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      st.url + "/saml/sso",
		IdentityProviderSLOURL:      st.url + "/saml/slo",
		IdentityProviderIssuer:      st.idp.EntityID(),
		AssertionConsumerServiceURL: s.acs,
		ServiceProviderIssuer:       s.entityID,
		ServiceProviderSLOURL:       s.slo,
		AudienceURI:                 s.entityID,
		SignAuthnRequests:           true,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{st.idp.Certificate()}},
		NameIdFormat:                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	}
	if err := c.SetSPKeyStore(&saml2.KeyStore{Signer: s.key, Cert: s.cert.Raw}); err != nil {
		panic(err)
	}
	// gosaml2 decrypts with the (deprecated) SPKeyStore field only.
	c.SPKeyStore = dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{s.cert.Raw}, PrivateKey: s.key})
	return c
}

// siteDriver is the store newSite opens (TestOnEveryDriver changes it).
var siteDriver = sqlstore.SQLite

type site struct {
	t     testing.TB
	url   string
	store store.Store
	kr    *secure.Keyring
	idp   *saml.IdP
	log   *strings.Builder
}

// newSite runs Clau's real handler stack (sign-in pages and the IdP) on
// loopback, with one citizen who has activated her Clau, and the SPs.
func newSite(t testing.TB, sps ...*testSP) *site {
	t.Helper()
	ctx := context.Background()
	s := sqltest.Open(t, siteDriver)
	kr, _ := secure.NewKeyring(nil, time.Now())
	codes := secure.NewOneTimeCodes(kr, time.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

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
	if err := saml.AddPages(r); err != nil {
		t.Fatal(err)
	}
	reg := registration.New(s, codes, hasher, n, registration.Options{})
	b := broker.New(s, broker.Options{Sealer: kr})
	pages, err := account.New(account.Deps{Store: s, Broker: b, Permanent: permanent.New(s, hasher, codes, n, nil),
		Registration: reg, Server: srv, Renderer: r, Policy: secure.DefaultPasswordPolicy(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	pages.Mount()
	dir := t.TempDir()
	var cfgs []saml.SPConfig
	for i, sp := range sps {
		f := filepath.Join(dir, fmt.Sprintf("sp%d.xml", i))
		if err := os.WriteFile(f, []byte(sp.metadata()), 0o600); err != nil {
			t.Fatal(err)
		}
		c := sp.cfg
		if c.MetadataURL == "" {
			c.MetadataFile = f
		}
		cfgs = append(cfgs, c)
	}
	idp, err := saml.New(ctx, saml.Deps{Issuer: ts.URL, Store: s, Broker: b, Keyring: kr, Server: srv, Renderer: r,
		SessionCookie: account.SessionCookie, Log: log, SPs: cfgs, SignIn: pages})
	if err != nil {
		t.Fatal(err)
	}
	idp.Mount()
	h = srv.Handler()

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
	return &site{t: t, url: ts.URL, store: s, kr: kr, idp: idp, log: logs}
}

// browser follows redirects inside Clau.
type browser struct {
	t testing.TB
	c *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}}
}

type answer struct {
	status   int
	url      *url.URL
	body     string
	location string // of a redirect not followed
}

// do sends a request; a form is posted as a browser posts it from the
// page it came from (fetchSite: "same-origin" or "cross-site").
func (b *browser) do(method, u string, form url.Values, fetchSite string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Accept-Language", "en")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", fetchSite)
		if fetchSite == "cross-site" {
			req.Header.Set("Origin", "https://sp.example")
		}
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, url: res.Request.URL, body: string(out), location: res.Header.Get("Location")}
}

// signInPath is a page of a sign-in transaction: /login/{id}, or one of
// its methods' pages.
var signInPath = regexp.MustCompile(`^/login/[a-z0-9]{26}(/[a-z]+)?$`)

// transaction is the sign-in whose page a shows, as b's sign-in pages
// find it (stored, or held in b's cookie until stored): what the IdP
// asked of them.
func (s *site) transaction(b *browser, a answer) broker.Request {
	s.t.Helper()
	id := strings.Split(strings.TrimPrefix(a.url.Path, "/login/"), "/")[0]
	held := ""
	for _, c := range b.c.Jar.Cookies(a.url) {
		if c.Name == "clau_tx" {
			held = c.Value
		}
	}
	tx, err := broker.New(s.store, broker.Options{Sealer: s.kr}).Resume(context.Background(), id, held)
	if err != nil {
		s.t.Fatalf("transaction %s: %v", id, err)
	}
	return tx.Request
}

var actionRE = regexp.MustCompile(`<form method="post" action="(/login/[a-z0-9]+(?:/permanent|/sms)?)"`)

// signIn posts the password form the answer shows.
func (b *browser) signIn(s *site, a answer) answer {
	b.t.Helper()
	m := actionRE.FindStringSubmatch(a.body)
	if m == nil {
		b.t.Fatalf("no sign-in form at %s (%d):\n%s", a.url, a.status, a.body)
	}
	return b.do("POST", s.url+m[1], url.Values{"document": {document}, "password": {password}}, "same-origin")
}

// sms posts the SMS code form the answer shows with the last code sent.
func (b *browser) sms(s *site, a answer) answer {
	b.t.Helper()
	if !strings.HasSuffix(a.url.Path, "/sms") || !strings.Contains(a.body, `name="code"`) {
		b.t.Fatalf("no SMS form at %s (%d):\n%s", a.url, a.status, a.body)
	}
	return b.do("POST", s.url+a.url.Path, url.Values{"code": {s.lastSMS()}}, "same-origin")
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (s *site) lastSMS() string {
	msgs, _ := s.store.ListMessages(context.Background(), 1)
	if len(msgs) == 0 {
		s.t.Fatal("no SMS sent")
	}
	return sixDigits.FindString(msgs[0].Body)
}

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]+)" id="saml-post">`)
	paramRE = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|SAMLRequest|RelayState)" value="([^"]*)">`)
)

// posted is what an auto-submitting SAML form carries.
type posted struct {
	action string
	values map[string]string
}

func postedForm(t testing.TB, a answer) posted {
	t.Helper()
	m := formRE.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no SAML POST form at %s (%d):\n%.1500s", a.url, a.status, a.body)
	}
	p := posted{action: html.UnescapeString(m[1]), values: map[string]string{}}
	for _, v := range paramRE.FindAllStringSubmatch(a.body, -1) {
		p.values[v[1]] = html.UnescapeString(v[2])
	}
	return p
}

// postRequest sends a signed AuthnRequest over HTTP-POST from the SP's
// page, as a cross-site form post.
func (b *browser) postRequest(s *site, xml []byte, relay string) answer {
	b.t.Helper()
	form := url.Values{"SAMLRequest": {encode(xml)}}
	if relay != "" {
		form.Set("RelayState", relay)
	}
	return b.do("POST", s.url+"/saml/sso", form, "cross-site")
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
