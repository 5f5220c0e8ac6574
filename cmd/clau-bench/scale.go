package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// scaleBench is `clau-bench scale`: password sign-ins against a real clau
// serve process on a registry grown in place to each size in turn (10,000,
// then millions of citizens, loaded with sqlstore.LoadCitizens), to show
// what a sign-in costs as the registry grows. It checks the hot sign-in
// queries' plans at each size and, on PostgreSQL, that no table with rows
// in it was scanned while the sign-ins ran.
type scaleBench struct {
	driver, dsn string
	sizes       []int
	signin      signinBench
	out, log    io.Writer
}

func runScale(args []string, out, log io.Writer) error {
	b := &scaleBench{out: out, log: log}
	b.signin.params = lowParams
	fs := serveFlags("scale", log, &b.signin.clau)
	fs.StringVar(&b.driver, "driver", sqlstore.SQLite, "storage driver: sqlite or postgres")
	fs.StringVar(&b.dsn, "dsn", "", "database to use and keep (default: a throwaway SQLite file, or a throwaway schema on "+defaultPostgresDSN+")")
	keyring := fs.String("keyring", "", "keyring file for clau serve (default: a new one in the scratch folder); with -dsn, keep it to measure that database again later: the database's keys are sealed with it")
	sizes := fs.String("sizes", "10000,1000000", "comma-separated registry sizes to measure at, ascending")
	fs.DurationVar(&b.signin.duration, "duration", 20*time.Second, "how long to measure at each size")
	fs.IntVar(&b.signin.concurrency, "concurrency", 4, "browsers signing in at once")
	fs.StringVar(&b.signin.profile, "profile", "", "write the server's CPU profile at each size to FILE-<size>")
	setParams := argon2Flags(fs, &b.signin.params)
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range strings.Split(*sizes, ",") {
		// Up to the 10 million distinct synthetic documents: scale creates
		// no citizens beyond the sizes, so it needs no room above them.
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n < 1 || n > 10_000_000 || (len(b.sizes) > 0 && n < b.sizes[len(b.sizes)-1]) {
			return fmt.Errorf("-sizes: %q is not a size between 1 and 10000000 above the one before", f)
		}
		b.sizes = append(b.sizes, n)
	}
	if err := setParams(); err != nil {
		return err
	}
	ctx, ws, err := newWorkspace("scale", b.signin.clau, b.driver, b.dsn, log)
	if err != nil {
		return err
	}
	defer ws.cleanup()
	b.signin.clau, b.dsn, b.signin.env = ws.clau, ws.dsn, ws.env
	if *keyring != "" {
		b.signin.env = append(b.signin.env, "CLAU_SECURITY_KEYRING_FILE="+*keyring)
	}
	return b.run(ctx, ws.dir)
}

// scaleRow is one size's result.
type scaleRow struct {
	size               int
	signins            int
	rate               float64
	p50, p99, cpu, net time.Duration
	dbCPU              time.Duration // PostgreSQL backends' CPU per sign-in
}

