package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"

	"github.com/clau-eid/clau/internal/saml"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// samlBench measures the SAML identity provider's own work: each browser
// signs in once (one password hash), then its SP sends signed
// AuthnRequests over HTTP-POST that the SSO session answers: verify the
// request's signature, check and record it, sign the assertion and the
// response (and encrypt the assertion for an SP with an encryption key),
// audit. No password hash is in the measured window, so the figure is
// what SAML costs beyond it. The server is a real `clau serve` process;
// its CPU time comes from /proc.
type samlBench struct {
	signinBench
	sps map[string]*benchSP // "signed", "encrypted"

	// ceiling measures the raw XML-signature ceiling for a while: before
	// the server starts, and a slice after each measured round.
	ceiling func(context.Context, time.Duration) (ceiling, error)
}

type benchSP struct {
	entityID, acs string
	key           *rsa.PrivateKey
	cert          []byte
	encrypt       bool
}

func runSAML(args []string, out, log io.Writer) error {
	b := &samlBench{signinBench: signinBench{params: secure.DefaultArgon2Params()}}
	fs := serveFlags("saml", log, &b.clau)
	fs.DurationVar(&b.duration, "duration", 15*time.Second, "how long to measure each kind of response")
	fs.IntVar(&b.concurrency, "concurrency", 4, "browsers with an SSO session asking at once")
	fs.StringVar(&b.profile, "profile", "", "write the server's CPU profile over the signed-only window to FILE (go tool pprof FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b.citizens = b.concurrency
	ctx, ws, err := newWorkspace("saml", b.clau, sqlstore.SQLite, "", log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	dir := ws.dir
	b.clau = ws.clau
	if err := b.prepare(ctx, dir); err != nil {
		return err
	}
	// Before the server starts: the machine is the signatures' alone.
	// More slices follow each measured round (see measure).
	if b.ceiling, err = samlCeiling(); err != nil {
		return fmt.Errorf("XML-signature ceiling: %w", err)
	}
	alone, err := b.ceiling(ctx, ceilingTime(b.duration))
	if err != nil {
		return fmt.Errorf("XML-signature ceiling: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	var decl []map[string]any
	b.sps = map[string]*benchSP{}
	for _, kind := range []string{"signed", "encrypted"} {
		sp, err := newBenchSP(kind, kind == "encrypted")
		if err != nil {
			return err
		}
		f := filepath.Join(dir, kind+".xml")
		if err := os.WriteFile(f, []byte(sp.metadata()), 0o600); err != nil {
			return err
		}
		b.sps[kind] = sp
		// The password only, so the sign-in form comes without the chooser.
		decl = append(decl, map[string]any{"metadata_file": f, "methods": []string{"permanent"}})
	}
	spsJSON, _ := json.Marshal(decl)
	b.env = []string{"CLAU_LISTEN=" + addr, "CLAU_PUBLIC_URL=http://" + addr, "CLAU_SAML_SPS=" + string(spsJSON)}
	srv, err := b.start(dir, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(log, "clau-bench saml: %s, %s, %d browsers with an SSO session\n", cpus(), runtime.Version(), b.concurrency)

	// One browser per worker, signed in once.
	browsers := make([]*http.Client, b.concurrency)
	transport := &http.Transport{MaxIdleConnsPerHost: b.concurrency * 2}
	for i := range browsers {
		jar, _ := cookiejar.New(nil)
		browsers[i] = &http.Client{Jar: jar, Transport: transport}
		if err := b.signInSAML(srv.base, browsers[i], b.sps["signed"], seed.DNI(i)); err != nil {
			return fmt.Errorf("first sign-in: %w", err)
		}
	}
	type row struct {
		label string
		w     window
		sigs  ceiling // the ceiling's slices after this row's rounds
	}
	var rows []row
	for _, kind := range []string{"signed", "encrypted"} {
		sp := b.sps[kind]
		profile := ""
		if kind == "signed" {
			profile = b.profile
		}
		w, sigs, err := b.measure(ctx, srv, browsers, sp, profile, log)
		if err != nil {
			return err
		}
		label := "assertion and response signed (RSA-3072, SHA-256)"
		if sp.encrypt {
			label = "the same, assertion encrypted (AES-256-GCM, RSA-OAEP)"
		}
		rows = append(rows, row{label, w, sigs})
	}
	fmt.Fprintln(out, "| response | responses | responses/s | p50 | p95 | p99 | server CPU per response | responses/s per core | per core, of the signing ceiling |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		lat := r.w.lat
		n := len(lat)
		slices.Sort(lat)
		per := r.w.cpu / time.Duration(max(n, 1))
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s | %s | %.0f | %.0f%% |\n", r.label, n, float64(n)/r.w.elapsed.Seconds(),
			fmtDur(percentile(lat, 0.50)), fmtDur(percentile(lat, 0.95)), fmtDur(percentile(lat, 0.99)),
			fmtDur(per), 1/per.Seconds(), 100*r.sigs.cpuPerOp().Seconds()/per.Seconds())
	}
	var sigs []namedCeiling
	for _, r := range rows {
		sigs = append(sigs, namedCeiling{"after the rounds of: " + r.label, r.sigs})
	}
	printCeilings(out, fmt.Sprintf("raw XML-signature ceiling: a response shaped like the signed one built, its assertion and itself "+
		"signed (enveloped, RSA-SHA256, exclusive c14n, RSA-3072, goxmldsig) and serialised, alone in the bench process "+
		"from %d goroutines, for a second after each measured round while the server was idle (each response row is read "+
		"against the slices after its own rounds), and before the server started", alone.goroutines),
		"measured", "response", "responses", append(sigs, namedCeiling{"before the server started", alone})...)
	return nil
}

// measure answers sp's requests from every browser in rounds: each round's
// requests are signed first, outside the window, then sent as fast as the
// browsers get answers, the server's CPU read around the sending only, so
// the SP's own RSA signing does not share the cores with the server while
// it is measured (as the token scenario issues its codes before each
// round). A warm-up round goes first, and more until the server has
// collected and returned the first sign-ins' hashing memory (settle).
// Rounds repeat until their windows add up to b.duration, each followed
// by a second of the signing ceiling, so that the ceiling sees the
// machine as the rounds did; it returns those slices together. With profile set, the server's CPU profile covers
// each round's window, merged into one file.
func (b *samlBench) measure(ctx context.Context, srv *server, browsers []*http.Client, sp *benchSP, profile string, log io.Writer) (window, ceiling, error) {
	warm := max(50, int(warmup(b.duration).Seconds()*50))
	var w window
	err := srv.settle(ctx, min(time.Minute, 4*b.duration), log, func() (err error) {
		w, err = b.round(ctx, srv, browsers, sp, warm, 0, "")
		return err
	})
	if err != nil {
		return w, ceiling{}, err
	}
	// Rounds of about 3 s at the warm-up's rate (a request lives 5
	// minutes): this machine's speed drifts by a tenth within seconds, so
	// the ceiling is measured often.
	rate := float64(len(w.lat)) / max(w.elapsed.Seconds(), 0.001)
	n := max(100, int(rate*3))
	var (
		all      window
		sigs     ceiling
		profiles []string
	)
	for r := 0; all.elapsed < b.duration || r == 0; r++ {
		prof := ""
		if profile != "" {
			prof = fmt.Sprintf("%s.round%d", profile, r)
			profiles = append(profiles, prof)
		}
		w, err := b.round(ctx, srv, browsers, sp, n, time.Duration(float64(n)/rate*float64(time.Second)), prof)
		if err != nil {
			return all, sigs, err
		}
		all.add(w)
		// The ceiling again, on the machine as it is now, the server idle.
		c, err := b.ceiling(ctx, time.Second)
		if err != nil {
			return all, sigs, fmt.Errorf("XML-signature ceiling: %w", err)
		}
		sigs = sigs.plus(c)
	}
	if len(profiles) > 0 {
		if err := mergeProfiles(profile, profiles); err != nil {
			return all, sigs, err
		}
		fmt.Fprintf(log, "server CPU profile of the signed responses in %s: go tool pprof -top -cum %s\n", profile, profile)
	}
	return all, sigs, nil
}

// round signs n requests for sp (untimed), then has the browsers send them
// all, timing each answer and reading the server's CPU around the sending.
// With profile set it saves the server's CPU profile over about expect of
// the round less a second (whole seconds, at least one).
func (b *samlBench) round(ctx context.Context, srv *server, browsers []*http.Client, sp *benchSP, n int, expect time.Duration, profile string) (window, error) {
	reqs, err := sp.requests(ctx, srv.base, n)
	if err != nil {
		return window{}, err
	}
	if profile == "" {
		expect = 0
	}
	var next atomic.Int64
	w, err := srv.measure(max(expect, 2*time.Second), profile, func(time.Duration) loopResult {
		return runWorkers(ctx, time.Time{}, len(browsers), func(w *worker) error {
			i := int(next.Add(1)) - 1
			if i >= len(reqs) {
				return errDone
			}
			a, err := post(browsers[w.id], srv.base+"/saml/sso", reqs[i])
			if err == nil && !responseRE.MatchString(a) {
				err = fmt.Errorf("no SAMLResponse form: %.300s", a)
			}
			return err
		})
	})
	if err != nil {
		return w, err
	}
	return w, w.failed("SAML responses")
}

var responseRE = regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`)

// signInSAML is a browser's first sign-in: the request, the password form.
func (b *samlBench) signInSAML(base string, c *http.Client, sp *benchSP, doc string) error {
	req, err := sp.request(base)
	if err != nil {
		return err
	}
	body, err := post(c, base+"/saml/sso", req)
	if err != nil {
		return err
	}
	m := formAction.FindStringSubmatch(body)
	if m == nil {
		return errors.New("no sign-in form")
	}
	res, err := c.PostForm(base+m[1], url.Values{"document": {doc}, "password": {benchPassword}})
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m2 := responseRE.FindStringSubmatch(string(out))
	if m2 == nil {
		return fmt.Errorf("no SAMLResponse after the password: %d", res.StatusCode)
	}
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m2[1]))
	if !strings.Contains(string(raw), "status:Success") {
		return fmt.Errorf("response not successful: %.400s", raw)
	}
	return nil
}

func post(c *http.Client, u, samlRequest string) (string, error) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(url.Values{"SAMLRequest": {samlRequest}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return "", fmt.Errorf("%d: %.300s", res.StatusCode, b)
	}
	return string(b), nil
}

func newBenchSP(name string, encrypt bool) (*benchSP, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	base := "https://" + name + ".bench.example"
	return &benchSP{entityID: base + "/md", acs: base + "/acs", key: k, cert: der, encrypt: encrypt}, nil
}

func (s *benchSP) metadata() string {
	kd := func(use string) string {
		return `<md:KeyDescriptor use="` + use + `"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` +
			base64.StdEncoding.EncodeToString(s.cert) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	}
	enc := ""
	if s.encrypt {
		enc = kd("encryption")
	}
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + s.entityID + `">` +
		`<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		kd("signing") + enc +
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + s.acs + `" index="0" isDefault="true"/>` +
		`</md:SPSSODescriptor></md:EntityDescriptor>`
}

// requests signs n AuthnRequests from all cores.
func (s *benchSP) requests(ctx context.Context, base string, n int) ([]string, error) {
	out := make([]string, n)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n && ctx.Err() == nil && errs[w] == nil; i += workers {
				out[i], errs[w] = s.request(base)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// request is a signed AuthnRequest, base64 for the HTTP-POST binding.
func (s *benchSP) request(base string) (string, error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	el := etree.NewElement("samlp:AuthnRequest")
	el.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	el.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	el.CreateAttr("ID", fmt.Sprintf("_%x", id))
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", time.Now().UTC().Format(time.RFC3339))
	el.CreateAttr("Destination", base+"/saml/sso")
	el.CreateAttr("AssertionConsumerServiceURL", s.acs)
	el.CreateElement("saml:Issuer").SetText(s.entityID)
	// Signed as the IdP signs (RSA-SHA256, exclusive c14n, after the Issuer).
	if err := saml.SignEnveloped(s.key, s.cert, el); err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
