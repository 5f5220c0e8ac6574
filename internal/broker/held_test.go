package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// A front-end's transaction begins unstored: the browser holds it sealed
// until its first write. The copy works only for its own ID, only until
// the transaction expires, and only while the transaction was never
// stored; the first write happens once.
func TestHeldTransaction(t *testing.T) {
	sqltest.Run(t, testHeldTransaction)
}

func testHeldTransaction(t *testing.T, driver string) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := sqltest.Open(t, driver)
	kr, err := secure.NewKeyring(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	b := broker.New(s, broker.Options{Now: clock, Sealer: kr})
	req := broker.Request{SP: "service-a", SPName: "Ajuntament", MinLoA: broker.Substantial, Methods: []string{"permanent"},
		ContinueURL: "/oidc/continue?id=x", LoginHint: "12345678Z", Lang: "ca"}
	stored := func(id string) bool {
		t.Helper()
		_, err := s.FlowByID(ctx, broker.FlowKind, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	tx := b.Prepare(req)
	sealed, err := b.Hold(ctx, tx)
	if err != nil || sealed == "" {
		t.Fatalf("hold: %q, %v", sealed, err)
	}
	if stored(tx.ID) {
		t.Fatal("a held transaction was stored")
	}
	if strings.Contains(sealed, "12345678Z") || strings.Contains(sealed, "service-a") {
		t.Fatal("the held transaction is readable")
	}
	got, err := b.Resume(ctx, tx.ID, sealed)
	if err != nil || got.ID != tx.ID || got.State != broker.StateStarted || got.Stored() ||
		got.Request.SP != req.SP || got.Request.LoginHint != req.LoginHint || got.Request.MinLoA != req.MinLoA ||
		!got.ExpiresAt.Equal(tx.ExpiresAt) {
		t.Fatalf("resumed %+v, %v", got, err)
	}

	other := b.Prepare(req)
	otherSealed, _ := b.Hold(ctx, other)
	tampered := []byte(sealed)
	tampered[len(tampered)/2] ^= 1
	for _, c := range []struct {
		name, id, sealed string
		want             error
	}{
		{"no copy", tx.ID, "", broker.ErrTxUnknown},
		{"another transaction's copy", tx.ID, otherSealed, broker.ErrTxUnknown},
		{"tampered", tx.ID, string(tampered), broker.ErrTxUnknown},
		{"not base64", tx.ID, "%%%", broker.ErrTxUnknown},
		{"unknown id", "no-such-id", sealed, broker.ErrTxUnknown},
	} {
		if _, err := b.Resume(ctx, c.id, c.sealed); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}

	// Two first steps from the same copy (a double submit): one stores
	// it, the other is stale and writes nothing.
	first, _ := b.Resume(ctx, tx.ID, sealed)
	second, _ := b.Resume(ctx, tx.ID, sealed)
	first.Identified("citizen-1", broker.MethodPermanent, broker.Low, []string{"pwd"}, now)
	if err := b.Save(ctx, s, first); err != nil || !first.Stored() {
		t.Fatalf("first save: %v", err)
	}
	second.Identified("citizen-2", broker.MethodPermanent, broker.Low, []string{"pwd"}, now)
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateSession(ctx, &store.Session{ID: "written-with-the-second", Kind: store.SessionCitizen,
			Subject: "citizen-2", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		return b.Save(ctx, tx, second)
	})
	if !errors.Is(err, broker.ErrTxStale) {
		t.Fatalf("second save of the same copy: %v", err)
	}
	if _, err := s.SessionByID(ctx, "written-with-the-second"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the stale step's other writes were kept: %v", err)
	}
	// Stored, the copy no longer speaks for it.
	got, err = b.Resume(ctx, tx.ID, sealed)
	if err != nil || got.State != broker.StateSecondFactor || got.CitizenID != "citizen-1" {
		t.Fatalf("after the first write: %+v, %v", got, err)
	}
	got.Identified("citizen-1", "sms", broker.Substantial, []string{"sms"}, now)
	if _, err := b.Complete(ctx, got, "", broker.Meta{Source: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Resume(ctx, tx.ID, sealed); !errors.Is(err, broker.ErrTxDone) {
		t.Fatalf("the copy of a finished transaction: %v", err)
	}

	// An unstored transaction expires with its copy.
	now = now.Add(16 * time.Minute)
	if _, err := b.Resume(ctx, other.ID, otherSealed); !errors.Is(err, broker.ErrTxExpired) {
		t.Fatalf("expired copy: %v", err)
	}

	// Without a sealer, or too big for a cookie, Hold stores instead.
	for name, c := range map[string]struct {
		b   *broker.Broker
		req broker.Request
	}{
		"no sealer": {broker.New(s, broker.Options{Now: clock}), req},
		"too big":   {b, broker.Request{SP: "service-a", Extra: strings.Repeat("x", 4000)}},
	} {
		tx := c.b.Prepare(c.req)
		if sealed, err := c.b.Hold(ctx, tx); err != nil || sealed != "" || !tx.Stored() || !stored(tx.ID) {
			t.Errorf("%s: held %d bytes, stored %v, %v", name, len(sealed), tx.Stored(), err)
		}
	}
}

// The held copy comes from the browser: whatever the cookie holds, Resume
// answers with the sign-in it sealed, or that the sign-in is unknown,
// and nothing but the copy the server sealed opens.
func FuzzResume(f *testing.F) {
	ctx := context.Background()
	kr, err := secure.NewKeyring(nil, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	b := broker.New(sqltest.Open(f, sqlstore.SQLite), broker.Options{Sealer: kr})
	tx := b.Prepare(broker.Request{SP: "service-a", MinLoA: broker.Substantial, ContinueURL: "/oidc/continue?id=x"})
	genuine, err := b.Hold(ctx, tx)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add(genuine[:len(genuine)-1])
	f.Add(strings.Replace(genuine, ".", "..", 1))
	f.Add("")
	f.Add("v1.k0.AAAA")
	f.Add("v1." + strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, sealed string) {
		got, err := b.Resume(ctx, tx.ID, sealed)
		switch {
		case err == nil && sealed != genuine:
			t.Fatalf("a copy the server did not seal opened: %q", sealed)
		case err == nil && (got.ID != tx.ID || got.Request.SP != "service-a" || got.Stored()):
			t.Fatalf("resumed %+v", got)
		case err != nil && !errors.Is(err, broker.ErrTxUnknown):
			t.Fatalf("copy %q: %v", sealed, err)
		}
	})
}
