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

// On SQLite the statements of a transaction run without the request's
// cancellation (they are over in microseconds, and starting a goroutine
// per statement to watch the context cost more than many of them): a
// request that has ended starts no transaction, one that ends during its
// transaction still gets all of it or none of it as its function
// decides, and the lists outside a transaction still stop when it ends.
func TestSQLiteCancelledRequests(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	noSeal := func(*store.AuditEvent) error { return nil }
	count := func(action string) int {
		n := 0
		_ = s.ScanAudit(context.Background(), 0, func(e store.AuditEvent) error {
			if e.Action == action {
				n++
			}
			return nil
		})
		return n
	}

	ended, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.InTx(ended, func(tx store.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("a transaction for an ended request: ran %v, %v", ran, err)
	}
	if err := s.AppendAudit(ended, &store.AuditEvent{Action: "test.ended"}, noSeal); !errors.Is(err, context.Canceled) {
		t.Fatalf("an append for an ended request: %v", err)
	}

	for _, fail := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		action := "test.committed"
		if fail {
			action = "test.rolledback"
		}
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.AppendAudit(ctx, &store.AuditEvent{Action: action}, noSeal); err != nil {
				return err
			}
			cancel() // the client went away in the middle
			if err := tx.AppendAudit(ctx, &store.AuditEvent{Action: action}, noSeal); err != nil {
				return err
			}
			if fail {
				return errors.New("the function's own failure")
			}
			return nil
		})
		want := 2
		if fail {
			want = 0
			if err == nil {
				t.Fatal("a failing transaction reported success")
			}
		} else if err != nil {
			t.Fatalf("a transaction whose request ended in the middle: %v", err)
		}
		if got := count(action); got != want {
			t.Fatalf("%s: %d events written, want %d", action, got, want)
		}
	}
	if _, err := s.ListCitizens(ended, store.Page{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a list for an ended request: %v", err)
	}
}
