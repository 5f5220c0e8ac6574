package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// tokenBench measures the token endpoint alone: authorization code →
// tokens with client_secret_basic and PKCE, as a relying party's back end
// does it. Codes are issued before each measured window (browsers with an
// SSO session ask /oidc/authorize with prompt=none), so the window holds
// only exchanges; the server's CPU is read around each window alone.
type tokenBench struct {
	signinBench
	driver string
	batch  int
	algs   []string
}

// issued is one code waiting for its exchange.
type issued struct{ code, verifier string }

func runToken(args []string, out, log io.Writer) error {
	// The hash is not measured here: the browsers sign in once, at a low cost.
	b := &tokenBench{signinBench: signinBench{params: lowParams}}
	fs := serveFlags("token", log, &b.clau)
	b.oidc = &oidcEndpoints{}
	fs.StringVar(&b.driver, "driver", sqlstore.SQLite, "storage driver of the server: sqlite or postgres (a throwaway schema)")
	fs.DurationVar(&b.duration, "duration", 10*time.Second, "measured exchange time per signing algorithm (summed over rounds)")
	fs.IntVar(&b.concurrency, "concurrency", 4, "relying-party connections exchanging at once")
	fs.IntVar(&b.batch, "batch", 2000, "codes issued before each measured round (a code lives a minute)")
	algs := fs.String("algs", "ES256,RS256", "ID token signing algorithms to measure, each with a client registered for it")
	fs.StringVar(&b.profile, "profile", "", "write the server's CPU profile over the measured exchanges of the first algorithm to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.batch < 1 || b.concurrency < 1 {
		return errors.New("-batch and -concurrency must be at least 1")
	}
	b.citizens = b.concurrency
	for a := range strings.SplitSeq(*algs, ",") {
		a = strings.TrimSpace(a)
		if a != "ES256" && a != "RS256" {
			return fmt.Errorf("-algs: %q is not ES256 or RS256", a)
		}
		b.algs = append(b.algs, a)
	}
	ctx, ws, err := newWorkspace("token", b.clau, b.driver, "", log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	b.clau, b.env = ws.clau, ws.env
	s, err := openMigrated(ctx, b.driver, ws.dsn)
	if err != nil {
		return err
	}
	err = seedActive(ctx, s, b.citizens, b.params)
	s.Close()
	if err != nil {
		return err
	}
	b.oidc.extraClients = b.algs
	srv, err := b.start(ws.dir, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := b.oidc.discover(srv.base); err != nil {
		return err
	}
	fmt.Fprintf(log, "clau-bench token: %s, %s, %s, concurrency %d, %d codes per round\n",
		cpus(), runtime.Version(), b.driver, b.concurrency, b.batch)

	transport := &http.Transport{MaxIdleConnsPerHost: b.concurrency * 2}
	browsers := make([]*http.Client, b.concurrency)
	for i := range browsers {
		jar, _ := cookiejar.New(nil)
		browsers[i] = &http.Client{Jar: jar, Transport: transport, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), benchRedirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		if err := signInWith(srv.base, seed.DNI(i), browsers[i]); err != nil {
			return fmt.Errorf("first sign-in: %w", err)
		}
	}

	fmt.Fprintln(out, "| driver | ID token | exchanges | exchanges/s | p50 | p95 | p99 | server CPU per exchange | exchanges/s per core |")
	fmt.Fprintln(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for i, alg := range b.algs {
		client := benchClientFor(alg)
		// Warm-up: a small round, not counted.
		if _, err := b.round(ctx, srv, browsers, client, min(b.batch, 200), ""); err != nil {
			return err
		}
		var (
			all      window
			profiles []string
		)
		for r := 0; all.elapsed < b.duration || r == 0; r++ {
			prof := ""
			if i == 0 && b.profile != "" {
				prof = fmt.Sprintf("%s.round%d", b.profile, r)
				profiles = append(profiles, prof)
			}
			w, err := b.round(ctx, srv, browsers, client, b.batch, prof)
			if err != nil {
				return err
			}
			all.add(w)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(profiles) > 0 {
			if err := mergeProfiles(b.profile, profiles); err != nil {
				return err
			}
			fmt.Fprintf(log, "server CPU profile of the %s exchanges in %s: go tool pprof -top -cum %s\n", alg, b.profile, b.profile)
		}
		lat := all.lat
		n := len(lat)
		slices.Sort(lat)
		per := all.cpu / time.Duration(max(n, 1))
		fmt.Fprintf(out, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %.0f |\n", b.driver, alg, n, float64(n)/all.elapsed.Seconds(),
			fmtDur(percentile(lat, 0.50)), fmtDur(percentile(lat, 0.95)), fmtDur(percentile(lat, 0.99)),
			fmtDur(per), 1/per.Seconds())
	}
	return nil
}

// round issues n codes for client (untimed), then exchanges them all from
// b.concurrency connections, timing each exchange and reading the
// server's CPU around the exchanges only. With profile set it saves the
// server's CPU profile over the first second of the exchanges there.
func (b *tokenBench) round(ctx context.Context, srv *server, browsers []*http.Client, client string, n int, profile string) (window, error) {
	codes, err := b.issue(ctx, browsers, client, n)
	if err != nil {
		return window{}, err
	}
	profDone := make(chan error, 1)
	if profile != "" && srv.pprof != "" {
		go func() { profDone <- fetchProfile(srv.pprof, time.Second, profile) }()
	} else {
		profDone <- nil
	}
	cpu0, err := procCPU(srv.cmd.Process.Pid)
	if err != nil {
		return window{}, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: b.concurrency * 2}
	defer tr.CloseIdleConnections()
	rp := &http.Client{Transport: tr}
	var next atomic.Int64
	start := time.Now()
	w := window{loopResult: runWorkers(ctx, time.Time{}, b.concurrency, func(*worker) error {
		i := int(next.Add(1)) - 1
		if i >= len(codes) {
			return errDone
		}
		return exchange(rp, b.oidc.token, client, codes[i])
	})}
	w.elapsed = time.Since(start)
	cpu1, _ := procCPU(srv.cmd.Process.Pid)
	w.cpu = cpu1 - cpu0
	if err := <-profDone; err != nil {
		return w, fmt.Errorf("profile: %w", err)
	}
	return w, w.failed("token exchanges")
}

// issue gets n codes for client from the browsers' SSO sessions
// (authorize with prompt=none: no page, straight back with a code).
func (b *tokenBench) issue(ctx context.Context, browsers []*http.Client, client string, n int) ([]issued, error) {
	out := make([]issued, n)
	errs := make([]error, len(browsers))
	var wg sync.WaitGroup
	for w, c := range browsers {
		wg.Go(func() {
			for i := w; i < n && ctx.Err() == nil; i += len(browsers) {
				if out[i], errs[w] = b.code(c, client); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("issuing codes: %w", err)
	}
	return out, ctx.Err()
}

func (b *tokenBench) code(c *http.Client, client string) (issued, error) {
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"client_id": {client}, "redirect_uri": {benchRedirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s"}, "nonce": {"n"}, "prompt": {"none"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	res, err := c.Get(b.oidc.authorize + "?" + q.Encode())
	if err != nil {
		return issued{}, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		return issued{}, fmt.Errorf("authorize with prompt=none: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return issued{code: loc.Query().Get("code"), verifier: verifier}, nil
}

// exchange is one token request as a relying party's back end sends it.
func exchange(c *http.Client, endpoint, client string, code issued) error {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code.code}, "redirect_uri": {benchRedirect},
		"code_verifier": {code.verifier}}
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, benchSecret)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 || tok.IDToken == "" || tok.AccessToken == "" {
		return fmt.Errorf("token: %d %v", res.StatusCode, err)
	}
	return nil
}

// signInWith signs a browser in with the password, keeping its session.
func signInWith(base, doc string, c *http.Client) error {
	res, err := postPassword(c, base, base, doc)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 && res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("after the password: %d", res.StatusCode)
	}
	return nil
}

// benchClientFor is the client registered for an ID token algorithm.
func benchClientFor(alg string) string { return benchClient + "-" + strings.ToLower(alg) }

// mergeProfiles merges CPU profiles into one file with go tool pprof and
// removes the parts.
func mergeProfiles(dst string, parts []string) error {
	args := append([]string{"tool", "pprof", "-proto"}, parts...)
	cmd := exec.Command("go", args...)
	var buf strings.Builder
	cmd.Stdout = &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("merging profiles: %w", err)
	}
	for _, p := range parts {
		os.Remove(p)
	}
	return os.WriteFile(dst, []byte(buf.String()), 0o644)
}
