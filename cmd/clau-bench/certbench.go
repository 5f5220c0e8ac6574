package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/clau-eid/clau/internal/pkitest"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// certBench measures certificate sign-ins as a browser does them: the
// sign-in page (a new login transaction), the hand-over to the
// certificate listener, a new TLS handshake there presenting a DNIe-shaped
// client certificate, chain and revocation checks, and the way back to
// the main site up to the answer that sets the session cookie. The OCSP
// responder runs in this process (the outside world); the server's CPU
// comes from /proc.
type certBench struct {
	clau        string
	citizens    int
	duration    time.Duration
	concurrency int
	fresh       bool // every sign-in a new certificate: the OCSP answer is never cached

	pki    *pkitest.Spain
	pool   []tls.Certificate // cached mode: reused certificates
	roots  *x509.CertPool
	issuer string
	cert   string
}

func runCert(args []string, out, log io.Writer) error {
	b := &certBench{}
	fs := serveFlags("cert", log, &b.clau)
	fs.IntVar(&b.citizens, "citizens", 10000, "active citizens to sign in as, at random")
	fs.DurationVar(&b.duration, "duration", 20*time.Second, "how long to measure")
	fs.IntVar(&b.concurrency, "concurrency", 4, "browsers signing in at once")
	ocspMode := fs.String("ocsp", "cached", "cached: 200 certificates reused, their OCSP answers cached; fresh: a new certificate every sign-in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b.fresh = *ocspMode == "fresh"
	if !b.fresh && *ocspMode != "cached" {
		return fmt.Errorf("-ocsp must be cached or fresh")
	}
	ctx, ws, err := newWorkspace("cert", b.clau, sqlstore.SQLite, "", log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	dir := ws.dir
	b.clau = ws.clau
	fmt.Fprintf(log, "clau-bench cert: %s, %s, %d citizens, concurrency %d, OCSP %s\n",
		cpus(), runtime.Version(), b.citizens, b.concurrency, *ocspMode)
	b.pki = pkitest.NewSpain(time.Now)
	defer b.pki.Close()
	if err := b.prepare(ctx, dir); err != nil {
		return err
	}
	srv, err := b.start(dir)
	if err != nil {
		return err
	}
	defer srv.stop()
	pem, err := os.ReadFile(filepath.Join(dir, "certificate-listener.pem"))
	if err != nil {
		return err
	}
	b.roots = x509.NewCertPool()
	b.roots.AppendCertsFromPEM(pem)
	if !b.fresh {
		warm := &http.Transport{}
		for range 200 {
			c := b.newCert()
			b.pool = append(b.pool, c)
			if err := b.signIn(warm, c); err != nil { // its OCSP answer is now cached
				return err
			}
		}
	}

	b.run(ctx, warmup(b.duration)) // warm up: connections, and in cached mode the OCSP answers
	hits0, _ := b.pki.DNIeRev.Hits()
	w, err := srv.measure(b.duration, "", func(d time.Duration) loopResult { return b.run(ctx, d) })
	if err != nil {
		return err
	}
	lat, elapsed := w.lat, w.elapsed
	hits1, _ := b.pki.DNIeRev.Hits()
	if err := w.failed("sign-ins"); err != nil {
		return err
	}
	n := len(lat)
	slices.Sort(lat)
	perSignin := w.cpu / time.Duration(max(n, 1))
	fmt.Fprintln(out, "| OCSP | sign-ins | OCSP requests | sign-ins/s | p50 | p95 | p99 | server CPU per sign-in | sign-ins/s per core |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(out, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %.1f |\n", *ocspMode, n, hits1-hits0,
		float64(n)/elapsed.Seconds(), fmtDur(percentile(lat, 0.50)), fmtDur(percentile(lat, 0.95)),
		fmtDur(percentile(lat, 0.99)), fmtDur(perSignin), 1/perSignin.Seconds())
	return nil
}

// newCert is a DNIe authentication certificate for a random citizen.
func (b *certBench) newCert() tls.Certificate {
	i := rand.IntN(b.citizens)
	leaf := b.pki.DNIe.Issue(pkitest.DNIeLeaf(pkitest.Person{SerialNumber: "IDCES-" + seed.DNI(i), GivenName: "BENCH",
		FirstSurname: "CIUTADA"}, time.Now()))
	return tls.Certificate{Certificate: [][]byte{leaf.Cert.Raw, b.pki.DNIe.Cert.Raw}, PrivateKey: leaf.Key, Leaf: leaf.Cert}
}

func (b *certBench) prepare(ctx context.Context, dir string) error {
	s, err := openMigrated(ctx, sqlstore.SQLite, filepath.Join(dir, "clau.db"))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := seed.Citizens(ctx, s, 0, b.citizens, 1000, nil); err != nil {
		return err
	}
	_, err = s.DB().ExecContext(ctx, `UPDATE citizens SET status = 'active'`)
	return err
}

func (b *certBench) start(dir string) (*server, error) {
	root := pkitest.WritePEM(dir, "dnie-root.pem", b.pki.DNIeRoot.Cert)
	sub := pkitest.WritePEM(dir, "dnie-sub.pem", b.pki.DNIe.Cert)
	addrs := make([]string, 2)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs[i] = l.Addr().String()
		l.Close()
	}
	b.issuer, b.cert = "http://"+addrs[0], "https://"+addrs[1]
	profiles, _ := json.Marshal([]map[string]any{{"name": "dnie", "roots": []string{root}, "intermediates": []string{sub},
		"policies": []string{"2.16.724.1.2.2.2.3"}, "loa": "high", "amr": "hwk"}})
	cmd := exec.Command(b.clau, "serve")
	cmd.Env = append(os.Environ(), "CLAU_DATA_DIR="+dir, "CLAU_LISTEN="+addrs[0], "CLAU_PUBLIC_URL="+b.issuer,
		"CLAU_LOG_LEVEL=info", "CLAU_CERTIFICATE_ENABLED=true", "CLAU_CERTIFICATE_LISTEN="+addrs[1],
		"CLAU_CERTIFICATE_PUBLIC_URL="+b.cert, "CLAU_CERTIFICATE_PROFILES="+string(profiles))
	cmd.Dir = dir
	return launch(cmd)
}

func (b *certBench) run(ctx context.Context, d time.Duration) loopResult {
	main := &http.Transport{MaxIdleConnsPerHost: b.concurrency * 2}
	defer main.CloseIdleConnections()
	return runWorkers(ctx, time.Now().Add(d), b.concurrency, func(w *worker) error {
		if !b.fresh {
			return b.signIn(main, b.pool[rand.IntN(len(b.pool))])
		}
		cert := b.newCert()
		w.begin() // the certificate is the citizen's, made before the clock starts
		return b.signIn(main, cert)
	})
}

// signIn is one browser's certificate sign-in; the listener gets a new
// TLS connection (a new handshake with the client certificate), as a
// browser choosing its certificate does.
func (b *certBench) signIn(main *http.Transport, cert tls.Certificate) error {
	jar, _ := cookiejar.New(nil)
	tlsT := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: b.roots,
		Certificates: []tls.Certificate{cert}}}
	defer tlsT.CloseIdleConnections()
	c := &http.Client{Jar: jar, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Scheme == "https" {
			return tlsT.RoundTrip(r)
		}
		return main.RoundTrip(r)
	}), CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/me" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	// At level high the chooser has only the certificate left and goes
	// straight to it: the handoff, the TLS listener and back to /me.
	res, err := c.Get(b.issuer + "/login?continue=/me&loa=high")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
		return fmt.Errorf("certificate sign-in ended with %d at %s", res.StatusCode, res.Request.URL)
	}
	return nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
