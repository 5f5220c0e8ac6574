package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/clau-eid/clau/internal/store"
)

// Drivers this package implements.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options tune Open.
type Options struct {
	MaxOpenConns int              // 0 means 20
	Now          func() time.Time // clock for created/updated times; nil means time.Now
}

// Store is a store.Store on a SQL database. A Store made by Open runs each
// method in its own transaction; the Store given to an InTx callback runs
// them all in that transaction.
type Store struct {
	db     *sql.DB
	tx     *sql.Tx // nil outside InTx
	driver string
	now    func() time.Time
	stmts  *stmtCache // SQLite only: pgx caches prepared statements itself
}

var _ store.Store = (*Store)(nil)

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) q() queryer {
	if s.stmts != nil {
		return cachedQueryer{c: s.stmts, tx: s.tx}
	}
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

// Open connects to the database. It does not migrate; call Migrate.
func Open(ctx context.Context, driver, dsn string, opt Options) (*Store, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxOpenConns <= 0 {
		opt.MaxOpenConns = 20
	}
	var (
		db   *sql.DB
		path string // SQLite's file, "" in memory
		err  error
	)
	switch driver {
	case SQLite:
		dsn, path, err = sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		if path != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("sqlite: create data folder: %w", err)
			}
		}
		db, err = sql.Open("sqlite", dsn)
	case Postgres:
		db, err = sql.Open("pgx", dsn)
	default:
		return nil, fmt.Errorf("unknown storage driver %q (want sqlite or postgres)", driver)
	}
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(opt.MaxOpenConns)
	db.SetMaxIdleConns(opt.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, driver: driver, now: opt.Now}
	if driver == SQLite {
		s.stmts = &stmtCache{db: db, gate: newWriteGate()}
		if path != "" {
			// One connection for every write of this process: the gate
			// lets only one write at a time anyway, and a connection's
			// page cache is dropped whenever another connection has
			// written, so only a connection that alone writes keeps the
			// pages a write reads (the tables' and indexes' upper
			// levels) from one write to the next.
			w, err := sql.Open("sqlite", dsn)
			if err != nil {
				db.Close()
				return nil, err
			}
			w.SetMaxOpenConns(1)
			w.SetMaxIdleConns(1)
			s.stmts.writer = &stmtCache{db: w, gate: s.stmts.gate, single: true}
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		s.Close() // the pool, and the writer's connection if any
		return nil, fmt.Errorf("%s: cannot reach the database: %w", driver, err)
	}
	return s, nil
}

// sqliteDSN turns a path or file: URI into one with the pragmas Clau needs:
// WAL (readers never block the writer), a busy timeout (writers wait for
// each other instead of failing), foreign keys, and BEGIN IMMEDIATE so a
// transaction takes the write lock up front rather than failing to upgrade.
// synchronous=NORMAL in WAL loses nothing committed when a process dies.
func sqliteDSN(dsn string) (full, path string, err error) {
	if dsn == "" {
		return "", "", errors.New("sqlite: empty dsn")
	}
	base, query, _ := strings.Cut(dsn, "?")
	vals, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("sqlite: bad dsn options: %w", err)
	}
	path = strings.TrimPrefix(base, "file:")
	if path == ":memory:" || strings.Contains(vals.Get("mode"), "memory") {
		path = ""
	}
	have := strings.Join(vals["_pragma"], ",")
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		name, _, _ := strings.Cut(p, "(")
		if !strings.Contains(have, name) {
			vals.Add("_pragma", p)
		}
	}
	if vals.Get("_txlock") == "" {
		vals.Set("_txlock", "immediate")
	}
	if !strings.HasPrefix(base, "file:") {
		base = "file:" + base
	}
	return base + "?" + vals.Encode(), path, nil
}

// Driver names the driver.
func (s *Store) Driver() string { return s.driver }

// DB exposes the pool for migrations and benchmarks.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes the pool.
func (s *Store) Close() error {
	if s.stmts != nil {
		s.stmts.close()
	}
	return s.db.Close()
}

// InTx runs fn in a transaction, retrying on serialization failures.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.atomic(ctx, func(t *Store) error { return fn(t) })
}

const maxTxAttempts = 12

// atomic runs fn in a transaction: the current one inside InTx, else a new
// one retried on serialization failures with jittered backoff.
func (s *Store) atomic(ctx context.Context, fn func(t *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		if attempt > 0 {
			d := time.Duration(1<<min(attempt, 8)) * time.Millisecond
			d += time.Duration(rand.Int64N(int64(d)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		err = s.runTx(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
	}
	return fmt.Errorf("transaction kept conflicting after %d attempts: %w", maxTxAttempts, err)
}

func (s *Store) runTx(ctx context.Context, fn func(t *Store) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err // an ended request starts nothing
	}
	if s.stmts != nil { // SQLite: every transaction writes (BEGIN IMMEDIATE)
		if err := s.stmts.gate.enter(ctx); err != nil {
			return err
		}
		defer s.stmts.gate.leave()
	}
	db, stmts := s.db, s.stmts
	if stmts != nil {
		stmts = stmts.forWrites()
		db = stmts.db
	}
	tx, err := db.BeginTx(s.txContext(ctx), nil)
	if err != nil {
		return mapErr(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	t := &Store{db: s.db, tx: tx, driver: s.driver, now: s.now, stmts: stmts}
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return err
	}
	err = mapErr(tx.Commit())
	if stmts != nil && stmts.single {
		stmts.cachePending(s.txContext(ctx))
	}
	return err
}

// txContext is the context a transaction runs under: on SQLite it waited
// for the write gate already and is over in microseconds, so it runs
// without ctx's cancellation (see uncancelled); PostgreSQL keeps ctx, and
// a cancelled request ends its transaction on the server.
func (s *Store) txContext(ctx context.Context) context.Context {
	if s.stmts == nil {
		return ctx
	}
	return uncancelled(ctx)
}

// retryable reports whether a transaction failed only because of a
// concurrent one and may succeed when run again.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		primary := se.Code() & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	return false
}

// uniqueFields maps unique indexes and columns to the field a caller shows.
var uniqueFields = map[string]string{
	"citizens_live_document": "document", "citizens.doc_number": "document",
	"citizens_live_mobile": "mobile", "citizens.mobile": "mobile",
	"offices_code": "code", "offices.code": "code",
	"officers_username": "username", "officers.username": "username",
	"outbox_event": "event_key", "outbox.event_key": "event_key",
	"appointments_live_document": "document", "appointments.doc_number": "document",
	"passkeys_credential": "credential", "passkeys.credential_id": "credential",
}

// mapErr turns driver errors into store errors where the caller can act.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		f := uniqueFields[pg.ConstraintName]
		if f == "" {
			f = "id"
		}
		return &store.DuplicateError{Field: f}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			msg := se.Error()
			// "... UNIQUE constraint failed: citizens.doc_number (2067)"
			if i := strings.LastIndex(msg, "failed: "); i >= 0 {
				rest, _, _ := strings.Cut(msg[i+len("failed: "):], " (")
				cols := strings.Split(strings.TrimSpace(rest), ",")
				if f := uniqueFields[strings.TrimSpace(cols[0])]; f != "" {
					return &store.DuplicateError{Field: f}
				}
			}
			return &store.DuplicateError{Field: "id"}
		}
	}
	return err
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	if n > 10000 {
		return 10000
	}
	return n
}
