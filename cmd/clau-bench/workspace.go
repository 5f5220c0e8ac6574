package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// lowParams is the cheap argon2id setting of the benchmarks that are not
// about the hash (the lowest memory the server allows).
var lowParams = secure.Argon2Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// argon2Flags declares -argon2-memory-kib, -argon2-iterations and
// -argon2-parallelism on fs, with p as their defaults; the function it
// returns, called after fs.Parse, sets p from them and checks the result.
func argon2Flags(fs *flag.FlagSet, p *secure.Argon2Params) func() error {
	mem := fs.Uint("argon2-memory-kib", uint(p.Memory), "argon2id memory (KiB), as security.argon2.memory_kib; the server allows 8192 and up")
	iter := fs.Uint("argon2-iterations", uint(p.Time), "argon2id passes")
	par := fs.Uint("argon2-parallelism", uint(p.Threads), "argon2id lanes")
	return func() error {
		p.Memory, p.Time, p.Threads = uint32(*mem), uint32(*iter), uint8(*par)
		return p.Validate()
	}
}

// openMigrated opens the benchmark's database with its schema brought up
// to date, as clau serve finds it.
func openMigrated(ctx context.Context, driver, dsn string) (*sqlstore.Store, error) {
	s, err := sqlstore.Open(ctx, driver, dsn, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx, 0); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// benchHash is the bench password hashed with p: seeded citizens all
// share it, so preparing costs one hash.
func benchHash(ctx context.Context, p secure.Argon2Params) (string, error) {
	return secure.NewHasher(p, 1, nil).Hash(ctx, benchPassword)
}

// activeCitizen is synthetic citizen i, active, with the password hash
// phc, for sqlstore.LoadCitizens.
func activeCitizen(i int, phc string) sqlstore.BulkCitizen {
	c := seed.Citizen(i, store.NewID())
	c.Status = identity.StatusActive
	return sqlstore.BulkCitizen{Citizen: c, PasswordHash: phc}
}

// workspace is where a benchmark that runs clau serve works: a scratch
// folder (the servers' data folder), the clau binary, and the database.
type workspace struct {
	dir, clau string
	driver    string
	// dsn is the database as the tool opens it: the SQLite file in the
	// scratch folder, a throwaway PostgreSQL schema, or the one given.
	dsn string
	// env points clau serve at the database; on PostgreSQL its
	// connections carry serverAppName, so their backends can be found.
	env     []string
	cleanup func()
}

// newWorkspace makes the scratch folder (building clau into it unless clau
// names a binary) and the database: dsn when given, else a SQLite file in
// the folder or a new schema on the local PostgreSQL, which cleanup drops.
// ctx is the run's: an interrupt cancels it, and cleanup, which the run
// defers, still removes what the workspace made.
func newWorkspace(name, clau, driver, dsn string, log io.Writer) (context.Context, *workspace, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	dir, bin, rm, err := scratch(name, clau, log)
	if err != nil {
		stop()
		return nil, nil, err
	}
	if dsn == "" && driver == sqlstore.SQLite {
		dsn = filepath.Join(dir, "clau.db")
	}
	target, drop, err := benchDSN(ctx, driver, dsn)
	if err != nil {
		rm()
		stop()
		return nil, nil, err
	}
	ws := &workspace{dir: dir, clau: bin, driver: driver, dsn: target, cleanup: func() { drop(); rm(); stop() }}
	serverDSN := target
	if driver == sqlstore.Postgres {
		serverDSN = withAppName(target)
	}
	ws.env = []string{"CLAU_STORAGE_DRIVER=" + driver, "CLAU_STORAGE_DSN=" + serverDSN}
	return ctx, ws, nil
}

// scratch makes a temporary folder for a benchmark that runs clau serve
// and, unless clau names a binary already, builds ./cmd/clau into it.
// cleanup removes the folder.
func scratch(name, clau string, log io.Writer) (dir, bin string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", "clau-bench-"+name)
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = clau
	if bin == "" {
		bin = filepath.Join(dir, "clau")
		build := exec.Command("go", "build", "-o", bin, "./cmd/clau")
		build.Stderr = log
		if err := build.Run(); err != nil {
			cleanup()
			return "", "", nil, fmt.Errorf("building clau (run from the repository root, or give -clau): %w", err)
		}
	}
	return dir, bin, cleanup, nil
}

// serveFlags is the flag set of a scenario that runs clau serve, writing
// its errors and -h to log, with the -clau flag into clau and the
// -server-procs flag into serverProcs.
func serveFlags(name string, log io.Writer, clau *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(log)
	fs.StringVar(clau, "clau", "", "clau binary (default: built from ./cmd/clau)")
	fs.IntVar(&serverProcs, "server-procs", 0, "run clau serve with GOMAXPROCS=N (default: the runtime's, every CPU)")
	return fs
}

// serverProcs, when above zero, is the GOMAXPROCS every clau serve of
// this invocation runs with.
var serverProcs int

// serverCPUs is the GOMAXPROCS clau serve runs with: -server-procs, or
// what the runtime chose here (the server inherits the environment),
// which is what it counts its hashing slots from.
func serverCPUs() int {
	if serverProcs > 0 {
		return serverProcs
	}
	return runtime.GOMAXPROCS(0)
}

// cpus says how many CPUs the machine has and, when -server-procs set
// it, the server's GOMAXPROCS, for a scenario's first line.
func cpus() string {
	if serverProcs > 0 {
		return fmt.Sprintf("%d CPUs (clau serve with GOMAXPROCS=%d)", runtime.NumCPU(), serverProcs)
	}
	return fmt.Sprintf("%d CPUs", runtime.NumCPU())
}
