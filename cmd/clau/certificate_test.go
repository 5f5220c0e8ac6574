package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/pkitest"

	"golang.org/x/oauth2"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveWith starts `clau serve` with extra variables (ports fixed by the
// caller) and waits until both listeners are up.
func (e *env) serveWith(extra ...string) {
	e.t.Helper()
	cmd := exec.Command(clauBin, "serve")
	cmd.Env = append(append(append([]string{}, e.vars...), "CLAU_LOG_LEVEL=info"), extra...)
	cmd.Dir = e.dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		var logs strings.Builder
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), `"msg":"clau listening"`) && !sent {
				up <- true
				sent = true
			}
		}
		if !sent {
			e.t.Log(logs.String())
			up <- false
		}
	}()
	select {
	case ok := <-up:
		if !ok {
			e.t.Fatal("clau serve exited before listening")
		}
	case <-time.After(60 * time.Second):
		e.t.Fatal("clau serve did not start")
	}
}

// certSite is `clau serve` with the certificate listener on, trusting a
// DNIe-shaped test PKI whose OCSP responder runs in the test, and one
// citizen's DNIe (not yet registered) to present over mutual TLS.
type certSite struct {
	*env
	pki             *pkitest.Spain
	issuer, certURL string
	leaf            *pkitest.Issued
	cert            tls.Certificate
	roots           *x509.CertPool // trusts the certificate listener
}

