package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

func reference(number string) *store.Reference {
	d, err := identity.ParseDocument(number)
	if err != nil {
		panic(err)
	}
	return &store.Reference{Document: d, DocValidity: identity.Date{Year: 2031, Month: 6, Day: 30},
		GivenName: "Núria", FirstSurname: "Ibáñez", SecondSurname: "Puig", BirthDate: identity.Date{Year: 1980, Month: 2, Day: 29}, Nationality: "ES",
		AddressLine1: "Carrer de la Pau 3, 2n 1a", PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona",
		ImportID: "imp-1"}
}

func testReferences(t *testing.T, s store.Store) {
	if _, err := s.ReferenceByDocument(ctx(), "12345678Z"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent reference: %v, want ErrNotFound", err)
	}
	r := reference("12345678Z")
	inserted, err := s.PutReference(ctx(), r)
	if err != nil || !inserted || r.Version != 1 {
		t.Fatalf("PutReference = %v, %v (version %d), want inserted at version 1", inserted, err, r.Version)
	}
	r2 := reference("12345678Z")
	r2.AddressLine1, r2.ImportID = "Plaça Major 1", "imp-2"
	inserted, err = s.PutReference(ctx(), r2)
	if err != nil || inserted || r2.Version != 2 {
		t.Fatalf("second PutReference = %v, %v (version %d), want an update to version 2", inserted, err, r2.Version)
	}
	got, err := s.ReferenceByDocument(ctx(), "12345678Z")
	if err != nil || got.AddressLine1 != "Plaça Major 1" || got.ImportID != "imp-2" || got.GivenName != "Núria" ||
		got.BirthDate != r.BirthDate || got.Nationality != "ES" || got.DocValidity != r.DocValidity || got.Document.Type != identity.DNI {
		t.Fatalf("ReferenceByDocument = %+v, %v", got, err)
	}
	// Reference records are not citizens.
	if _, err := s.CitizenByDocument(ctx(), "12345678Z"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a reference record shows up as a citizen: %v", err)
	}
	// A failed transaction leaves nothing behind.
	boom := errors.New("boom")
	err = s.InTx(ctx(), func(tx store.Tx) error {
		if _, err := tx.PutReference(ctx(), reference("X1234567L")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if n, err := s.CountReferences(ctx()); err != nil || n != 1 {
		t.Errorf("CountReferences after a rolled-back import = %d, %v; want 1", n, err)
	}
}

func testLetters(t *testing.T, s store.Store) {
	c := mustCitizen(t, s, 1)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mk := func(id string, at time.Time) *store.Letter {
		l := &store.Letter{ID: id, CitizenID: c.ID, Language: "ca", Recipient: "Núria Ibáñez",
			Address: []string{"Carrer de la Pau 3", "08001 Barcelona"}, CodeSealed: "v1.k.sealed-" + id,
			ExpiresAt: at.Add(30 * 24 * time.Hour), CreatedAt: at}
		if err := s.CreateLetter(ctx(), l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	mk("letter-1", t0)
	if n, err := s.SupersedeLetters(ctx(), c.ID, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("SupersedeLetters = %d, %v; want 1", n, err)
	}
	old, err := s.LetterByID(ctx(), "letter-1")
	if err != nil || old.Status != store.LetterSuperseded || old.CodeSealed != "" {
		t.Fatalf("superseded letter = %+v, %v; want status superseded and no code", old, err)
	}
	mk("letter-2", t0.Add(2*time.Minute))
	mk("letter-3", t0.Add(time.Hour))
	batch, err := s.QueuedLetters(ctx(), t0.Add(30*time.Minute))
	if err != nil || len(batch) != 1 || batch[0].ID != "letter-2" || batch[0].CodeSealed != "v1.k.sealed-letter-2" ||
		len(batch[0].Address) != 2 || batch[0].Address[1] != "08001 Barcelona" {
		t.Fatalf("QueuedLetters = %+v, %v; want letter-2 alone", batch, err)
	}
	// Marking the batch sent touches only the letters in it.
	if n, err := s.MarkLettersSent(ctx(), t0.Add(30*time.Minute), t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("MarkLettersSent = %d, %v; want 1", n, err)
	}
	if n, err := s.MarkLettersSent(ctx(), t0.Add(30*time.Minute), t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second MarkLettersSent = %d, %v; want 0", n, err)
	}
	sent, err := s.LetterByID(ctx(), "letter-2")
	if err != nil || sent.Status != store.LetterSent || sent.CodeSealed != "" || !sent.SentAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("sent letter = %+v, %v; want sent, code wiped", sent, err)
	}
	if was, err := s.WasDeregistered(ctx(), c.Document.Number); err != nil || was {
		t.Errorf("WasDeregistered(live citizen) = %v, %v", was, err)
	}
	c.Status = identity.StatusDeregistered
	if err := s.UpdateCitizen(ctx(), c); err != nil {
		t.Fatal(err)
	}
	if was, err := s.WasDeregistered(ctx(), c.Document.Number); err != nil || !was {
		t.Errorf("WasDeregistered(deregistered citizen) = %v, %v", was, err)
	}
	all, err := s.ListLetters(ctx(), c.ID)
	if err != nil || len(all) != 3 || all[0].ID != "letter-3" || all[0].Status != store.LetterQueued {
		t.Fatalf("ListLetters = %+v, %v", all, err)
	}
}
