package main

import (
	"context"
	"flag"
	"io"
	"path/filepath"

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
func newWorkspace(ctx context.Context, name, clau, driver, dsn string, log io.Writer) (*workspace, error) {
	dir, bin, rm, err := scratch(name, clau, log)
	if err != nil {
		return nil, err
	}
	if dsn == "" && driver == sqlstore.SQLite {
		dsn = filepath.Join(dir, "clau.db")
	}
	target, drop, err := benchDSN(ctx, driver, dsn)
	if err != nil {
		rm()
		return nil, err
	}
	ws := &workspace{dir: dir, clau: bin, driver: driver, dsn: target, cleanup: func() { drop(); rm() }}
	serverDSN := target
	if driver == sqlstore.Postgres {
		serverDSN = withAppName(target)
	}
	ws.env = []string{"CLAU_STORAGE_DRIVER=" + driver, "CLAU_STORAGE_DSN=" + serverDSN}
	return ws, nil
}