func (b *scaleBench) run(ctx context.Context, dir string) error {
	s, err := openMigrated(ctx, b.driver, b.dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	hash, err := hashCeiling(ctx, b.signin.params, ceilingTime(b.signin.duration))
	if err != nil {
		return fmt.Errorf("hash-only ceiling: %w", err)
	}
	hashCPU := hash.cpuPerOp()
	phc, err := benchHash(ctx, b.signin.params)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "clau-bench scale: %s, %s, %s, argon2id m=%d KiB t=%d p=%d (%s of CPU alone), concurrency %d\n",
		b.driver, cpus(), runtime.Version(), b.signin.params.Memory, b.signin.params.Time, b.signin.params.Threads,
		fmtDur(hashCPU), b.signin.concurrency)
	have, err := s.CountCitizens(ctx)
	if err != nil {
		return err
	}
	var rows []scaleRow
	for _, size := range b.sizes {
		if int(have) < size {
			if err := b.load(ctx, s, int(have), size, phc); err != nil {
				return err
			}
			have = int64(size)
		}
		if err := b.plans(ctx, s, size); err != nil {
			return err
		}
		r, err := b.measure(ctx, s, dir, size)
		if err != nil {
			return err
		}
		r.net = r.cpu - hashCPU
		rows = append(rows, r)
		fmt.Fprintf(b.log, "at %d citizens: %d sign-ins, %.0f/s, p50 %s, p99 %s, server CPU per sign-in %s, database %s\n",
			size, r.signins, r.rate, fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.cpu), fmtDur(r.dbCPU))
	}
	fmt.Fprintf(b.out, "Sign-ins (GET /login, POST DNI + password) as the registry grows, %s, argon2id m=%d KiB t=%d p=%d: "+
		"one verification alone costs %s of CPU\n\n", b.driver, b.signin.params.Memory, b.signin.params.Time, b.signin.params.Threads,
		fmtDur(hashCPU))
	fmt.Fprintln(b.out, "| driver | citizens | sign-ins | sign-ins/s | p50 | p99 | server CPU per sign-in | beyond the hash | PostgreSQL CPU per sign-in | CPU vs first size |")
	fmt.Fprintln(b.out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Fprintf(b.out, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %.2f× |\n", b.driver, r.size, r.signins, r.rate,
			fmtDur(r.p50), fmtDur(r.p99), fmtDur(r.cpu), fmtSignedDur(r.net), fmtDur(r.dbCPU),
			float64(r.cpu+r.dbCPU)/float64(rows[0].cpu+rows[0].dbCPU))
	}
	return nil
}

// load grows the registry from have to size active citizens sharing one
// password hash, and on PostgreSQL refreshes the planner's statistics as
// autovacuum would after a load.
func (b *scaleBench) load(ctx context.Context, s *sqlstore.Store, have, size int, phc string) error {
	start := time.Now()
	last := start
	err := s.LoadCitizens(ctx, size-have, func(i int) sqlstore.BulkCitizen {
		return activeCitizen(have+i, phc)
	}, func(stored int) {
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(b.log, "  loaded %d of %d citizens\n", have+stored, size)
		}
	})
	if err != nil {
		return err
	}
	el := time.Since(start)
	if b.driver == sqlstore.Postgres {
		if _, err := s.DB().ExecContext(ctx, `ANALYZE citizens; ANALYZE passwords`); err != nil {
			return err
		}
	}
	fmt.Fprintf(b.log, "loaded %d citizens (with passwords) in %s: %.0f per second; statistics refreshed in %s more\n",
		size-have, el.Round(time.Millisecond), float64(size-have)/el.Seconds(), (time.Since(start) - el).Round(time.Millisecond))
	return nil
}

// hotQueries are the reads of a password sign-in whose tables grow with
// the registry, as the store runs them.
var hotQueries = []struct{ name, sql string }{
	{"citizen by document", `SELECT id FROM citizens WHERE doc_number=$1 AND status <> 'deregistered'`},
	{"password of citizen", `SELECT citizen_id, hash, set_at, version FROM passwords WHERE citizen_id=$1`},
	{"citizen by mobile", `SELECT id FROM citizens WHERE mobile=$1 AND status <> 'deregistered'`},
}

// plans prints each hot query's plan at this size and fails if one scans
// a table instead of using an index.
func (b *scaleBench) plans(ctx context.Context, s *sqlstore.Store, size int) error {
	var id string
	if err := s.DB().QueryRowContext(ctx, `SELECT id FROM citizens WHERE doc_number=$1 AND status <> 'deregistered'`,
		seed.DNI(size/2)).Scan(&id); err != nil {
		return fmt.Errorf("citizen %d: %w", size/2, err)
	}
	args := map[string]string{"citizen by document": seed.DNI(size / 2), "password of citizen": id, "citizen by mobile": seed.Mobile(size / 2)}
	for _, q := range hotQueries {
		explain := "EXPLAIN QUERY PLAN "
		if b.driver == sqlstore.Postgres {
			explain = "EXPLAIN "
		}
		rows, err := s.DB().QueryContext(ctx, explain+q.sql, args[q.name])
		if err != nil {
			return fmt.Errorf("explain %s: %w", q.name, err)
		}
		cols, _ := rows.Columns()
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			plan = append(plan, fmt.Sprint(vals[len(vals)-1])) // the detail column
		}
		rows.Close()
		p := strings.Join(plan, " / ")
		fmt.Fprintf(b.log, "plan at %d, %s: %s\n", size, q.name, p)
		if strings.Contains(p, "Seq Scan") || (strings.Contains(p, "SCAN ") && !strings.Contains(p, "USING")) {
			return fmt.Errorf("%s scans a table at %d citizens: %s", q.name, size, p)
		}
	}
	return nil
}

