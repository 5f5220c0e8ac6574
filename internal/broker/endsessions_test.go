package broker_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// EndSessions ends every live session of the citizen but the one kept,
// tells the logout hooks of each, leaves other citizens alone, and a
// failing hook rolls it all back.
func TestEndSessions(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		s := sqltest.Open(t, driver)
		now := time.Now().UTC()
		b := broker.New(s, broker.Options{Now: func() time.Time { return now }})
		var told []string
		fail := false
		b.OnLogout(func(ctx context.Context, tx store.Tx, se *store.Session) error {
			if fail {
				return errors.New("hook failed")
			}
			told = append(told, se.ID)
			return nil
		})
		mk := func(id, subject string) {
			if err := s.CreateSession(ctx, &store.Session{ID: id, Kind: store.SessionCitizen, Subject: subject, LoA: "low",
				AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		mk("a1", "alice")
		mk("a2", "alice")
		mk("a3", "alice")
		mk("b1", "bob")

		fail = true
		if err := s.InTx(ctx, func(tx store.Tx) error { _, err := b.EndSessions(ctx, tx, "alice", "a1"); return err }); err == nil {
			t.Fatal("a failing hook did not fail the end")
		}
		if live, _ := s.ListSessions(ctx, store.SessionCitizen, "alice", now); len(live) != 3 {
			t.Fatalf("after a failed end %d sessions live, want 3", len(live))
		}

		fail = false
		var n int
		if err := s.InTx(ctx, func(tx store.Tx) (err error) { n, err = b.EndSessions(ctx, tx, "alice", "a1"); return err }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(told)
		if n != 2 || !slices.Equal(told, []string{"a2", "a3"}) {
			t.Fatalf("ended %d, hooks told %v", n, told)
		}
		for _, tc := range []struct {
			subject string
			want    []string
		}{{"alice", []string{"a1"}}, {"bob", []string{"b1"}}} {
			live, _ := s.ListSessions(ctx, store.SessionCitizen, tc.subject, now)
			var ids []string
			for _, se := range live {
				ids = append(ids, se.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("%s live sessions %v, want %v", tc.subject, ids, tc.want)
			}
		}
	})
}
