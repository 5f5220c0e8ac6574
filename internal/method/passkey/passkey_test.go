package passkey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/webauthntest"
)

var rp = virtualwebauthn.RelyingParty{Name: "Clau", ID: "clau.example.org", Origin: "https://clau.example.org"}

type world struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	clock *fakeclock.Clock
	m     *passkey.Method
	c     *identity.Citizen
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s := sqltest.Open(t, sqlstore.SQLite)
	clk := fakeclock.New(time.Now())
	m, err := passkey.New(s, passkey.Options{RPID: rp.ID, Origins: []string{rp.Origin}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := seed.Citizen(1, store.NewID())
	c.Status = identity.StatusActive
	if err := s.CreateCitizen(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: context.Background(), store: s, clock: clk, m: m, c: &c}
}

// register creates a passkey on auth for the citizen, named name.
func (w *world) register(auth *virtualwebauthn.Authenticator, name string) (virtualwebauthn.Credential, *store.Passkey) {
	w.t.Helper()
	cer, err := w.m.BeginRegistration(w.ctx, w.c)
	if err != nil {
		w.t.Fatal(err)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(cer.Options)
	if err != nil {
		w.t.Fatal(err)
	}
	cred := webauthntest.NewCredential()
	resp := virtualwebauthn.CreateAttestationResponse(rp, *auth, cred, *opts)
	k, err := w.m.FinishRegistration(w.ctx, w.c, cer.ID, name, resp, "192.0.2.1")
	if err != nil {
		w.t.Fatalf("register: %v", err)
	}
	auth.AddCredential(cred)
	return cred, k
}

// assert answers a fresh sign-in challenge with cred as rp would see it.
func (w *world) assert(t *broker.Transaction, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential,
	asRP virtualwebauthn.RelyingParty) string {
	w.t.Helper()
	opts, err := w.m.BeginLogin(t)
	if err != nil {
		w.t.Fatal(err)
	}
	parsed, err := virtualwebauthn.ParseAssertionOptions(opts)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(parsed.AllowCredentials) != 0 {
		w.t.Fatalf("allowCredentials %v: the browser should offer discoverable passkeys", parsed.AllowCredentials)
	}
	return virtualwebauthn.CreateAssertionResponse(asRP, auth, cred, *parsed)
}

func (w *world) refusals() []string {
	var out []string
	events, _ := w.store.ListAudit(w.ctx, store.AuditFilter{Limit: 1000})
	for _, e := range events {
		if e.Outcome == "denied" {
			out = append(out, e.Action+": "+e.Details["reason"])
		}
	}
	return out
}

func tx() *broker.Transaction {
	return &broker.Transaction{ID: store.NewID(), State: broker.StateStarted, Request: broker.Request{MinLoA: broker.Substantial}}
}

func TestRegisterSignInAndEveryRefusal(t *testing.T) {
	w := newWorld(t)
	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(w.c.ID)})
	cred, k := w.register(&auth, "  Mòbil   de la feina ")
	if k.Name != "Mòbil de la feina" {
		t.Fatalf("name %q", k.Name)
	}
	cred2, _ := w.register(&auth, "Portàtil")
	if list, _ := w.m.List(w.ctx, w.c.ID); len(list) != 2 {
		t.Fatalf("passkeys: %+v", list)
	}

	// A good sign-in, no document typed: substantial, counter stored.
	cred.Counter = 5
	tr := tx()
	if err := w.m.FinishLogin(w.ctx, tr, w.assert(tr, auth, cred, rp), "192.0.2.1"); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if tr.State != broker.StateDone || tr.CitizenID != w.c.ID || tr.LoA != broker.Substantial || tr.Pending != "" {
		t.Fatalf("transaction after sign-in: %+v", tr)
	}
	if got, _ := w.store.PasskeyByCredentialID(w.ctx, cred.ID); got.SignCount != 5 || got.LastUsedAt.IsZero() {
		t.Fatalf("stored passkey %+v", got)
	}

	// Every refusal: refused, the transaction not identified, the stored
	// passkey unchanged.
	for _, tc := range []struct {
		name   string
		answer func(tr *broker.Transaction) string
		want   error
	}{
		{"wrong origin", func(tr *broker.Transaction) string {
			cred.Counter++
			return w.assert(tr, auth, cred, virtualwebauthn.RelyingParty{ID: rp.ID, Origin: "https://clau.example.org.evil.test"})
		}, passkey.ErrFailed},
		{"wrong RP ID", func(tr *broker.Transaction) string {
			cred.Counter++
			return w.assert(tr, auth, cred, virtualwebauthn.RelyingParty{ID: "evil.test", Origin: rp.Origin})
		}, passkey.ErrFailed},
		{"wrong challenge", func(tr *broker.Transaction) string {
			cred.Counter++
			old := w.assert(tx(), auth, cred, rp) // answered for another sign-in's challenge
			if _, err := w.m.BeginLogin(tr); err != nil {
				t.Fatal(err)
			}
			return old
		}, passkey.ErrFailed},
		{"counter going backwards", func(tr *broker.Transaction) string {
			cred.Counter = 3
			return w.assert(tr, auth, cred, rp)
		}, passkey.ErrCounter},
		{"counter standing still", func(tr *broker.Transaction) string {
			cred.Counter = 5
			return w.assert(tr, auth, cred, rp)
		}, passkey.ErrCounter},
		{"no user verification", func(tr *broker.Transaction) string {
			noUV := auth
			noUV.Options.UserNotVerified = true
			cred.Counter = 9
			return w.assert(tr, noUV, cred, rp)
		}, passkey.ErrFailed},
		{"unknown passkey", func(tr *broker.Transaction) string {
			return w.assert(tr, auth, webauthntest.NewCredential(), rp)
		}, passkey.ErrFailed},
		{"another citizen's user handle", func(tr *broker.Transaction) string {
			other := auth
			other.Options.UserHandle = []byte("someone-else")
			cred.Counter = 9
			return w.assert(tr, other, cred, rp)
		}, passkey.ErrFailed},
		{"garbage", func(tr *broker.Transaction) string {
			_, _ = w.m.BeginLogin(tr)
			return `{"id":"x"}`
		}, passkey.ErrFailed},
		{"no challenge issued", func(tr *broker.Transaction) string {
			cred.Counter = 9
			a := w.assert(tx(), auth, cred, rp)
			tr.Pending = ""
			return a
		}, passkey.ErrFailed},
	} {
		tr := tx()
		err := w.m.FinishLogin(w.ctx, tr, tc.answer(tr), "192.0.2.1")
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tr.State != broker.StateStarted || tr.CitizenID != "" || tr.Pending != "" {
			t.Errorf("%s: transaction changed: %+v", tc.name, tr)
		}
		if got, _ := w.store.PasskeyByCredentialID(w.ctx, cred.ID); got.SignCount != 5 {
			t.Errorf("%s: stored counter became %d", tc.name, got.SignCount)
		}
	}
	if r := w.refusals(); len(r) != 10 {
		t.Fatalf("refusals audited: %d\n%s", len(r), strings.Join(r, "\n"))
	}

	// The same challenge cannot be answered twice.
	cred.Counter = 10
	tr = tx()
	answer := w.assert(tr, auth, cred, rp)
	pending := tr.Pending
	if err := w.m.FinishLogin(w.ctx, tr, answer, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	replay := tx()
	replay.Pending = pending
	if err := w.m.FinishLogin(w.ctx, replay, answer, "192.0.2.1"); !errors.Is(err, passkey.ErrCounter) {
		t.Fatalf("replayed assertion: %v", err)
	}

	// A removed passkey signs nobody in; the other one still works.
	if err := w.m.Remove(w.ctx, w.c, k.ID, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.m.Remove(w.ctx, w.c, k.ID, "192.0.2.1"); !errors.Is(err, passkey.ErrNotFound) {
		t.Fatalf("second removal: %v", err)
	}
	cred.Counter = 11
	tr = tx()
	if err := w.m.FinishLogin(w.ctx, tr, w.assert(tr, auth, cred, rp), "192.0.2.1"); !errors.Is(err, passkey.ErrFailed) {
		t.Fatalf("removed passkey: %v", err)
	}
	cred2.Counter = 1
	tr = tx()
	if err := w.m.FinishLogin(w.ctx, tr, w.assert(tr, auth, cred2, rp), "192.0.2.1"); err != nil || tr.State != broker.StateDone {
		t.Fatalf("remaining passkey: %v", err)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	w := newWorld(t)
	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(w.c.ID)})
	begin := func() (*passkey.Ceremony, *virtualwebauthn.AttestationOptions) {
		cer, err := w.m.BeginRegistration(w.ctx, w.c)
		if err != nil {
			t.Fatal(err)
		}
		o, err := virtualwebauthn.ParseAttestationOptions(cer.Options)
		if err != nil {
			t.Fatal(err)
		}
		return cer, o
	}
	cred := webauthntest.NewCredential()

	cer, o := begin()
	if _, err := w.m.FinishRegistration(w.ctx, w.c, cer.ID, " ", virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *o), ""); err == nil {
		t.Fatal("a passkey without a name")
	}
	noUV := auth
	noUV.Options.UserNotVerified = true
	cer, o = begin()
	if _, err := w.m.FinishRegistration(w.ctx, w.c, cer.ID, "x", virtualwebauthn.CreateAttestationResponse(rp, noUV, cred, *o), ""); !errors.Is(err, passkey.ErrRegisterFailed) {
		t.Fatalf("without user verification: %v", err)
	}
	cer, o = begin()
	evil := virtualwebauthn.RelyingParty{ID: rp.ID, Origin: "https://evil.test"}
	resp := virtualwebauthn.CreateAttestationResponse(evil, auth, cred, *o)
	if _, err := w.m.FinishRegistration(w.ctx, w.c, cer.ID, "x", resp, ""); !errors.Is(err, passkey.ErrRegisterFailed) {
		t.Fatalf("wrong origin: %v", err)
	}
	// The ceremony is used up: a right answer to it now is refused too.
	if _, err := w.m.FinishRegistration(w.ctx, w.c, cer.ID, "x", virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *o), ""); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("reused ceremony: %v", err)
	}
	// Expired.
	cer, o = begin()
	w.clock.Add(6 * time.Minute)
	if _, err := w.m.FinishRegistration(w.ctx, w.c, cer.ID, "x", virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *o), ""); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("expired ceremony: %v", err)
	}
	if list, _ := w.m.List(w.ctx, w.c.ID); len(list) != 0 {
		t.Fatalf("refused registrations stored %+v", list)
	}
}