// measure runs the sign-in benchmark against a fresh clau serve on the
// registry as it is.
func (b *scaleBench) measure(ctx context.Context, s *sqlstore.Store, dir string, size int) (scaleRow, error) {
	sb := b.signin
	sb.citizens = size
	if sb.profile != "" {
		sb.profile += "-" + strconv.Itoa(size)
	}
	scans0, err := b.seqScans(ctx, s)
	if err != nil {
		return scaleRow{}, err
	}
	srv, err := sb.start(dir, b.log)
	if err != nil {
		return scaleRow{}, err
	}
	defer srv.stop()
	sb.run(ctx, srv.base, 2*time.Second)
	var db0 map[int]time.Duration
	if b.driver == sqlstore.Postgres {
		pids, err := dbBackends(ctx, s.DB())
		if err != nil {
			return scaleRow{}, err
		}
		db0 = backendCPU(pids)
	}
	w, err := srv.measure(sb.duration, sb.profile, func(d time.Duration) loopResult { return sb.run(ctx, srv.base, d) })
	dbCPU := cpuSince(db0)
	srv.stop() // its connections close, so PostgreSQL's statistics include their scans
	if err != nil {
		return scaleRow{}, err
	}
	if err := w.failed(fmt.Sprintf("sign-ins at %d citizens", size)); err != nil {
		return scaleRow{}, err
	}
	if len(w.lat) == 0 {
		return scaleRow{}, errors.New("no sign-in finished")
	}
	scans1, err := b.seqScans(ctx, s)
	if err != nil {
		return scaleRow{}, err
	}
	for t, n := range scans1 {
		if d := n - scans0[t]; d > 0 {
			fmt.Fprintf(b.log, "at %d citizens: %d sequential scans of %s during the sign-ins\n", size, d, t)
		}
	}
	slices.Sort(w.lat)
	n := len(w.lat)
	return scaleRow{size: size, signins: n, rate: float64(n) / w.elapsed.Seconds(),
		p50: percentile(w.lat, 0.5), p99: percentile(w.lat, 0.99), cpu: w.cpu / time.Duration(n),
		dbCPU: dbCPU / time.Duration(n)}, nil
}

// seqScans is PostgreSQL's count of sequential scans per table holding more
// than a thousand rows (small tables are rightly scanned); nothing on SQLite.
func (b *scaleBench) seqScans(ctx context.Context, s *sqlstore.Store) (map[string]int64, error) {
	out := map[string]int64{}
	if b.driver != sqlstore.Postgres {
		return out, nil
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT relname, seq_scan FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND n_live_tup > 1000`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t string
			n sql.NullInt64
		)
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n.Int64
	}
	return out, rows.Err()
}

// serverAppName is the application_name the clau serve processes a
// benchmark starts give PostgreSQL, so their backends can be told from
// everyone else's on a shared server.
var serverAppName = fmt.Sprintf("clau-bench-%d", os.Getpid())

// withAppName is dsn with serverAppName as its application_name.
func withAppName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q.Set("application_name", serverAppName)
	u.RawQuery = q.Encode()
	return u.String()
}

// dbBackends are the PostgreSQL server processes serving the clau serve
// processes this tool started: with their pools warmed up, the processes
// whose CPU a sign-in costs the database.
func dbBackends(ctx context.Context, db *sql.DB) ([]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, serverAppName)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		pids = append(pids, pid)
	}
	return pids, rows.Err()
}

// backendCPU sums the CPU time of processes, counting those gone as zero.
func backendCPU(pids []int) map[int]time.Duration {
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		if c, err := procCPU(pid); err == nil {
			out[pid] = c
		}
	}
	return out
}

// cpuSince is the CPU the processes in before spent since.
func cpuSince(before map[int]time.Duration) time.Duration {
	var total time.Duration
	for pid, c0 := range before {
		if c1, err := procCPU(pid); err == nil && c1 > c0 {
			total += c1 - c0
		}
	}
	return total
}
