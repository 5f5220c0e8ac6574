package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// TestLoadCitizens checks the bulk loader stores what the one-by-one path
// would: every citizen findable by document with every field intact, the
// passwords given (and none where none was), and a load that meets a
// duplicate leaves nothing of its transaction behind.
func TestLoadCitizens(t *testing.T) {
	ctx := context.Background()
	sqltest.Run(t, func(t *testing.T, driver string) {
		s := sqltest.Open(t, driver)
		const n = 1234 // more than one multi-row INSERT, not a multiple of it
		made := make([]identity.Citizen, n)
		var progress []int
		err := s.LoadCitizens(ctx, n, func(i int) sqlstore.BulkCitizen {
			c := seed.Citizen(i, store.NewID())
			c.Status = identity.StatusActive
			c.CreatedAt = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
			made[i] = c
			b := sqlstore.BulkCitizen{Citizen: c}
			if i%2 == 1 {
				b.PasswordHash = fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$%d", i)
			}
			return b
		}, func(stored int) { progress = append(progress, stored) })
		if err != nil {
			t.Fatal(err)
		}
		if len(progress) != 1 || progress[0] != n {
			t.Errorf("progress calls %v, want [%d]", progress, n)
		}
		if got, err := s.CountCitizens(ctx); err != nil || got != n {
			t.Fatalf("CountCitizens = %d, %v; want %d", got, err, n)
		}
		for _, i := range []int{0, 1, 499, 500, 501, 1000, n - 1} {
			want := made[i]
			got, err := s.CitizenByDocument(ctx, seed.DNI(i))
			if err != nil {
				t.Fatalf("citizen %d: %v", i, err)
			}
			if got.ID != want.ID || got.Document != want.Document || got.GivenName != want.GivenName ||
				got.FirstSurname != want.FirstSurname || got.SecondSurname != want.SecondSurname ||
				got.BirthDate != want.BirthDate || got.DocValidity != want.DocValidity || got.Email != want.Email ||
				got.Mobile != want.Mobile || got.Language != want.Language || got.Level != want.Level ||
				got.Status != identity.StatusActive || got.Version != 1 || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("citizen %d stored as %+v, want %+v", i, got, want)
			}
			p, err := s.PasswordOf(ctx, want.ID)
			switch {
			case i%2 == 1 && (err != nil || p.Hash != fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$%d", i)):
				t.Errorf("citizen %d password = %+v, %v", i, p, err)
			case i%2 == 0 && !errors.Is(err, store.ErrNotFound):
				t.Errorf("citizen %d has a password (%+v, %v); none was given", i, p, err)
			}
		}

		// A second load whose 700th citizen repeats a stored document:
		// refused as a duplicate document, and none of its rows stay.
		err = s.LoadCitizens(ctx, 800, func(i int) sqlstore.BulkCitizen {
			c := seed.Citizen(n+i, store.NewID())
			if i == 700 {
				c.Document = seed.Citizen(5, "").Document
			}
			return sqlstore.BulkCitizen{Citizen: c, PasswordHash: "x"}
		}, nil)
		if f, ok := store.IsDuplicate(err); !ok || f != "document" {
			t.Fatalf("load with a repeated document: %v, want a duplicate document", err)
		}
		if got, _ := s.CountCitizens(ctx); got != n {
			t.Errorf("after the refused load %d citizens, want %d (nothing half-saved)", got, n)
		}
		if _, err := s.CitizenByDocument(ctx, seed.DNI(n)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a citizen of the refused load is stored: %v", err)
		}
	})
}
