package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query text for the life of
// the pool. database/sql prepares it lazily on each connection it runs on
// and reuses it there, also inside transactions (Tx.StmtContext), so a
// query is parsed once per connection instead of once per call. Profiles
// of SQLite lookups showed 35-43% of their CPU in parsing before this.
// The query texts are this package's constants, so the cache is bounded.
type stmtCache struct {
	db   *sql.DB
	m    sync.Map  // query text -> *sql.Stmt
	gate writeGate // one writer at a time (see writeGate)
	// writer is the cache of the one connection that writes, when there
	// is one (see Open); nil on that cache itself.
	writer *stmtCache
	// single: db has one connection, which a transaction holds, so a
	// statement first met inside a transaction is prepared on it for
	// that transaction alone and cached once the transaction is over.
	single  bool
	pending sync.Map // query text -> struct{}, met in a transaction, not cached yet
}

// forWrites is the cache writes run through: the writer's, if any.
func (c *stmtCache) forWrites() *stmtCache {
	if c.writer != nil {
		return c.writer
	}
	return c
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	if c.writer != nil {
		c.writer.close()
		c.writer.db.Close()
	}
}

// cachePending caches the statements transactions met first; call it
// between transactions, with the write gate held.
func (c *stmtCache) cachePending(ctx context.Context) {
	c.pending.Range(func(k, _ any) bool {
		c.pending.Delete(k)
		_, _ = c.stmt(ctx, k.(string)) // a failure prepares it again next time
		return true
	})
}

// cachedQueryer runs queries through the cache, bound to tx when set.
type cachedQueryer struct {
	c  *stmtCache
	tx *sql.Tx
}

func (q cachedQueryer) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if q.tx != nil {
		ctx = uncancelled(ctx)
		if _, ok := q.c.m.Load(query); !ok && q.c.single {
			q.c.pending.Store(query, struct{}{})
			return q.tx.PrepareContext(ctx, query) // closed with the transaction
		}
	}
	st, err := q.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if q.tx != nil {
		st = q.tx.StmtContext(ctx, st) // closed with the transaction
	}
	return st, nil
}

func (q cachedQueryer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	gated := q.tx == nil && writes(query)
	if gated {
		q.c = q.c.forWrites()
	}
	st, err := q.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if gated {
		if err := q.c.gate.enter(ctx); err != nil {
			return nil, err
		}
		defer q.c.gate.leave()
	}
	return st.ExecContext(uncancelled(ctx), args...)
}

func (q cachedQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if q.tx != nil {
		ctx = uncancelled(ctx)
	}
	return st.QueryContext(ctx, args...)
}

func (q cachedQueryer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.prepared(ctx, query)
	if err != nil {
		// *sql.Row cannot carry an error of its own: run the query
		// unprepared, which reports the same failure through Scan.
		if q.tx != nil {
			return q.tx.QueryRowContext(uncancelled(ctx), query, args...)
		}
		return q.c.db.QueryRowContext(ctx, query, args...)
	}
	if q.tx == nil && writes(query) {
		// A write with RETURNING runs in Scan, after this returns, so it
		// could not hold the write gate: it must run through
		// Store.atomic. The storage conformance suite reaches every
		// method, so a new one that forgets fails there.
		panic("sqlstore: a write with RETURNING outside a transaction (wrap it in Store.atomic): " + query)
	}
	return st.QueryRowContext(uncancelled(ctx), args...)
}

// uncancelled is ctx without its cancellation and deadline, for the
// statements that are over in microseconds: single-row reads, writes and
// everything inside a transaction (which waited for the write gate with
// ctx, and which a cancellation could only roll back). With a context
// that can end, modernc's driver starts a goroutine per statement to
// interrupt it (and database/sql another per query outside a
// transaction); an execution trace of sign-ins under load showed those
// goroutines as the largest item waiting to run. Multi-row queries
// outside a transaction (lists, searches, exports) keep ctx, so a client
// that leaves still stops them; another process's lock is still bounded
// by the busy timeout.
func uncancelled(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}
