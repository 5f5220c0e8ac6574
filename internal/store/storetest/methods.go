package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// testDeregistrationEndsMethods: deregistration turns the PIN service
// off, deletes the citizen's passkeys (and only theirs) and revokes their
// sessions in one transaction; a failure anywhere keeps all of it.
func testDeregistrationEndsMethods(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	c, d := mustCitizen(t, s, 1), mustCitizen(t, s, 2)
	if err := s.SetPINService(ctx(), &store.PINService{CitizenID: c.ID, EnabledAt: now, ExpiresAt: now.Add(time.Hour),
		EnabledBy: "citizen:" + c.ID}); err != nil {
		t.Fatal(err)
	}
	for i, k := range []*store.Passkey{
		{CitizenID: c.ID, CredentialID: []byte{1}, Name: "Mòbil"},
		{CitizenID: c.ID, CredentialID: []byte{2}, Name: "Clau USB"},
		{CitizenID: d.ID, CredentialID: []byte{3}, Name: "Portàtil"},
	} {
		k.ID, k.Credential, k.CreatedAt = store.NewID(), []byte(`{}`), now.Add(time.Duration(i)*time.Second)
		if err := s.CreatePasskey(ctx(), k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx(), &store.Session{ID: "dereg-1", Kind: store.SessionCitizen, Subject: c.ID, LoA: "substantial",
		AuthTime: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	end := func(tx store.Tx) (int, error) {
		if err := tx.DeletePINService(ctx(), c.ID); err != nil {
			return 0, err
		}
		n, err := tx.DeletePasskeysOf(ctx(), c.ID)
		if err != nil {
			return 0, err
		}
		return n, tx.RevokeSession(ctx(), "dereg-1", now)
	}
	boom := errors.New("audit append failed")
	err := s.InTx(ctx(), func(tx store.Tx) error {
		if n, err := end(tx); err != nil || n != 2 {
			t.Errorf("inside the failing transaction: deleted %d passkeys, %v", n, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if _, err := s.PINServiceOf(ctx(), c.ID); err != nil {
		t.Errorf("PIN service lost by a rolled-back deregistration: %v", err)
	}
	if keys, _ := s.PasskeysOf(ctx(), c.ID); len(keys) != 2 {
		t.Errorf("passkeys after a rolled-back deregistration: %d, want 2", len(keys))
	}
	if live, _ := s.ListSessions(ctx(), store.SessionCitizen, c.ID, now); len(live) != 1 {
		t.Errorf("sessions after a rolled-back deregistration: %d, want 1", len(live))
	}

	var n int
	if err := s.InTx(ctx(), func(tx store.Tx) (err error) { n, err = end(tx); return err }); err != nil || n != 2 {
		t.Fatalf("deregistration: %d passkeys, %v", n, err)
	}
	if _, err := s.PINServiceOf(ctx(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PIN service after deregistration: %v", err)
	}
	for _, id := range [][]byte{{1}, {2}} {
		if _, err := s.PasskeyByCredentialID(ctx(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("passkey %x after deregistration: %v", id, err)
		}
	}
	if k, err := s.PasskeyByCredentialID(ctx(), []byte{3}); err != nil || k.CitizenID != d.ID {
		t.Errorf("another citizen's passkey went too: %+v %v", k, err)
	}
	if live, _ := s.ListSessions(ctx(), store.SessionCitizen, c.ID, now); len(live) != 0 {
		t.Errorf("sessions after deregistration: %d", len(live))
	}
	if n, err := s.DeletePasskeysOf(ctx(), c.ID); err != nil || n != 0 {
		t.Errorf("deleting passkeys of a citizen with none: %d %v", n, err)
	}
}
