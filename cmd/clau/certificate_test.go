package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
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

// A citizen registers online with a DNIe at their first sign-in to a
// service that asks for level high through OpenID Connect, then signs in
// again with it; the ID tokens say high and hwk. Against the real binary,
// over real TLS, with revocation checked by the in-process OCSP responder.
func TestCertificateRegistrationAndOIDCAtHigh(t *testing.T) {
	pki := pkitest.NewSpain(time.Now)
	defer pki.Close()
	e := newEnv(t)
	root := pkitest.WritePEM(e.dir, "dnie-root.pem", pki.DNIeRoot.Cert)
	sub := pkitest.WritePEM(e.dir, "dnie-004.pem", pki.DNIe.Cert)
	mainAddr, certAddr := freeAddr(t), freeAddr(t)
	issuer, certURL := "http://"+mainAddr, "https://"+certAddr
	const client, secret, redirect = "tramits", "tramits-secret-0123456789abcdef", "http://127.0.0.1:1/callback"
	clients, _ := json.Marshal([]map[string]any{{"id": client, "secret": secret, "redirect_uris": []string{redirect},
		"min_loa": "high"}})
	profiles, _ := json.Marshal([]map[string]any{{"name": "dnie", "roots": []string{root}, "intermediates": []string{sub},
		"policies": []string{"2.16.724.1.2.2.2.3"}, "loa": "high", "amr": "hwk"}})
	e.serveWith("CLAU_LISTEN="+mainAddr, "CLAU_PUBLIC_URL="+issuer, "CLAU_OIDC_CLIENTS="+string(clients),
		"CLAU_DEV_OUTBOX_API=true", "CLAU_CERTIFICATE_ENABLED=true", "CLAU_CERTIFICATE_LISTEN="+certAddr,
		"CLAU_CERTIFICATE_PUBLIC_URL="+certURL, "CLAU_CERTIFICATE_PROFILES="+string(profiles),
		// The OIDC front-end hands its sign-ins to Clau's own pages, whose
		// transactions are the service "local".
		"CLAU_CERTIFICATE_REGISTRATION_SERVICES=local,"+client)

	listenerPEM, err := os.ReadFile(filepath.Join(e.dir, "certificate-listener.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(listenerPEM)
	leaf := pki.DNIe.Issue(pkitest.DNIeLeaf(pkitest.Person{SerialNumber: "IDCES-00000023T", GivenName: "NÚRIA",
		FirstSurname: "PUIG", SecondSurname: "FERRER"}, time.Now()))
	cert := tls.Certificate{Certificate: [][]byte{leaf.Cert.Raw, pki.DNIe.Cert.Raw}, PrivateKey: leaf.Key}

	newBrowser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots,
			Certificates: []tls.Certificate{cert}}},
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), redirect) {
					return http.ErrUseLastResponse
				}
				return nil
			}}
	}
	do := func(c *http.Client, method, u string, form url.Values) (*http.Response, string) {
		t.Helper()
		var res *http.Response
		var err error
		if form != nil {
			res, err = c.PostForm(u, form)
		} else {
			res, err = c.Get(u)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	var disc struct {
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
	}
	_, dj, _ := get(t, issuer+"/.well-known/openid-configuration")
	if err := json.Unmarshal([]byte(dj), &disc); err != nil || disc.Token == "" {
		t.Fatalf("discovery: %v", err)
	}
	action := regexp.MustCompile(`action="(/login/[A-Za-z0-9_-]+)"`)
	// authorize: into the sign-in page, then the certificate.
	signIn := func(c *http.Client) (*http.Response, string, string) {
		verifier := oauth2.GenerateVerifier()
		q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
			"scope": {"openid profile"}, "state": {"st"}, "nonce": {"n"}, "acr_values": {"http://eidas.europa.eu/LoA/high"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
		// At level high the chooser has one method left, the certificate,
		// and goes straight to it: through the TLS listener and back.
		res, body := do(c, "GET", disc.Authorize+"?"+q.Encode(), nil)
		if m := action.FindStringSubmatch(body); res.StatusCode == 200 && m != nil && res.Request.URL.Path == m[1] {
			t.Fatalf("authorize showed the password form at level high: %s", res.Request.URL)
		}
		return res, body, verifier
	}
	idToken := func(c *http.Client, res *http.Response, verifier string) map[string]any {
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

	// First sign-in: registration (mobile and email, each confirmed).
	b := newBrowser()
	res, body, verifier := signIn(b)
	if res.StatusCode != 200 || !strings.Contains(res.Request.URL.Path, "/certificate/register/") || !strings.Contains(body, "NÚRIA") {
		t.Fatalf("registration page: %d %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	res, _ = do(b, "POST", res.Request.URL.String(), url.Values{"mobile": {"699111222"}, "email": {"nuria@example.org"}})
	if !strings.HasSuffix(res.Request.URL.Path, "/confirm") {
		t.Fatalf("confirm page: %d %s", res.StatusCode, res.Request.URL)
	}
	codes := map[string]string{}
	for _, to := range []string{"+34699111222", "nuria@example.org"} {
		_, out, _ := get(t, issuer+"/dev/outbox?to="+url.QueryEscape(to))
		codes[to] = regexp.MustCompile(`\b\d{6}\b`).FindString(out)
	}
	res, _ = do(b, "POST", res.Request.URL.String(), url.Values{"code": {codes["+34699111222"]}, "email_code": {codes["nuria@example.org"]}})
	checkHigh(idToken(b, res, verifier))

	// Later, in another browser: the certificate signs in at once.
	b = newBrowser()
	res, _, verifier = signIn(b)
	checkHigh(idToken(b, res, verifier))

	// The trail holds the registration and both sign-ins with the
	// certificate's serial number.
	out := e.ok("audit", "export")
	for _, want := range []string{"citizen.register", "login.cert.ok", strings.ToUpper(leaf.Cert.SerialNumber.Text(16))} {
		if !strings.Contains(out, want) {
			t.Errorf("audit list lacks %q", want)
		}
	}
}
