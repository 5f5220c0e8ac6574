package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/config"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// app is every dependency a command may need, built once from config.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	logs     *logWriter // what log writes to, until close
	store    *sqlstore.Store
	keyring  *secure.Keyring
	hasher   *secure.Hasher
	trail    *audit.Trail
	catalog  *i18n.Catalog
	notifier *notify.Notifier
	tmpls    *notify.Templates
	now      func() time.Time
}

func isConfigError(err error) bool {
	var ce *config.Error
	return errors.As(err, &ce)
}

// flagSet returns a flag set with --config, and where its value lands.
func flagSet(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg := fs.String("config", "", "configuration file (YAML); default: CLAU_CONFIG or the embedded defaults")
	return fs, cfg
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return usagef("see the flags above")
		}
		return usagef("%v", err)
	}
	return nil
}

func loadConfig(path string) (*config.Config, error) {
	return config.Load(path, os.Environ())
}

// Log lines wait at most logDelay, or until logLimit bytes do, before they
// are written (see logWriter).
const (
	logDelay = 100 * time.Millisecond
	logLimit = 32 << 10
)

// newLogger logs to w through a logWriter, which the caller flushes
// before it exits.
func newLogger(c *config.Config, w io.Writer) (*slog.Logger, *logWriter) {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	lw := newLogWriter(w, logDelay, logLimit)
	var h slog.Handler = slog.NewJSONHandler(lw, opts)
	if c.Log.Format == "text" {
		h = slog.NewTextHandler(lw, opts)
	}
	return slog.New(flushingHandler{h, lw}), lw
}

// openMode says what openApp does about the database's schema version.
type openMode int

const (
	checkSchema   openMode = iota // refuse a database that is behind
	migrateSchema                 // apply pending migrations first
	anySchema                     // open whatever is there (clau migrate)
)

func modeFor(cfg *config.Config) openMode {
	if cfg.Storage.MigrateOnStart {
		return migrateSchema
	}
	return checkSchema
}

// openApp builds the dependencies.
func openApp(ctx context.Context, cfg *config.Config, mode openMode) (_ *app, err error) {
	log, logs := newLogger(cfg, os.Stderr)
	slog.SetDefault(log)
	defer func() {
		if err != nil {
			_ = logs.Flush()
		}
	}()
	st, err := sqlstore.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN, sqlstore.Options{MaxOpenConns: cfg.Storage.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("storage (%s): %w", cfg.Storage.Driver, err)
	}
	switch mode {
	case migrateSchema:
		if _, err := st.Migrate(ctx, 0); err != nil {
			st.Close()
			return nil, err
		}
	case checkSchema:
		cur, latest, err := st.MigrationStatus(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if cur < latest {
			st.Close()
			return nil, fmt.Errorf("the database is at version %d but this clau needs %d: run `clau migrate`", cur, latest)
		}
	}
	kr, created, err := secure.LoadOrCreateKeyring(cfg.Security.KeyringFile, nil, time.Now())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("keyring %s: %w", cfg.Security.KeyringFile, err)
	}
	if created {
		log.Info("created a new keyring; back it up: sealed data cannot be read without it", "file", cfg.Security.KeyringFile)
	}
	params := secure.DefaultArgon2Params()
	params.Memory, params.Time, params.Threads = cfg.Security.Argon2.MemoryKiB, cfg.Security.Argon2.Iterations, cfg.Security.Argon2.Parallelism
	if err := params.Validate(); err != nil {
		st.Close()
		return nil, &config.Error{Problems: []config.Problem{{Key: "security.argon2", Message: err.Error()}}}
	}
	tmpls, err := notify.LoadTemplates()
	if err != nil {
		st.Close()
		return nil, err
	}
	var outboxOnly []notify.Channel
	if cfg.Notify.SMS.Driver == config.DriverOutbox {
		outboxOnly = append(outboxOnly, notify.SMS)
	}
	if cfg.Notify.Email.Driver == config.DriverOutbox {
		outboxOnly = append(outboxOnly, notify.Email)
	}
	hasher := secure.NewHasher(params, cfg.Security.MaxConcurrentHashes, nil)
	hasher.SetQueueLimit(cfg.Security.MaxHashWait)
	return &app{
		cfg: cfg, log: log, logs: logs, store: st, keyring: kr,
		hasher:   hasher,
		trail:    audit.New(st, nil),
		catalog:  i18n.MustLoad(),
		notifier: notify.NewNotifier(tmpls, outboxOnly, nil),
		tmpls:    tmpls,
		now:      time.Now,
	}, nil
}

// openFromFlags parses flags, loads config and opens the app. Admin
// commands migrate too, so they work on a fresh data folder.
func openFromFlags(ctx context.Context, fs *flag.FlagSet, cfgPath *string, args []string) (*app, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return nil, err
	}
	return openApp(ctx, cfg, modeFor(cfg))
}

func (a *app) close() {
	a.store.Close()
	_ = a.logs.Flush()
}

// cliActor names the operator for the audit trail.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// explain turns a validation problem into lines a terminal user reads.
func (a *app) explain(err error) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	var b strings.Builder
	b.WriteString(a.catalog.T("en", p.MsgID, nil))
	for _, f := range p.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Name, a.catalog.T("en", f.MsgID, f.Args))
	}
	if p.Status >= 400 && p.Status < 500 {
		return &usageError{b.String()}
	}
	return errors.New(b.String())
}
