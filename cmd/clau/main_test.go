package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// The end-to-end tests drive the real binary as an operator would.
var clauBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clau-bin")
	if err != nil {
		panic(err)
	}
	clauBin = filepath.Join(dir, "clau")
	build := exec.Command("go", "build", "-o", clauBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building clau:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is an isolated environment: its own data folder, no stray CLAU_*
// variables from the caller, low argon2 cost to keep tests quick.
type env struct {
	t    *testing.T
	dir  string
	vars []string
}

func newEnv(t *testing.T, extra ...string) *env {
	dir := t.TempDir()
	vars := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLAU_") {
			vars = append(vars, kv)
		}
	}
	vars = append(vars, "CLAU_DATA_DIR="+dir, "CLAU_SECURITY_ARGON2_MEMORY_KIB=8192", "CLAU_SECURITY_ARGON2_ITERATIONS=1",
		"CLAU_LOG_LEVEL=warn")
	vars = append(vars, extra...)
	return &env{t: t, dir: dir, vars: vars}
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", args...)
}

func (e *env) runIn(stdin string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(clauBin, args...)
	cmd.Env, cmd.Dir = e.vars, e.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("clau %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

var citizenArgs = []string{"citizen", "add", "--document", "12345678z", "--validity", "2031-04-30",
	"--given-name", "Maria", "--first-surname", "Garcia", "--second-surname", "Puig", "--birth-date", "1980-02-29",
	"--email", "maria@example.org", "--mobile", "612 345 678", "--language", "ca", "--office", "BCN-01"}

func TestOperatorCommands(t *testing.T) {
	e := newEnv(t)
	if out := e.ok("version"); !strings.HasPrefix(out, "clau ") {
		t.Fatalf("version = %q", out)
	}
	e.ok("office", "add", "--code", "bcn-01", "--name", "OAC Barcelona", "--address", "Plaça Sant Jaume 1",
		"--postal-code", "08002", "--municipality", "Barcelona", "--province", "Barcelona")
	out := e.ok("officer", "add", "--office", "BCN-01", "--username", "mgarcia", "--name", "Marta Garcia", "--role", "supervisor")
	if !strings.Contains(out, "password (shown once): ") {
		t.Fatalf("officer add did not show the generated password: %q", out)
	}
	if r := e.runIn("short\n", "officer", "add", "--office", "BCN-01", "--username", "x1", "--name", "X", "--password-stdin"); r.code != 2 {
		t.Fatalf("short officer password: exit %d", r.code)
	}
	e.ok(citizenArgs...)
	show := e.ok("citizen", "show", "12345678-Z")
	for _, want := range []string{"DNI 12345678Z", "+34612345678", "advanced", "pending", "Garcia"} {
		if !strings.Contains(show, want) {
			t.Errorf("citizen show lacks %q:\n%s", want, show)
		}
	}
	if n := strings.TrimSpace(e.ok("citizen", "count")); n != "1" {
		t.Fatalf("count = %s", n)
	}

	// Bad input: every problem named by field, exit 2, nothing saved.
	bad := e.run("citizen", "add", "--document", "12345678A", "--validity", "2031-02-30", "--given-name", "M4ria",
		"--first-surname", "Garcia", "--birth-date", "1980-01-01", "--email", "not-an-email", "--mobile", "912345678")
	if bad.code != 2 {
		t.Fatalf("invalid citizen: exit %d", bad.code)
	}
	for _, want := range []string{"validity:", "document:", "given_name:", "email:", "mobile:"} {
		if !strings.Contains(bad.stderr, want) {
			t.Errorf("error output lacks %q:\n%s", want, bad.stderr)
		}
	}
	dup := append([]string{}, citizenArgs...)
	dup[len(dup)-5] = "699 000 111" // other mobile, same document
	r := e.run(dup...)
	if r.code != 2 || !strings.Contains(r.stderr, "document: A citizen with this DNI/NIE is already registered") {
		t.Fatalf("duplicate document: exit %d %s", r.code, r.stderr)
	}
	sameMobile := append([]string{}, citizenArgs...)
	sameMobile[3] = "87654321X"
	r = e.run(sameMobile...)
	if r.code != 2 || !strings.Contains(r.stderr, "mobile:") {
		t.Fatalf("duplicate mobile: exit %d %s", r.code, r.stderr)
	}
	if n := strings.TrimSpace(e.ok("citizen", "count")); n != "1" {
		t.Fatalf("a refused registration changed the count to %s", n)
	}
	if r := e.run("citizen", "frobnicate"); r.code != 2 {
		t.Fatalf("unknown subcommand: exit %d", r.code)
	}

	// The audit trail has every action, including the refused ones.
	exp := e.ok("audit", "export")
	var actions []string
	sc := bufio.NewScanner(strings.NewReader(exp))
	for sc.Scan() {
		var ev struct{ Action, Outcome string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, ev.Action+":"+ev.Outcome)
	}
	want := []string{"office.create:ok", "officer.create:ok", "citizen.register:ok", "citizen.register:denied", "citizen.register:denied"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Fatalf("audit actions = %v, want %v", actions, want)
	}
	if strings.Contains(exp, "12345678Z") {
		t.Fatal("the audit trail holds a document number in clear")
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "intact: 5 events") {
		t.Fatalf("verify = %q", out)
	}
	// Tamper with the database directly, as an intruder would.
	s := sqltest.OpenDSN(t, sqlstore.SQLite, filepath.Join(e.dir, "clau.db"), nil)
	if _, err := s.DB().Exec(`UPDATE audit_events SET actor='someone-else' WHERE seq=2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	r = e.run("audit", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "event 2: altered") || !strings.Contains(r.stderr, "tampered") {
		t.Fatalf("verify after tampering: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestKeyRotationKeepsSealedData(t *testing.T) {
	e := newEnv(t)
	e.ok("office", "add", "--code", "GIR-01", "--name", "OAC Girona", "--address", "Plaça del Vi 1",
		"--postal-code", "17004", "--municipality", "Girona", "--province", "Girona")
	list := e.ok("keys", "list")
	if strings.Count(list, "\n") != 2 {
		t.Fatalf("a new data folder should have one key:\n%s", list)
	}
	out := e.ok("keys", "rotate")
	if !strings.Contains(out, "new primary key") {
		t.Fatalf("rotate = %q", out)
	}
	lines := strings.Split(strings.TrimSpace(e.ok("keys", "list")), "\n")
	if len(lines) != 3 {
		t.Fatalf("after rotation:\n%s", strings.Join(lines, "\n"))
	}
	oldID := strings.Fields(lines[1])[0]
	if strings.Fields(lines[1])[2] != "false" {
		oldID = strings.Fields(lines[2])[0]
	}
	if out := e.ok("keys", "retire", oldID); !strings.Contains(out, "retired") {
		t.Fatalf("retire = %q", out)
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
}

func TestConfigErrorsListEveryKey(t *testing.T) {
	e := newEnv(t)
	cfg := filepath.Join(e.dir, "clau.yaml")
	os.WriteFile(cfg, []byte("listen: \"nonsense\"\nstorage:\n  drivr: sqlite\nnotify:\n  sms:\n    driver: pigeon\n"), 0o600)
	r := e.run("serve", "--config", cfg)
	if r.code != 2 {
		t.Fatalf("bad config: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"storage.drivr", "unknown key"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stderr)
		}
	}
	os.WriteFile(cfg, []byte("listen: \"nonsense\"\nnotify:\n  sms:\n    driver: pigeon\n"), 0o600)
	r = e.run("serve", "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, "listen") || !strings.Contains(r.stderr, "notify.sms.driver") {
		t.Fatalf("several problems must be listed together: exit %d\n%s", r.code, r.stderr)
	}
	e2 := newEnv(t, "CLAU_STORAGE_MAX_OPEN_CONNS=lots")
	if r := e2.run("citizen", "count"); r.code != 2 || !strings.Contains(r.stderr, "CLAU_STORAGE_MAX_OPEN_CONNS") {
		t.Fatalf("bad env value: exit %d %s", r.code, r.stderr)
	}
}

func TestDatabaseDownAtStart(t *testing.T) {
	e := newEnv(t, "CLAU_STORAGE_DRIVER=postgres", "CLAU_STORAGE_DSN=postgres://clau@127.0.0.1:1/clau?connect_timeout=2")
	r := e.run("serve")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach the database") {
		t.Fatalf("database down: exit %d\n%s", r.code, r.stderr)
	}
}

// server is a running `clau serve` process.
type server struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

func (e *env) serve(args ...string) *server {
	e.t.Helper()
	cmd := exec.Command(clauBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(append([]string{}, e.vars...), "CLAU_LISTEN=127.0.0.1:0", "CLAU_LOG_LEVEL=info")
	cmd.Dir = e.dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &bytes.Buffer{}}
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			s.logs.WriteString(sc.Text() + "\n")
			var l struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "clau listening" && !sent {
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
			e.t.Fatalf("clau serve exited before listening")
		}
		s.base = "http://" + a
	case <-time.After(60 * time.Second):
		e.t.Fatal("clau serve did not start")
	}
	return s
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestServeHealthMetricsAndShutdown(t *testing.T) {
	e := newEnv(t)
	s := e.serve()
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/", "/static/clau.css"} {
		if code, _, _ := get(t, s.base+path); code != 200 {
			t.Errorf("GET %s = %d", path, code)
		}
	}
	if code, _, _ := get(t, s.base+"/dev/outbox"); code != 404 {
		t.Errorf("/dev/outbox must be off by default, got %d", code)
	}
	_, body, _ := get(t, s.base+"/metrics")
	if !strings.Contains(body, `clau_http_requests_total{code="200",method="GET",route="GET /healthz"}`) {
		t.Error("metrics do not count requests by route")
	}
	// SIGTERM: a graceful stop with exit 0.
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("clau serve did not stop on SIGTERM")
	}
	if !strings.Contains(s.logs.String(), "shutting down") {
		t.Errorf("no shutdown log:\n%s", s.logs)
	}
}

// Two `clau serve` processes on one PostgreSQL: both migrate at start
// without tripping over each other, and each sees what is written through
// the other's database.
func TestTwoProcessesOnOnePostgres(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	e := newEnv(t, "CLAU_STORAGE_DRIVER=postgres", "CLAU_STORAGE_DSN="+dsn, "CLAU_SECURITY_KEYRING_FILE="+keyring,
		"CLAU_DEV_OUTBOX_API=true")
	// Start both at once so their migrations race.
	ch := make(chan *server, 2)
	for range 2 {
		go func() { ch <- e.serve() }()
	}
	a, b := <-ch, <-ch
	for _, s := range []*server{a, b} {
		if code, body, _ := get(t, s.base+"/readyz"); code != 200 {
			t.Fatalf("readyz = %d %s\n%s", code, body, s.logs)
		}
	}
	e.ok("notify", "test", "--sms", "+34 611 222 333", "--language", "es")
	for _, s := range []*server{a, b} {
		_, body, _ := get(t, s.base+"/dev/outbox")
		var msgs []struct{ Recipient, Channel, Body string }
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Recipient != "+34611222333" || !strings.Contains(msgs[0].Body, "mensaje de prueba") {
			t.Fatalf("%s/dev/outbox = %s", s.base, body)
		}
	}
	e.ok(citizenArgs[:len(citizenArgs)-2]...)
	if out := e.ok("citizen", "show", "12345678Z"); !strings.Contains(out, "Maria") {
		t.Fatal(out)
	}
}

// A process killed with SIGKILL in the middle of a burst of writes loses no
// committed record, and the database and audit trail stay sound.
func TestSIGKILLLosesNothingCommitted(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		var e *env
		if driver == sqlstore.Postgres {
			e = newEnv(t, "CLAU_STORAGE_DRIVER=postgres", "CLAU_STORAGE_DSN="+sqltest.PostgresDSN(t))
		} else {
			e = newEnv(t)
		}
		e.ok("migrate")
		cmd := exec.Command(clauBin, "seed", "--citizens", "1000000", "--batch", "25", "--print")
		cmd.Env, cmd.Dir = e.vars, e.dir
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Read continuously so the process never waits on its output:
		// the kill lands while it is writing.
		var (
			mu        sync.Mutex
			committed []string
		)
		reached, eof := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(eof)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				mu.Lock()
				committed = append(committed, sc.Text())
				if len(committed) == 1500 {
					close(reached)
				}
				mu.Unlock()
			}
		}()
		select {
		case <-reached:
		case <-eof:
		case <-time.After(2 * time.Minute):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		<-eof
		if len(committed) < 1500 {
			t.Fatalf("only %d citizens committed before the process ended", len(committed))
		}
		dsn := filepath.Join(e.dir, "clau.db")
		for _, kv := range e.vars {
			if v, ok := strings.CutPrefix(kv, "CLAU_STORAGE_DSN="); ok {
				dsn = v
			}
		}
		s := sqltest.OpenDSN(t, driver, dsn, nil)
		ctx := context.Background()
		for _, d := range committed {
			if _, err := s.CitizenByDocument(ctx, d); err != nil {
				t.Fatalf("committed citizen %s lost after SIGKILL: %v", d, err)
			}
		}
		if driver == sqlstore.SQLite {
			var check string
			s.DB().QueryRow(`PRAGMA integrity_check`).Scan(&check)
			if check != "ok" {
				t.Fatalf("integrity_check = %s", check)
			}
		}
		n, _ := s.CountCitizens(ctx)
		t.Logf("%d citizens printed as committed, %d in the database", len(committed), n)
		if out := e.ok("audit", "verify"); !strings.Contains(out, "intact") {
			t.Fatal(out)
		}
	})
}

// `clau demo` on a fresh folder prints its guide with working links and
// demo accounts; a second start finds the data and creates nothing twice.
func TestDemo(t *testing.T) {
	e := newEnv(t)
	for round := 1; round <= 2; round++ {
		cmd := exec.Command(clauBin, "demo", "--listen", "127.0.0.1:0")
		cmd.Env, cmd.Dir = e.vars, e.dir
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stopped := false
		t.Cleanup(func() { // never leave a server behind when the test fails
			if !stopped {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		sc := bufio.NewScanner(stdout)
		var guide strings.Builder
		for sc.Scan() {
			guide.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Press Ctrl+C") {
				break
			}
		}
		g := guide.String()
		for _, want := range []string{"Home page:", "/dev/outbox", "username demo.admin", "90000001N"} {
			if !strings.Contains(g, want) {
				t.Fatalf("round %d: guide lacks %q:\n%s", round, want, g)
			}
		}
		var home string
		for _, l := range strings.Split(g, "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "Home" {
				home = f[2]
			}
		}
		if code, _, _ := get(t, home); code != 200 {
			t.Fatalf("home page %s = %d", home, code)
		}
		if code, body, _ := get(t, strings.TrimSuffix(home, "/")+"/dev/outbox"); code != 200 || !strings.HasPrefix(body, "[") {
			t.Fatalf("demo outbox = %d %s", code, body)
		}
		demoSAML(t, strings.TrimSuffix(home, "/"))
		if round == 1 {
			checkDemoPIN(t, home, g)
		}
		cmd.Process.Signal(syscall.SIGINT)
		stopped = true
		if err := cmd.Wait(); err != nil {
			t.Fatalf("demo exit: %v", err)
		}
	}
	if n := strings.TrimSpace(e.ok("citizen", "count")); n != "3" {
		t.Fatalf("after two demo starts there are %s citizens, want 3", n)
	}
}

// `officer add` enrolls a TOTP seed shown once (and as a QR code file);
// `officer enroll` replaces it; `officer token` prints a desk API bearer
// token of which only the hash is stored.
func TestOfficerEnrolmentAndToken(t *testing.T) {
	e := newEnv(t)
	e.ok("office", "add", "--code", "BCN-01", "--name", "OAC Barcelona", "--address", "Plaça Sant Jaume 1",
		"--postal-code", "08002", "--municipality", "Barcelona", "--province", "Barcelona")
	out := e.ok("officer", "add", "--office", "BCN-01", "--username", "mgarcia", "--name", "Marta Garcia", "--qr", "totp.png")
	secret := regexp.MustCompile(`TOTP secret \(shown once\): ([A-Z2-7]{32})\n`).FindStringSubmatch(out)
	if secret == nil || !strings.Contains(out, "TOTP URI (shown once): otpauth://totp/Clau:mgarcia?") {
		t.Fatalf("officer add did not show the TOTP seed:\n%s", out)
	}
	png, err := os.ReadFile(filepath.Join(e.dir, "totp.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("QR code file: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(e.dir, "totp.png")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("QR code file mode %v", fi.Mode().Perm())
	}
	if r := e.run("officer", "add", "--office", "BCN-01", "--username", "other", "--name", "Other", "--qr", "totp.png"); r.code == 0 {
		t.Fatal("an existing QR code file was overwritten")
	}
	if list := e.ok("officer", "list"); !strings.Contains(list, "enrolled") || strings.Contains(list, "not enrolled") {
		t.Fatalf("officer list:\n%s", list)
	}
	again := e.ok("officer", "enroll", "--username", "mgarcia")
	if s2 := regexp.MustCompile(`TOTP secret \(shown once\): ([A-Z2-7]{32})`).FindStringSubmatch(again); s2 == nil || s2[1] == secret[1] {
		t.Fatalf("officer enroll did not give a new seed:\n%s", again)
	}

	r := e.run("officer", "token", "--username", "mgarcia", "--ttl", "2h", "--name", "nightly import")
	token := strings.TrimSpace(r.stdout)
	if r.code != 0 || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(token) || !strings.Contains(r.stderr, "valid until") {
		t.Fatalf("officer token: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range [][]string{
		{"officer", "token", "--username", "nobody"},
		{"officer", "token", "--username", "mgarcia", "--ttl", "10000h"},
		{"officer", "token"},
	} {
		if r := e.run(bad...); r.code != 2 {
			t.Errorf("clau %s: exit %d", strings.Join(bad, " "), r.code)
		}
	}
	s := sqltest.OpenDSN(t, sqlstore.SQLite, filepath.Join(e.dir, "clau.db"), nil)
	sum := sha256.Sum256([]byte(token))
	var kind, name string
	if err := s.DB().QueryRow(`SELECT kind, name FROM sessions WHERE id=$1`, hex.EncodeToString(sum[:])).Scan(&kind, &name); err != nil ||
		kind != "desk_token" || name != "nightly import" {
		t.Fatalf("stored token: %q %q %v", kind, name, err)
	}
	var clear int
	s.DB().QueryRow(`SELECT count(*) FROM sessions WHERE id=$1`, token).Scan(&clear)
	s.Close()
	if clear != 0 {
		t.Fatal("the token is stored in clear")
	}
	exp := e.ok("audit", "export")
	for _, want := range []string{`"action":"officer.totp_enroll"`, `"action":"desk.token.create"`} {
		if !strings.Contains(exp, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if strings.Contains(exp, secret[1]) || strings.Contains(exp, token) {
		t.Fatal("the audit trail holds a secret")
	}
}
