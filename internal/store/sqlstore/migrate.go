package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql migrations/postgres/*
var migrationFiles embed.FS

// migrations returns the migration set for a driver: the portable files,
// with any file of the same name in migrations/<driver>/ in its place.
func migrations(driver string) (fs.FS, error) {
	out := fstest.MapFS{}
	base, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	for _, f := range base {
		name := path.Base(f)
		data, err := migrationFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if o, err := migrationFiles.ReadFile(path.Join("migrations", driver, name)); err == nil {
			data = o
		}
		out[name] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	overrides, _ := fs.Glob(migrationFiles, path.Join("migrations", driver, "*.sql"))
	for _, f := range overrides {
		if _, ok := out[path.Base(f)]; !ok {
			return nil, fmt.Errorf("migration override %s has no portable file of the same name", f)
		}
	}
	return out, nil
}

// MigrationVersions lists the versions of the embedded migration set.
func MigrationVersions() ([]int64, error) {
	fsys, err := migrations(SQLite)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", n, err)
		}
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs, nil
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := migrations(s.driver)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if s.driver == Postgres {
		dialect = goose.DialectPostgres
		// A lock table, not an advisory lock, so that CockroachDB and other
		// PostgreSQL-compatible databases work and two processes starting at
		// once migrate one after the other.
		l, err := lock.NewPostgresTableLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithLocker(l))
	}
	return goose.NewProvider(dialect, s.db, fsys, opts...)
}

// Migrate applies every pending migration, or those up to version when
// version > 0, and returns the database's version afterwards.
func (s *Store) Migrate(ctx context.Context, version int64) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	if version > 0 {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// MigrationStatus returns the database's version and the newest known.
func (s *Store) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}
