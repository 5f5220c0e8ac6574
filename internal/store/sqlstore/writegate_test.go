package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// SQLite writers of one process queue in the store, in arrival order,
// rather than in SQLite's busy handler: a write waiting behind another
// gives up when its context ends, and starts as soon as the one before
// commits; many at once all commit, each seeing the one before.
func TestSQLiteWritersQueue(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	noSeal := func(*store.AuditEvent) error { return nil }

	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.AppendAudit(ctx, &store.AuditEvent{Action: "test.hold"}, noSeal); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err := s.AppendAudit(short, &store.AuditEvent{Action: "test.wait"}, noSeal)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write behind a held one, with a 100 ms context: %v", err)
	}
	// A plain statement outside a transaction queues too.
	if err := s.SetPassword(short, &store.Password{CitizenID: "nobody", Hash: "x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a single write behind a held one: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- s.AppendAudit(ctx, &store.AuditEvent{Action: "test.after"}, noSeal) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("the write queued behind: %v", err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 16 {
		wg.Go(func() {
			for range 25 {
				errs <- s.AppendAudit(ctx, &store.AuditEvent{Action: "test.many"}, noSeal)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int64
	actions := map[string]int{}
	_ = s.ScanAudit(ctx, 0, func(e store.AuditEvent) error {
		seqs = append(seqs, e.Seq)
		actions[e.Action]++
		return nil
	})
	for i, q := range seqs {
		if q != int64(i+1) {
			t.Fatalf("audit sequence %v has a gap or repeat at %d", seqs, i)
		}
	}
	if actions["test.hold"] != 1 || actions["test.after"] != 1 || actions["test.wait"] != 0 || actions["test.many"] != 400 {
		t.Fatalf("audit events %v", actions)
	}
}
