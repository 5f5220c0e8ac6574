// Command clau-bench measures Clau's building blocks on the machine it runs
// on and prints Markdown table rows, so BENCHMARKS.md can quote them as they
// came out.
//
//	clau-bench store [-driver sqlite|postgres] [-dsn DSN] [-sizes 10000,1000000]
//	                 [-ops 20000] [-concurrency 4] [-cpuprofile FILE]
//
// store grows the citizen registry to each size in turn with seed.Citizens
// and, at each size, times creating citizens one per call and finding them
// by document number, from several goroutines at once. It goes through the
// store API (sqlstore.Open + Migrate), as the server does.
//
// Without -dsn it works on a throwaway database: a SQLite file in a new
// temporary folder, or a new schema on the local PostgreSQL, removed at the
// end. With -dsn it keeps what it wrote, and a later run on that database
// takes its citizens to be those of an earlier run (synthetic citizens 0 to
// n-1), so a large registry can be seeded once and measured many times.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the throwaway schema

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// seedBatch is how many citizens one seeding transaction inserts.
const seedBatch = 1000

// maxSize keeps synthetic documents distinct: seed.DNI repeats after 10
// million, and the created citizens need room above the largest size.
const maxSize = 9_000_000

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	args, jsonPath, err := jsonFlag(os.Args[2:])
	if err == nil {
		switch name {
		case "-h", "-help", "--help", "help":
			usage(os.Stdout)
			return
		case "all":
			err = runAll(args, jsonPath, os.Stdout, os.Stderr)
		default:
			err = runReported(name, args, jsonPath, os.Stdout, os.Stderr)
		}
	}
	if errors.Is(err, errUnknownScenario) {
		fmt.Fprintf(os.Stderr, "clau-bench: unknown benchmark %q\n", name)
		usage(os.Stderr)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clau-bench:", err)
		os.Exit(1)
	}
}

var errUnknownScenario = errors.New("unknown benchmark")

// scenarios are the benchmarks by name. A new scenario is one more line.
var scenarios = map[string]func(args []string, out, log io.Writer) error{
	"store":    runStore,
	"signin":   runSignin,
	"oidc":     func(args []string, out, log io.Writer) error { return runLogins("oidc", args, out, log) },
	"saml":     runSAML,
	"book":     runBook,
	"cert":     runCert,
	"pin":      func(args []string, out, log io.Writer) error { return runLogins("pin", args, out, log) },
	"token":    runToken,
	"scale":    runScale,
	"pair":     runPair,
	"sessions": runSessions,
}

