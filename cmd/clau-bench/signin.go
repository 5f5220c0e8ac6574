package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// signinBench measures the whole sign-in as a browser does it: GET
// /login?continue=/me&method=permanent (a new login transaction and its form), then POST
// the DNI and password (argon2id verification, session creation, audit
// event) up to the answer that sends the citizen on to the service. The server is a real `clau
// serve` process on loopback; its CPU time comes from /proc.
type signinBench struct {
	clau        string
	citizens    int
	duration    time.Duration
	concurrency int
	params      secure.Argon2Params
	profile     string
	oidc        *oidcEndpoints // set: measure OpenID Connect flows instead of plain sign-ins
	pin         *pinEndpoints  // set: measure Clau PIN sign-ins instead
	sms         *smsEndpoints  // set: sign in at level substantial, password then SMS code
	busy        int            // sign-ins turned away by admission control in closed-loop runs
	env         []string       // more environment for clau serve
	rate        float64        // > 0: open loop, starting this many flows per second
}

const benchPassword = "Groc-Mar-Tramuntana-7"

func runSignin(args []string, out, log io.Writer) error {
	return runLogins("signin", args, out, log)
}

func runLogins(mode string, args []string, out, log io.Writer) error {
	b := &signinBench{params: secure.DefaultArgon2Params()}
	fs := serveFlags(mode, log, &b.clau)
	switch mode {
	case "oidc":
		b.oidc = &oidcEndpoints{}
	case "pin":
		b.pin = &pinEndpoints{}
	}
	fs.IntVar(&b.citizens, "citizens", 10000, "activated citizens to sign in as, at random")
	fs.DurationVar(&b.duration, "duration", 20*time.Second, "how long to measure")
	fs.IntVar(&b.concurrency, "concurrency", 4, "browsers signing in at once")
	loadList := fs.String("load", "", "after the closed-loop run, open-loop runs at these multiples of its peak rate, e.g. 0.5,2")
	fs.Float64Var(&b.rate, "rate", 0, "open loop: start this many sign-ins per second whatever the answers (latency counted from each scheduled start); 0: closed loop of -concurrency browsers")
	sms := false
	if mode == "signin" {
		fs.BoolVar(&sms, "sms", false, "sign in at level substantial: the password, then the SMS code (read from the outbox table); closed loop only")
	}
	fs.StringVar(&b.profile, "profile", "", "write the server's CPU profile over the measured window to FILE (go tool pprof FILE), and with -load its execution trace of each open-loop level to FILE.<level>x.trace")
	setParams := argon2Flags(fs, &b.params)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setParams(); err != nil {
		return err
	}
	if sms {
		if b.rate > 0 || *loadList != "" {
			return errors.New("-sms runs the closed loop only (no -rate or -load)")
		}
		b.sms = &smsEndpoints{}
	}
	loads, err := parseLoads(*loadList)
	if err != nil {
		return err
	}
	ctx, ws, err := newWorkspace("signin", b.clau, sqlstore.SQLite, "", log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	dir := ws.dir
	b.clau = ws.clau
	fmt.Fprintf(log, "clau-bench %s: %s, %s, argon2id m=%d KiB t=%d p=%d, %d citizens, concurrency %d, rate %.1f/s (0: closed loop)\n",
		mode, cpus(), runtime.Version(), b.params.Memory, b.params.Time, b.params.Threads, b.citizens, b.concurrency, b.rate)

	var hash ceiling
	if b.pin == nil { // a PIN sign-in hashes no password
		// Before the server starts: the machine is the hash's alone.
		if hash, err = hashCeiling(ctx, b.params, ceilingTime(b.duration)); err != nil {
			return fmt.Errorf("hash-only ceiling: %w", err)
		}
	}
	if err := b.prepare(ctx, dir); err != nil {
		return err
	}
	if b.pin != nil {
		if err := b.pin.prepare(ctx, dir); err != nil {
			return err
		}
		defer b.pin.db.Close()
	}
	if b.sms != nil {
		if err := b.sms.prepare(ctx, dir); err != nil {
			return err
		}
		defer b.sms.db.Close()
	}
	srv, err := b.start(dir, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	if b.oidc != nil {
		if err := b.oidc.discover(srv.base); err != nil {
			return err
		}
	}

	// Warm up (connections, caches), then measure.
	b.run(ctx, srv.base, warmup(b.duration))
	w, during, err := b.measureRounds(ctx, srv)
	if err != nil {
		return err
	}
	lat, elapsed := w.lat, w.elapsed
	before := hash
	if during.ops > 0 {
		hash = during
	}
	if b.profile != "" {
		fmt.Fprintf(log, "server CPU profile in %s: go tool pprof -top -focus='secure.\\(\\*Hasher\\).Verify' %s\n", b.profile, b.profile)
	}
	if err := w.failed("sign-ins"); err != nil {
		return err
	}
	if b.busy > 0 {
		fmt.Fprintf(log, "%d sign-ins were turned away as busy (503) and retried: the concurrency queues more than security.max_hash_wait allows\n", b.busy)
	}
	n := len(lat)
	slices.Sort(lat)
	perSignin := w.cpu / time.Duration(max(n, 1))
	if b.pin != nil {
		fmt.Fprintln(out, "Clau PIN sign-ins: /login?method=pin → PIN form → document data → PIN page → PIN (no argon2id)")
		fmt.Fprintln(out, "| sign-ins | sign-ins/s | p50 | p95 | p99 | server CPU per sign-in | sign-ins/s per core |")
		fmt.Fprintln(out, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		fmt.Fprintf(out, "| %d | %.0f | %s | %s | %s | %s | %.1f |\n", n, float64(n)/elapsed.Seconds(),
			fmtDur(percentile(lat, 0.50)), fmtDur(percentile(lat, 0.95)), fmtDur(percentile(lat, 0.99)),
			fmtDur(perSignin), 1/perSignin.Seconds())
		return nil
	}
	if b.sms != nil {
		fmt.Fprintln(out, "sign-ins at level substantial: password form → password → SMS page → SMS code")
	}
	if b.oidc != nil {
		fmt.Fprintln(out, "full OpenID Connect flows: authorize → sign-in → code → token → userinfo")
		fmt.Fprintf(out, "token endpoint alone: p50 %s, p99 %s\n", fmtDur(b.oidc.tokenPercentile(0.5)), fmtDur(b.oidc.tokenPercentile(0.99)))
	}
	rate := float64(n) / elapsed.Seconds()
	// Two readings of the target "≥ 90% of the hash-only ceiling": wall
	// time (what the machine gave each phase, so other work on it moves
	// it) and per core (CPU time, which survives a shared machine).
	fmt.Fprintln(out, "| argon2id (m KiB, t, p) | sign-ins | sign-ins/s | p50 | p95 | p99 | server CPU per sign-in | sign-ins/s per core | of the hash-only ceiling | per core, of the hash-only ceiling | server CPU beyond the hash |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(out, "| %d, %d, %d | %d | %.0f | %s | %s | %s | %s | %.1f | %.0f%% | %.0f%% | %s |\n",
		b.params.Memory, b.params.Time, b.params.Threads, n, rate,
		fmtDur(percentile(lat, 0.50)), fmtDur(percentile(lat, 0.95)), fmtDur(percentile(lat, 0.99)),
		fmtDur(perSignin), 1/perSignin.Seconds(), 100*rate/hash.perSecond(), 100*hash.cpuPerOp().Seconds()/perSignin.Seconds(),
		fmtSignedDur(perSignin-hash.cpuPerOp()))
	params := fmt.Sprintf("%d, %d, %d", b.params.Memory, b.params.Time, b.params.Threads)
	printCeilings(out, fmt.Sprintf("hash-only ceiling: secure.Hasher.Verify alone in the bench process from %d goroutines, "+
		"for a second after every %s of the measured window while the server was idle (the sign-ins are read against "+
		"these), and before the server started", hash.goroutines, sliceEvery), "argon2id (m KiB, t, p), measured", "hash", "hashes",
		namedCeiling{params + ", after the rounds", hash}, namedCeiling{params + ", before the server started", before})
	if len(loads) > 0 {
		return b.reportLoads(ctx, out, log, srv, float64(n)/elapsed.Seconds(), loads)
	}
	return nil
}

// measureRounds measures b.duration of sign-ins in rounds of about
// sliceEvery, each followed by a second of the hash-only ceiling while the
// server is idle, so that the ceiling sees the machine as the sign-ins
// did. It returns the rounds together and the ceiling's slices together
// (none for PIN sign-ins, which hash no password). With b.profile set,
// the server's CPU profile covers each round, merged into one file.
func (b *signinBench) measureRounds(ctx context.Context, srv *server) (window, ceiling, error) {
	rounds := max(1, int(b.duration/sliceEvery))
	var (
		all      window
		hash     ceiling
		profiles []string
	)
	for r := range rounds {
		prof := ""
		if b.profile != "" {
			prof = fmt.Sprintf("%s.round%d", b.profile, r)
			profiles = append(profiles, prof)
		}
		w, err := srv.measure(b.duration/time.Duration(rounds), prof, func(d time.Duration) loopResult { return b.run(ctx, srv.base, d) })
		if err != nil {
			return all, hash, err
		}
		all.add(w)
		if b.pin == nil {
			c, err := hashCeiling(ctx, b.params, time.Second)
			if err != nil {
				return all, hash, fmt.Errorf("hash-only ceiling: %w", err)
			}
			hash = hash.plus(c)
		}
	}
	if len(profiles) > 0 {
		if err := mergeProfiles(b.profile, profiles); err != nil {
			return all, hash, err
		}
	}
	return all, hash, nil
}

// prepare makes the data folder: migrated, seeded, every citizen active
// with the same password (one hash, so preparing takes seconds).
func (b *signinBench) prepare(ctx context.Context, dir string) error {
	s, err := openMigrated(ctx, sqlstore.SQLite, filepath.Join(dir, "clau.db"))
	if err != nil {
		return err
	}
	defer s.Close()
	return seedActive(ctx, s, b.citizens, b.params)
}

// seedActive seeds n citizens, every one active with the bench password.
func seedActive(ctx context.Context, s *sqlstore.Store, n int, params secure.Argon2Params) error {
	if err := seed.Citizens(ctx, s, 0, n, 1000, nil); err != nil {
		return err
	}
	phc, err := benchHash(ctx, params)
	if err != nil {
		return err
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE citizens SET status = 'active'`); err != nil {
		return err
	}
	_, err = s.DB().ExecContext(ctx, `INSERT INTO passwords (citizen_id, hash, set_at, version)
		SELECT id, $1, 0, 1 FROM citizens`, phc)
	return err
}

type server struct {
	cmd   *exec.Cmd
	base  string
	pprof string // profiler address, when asked for
}

// window is one measured run against a clau serve process.
type window struct {
	loopResult
	elapsed time.Duration // wall time
	cpu     time.Duration // the server's CPU time (user + system)
}

// add counts w, one round of a run measured in rounds, into all.
func (all *window) add(w window) {
	all.lat = append(all.lat, w.lat...)
	all.errs += w.errs
	all.busy += w.busy
	if all.firstErr == nil {
		all.firstErr = w.firstErr
	}
	all.cpu += w.cpu
	all.elapsed += w.elapsed
}

// measure runs run for d (after the caller's warm-up), reading the server's
// CPU time around it and, when profile names a file and the server serves
// pprof, writing the server's CPU profile over the window there.
func (s *server) measure(d time.Duration, profile string, run func(time.Duration) loopResult) (window, error) {
	cpu0, err := procCPU(s.cmd.Process.Pid)
	if err != nil {
		return window{}, err
	}
	profDone := make(chan error, 1)
	if s.pprof != "" && profile != "" {
		go func() { profDone <- fetchProfile(s.pprof, d-time.Second, profile) }()
	} else {
		profDone <- nil
	}
	start := time.Now()
	w := window{loopResult: run(d)}
	w.elapsed = time.Since(start)
	cpu1, _ := procCPU(s.cmd.Process.Pid)
	w.cpu = cpu1 - cpu0
	if err := <-profDone; err != nil {
		return w, fmt.Errorf("profile: %w", err)
	}
	return w, nil
}

// failed is the error for a window with failed operations, or nil.
func (r loopResult) failed(what string) error {
	if r.errs == 0 {
		return nil
	}
	return fmt.Errorf("%d %s failed; the first: %w", r.errs, what, r.firstErr)
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

func (b *signinBench) start(dir string, log io.Writer) (*server, error) {
	cmd := exec.Command(b.clau, "serve")
	cmd.Env = append(os.Environ(), "CLAU_DATA_DIR="+dir, "CLAU_LISTEN=127.0.0.1:0", "CLAU_LOG_LEVEL=info",
		"CLAU_SECURITY_ARGON2_MEMORY_KIB="+strconv.Itoa(int(b.params.Memory)),
		"CLAU_SECURITY_ARGON2_ITERATIONS="+strconv.Itoa(int(b.params.Time)),
		"CLAU_SECURITY_ARGON2_PARALLELISM="+strconv.Itoa(int(b.params.Threads)))
	if b.profile != "" {
		cmd.Env = append(cmd.Env, "CLAU_SERVER_PPROF_LISTEN=127.0.0.1:0")
	}
	cmd.Env = append(cmd.Env, b.env...)
	if b.pin != nil {
		cmd.Env = append(cmd.Env, b.pin.serverEnv()...)
	}
	if b.oidc != nil {
		env, err := b.oidc.serverEnv()
		if err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, env...)
	}
	cmd.Dir = dir
	return launch(cmd)
}

// launch starts clau serve as cmd and waits until it listens: its
// address (and its profiler's, when it serves one) come from its JSON log
// on stderr, which goes on being drained while it runs.
func launch(cmd *exec.Cmd) (*server, error) {
	if serverProcs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(serverProcs))
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	pprofAddr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() { // keep draining: the access log goes on
			if sent {
				continue
			}
			var l struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Msg {
			case "pprof listening":
				pprofAddr <- l.Listen
			case "clau listening":
				addr <- l.Listen
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			cmd.Wait()
			return nil, errors.New("clau serve exited before listening")
		}
		srv := &server{cmd: cmd, base: "http://" + a}
		select {
		case p := <-pprofAddr:
			srv.pprof = "http://" + p
		default:
		}
		return srv, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("clau serve did not start")
	}
}

// run signs in from b.concurrency browsers for d (or, with -rate, in an
// open loop). A browser turned away as busy backs off for 100 ms, as one
// told to retry would.
func (b *signinBench) run(ctx context.Context, base string, d time.Duration) loopResult {
	if b.rate > 0 {
		return b.runOpen(ctx, base, d)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: b.concurrency * 2}
	defer transport.CloseIdleConnections()
	r := runWorkers(ctx, time.Now().Add(d), b.concurrency, func(*worker) error {
		var err error
		switch {
		case b.pin != nil:
			err = b.pin.flow(base, int(b.pin.next.Add(1))%b.citizens, transport)
		case b.sms != nil:
			err = b.sms.flow(base, int(b.sms.next.Add(1))%b.citizens, transport)
		case b.oidc != nil:
			err = b.oidc.flow(base, seed.DNI(rand.IntN(b.citizens)), transport)
		default:
			err = signIn(base, seed.DNI(rand.IntN(b.citizens)), transport)
		}
		if errors.Is(err, errBusy) {
			time.Sleep(100 * time.Millisecond)
		}
		return err
	})
	b.busy += r.busy
	return r
}

// runOpen is -rate: an open loop at b.rate sign-ins per second for d (see
// openLoop); busy answers are counted apart, like the closed loop's.
func (b *signinBench) runOpen(ctx context.Context, base string, d time.Duration) loopResult {
	r := b.openLoop(ctx, base, b.rate, d)
	b.busy += len(r.busy)
	return loopResult{lat: r.ok, errs: r.errs + r.abandoned, busy: len(r.busy), firstErr: r.firstErr}
}

var formAction = regexp.MustCompile(`<form method="post" action="(/login/[a-z0-9]+(?:/permanent)?)"`)

// signIn is one browser's sign-in: a fresh cookie jar, the sign-in form,
// the password, and the answer that sends the citizen on with a session
// (the page it sends them to belongs to the service, not to the sign-in).
func signIn(base, doc string, tr http.RoundTripper) error {
	_, res, err := passwordSignIn(base, base, doc, tr)
	if err != nil {
		return err
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "clau_session" && ck.Value != "" {
			return nil
		}
	}
	return errors.New("no session cookie after the password")
}

// newBrowser is a browser with a fresh cookie jar that follows no
// redirect, so every answer on the way can be checked.
func newBrowser(tr http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// passwordSignIn is a new browser's password sign-in (postPassword) up to
// the answer that sends the citizen on to /me; the browser keeps the
// session.
func passwordSignIn(formBase, postBase, doc string, tr http.RoundTripper) (*http.Client, *http.Response, error) {
	c := newBrowser(tr)
	res, err := postPassword(c, formBase, postBase, doc)
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
		return nil, nil, fmt.Errorf("after the password: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return c, res, nil
}

// postPassword gets the password form from formBase and posts the document
// and the bench password to postBase (the same process, or another one)
// with c's cookies. The answer comes back with its body read; a busy
// answer (503 + Retry-After) is errBusy.
func postPassword(c *http.Client, formBase, postBase, doc string) (*http.Response, error) {
	// method=permanent: the password form at once, not the method chooser.
	action, err := passwordForm(c, formBase+"/login?continue=/me&method=permanent", "login form")
	if err != nil {
		return nil, err
	}
	return sendPassword(c, postBase+action, doc)
}

// passwordForm gets u with c and returns the action of the password form
// in the answer; step names the request in the error when there is none.
func passwordForm(c *http.Client, u, step string) (string, error) {
	res, err := c.Get(u)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := formAction.FindSubmatch(body)
	if res.StatusCode != 200 || m == nil {
		return "", fmt.Errorf("%s: %d, no form", step, res.StatusCode)
	}
	return string(m[1]), nil
}

// sendPassword posts the document and the bench password to the form at
// u. The answer comes back with its body read; a busy answer (503 +
// Retry-After) is errBusy.
func sendPassword(c *http.Client, u, doc string) (*http.Response, error) {
	res, err := c.PostForm(u, url.Values{"document": {doc}, "password": {benchPassword}})
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "" {
		return nil, errBusy
	}
	return res, nil
}

// warmup is how long to run before measuring: 2 s, or the measured time
// when that is shorter (smoke runs).
func warmup(measured time.Duration) time.Duration { return min(2*time.Second, measured) }

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fetchProfile saves the server's CPU profile over the next d.
func fetchProfile(base string, d time.Duration, path string) error {
	return download(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())), path)
}

// download saves what the server's profiler answers at u to path.
func download(u, path string) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("profiler answered %s", res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
