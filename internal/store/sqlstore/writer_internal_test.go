package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// On a SQLite file every write of the process, in a transaction or not,
// runs on one connection, so no other connection's commit drops its page
// cache: SQLite's data_version, which changes for a connection only when
// another connection has committed, stays the same from one write
// transaction to the next. A statement first met inside a transaction
// does not wait for a connection of its own (the transaction holds the
// only one) and is cached once the transaction is over.
func TestSQLiteWritesOnOneConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "clau.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	const version = "PRAGMA data_version"
	dataVersion := func() int64 {
		t.Helper()
		var v int64
		err := s.InTx(ctx, func(tx store.Tx) error {
			return tx.(*Store).q().QueryRowContext(ctx, version).Scan(&v)
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := dataVersion()
	if _, ok := s.stmts.writer.m.Load(version); !ok {
		t.Fatal("a statement first met in a transaction was not cached after it")
	}
	now := time.Now()
	for i := range 3 {
		f := &store.Flow{ID: store.NewID(), Kind: "test", State: "started", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateFlow(ctx, f); err != nil { // a write outside a transaction
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx store.Tx) error {
			f.State = "next"
			return tx.UpdateFlow(ctx, f)
		})
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if _, err := s.FlowByID(ctx, "test", f.ID); err != nil { // a read, on another connection
			t.Fatal(err)
		}
	}
	if after := dataVersion(); after != before {
		t.Fatalf("the writing connection saw another connection's commits: data_version %d, then %d", before, after)
	}
}