// newCertSite starts the server; registration lists the services whose
// sign-ins may register a citizen at their first certificate sign-in.
func newCertSite(t *testing.T, registration string, extra ...string) *certSite {
	t.Helper()
	pki := pkitest.NewSpain(time.Now)
	t.Cleanup(pki.Close)
	e := newEnv(t)
	root := pkitest.WritePEM(e.dir, "dnie-root.pem", pki.DNIeRoot.Cert)
	sub := pkitest.WritePEM(e.dir, "dnie-004.pem", pki.DNIe.Cert)
	mainAddr, certAddr := freeAddr(t), freeAddr(t)
	s := &certSite{env: e, pki: pki, issuer: "http://" + mainAddr, certURL: "https://" + certAddr}
	profiles, _ := json.Marshal([]map[string]any{{"name": "dnie", "roots": []string{root}, "intermediates": []string{sub},
		"policies": []string{"2.16.724.1.2.2.2.3"}, "loa": "high", "amr": "hwk"}})
	e.serveWith(append([]string{"CLAU_LISTEN=" + mainAddr, "CLAU_PUBLIC_URL=" + s.issuer,
		"CLAU_DEV_OUTBOX_API=true", "CLAU_CERTIFICATE_ENABLED=true", "CLAU_CERTIFICATE_LISTEN=" + certAddr,
		"CLAU_CERTIFICATE_PUBLIC_URL=" + s.certURL, "CLAU_CERTIFICATE_PROFILES=" + string(profiles),
		"CLAU_CERTIFICATE_REGISTRATION_SERVICES=" + registration}, extra...)...)

	listenerPEM, err := os.ReadFile(filepath.Join(e.dir, "certificate-listener.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s.roots = x509.NewCertPool()
	s.roots.AppendCertsFromPEM(listenerPEM)
	s.leaf = pki.DNIe.Issue(pkitest.DNIeLeaf(pkitest.Person{SerialNumber: "IDCES-00000023T", GivenName: "NÚRIA",
		FirstSurname: "PUIG", SecondSurname: "FERRER"}, time.Now()))
	s.cert = tls.Certificate{Certificate: [][]byte{s.leaf.Cert.Raw, pki.DNIe.Cert.Raw}, PrivateKey: s.leaf.Key}
	return s
}

// browser is a fresh browser holding the citizen's DNIe; it stops
// following redirects at stop (when not empty), the service's side.
func (s *certSite) browser(stop string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.roots,
		Certificates: []tls.Certificate{s.cert}}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if stop != "" && strings.HasPrefix(req.URL.String(), stop) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

// do gets u, or posts form to it, and reads the answer.
func (s *certSite) do(c *http.Client, u string, form url.Values) (*http.Response, string) {
	s.t.Helper()
	var res *http.Response
	var err error
	method, body := "GET", io.Reader(nil)
	if form != nil {
		method, body = "POST", strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en")
	res, err = c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// register fills in the registration page the first certificate sign-in
// landed on (res, body): mobile and email, each confirmed with the code
// the outbox holds. It returns the answer to the confirmation.
func (s *certSite) register(c *http.Client, res *http.Response, body string) (*http.Response, string) {
	s.t.Helper()
	if res.StatusCode != 200 || !strings.Contains(res.Request.URL.Path, "/certificate/register/") || !strings.Contains(body, "NÚRIA") {
		s.t.Fatalf("registration page: %d %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	res, _ = s.do(c, res.Request.URL.String(), url.Values{"mobile": {"699111222"}, "email": {"nuria@example.org"}})
	if !strings.HasSuffix(res.Request.URL.Path, "/confirm") {
		s.t.Fatalf("confirm page: %d %s", res.StatusCode, res.Request.URL)
	}
	codes := map[string]string{}
	for _, to := range []string{"+34699111222", "nuria@example.org"} {
		_, out, _ := get(s.t, s.issuer+"/dev/outbox?to="+url.QueryEscape(to))
		codes[to] = regexp.MustCompile(`\b\d{6}\b`).FindString(out)
	}
	return s.do(c, res.Request.URL.String(), url.Values{"code": {codes["+34699111222"]}, "email_code": {codes["nuria@example.org"]}})
}

// checkAudit: the trail holds the registration and the sign-ins with the
// certificate's serial number.
func (s *certSite) checkAudit() {
	s.t.Helper()
	out := s.ok("audit", "export")
	for _, want := range []string{"citizen.register", "login.cert.ok", strings.ToUpper(s.leaf.Cert.SerialNumber.Text(16))} {
		if !strings.Contains(out, want) {
			s.t.Errorf("audit list lacks %q", want)
		}
	}
}

// A citizen registers online with a DNIe at their first sign-in to a
// service that asks for level high through OpenID Connect, then signs in
// again with it; the ID tokens say high and hwk. Another service, not in
// registration_services, refuses the same first sign-in with a page that
// says so, naming the service. Against the real binary, over real TLS,
// with revocation checked by the in-process OCSP responder.
func TestCertificateRegistrationAndOIDCAtHigh(t *testing.T) {
	const client, secret, redirect = "tramits", "tramits-secret-0123456789abcdef", "http://127.0.0.1:1/callback"
	const other = "padro"
	clients, _ := json.Marshal([]map[string]any{
		{"id": client, "name": "Tràmits en línia", "secret": secret, "redirect_uris": []string{redirect}, "min_loa": "high"},
		{"id": other, "name": "Padró municipal", "secret": secret, "redirect_uris": []string{redirect}, "min_loa": "high"}})
	// Registration is offered to one OpenID Connect client, by its ID.
	s := newCertSite(t, client, "CLAU_OIDC_CLIENTS="+string(clients))
	var disc struct {
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
	}
	_, dj, _ := get(t, s.issuer+"/.well-known/openid-configuration")
	if err := json.Unmarshal([]byte(dj), &disc); err != nil || disc.Token == "" {
		t.Fatalf("discovery: %v", err)
	}
	action := regexp.MustCompile(`action="(/login/[A-Za-z0-9_-]+)"`)
	// authorize: into the sign-in page, then the certificate.
	signIn := func(c *http.Client, client string) (*http.Response, string, string) {
		verifier := oauth2.GenerateVerifier()
		q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
			"scope": {"openid profile"}, "state": {"st"}, "nonce": {"n"}, "acr_values": {"http://eidas.europa.eu/LoA/high"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
		// At level high the chooser has one method left, the certificate,
		// and goes straight to it: through the TLS listener and back.
		res, body := s.do(c, disc.Authorize+"?"+q.Encode(), nil)
		if m := action.FindStringSubmatch(body); res.StatusCode == 200 && m != nil && res.Request.URL.Path == m[1] {
			t.Fatalf("authorize showed the password form at level high: %s", res.Request.URL)
		}
		return res, body, verifier
	}
	idToken := func(c *http.Client, client string, res *http.Response, verifier string) map[string]any {
		t.Helper()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("no code: %d %s -> %s", res.StatusCode, res.Request.URL, res.Header.Get("Location"))
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {redirect}, "code_verifier": {verifier}}
		req, _ := http.NewRequest("POST", disc.Token, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, secret)
		tr, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Body.Close()
		var tok struct {
			IDToken string `json:"id_token"`
		}
		if err := json.NewDecoder(tr.Body).Decode(&tok); err != nil || tok.IDToken == "" {
			t.Fatalf("token: %d %v", tr.StatusCode, err)
		}
		parts := strings.Split(tok.IDToken, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(payload, &claims)
		return claims
	}
	checkHigh := func(claims map[string]any) {
		t.Helper()
		amr, _ := claims["amr"].([]any)
		if claims["acr"] != "http://eidas.europa.eu/LoA/high" || !slices.Contains(amr, any("hwk")) {
			t.Fatalf("claims %v", claims)
		}
	}

	// A first sign-in to the service not listed: refused, saying why,
	// on a page that names the service.
	res, body, _ := signIn(s.browser(redirect), other)
	notOffered := i18n.MustLoad().T("en", "cert.register_not_offered", nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(html.UnescapeString(body), notOffered) ||
		!strings.Contains(body, "Signing in to Padró municipal") {
		t.Fatalf("first sign-in to %s: %d at %s\n%.1500s", other, res.StatusCode, res.Request.URL, body)
	}

	// First sign-in to the listed one: registration (mobile and email,
	// each confirmed), its pages naming the service.
	b := s.browser(redirect)
	res, body, verifier := signIn(b, client)
	if !strings.Contains(body, "Signing in to Tràmits en línia") {
		t.Errorf("the registration page does not name the service:\n%.1500s", body)
	}
	res, _ = s.register(b, res, body)
	checkHigh(idToken(b, client, res, verifier))

	// Later, in another browser: the certificate signs in at once, to
	// either service.
	for _, c := range []string{client, other} {
		b = s.browser(redirect)
		res, _, verifier = signIn(b, c)
		checkHigh(idToken(b, c, res, verifier))
	}
	s.checkAudit()
	if out := s.ok("audit", "export"); !strings.Contains(out, "login.cert.register_refused") {
		t.Errorf("the audit trail lacks the refused registration")
	}
}
