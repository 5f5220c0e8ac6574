package seed

import (
	"context"
	"fmt"

	"github.com/clau-eid/clau/internal/store"
)

// Citizens stores n synthetic citizens numbered from..from+n-1, batch per
// transaction, calling committed after each commit with the documents it
// made durable. It stops at the first error; what committed stays.
func Citizens(ctx context.Context, s store.Store, from, n, batch int, committed func(docs []string)) error {
	if batch <= 0 {
		batch = 500
	}
	for start := from; start < from+n; start += batch {
		end := min(start+batch, from+n)
		docs := make([]string, 0, end-start)
		err := s.InTx(ctx, func(tx store.Tx) error {
			docs = docs[:0]
			for i := start; i < end; i++ {
				c := Citizen(i, store.NewID())
				if err := tx.CreateCitizen(ctx, &c); err != nil {
					return fmt.Errorf("citizen %d (%s): %w", i, c.Document.Masked(), err)
				}
				docs = append(docs, c.Document.Number)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if committed != nil {
			committed(docs)
		}
	}
	return nil
}
