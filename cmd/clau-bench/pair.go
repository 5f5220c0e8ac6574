package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// pairBench is `clau-bench pair`: sign-ins against one clau serve process
// on PostgreSQL, then against two on the same database with every sign-in
// crossing them (form from one, password to the other, the account page
// with the new session from the first again), as a load balancer without
// sticky sessions would send a browser.
type pairBench struct {
	signin signinBench
	dsn    string
	db     *sql.DB // the tool's own connection, to find the servers' PostgreSQL backends
	next   atomic.Int64
}

func runPair(args []string, out, log io.Writer) error {
	b := &pairBench{}
	b.signin.params = lowParams
	fs := serveFlags("pair", log, &b.signin.clau)
	dsn := fs.String("dsn", "", "PostgreSQL database to use and keep (default: a throwaway schema on "+defaultPostgresDSN+")")
	fs.IntVar(&b.signin.citizens, "citizens", 10000, "activated citizens to sign in as, at random")
	fs.DurationVar(&b.signin.duration, "duration", 20*time.Second, "how long to measure each setup")
	fs.IntVar(&b.signin.concurrency, "concurrency", 4, "browsers signing in at once")
	setParams := argon2Flags(fs, &b.signin.params)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setParams(); err != nil {
		return err
	}
	ctx, ws, err := newWorkspace("pair", b.signin.clau, sqlstore.Postgres, *dsn, log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	// One data folder for both: the keyring in it is what both must share.
	dir := ws.dir
	b.signin.clau, b.dsn, b.signin.env = ws.clau, ws.dsn, ws.env
	db, err := sqlstore.Open(ctx, sqlstore.Postgres, b.dsn, sqlstore.Options{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	b.db = db.DB()
	if err := b.prepare(ctx); err != nil {
		return err
	}
	fmt.Fprintf(log, "clau-bench pair: %s, %s, argon2id m=%d KiB t=%d p=%d, %d citizens, concurrency %d\n",
		cpus(), runtime.Version(), b.signin.params.Memory, b.signin.params.Time, b.signin.params.Threads,
		b.signin.citizens, b.signin.concurrency)

	first, err := b.signin.start(dir, log)
	if err != nil {
		return err
	}
	defer first.stop()
	one, err := b.measure(ctx, []*server{first})
	if err != nil {
		return err
	}
	second, err := b.signin.start(dir, log)
	if err != nil {
		return err
	}
	defer second.stop()
	two, err := b.measure(ctx, []*server{first, second})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Sign-ins on PostgreSQL (sign-in form, DNI + password, account page with the new session), one clau serve "+
		"process against two on the same database with every sign-in crossing them")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| processes | sign-ins | sign-ins/s | p50 | p99 | servers' CPU per sign-in | PostgreSQL CPU per sign-in | sign-ins/s against one |")
	fmt.Fprintln(out, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for i, r := range []scaleRow{one, two} {
		fmt.Fprintf(out, "| %d | %d | %.0f | %s | %s | %s | %s | %.2f× |\n", i+1, r.signins, r.rate,
			fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.cpu), fmtDur(r.dbCPU), r.rate/one.rate)
	}
	return nil
}

// prepare loads the citizens, all active with one password.
func (b *pairBench) prepare(ctx context.Context) error {
	s, err := openMigrated(ctx, sqlstore.Postgres, b.dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	if n, err := s.CountCitizens(ctx); err != nil || n > 0 {
		if err == nil {
			return fmt.Errorf("the database holds %d citizens already; pair needs an empty one", n)
		}
		return err
	}
	phc, err := benchHash(ctx, b.signin.params)
	if err != nil {
		return err
	}
	return s.LoadCitizens(ctx, b.signin.citizens, func(i int) sqlstore.BulkCitizen { return activeCitizen(i, phc) }, nil)
}

// measure warms up, then signs in from concurrency browsers for the
// duration, each sign-in starting on the next server in turn; the CPU is
// every server's.
func (b *pairBench) measure(ctx context.Context, servers []*server) (scaleRow, error) {
	b.run(ctx, servers, 2*time.Second)
	pids, err := dbBackends(ctx, b.db)
	if err != nil {
		return scaleRow{}, err
	}
	db0 := backendCPU(pids)
	cpu0 := make([]time.Duration, len(servers))
	for i, s := range servers {
		var err error
		if cpu0[i], err = procCPU(s.cmd.Process.Pid); err != nil {
			return scaleRow{}, err
		}
	}
	start := time.Now()
	r := b.run(ctx, servers, b.signin.duration)
	elapsed := time.Since(start)
	dbCPU := cpuSince(db0)
	var cpu time.Duration
	for i, s := range servers {
		c, err := procCPU(s.cmd.Process.Pid)
		if err != nil {
			return scaleRow{}, err
		}
		cpu += c - cpu0[i]
	}
	if err := r.failed(fmt.Sprintf("sign-ins on %d processes", len(servers))); err != nil {
		return scaleRow{}, err
	}
	lat := r.lat
	if len(lat) == 0 {
		return scaleRow{}, errors.New("no sign-in finished")
	}
	slices.Sort(lat)
	n := len(lat)
	return scaleRow{signins: n, rate: float64(n) / elapsed.Seconds(), p50: percentile(lat, 0.5),
		p99: percentile(lat, 0.99), cpu: cpu / time.Duration(n), dbCPU: dbCPU / time.Duration(n)}, nil
}

func (b *pairBench) run(ctx context.Context, servers []*server, d time.Duration) loopResult {
	transport := &http.Transport{MaxIdleConnsPerHost: b.signin.concurrency * 2}
	defer transport.CloseIdleConnections()
	return runWorkers(ctx, time.Now().Add(d), b.signin.concurrency, func(*worker) error {
		k := int(b.next.Add(1))
		from, to := servers[k%len(servers)].base, servers[(k+1)%len(servers)].base
		return crossSignIn(from, to, seed.DNI(rand.IntN(b.signin.citizens)), transport)
	})
}

// crossSignIn is one browser's sign-in across two processes: the form
// from `from`, the password to `to`, then the account page from `from`
// with the session `to` made. from == to is the one-process case.
func crossSignIn(from, to, doc string, tr http.RoundTripper) error {
	c, _, err := passwordSignIn(from, to, doc, tr)
	if err != nil {
		return err
	}
	res, err := c.Get(from + "/me")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "/logout") {
		return fmt.Errorf("account page with the new session on the other process: %d", res.StatusCode)
	}
	return nil
}
