// Package sqltest opens migrated, empty sqlstore databases for tests: a
// SQLite file in a temporary folder, or a fresh schema on the PostgreSQL
// named by CLAU_TEST_POSTGRES_DSN (default: the local server). Without a
// reachable PostgreSQL its tests skip, except under CI=true, where they
// fail: CI must prove both drivers.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// DefaultPostgresDSN is used when CLAU_TEST_POSTGRES_DSN is unset.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Drivers lists the drivers a conformance test runs on.
var Drivers = []string{sqlstore.SQLite, sqlstore.Postgres}

// Run runs test once per driver of Drivers, as a subtest named after it.
func Run(t *testing.T, test func(t *testing.T, driver string)) {
	t.Helper()
	for _, d := range Drivers {
		t.Run(d, func(t *testing.T) { test(t, d) })
	}
}

// Open returns a migrated store on driver, closed and removed when t ends.
func Open(t testing.TB, driver string) *sqlstore.Store {
	t.Helper()
	var dsn string
	switch driver {
	case sqlstore.SQLite:
		dsn = SQLiteDSN(t)
	case sqlstore.Postgres:
		dsn = PostgresDSN(t)
	default:
		t.Fatalf("unknown driver %q", driver)
	}
	return OpenDSN(t, driver, dsn, nil)
}

// OpenDSN opens and migrates a store on dsn with an optional clock.
func OpenDSN(t testing.TB, driver, dsn string, now func() time.Time) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, driver, dsn, sqlstore.Options{Now: now})
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, 0); err != nil {
		t.Fatalf("migrate %s: %v", driver, err)
	}
	return s
}

// SQLiteDSN returns the path of a new SQLite database in a temp folder.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "clau.db")
}

var (
	pgOnce sync.Once
	pgErr  error
)

func basePostgresDSN() string {
	if v := os.Getenv("CLAU_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return DefaultPostgresDSN
}

// PostgresDSN creates a fresh schema on the test PostgreSQL and returns a
// DSN whose search_path points at it; the schema is dropped when t ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := basePostgresDSN()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err == nil {
			err = db.PingContext(ctx)
			db.Close()
		}
		pgErr = err
	})
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI=true: %v", redact(base), pgErr)
		}
		t.Skipf("PostgreSQL not reachable (%v); set CLAU_TEST_POSTGRES_DSN", pgErr)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("CLAU_TEST_POSTGRES_DSN must be a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable dsn)"
	}
	return u.Redacted()
}
