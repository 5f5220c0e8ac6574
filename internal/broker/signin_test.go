package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// A front-end reads the outcome of the transaction it started, and only
// that: a transaction of another service, one not finished, or one too
// old does not answer its request.
func TestOutcomeIsTheFrontEndsOwnTransaction(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b := broker.New(sqltest.Open(t, sqlstore.SQLite), broker.Options{Now: clock})
	start := func(sp string, done bool) string {
		t.Helper()
		tx, err := b.Start(ctx, broker.Request{SP: sp, MinLoA: broker.Low, ContinueURL: "/oidc/continue?id=x"})
		if err != nil {
			t.Fatal(err)
		}
		if done {
			tx.Identified("citizen-1", broker.MethodPermanent, broker.Low, []string{"pwd"}, now)
			if _, err := b.Complete(ctx, tx, "", broker.Meta{Source: "127.0.0.1"}); err != nil {
				t.Fatal(err)
			}
		}
		return tx.ID
	}
	doneA, pendingA, doneB := start("service-a", true), start("service-a", false), start("service-b", true)
	for _, c := range []struct {
		name, id, sp string
		late         bool
		want         error
	}{
		{"done, same service", doneA, "service-a", false, nil},
		{"done, another service's", doneB, "service-a", false, broker.ErrTxUnknown},
		{"not finished", pendingA, "service-a", false, broker.ErrTxPending},
		{"no transaction started", "", "service-a", false, broker.ErrTxUnknown},
		{"unknown", "00000000000000000000000000", "service-a", false, broker.ErrTxUnknown},
		{"done, but expired", doneA, "service-a", true, broker.ErrTxExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
			if c.late {
				now = now.Add(16 * time.Minute)
			}
			tx, err := b.Outcome(ctx, c.id, c.sp)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if c.want == nil && (tx.CitizenID != "citizen-1" || tx.State != broker.StateDone || tx.Request.SP != c.sp) {
				t.Fatalf("outcome %+v", tx)
			}
			if c.want != nil && tx != nil {
				t.Fatalf("an outcome came with %v", err)
			}
		})
	}
}

func TestDisplayName(t *testing.T) {
	long := strings.Repeat("Ajuntament ", 20)
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"Ajuntament de Girona", "girona"}, "Ajuntament de Girona"},
		{[]string{"", "  \t", "https://sp.example/metadata"}, "https://sp.example/metadata"},
		{[]string{"Seu\nelectrònica\x00  de\u0085 Reus"}, "Seu electrònica de Reus"},
		{[]string{"<b>Tràmits</b>"}, "<b>Tràmits</b>"}, // the pages escape it
		{[]string{long}, strings.TrimSpace(long)[:119] + "…"},
		{nil, ""},
	} {
		if got := broker.DisplayName(c.names...); got != c.want {
			t.Errorf("DisplayName(%q) = %q, want %q", c.names, got, c.want)
		}
	}
}