// runScenario runs one benchmark by name.
func runScenario(name string, args []string, out, log io.Writer) error {
	run, ok := scenarios[name]
	if !ok {
		return errUnknownScenario
	}
	return run(args, out, log)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: clau-bench store|signin|oidc|saml|book|cert|pin|token|scale|pair|sessions [flags] [-json FILE]
       clau-bench all [-smoke] [-only a,b] [-clau BIN] [-json FILE]
(clau-bench store -h lists a benchmark's flags; -json FILE also writes
every figure printed, as one JSON document)

all     every benchmark below with the settings BENCHMARKS.md names, one
        after the other (about half an hour); -smoke runs each for a
        moment instead, to check the tool still works

store   citizen registry: seeding rate, create and find-by-document
        latency and throughput at growing registry sizes
signin  sign-ins with the permanent password over HTTP against a real
        clau serve process: throughput, latency, the server's CPU per
        sign-in, all against the hash-only ceiling measured first in the
        same run (argon2id alone in the bench process); with
        -load 0.5,2 also open-loop runs at those multiples of the peak
        (latency percentiles, and how many admission control refused)
oidc    the same with whole OpenID Connect flows (authorize, sign-in, code,
        token with PKCE, userinfo) as a relying party drives them
saml    SAML responses within SSO sessions (signed AuthnRequest in, signed
        and optionally encrypted assertion out), beyond the password hash:
        throughput, latency and responses per second per server core,
        against the XML-signature ceiling measured first in the same run
book    appointment bookings over HTTP against a real clau serve, many
        citizens at once on a few popular slots: bookings/s per core,
        latency, and a check that no slot was booked past its capacity
cert    certificate (DNIe) sign-ins through the mutual-TLS listener, with
        the OCSP answer cached (-ocsp cached) or asked afresh (-ocsp fresh)
pin     Clau PIN sign-ins (document data, PIN by SMS read from the
        outbox table, PIN) against a real clau serve: no password hash,
        so the figures are the sign-in's own cost
token   the token endpoint alone (authorization code to ID and access
        token, client_secret_basic, PKCE), codes issued before each
        measured window, ES256 and RS256 clients: exchanges per core
scale   sign-ins as the registry grows in place (10k, then 1M or 10M
        citizens, bulk-loaded): server CPU per sign-in and p50 per size,
        query plans checked
pair    sign-ins on PostgreSQL against one clau serve, then two on the
        same database with each sign-in crossing them: combined
        throughput against one, servers' CPU per sign-in
sessions  100,000 live SSO sessions (a sample from real sign-ins, the rest
        through the store API, each used once): server RSS and store
        bytes per session`)
}

type storeBench struct {
	driver      string
	sizes       []int
	ops         int
	warmup      int
	concurrency int
	cpuprofile  string
	out, log    io.Writer
}

func runStore(args []string, out, log io.Writer) error {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	fs.SetOutput(log)
	driver := fs.String("driver", sqlstore.SQLite, "storage driver: sqlite or postgres")
	dsn := fs.String("dsn", "", "database to use and keep (default: a throwaway SQLite file, or a throwaway schema on "+defaultPostgresDSN+")")
	sizes := fs.String("sizes", "10000,1000000", "comma-separated registry sizes to measure at, ascending")
	ops := fs.Int("ops", 40000, "lookups per size; creates are a tenth of it")
	conc := fs.Int("concurrency", 4, "goroutines issuing operations at once")
	warmup := fs.Int("warmup", 100000, "untimed lookups before the timed ones, so the database's caches and each pooled connection reach steady state (0: measure cold)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of each phase to FILE with -<size>-<phase> before its extension")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	b := &storeBench{driver: *driver, ops: *ops, warmup: *warmup, concurrency: *conc, cpuprofile: *cpuprofile, out: out, log: log}
	var err error
	if b.sizes, err = parseSizes(*sizes); err != nil {
		return err
	}
	if b.ops < 10 || b.concurrency < 1 {
		return errors.New("-ops must be at least 10 and -concurrency at least 1")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	target, cleanup, err := benchDSN(ctx, b.driver, *dsn)
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := openMigrated(ctx, b.driver, target)
	if err != nil {
		return err
	}
	defer s.Close()
	return b.run(ctx, s)
}

func parseSizes(list string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n < 1 || n > maxSize {
			return nil, fmt.Errorf("-sizes: %q is not a size between 1 and %d", f, maxSize)
		}
		sizes = append(sizes, n)
	}
	if !slices.IsSorted(sizes) {
		return nil, errors.New("-sizes must be ascending: the registry only grows")
	}
	return sizes, nil
}

// benchDSN returns the database to work on and what removes it afterwards.
func benchDSN(ctx context.Context, driver, dsn string) (string, func(), error) {
	if dsn != "" {
		return dsn, func() {}, nil
	}
	switch driver {
	case sqlstore.SQLite:
		dir, err := os.MkdirTemp("", "clau-bench-")
		if err != nil {
			return "", nil, err
		}
		return filepath.Join(dir, "clau.db"), func() { os.RemoveAll(dir) }, nil
	case sqlstore.Postgres:
		return throwawaySchema(ctx, defaultPostgresDSN)
	}
	return "", nil, fmt.Errorf("unknown driver %q (want sqlite or postgres)", driver)
}

// throwawaySchema makes a new schema on base and returns a DSN whose
// search_path points at it, and a function that drops it. (sqltest does the
// same for tests; it imports "testing", which a command should not.)
func throwawaySchema(ctx context.Context, base string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "clau_bench_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, fmt.Errorf("postgres at %s: create schema: %w", u.Redacted(), err)
	}
	drop := func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		// Not ctx: an interrupted run still drops its schema.
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "clau-bench: drop schema %s: %v\n", schema, err)
		}
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func (b *storeBench) run(ctx context.Context, s *sqlstore.Store) error {
	have, err := s.CountCitizens(ctx)
	if err != nil {
		return err
	}
	next := int(have) // synthetic citizens 0..next-1 exist
	fmt.Fprintf(b.log, "clau-bench store: %s, %d CPUs, %s, concurrency %d, %d citizens already there\n",
		b.driver, runtime.NumCPU(), runtime.Version(), b.concurrency, next)
	fmt.Fprintln(b.out, "| driver | citizens | operation | ops | ops/s | p50 | p95 | p99 |")
	fmt.Fprintln(b.out, "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, size := range b.sizes {
		if next > size {
			fmt.Fprintf(b.log, "size %d: the registry already holds %d citizens; skipped\n", size, next)
			continue
		}
		if next < size {
			r, err := b.phase(size, "seed", func() (result, error) { return b.seed(ctx, s, next, size-next) })
			if err != nil {
				return fmt.Errorf("seeding to %d: %w", size, err)
			}
			b.row(size, fmt.Sprintf("seed, %d per tx (latency per tx)", seedBatch), r)
			next = size
		}
		creates := b.ops / 10
		r, err := b.phase(size, "create", func() (result, error) { return b.create(ctx, s, next, creates) })
		if err != nil {
			return fmt.Errorf("creating at %d: %w", size, err)
		}
		b.row(size, "create citizen", r)
		next += creates
		r, err = b.phase(size, "find-cold", func() (result, error) { return b.find(ctx, s, size, b.ops) })
		if err != nil {
			return fmt.Errorf("finding at %d: %w", size, err)
		}
		b.row(size, "find by document, first lookups", r)
		if b.warmup > 0 {
			fmt.Fprintf(b.log, "warming up with %d lookups...\n", b.warmup)
			if _, err := b.find(ctx, s, size, b.warmup); err != nil {
				return fmt.Errorf("warming up at %d: %w", size, err)
			}
			r, err = b.phase(size, "find", func() (result, error) { return b.find(ctx, s, size, b.ops) })
			if err != nil {
				return fmt.Errorf("finding at %d: %w", size, err)
			}
			b.row(size, "find by document, steady state", r)
		}
	}
	return nil
}

// result is one phase's measurement: how many operations in how long, and
// each operation's latency.
type result struct {
	ops     int
	elapsed time.Duration
	lat     []time.Duration
}

// phase runs fn, under a CPU profile of its own when -cpuprofile is set.
func (b *storeBench) phase(size int, name string, fn func() (result, error)) (result, error) {
	fmt.Fprintf(b.log, "%s at %d citizens...\n", name, size)
	if b.cpuprofile == "" {
		return fn()
	}
	ext := filepath.Ext(b.cpuprofile)
	path := fmt.Sprintf("%s-%d-%s%s", strings.TrimSuffix(b.cpuprofile, ext), size, name, ext)
	f, err := os.Create(path)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return result{}, err
	}
	r, err := fn()
	pprof.StopCPUProfile()
	if err == nil {
		fmt.Fprintf(b.log, "  CPU profile: %s\n", path)
	}
	return r, err
}

// seed inserts synthetic citizens from..from+n-1 with seed.Citizens; the
// latencies are per committed batch.
func (b *storeBench) seed(ctx context.Context, s store.Store, from, n int) (result, error) {
	r := result{ops: n}
	start := time.Now()
	last, done, reported := start, 0, 0
	err := seed.Citizens(ctx, s, from, n, seedBatch, func(docs []string) {
		now := time.Now()
		r.lat = append(r.lat, now.Sub(last))
		last = now
		done += len(docs)
		if done-reported >= 100_000 {
			reported = done
			el := now.Sub(start)
			fmt.Fprintf(b.log, "  %d/%d rows, %.0f rows/s\n", done, n, float64(done)/el.Seconds())
		}
	})
	r.elapsed = time.Since(start)
	return r, err
}

// create inserts n new citizens, numbered from from, one per call.
func (b *storeBench) create(ctx context.Context, s store.Store, from, n int) (result, error) {
	var i atomic.Int64
	i.Store(int64(from) - 1)
	end := int64(from + n)
	return b.parallel(func(lat *[]time.Duration) error {
		for {
			k := i.Add(1)
			if k >= end {
				return nil
			}
			c := seed.Citizen(int(k), store.NewID())
			t0 := time.Now()
			err := s.CreateCitizen(ctx, &c)
			*lat = append(*lat, time.Since(t0))
			if err != nil {
				return fmt.Errorf("citizen %d: %w", k, err)
			}
		}
	}, n)
}

// find looks up n random documents among the first size citizens.
func (b *storeBench) find(ctx context.Context, s store.Store, size, n int) (result, error) {
	var left atomic.Int64
	left.Store(int64(n))
	return b.parallel(func(lat *[]time.Duration) error {
		rnd := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
		for left.Add(-1) >= 0 {
			doc := seed.DNI(rnd.IntN(size))
			t0 := time.Now()
			c, err := s.CitizenByDocument(ctx, doc)
			*lat = append(*lat, time.Since(t0))
			if err != nil {
				return fmt.Errorf("document %s: %w", doc, err)
			}
			if c.Document.Number != doc {
				return fmt.Errorf("document %s: got the record of %s", doc, c.Document.Number)
			}
		}
		return nil
	}, n)
}

// parallel runs work on b.concurrency goroutines and gathers their
// latencies; ops is how many operations they do between them.
func (b *storeBench) parallel(work func(lat *[]time.Duration) error, ops int) (result, error) {
	lats := make([][]time.Duration, b.concurrency)
	errs := make([]error, b.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range b.concurrency {
		lats[w] = make([]time.Duration, 0, ops/b.concurrency+1)
		wg.Go(func() { errs[w] = work(&lats[w]) })
	}
	wg.Wait()
	r := result{ops: ops, elapsed: time.Since(start), lat: slices.Concat(lats...)}
	return r, errors.Join(errs...)
}

func (b *storeBench) row(size int, op string, r result) {
	slices.Sort(r.lat)
	fmt.Fprintf(b.out, "| %s | %d | %s | %d | %.0f | %s | %s | %s |\n", b.driver, size, op, r.ops,
		float64(r.ops)/r.elapsed.Seconds(),
		fmtDur(percentile(r.lat, 0.50)), fmtDur(percentile(r.lat, 0.95)), fmtDur(percentile(r.lat, 0.99)))
}

// percentile returns the p-th quantile of sorted latencies, by the
// nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// fmtSignedDur is fmtDur for a difference, which may be below zero: the
// hash measured alone can cost more than a whole sign-in when the
// measurements differ by more than what lies beyond the hash.
func fmtSignedDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	return fmtDur(d)
}
