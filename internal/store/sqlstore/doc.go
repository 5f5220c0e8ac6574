// Package sqlstore implements store.Store on SQL databases: "sqlite"
// (modernc.org/sqlite, pure Go, the embedded default) and "postgres" (pgx,
// also for PostgreSQL-compatible distributed SQL such as CockroachDB).
//
// One SQL text serves both: `$N` placeholders, BIGINT Unix-microsecond
// times, TEXT dates, partial unique indexes, ON CONFLICT. Migrations are
// one numbered, embedded set (migrations/*.sql) with per-dialect overrides
// (migrations/postgres/*.sql replaces the file of the same name). There are
// no advisory locks and no LISTEN/NOTIFY; transactions are retried on
// serialization failures and on a busy SQLite.
//
// It owns SQL and nothing else: no hashing, no validation, no policy.
package sqlstore
