package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// BenchmarkExchangeWrite is the store's share of an OIDC token exchange
// on SQLite: in one transaction, a flow moved to its next state and an
// audit event appended to the chain. The trail already holds some
// thousand events of many citizens, as a running server's does.
func BenchmarkExchangeWrite(b *testing.B) {
	ctx := context.Background()
	s := sqltest.Open(b, sqlstore.SQLite)
	const flows = 4096
	ids := make([]string, flows)
	for i := range ids {
		ids[i] = fmt.Sprintf("auth-%06d", i)
		if err := s.CreateFlow(ctx, &store.Flow{ID: ids[i], Kind: "oidc_auth", State: "code_issued",
			Data: []byte(`{"client_id":"bench","scopes":["openid","profile"]}`), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	event := func(i int) *audit.Event {
		return &audit.Event{Actor: "client:bench", Action: "oidc.token", Subject: fmt.Sprintf("citizen:%08x", i*2654435761%(1<<32)),
			Details: map[string]string{"client_id": "bench", "auth_request": ids[i%flows], "loa": "substantial"}}
	}
	for i := range 2000 {
		if err := audit.Append(ctx, s, event(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := s.InTx(ctx, func(tx store.Tx) error {
			f, err := tx.FlowByID(ctx, "oidc_auth", ids[i%flows])
			if err != nil {
				return err
			}
			f.State = "used"
			if err := tx.UpdateFlow(ctx, f); err != nil {
				return err
			}
			return audit.Append(ctx, tx, event(i))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
