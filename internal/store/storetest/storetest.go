// Package storetest is the store conformance suite: every driver of
// store.Store must pass Run. It checks the contract callers rely on, most
// of all under concurrency: unique documents and mobiles, optimistic
// versions, one audit chain from many appenders, code attempts that cannot
// be overspent, counters that add up, and outbox claims that never hand one
// message to two dispatchers.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
)

// Opener returns a new, empty, migrated store for one test.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CitizenCreateAndFind", testCitizenCreateAndFind},
		{"CitizenDuplicates", testCitizenDuplicates},
		{"CitizenDeregisteredFreesDocument", testCitizenDeregistered},
		{"CitizenOptimisticUpdate", testCitizenOptimistic},
		{"CitizenConcurrentRegistration", testCitizenConcurrent},
		{"CitizenListPages", testCitizenList},
		{"OfficesAndOfficers", testOfficesOfficers},
		{"TxRollsBack", testTxRollback},
		{"AuditChainConcurrent", testAuditConcurrent},
		{"AuditList", testAuditList},
		{"CodesReplaceSpendConsume", testCodes},
		{"CodesConcurrentAttempts", testCodesConcurrent},
		{"CountersConcurrent", testCounters},
		{"OutboxEnqueueOnce", testOutboxEnqueue},
		{"OutboxClaimsExclusive", testOutboxClaims},
		{"Reseal", testReseal},
		{"FlowsOptimistic", testFlows},
		{"SessionsLifecycle", testSessions},
		{"Passwords", testPasswords},
		{"CodeRefund", testCodeRefund},
		{"SlotsNeverOverbooked", testSlotsConcurrent},
		{"AppointmentsLifecycle", testAppointments},
		{"ReferenceRegistry", testReferences},
		{"Letters", testLetters},
		{"LogoutQueueClaimsExclusive", testLogoutQueue},
		{"OIDCClients", testOIDCClients},
		{"AppointmentsDeskAndMove", testAppointmentMoves},
		{"Schedules", testSchedules},
		{"RemindersOnce", testRemindersConcurrent},
		{"WaitingList", testWaitlist},
		{"PINServices", testPINServices},
		{"Passkeys", testPasskeys},
		{"AuditBySubject", testAuditBySubject},
		{"PasswordNotices", testPasswordNotices},
		{"DeregistrationEndsMethods", testDeregistrationEndsMethods},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ctx() context.Context { return context.Background() }

func mustCitizen(t *testing.T, s store.Citizens, i int) *identity.Citizen {
	t.Helper()
	c := seed.Citizen(i, store.NewID())
	if err := s.CreateCitizen(ctx(), &c); err != nil {
		t.Fatalf("create citizen %d: %v", i, err)
	}
	return &c
}

func mustOffice(t *testing.T, s store.Offices, code string) *identity.Office {
	t.Helper()
	o := identity.Office{ID: store.NewID(), Code: code, Name: "Oficina " + code, Address: "Plaça Major 1",
		PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona", Active: true}
	if err := s.CreateOffice(ctx(), &o); err != nil {
		t.Fatalf("create office: %v", err)
	}
	return &o
}

func testCitizenCreateAndFind(t *testing.T, s store.Store) {
	c := mustCitizen(t, s, 1)
	if c.Version != 1 || c.CreatedAt.IsZero() {
		t.Fatalf("after create: version %d created %v", c.Version, c.CreatedAt)
	}
	for name, find := range map[string]func() (*identity.Citizen, error){
		"by id":       func() (*identity.Citizen, error) { return s.CitizenByID(ctx(), c.ID) },
		"by document": func() (*identity.Citizen, error) { return s.CitizenByDocument(ctx(), c.Document.Number) },
		"by mobile":   func() (*identity.Citizen, error) { return s.CitizenByMobile(ctx(), c.Mobile) },
	} {
		got, err := find()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Document != c.Document || got.GivenName != c.GivenName || got.SecondSurname != c.SecondSurname ||
			got.BirthDate != c.BirthDate || got.DocValidity != c.DocValidity || got.Mobile != c.Mobile ||
			got.Email != c.Email || got.Level != c.Level || got.Status != c.Status || got.Language != c.Language ||
			got.Version != 1 || !got.CreatedAt.Equal(c.CreatedAt.Truncate(time.Microsecond)) {
			t.Fatalf("%s: got %+v, want %+v", name, got, c)
		}
	}
	if _, err := s.CitizenByDocument(ctx(), "00000000T"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown document: err = %v, want ErrNotFound", err)
	}
	if n, err := s.CountCitizens(ctx()); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

func testCitizenDuplicates(t *testing.T, s store.Store) {
	a := mustCitizen(t, s, 1)
	sameDoc := seed.Citizen(2, store.NewID())
	sameDoc.Document = a.Document
	if f, ok := store.IsDuplicate(s.CreateCitizen(ctx(), &sameDoc)); !ok || f != "document" {
		t.Fatalf("same document: duplicate field %q, %v", f, ok)
	}
	sameMobile := seed.Citizen(3, store.NewID())
	sameMobile.Mobile = a.Mobile
	if f, ok := store.IsDuplicate(s.CreateCitizen(ctx(), &sameMobile)); !ok || f != "mobile" {
		t.Fatalf("same mobile: duplicate field %q, %v", f, ok)
	}
	if n, _ := s.CountCitizens(ctx()); n != 1 {
		t.Fatalf("a refused duplicate was saved: count %d", n)
	}
	// The first record is intact.
	got, err := s.CitizenByDocument(ctx(), a.Document.Number)
	if err != nil || got.ID != a.ID {
		t.Fatalf("original lost: %v %v", got, err)
	}
}

func testCitizenDeregistered(t *testing.T, s store.Store) {
	a := mustCitizen(t, s, 1)
	a.Status = identity.StatusDeregistered
	if err := s.UpdateCitizen(ctx(), a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CitizenByDocument(ctx(), a.Document.Number); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deregistered record still found by document: %v", err)
	}
	again := seed.Citizen(1, store.NewID())
	if err := s.CreateCitizen(ctx(), &again); err != nil {
		t.Fatalf("re-registration after deregistration: %v", err)
	}
	old, err := s.CitizenByID(ctx(), a.ID)
	if err != nil || old.Status != identity.StatusDeregistered {
		t.Fatalf("history lost: %v %v", old, err)
	}
}

func testCitizenOptimistic(t *testing.T, s store.Store) {
	c := mustCitizen(t, s, 1)
	first, _ := s.CitizenByID(ctx(), c.ID)
	second, _ := s.CitizenByID(ctx(), c.ID)
	first.Email = "first@example.org"
	if err := s.UpdateCitizen(ctx(), first); err != nil {
		t.Fatal(err)
	}
	if first.Version != 2 {
		t.Fatalf("version after update = %d", first.Version)
	}
	second.Email = "second@example.org"
	if err := s.UpdateCitizen(ctx(), second); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale update: err = %v, want ErrStale", err)
	}
	got, _ := s.CitizenByID(ctx(), c.ID)
	if got.Email != "first@example.org" || got.Version != 2 {
		t.Fatalf("stale write won: %+v", got)
	}
}

// Many requests registering the same document at once: exactly one wins.
func testCitizenConcurrent(t *testing.T, s store.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := seed.Citizen(7, store.NewID())
			c.Mobile = seed.Mobile(100 + i)
			errs[i] = s.CreateCitizen(ctx(), &c)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if f, dup := store.IsDuplicate(err); !dup || f != "document" {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d registrations of one document succeeded, want 1", ok)
	}
}

func testCitizenList(t *testing.T, s store.Store) {
	for i := range 25 {
		mustCitizen(t, s, i)
	}
	seen := map[string]bool{}
	after := ""
	for pages := 0; ; pages++ {
		page, err := s.ListCitizens(ctx(), store.Page{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if seen[c.ID] {
				t.Fatalf("citizen %s listed twice", c.ID)
			}
			seen[c.ID] = true
		}
		after = page[len(page)-1].ID
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 25 {
		t.Fatalf("listed %d citizens, want 25", len(seen))
	}
}

func testOfficesOfficers(t *testing.T, s store.Store) {
	o := mustOffice(t, s, "BCN-01")
	mustOffice(t, s, "GIR-01")
	dup := identity.Office{ID: store.NewID(), Code: "BCN-01", Name: "x", Address: "x", PostalCode: "08001",
		Municipality: "x", Province: "x"}
	if f, ok := store.IsDuplicate(s.CreateOffice(ctx(), &dup)); !ok || f != "code" {
		t.Fatalf("duplicate office code: %q %v", f, ok)
	}
	o.Active = false
	if err := s.UpdateOffice(ctx(), o); err != nil {
		t.Fatal(err)
	}
	active, err := s.ListOffices(ctx(), true)
	if err != nil || len(active) != 1 || active[0].Code != "GIR-01" {
		t.Fatalf("active offices = %v, %v", active, err)
	}
	all, _ := s.ListOffices(ctx(), false)
	if len(all) != 2 {
		t.Fatalf("all offices = %d", len(all))
	}
	got, err := s.OfficeByCode(ctx(), "BCN-01")
	if err != nil || got.Active || got.Version != 2 {
		t.Fatalf("office by code: %+v %v", got, err)
	}

	off := identity.Officer{ID: store.NewID(), Username: "mgarcia", DisplayName: "Maria Garcia",
		PasswordHash: "$argon2id$x", OfficeID: o.ID, Role: identity.RoleOfficer, Status: identity.OfficerActive}
	if err := s.CreateOfficer(ctx(), &off); err != nil {
		t.Fatal(err)
	}
	again := off
	again.ID = store.NewID()
	if f, ok := store.IsDuplicate(s.CreateOfficer(ctx(), &again)); !ok || f != "username" {
		t.Fatalf("duplicate username: %q %v", f, ok)
	}
	orphan := off
	orphan.ID, orphan.Username, orphan.OfficeID = store.NewID(), "orphan", "no-such-office"
	if err := s.CreateOfficer(ctx(), &orphan); err == nil {
		t.Fatal("officer with an unknown office was saved")
	}
	off.TOTPSecretSealed, off.TOTPLastStep = "v1.k.sealed", 42
	if err := s.UpdateOfficer(ctx(), &off); err != nil {
		t.Fatal(err)
	}
	got2, err := s.OfficerByUsername(ctx(), "mgarcia")
	if err != nil || got2.TOTPSecretSealed != "v1.k.sealed" || got2.TOTPLastStep != 42 || got2.Role != identity.RoleOfficer {
		t.Fatalf("officer: %+v %v", got2, err)
	}
	list, _ := s.ListOfficers(ctx(), o.ID)
	if len(list) != 1 {
		t.Fatalf("officers of office = %d", len(list))
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.InTx(ctx(), func(tx store.Tx) error {
		c := seed.Citizen(1, store.NewID())
		if err := tx.CreateCitizen(ctx(), &c); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx(), &store.AuditEvent{Action: "citizen.register"}, func(e *store.AuditEvent) error {
			e.Hash = "h"
			return nil
		}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx err = %v", err)
	}
	if n, _ := s.CountCitizens(ctx()); n != 0 {
		t.Fatal("citizen of a rolled-back transaction was saved")
	}
	if seq, _, _ := s.AuditHead(ctx()); seq != 0 {
		t.Fatal("audit event of a rolled-back transaction was saved")
	}
	// And a committed one is all there.
	err = s.InTx(ctx(), func(tx store.Tx) error {
		c := seed.Citizen(2, store.NewID())
		return tx.CreateCitizen(ctx(), &c)
	})
	if n, _ := s.CountCitizens(ctx()); err != nil || n != 1 {
		t.Fatalf("committed tx: %v, count %d", err, n)
	}
}

func sealWith(e *store.AuditEvent) error {
	e.Hash = fmt.Sprintf("%s>%d", e.PrevHash, e.Seq)
	return nil
}

func testAuditConcurrent(t *testing.T, s store.Store) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := &store.AuditEvent{Actor: fmt.Sprintf("w%d", w), Action: "test.append", Subject: fmt.Sprint(i),
					Outcome: "ok", Details: map[string]string{"i": fmt.Sprint(i)}}
				if err := s.AppendAudit(ctx(), e, sealWith); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var prev string
	var n int64
	err := s.ScanAudit(ctx(), 1, func(e store.AuditEvent) error {
		n++
		if e.Seq != n {
			return fmt.Errorf("seq %d at position %d", e.Seq, n)
		}
		if e.PrevHash != prev || e.Hash != fmt.Sprintf("%s>%d", prev, e.Seq) {
			return fmt.Errorf("event %d breaks the chain", e.Seq)
		}
		if e.Details["i"] == "" || e.At.IsZero() {
			return fmt.Errorf("event %d lost fields: %+v", e.Seq, e)
		}
		prev = e.Hash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*each {
		t.Fatalf("%d events, want %d", n, workers*each)
	}
	seq, hash, err := s.AuditHead(ctx())
	if err != nil || seq != n || hash != prev {
		t.Fatalf("head = %d %q, want %d %q (%v)", seq, hash, n, prev, err)
	}
}

func testAuditList(t *testing.T, s store.Store) {
	for i, a := range []string{"login.ok", "login.fail", "citizen.register", "login.ok"} {
		e := &store.AuditEvent{Actor: "citizen:a", Action: a, Subject: fmt.Sprintf("citizen:%d", i%2)}
		if err := s.AppendAudit(ctx(), e, sealWith); err != nil {
			t.Fatal(err)
		}
	}
	logins, err := s.ListAudit(ctx(), store.AuditFilter{Action: "login."})
	if err != nil || len(logins) != 3 || logins[0].Seq != 4 {
		t.Fatalf("login events newest first: %+v %v", logins, err)
	}
	subj, _ := s.ListAudit(ctx(), store.AuditFilter{Subject: "citizen:1"})
	if len(subj) != 2 {
		t.Fatalf("by subject = %d", len(subj))
	}
	page, _ := s.ListAudit(ctx(), store.AuditFilter{Before: 3, Limit: 1})
	if len(page) != 1 || page[0].Seq != 2 {
		t.Fatalf("paging = %+v", page)
	}
	// '_' and '%' in a filter are themselves, not LIKE's wildcards.
	for _, a := range []string{"saml.authn_request", "saml.authnXrequest", "saml.50%", "saml.50x"} {
		if err := s.AppendAudit(ctx(), &store.AuditEvent{Actor: "sp:x", Action: a}, sealWith); err != nil {
			t.Fatal(err)
		}
	}
	for filter, want := range map[string][]string{
		"saml.authn_request": {"saml.authn_request"},
		"saml.authn_":        {"saml.authn_request"},
		"saml.50%":           {"saml.50%"},
		"saml.":              {"saml.50x", "saml.50%", "saml.authnXrequest", "saml.authn_request"},
	} {
		got, err := s.ListAudit(ctx(), store.AuditFilter{Action: filter})
		var names []string
		for _, e := range got {
			names = append(names, e.Action)
		}
		if err != nil || !slices.Equal(names, want) {
			t.Errorf("action filter %q = %v (%v), want %v", filter, names, err, want)
		}
	}
}

func testCodes(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	first := &store.Code{ID: store.NewID(), Purpose: "activation", Subject: "c1", Hash: "h1",
		ExpiresAt: now.Add(time.Hour), MaxAttempts: 3}
	if err := s.ReplaceCode(ctx(), first); err != nil {
		t.Fatal(err)
	}
	second := &store.Code{ID: store.NewID(), Purpose: "activation", Subject: "c1", Hash: "h2",
		ExpiresAt: now.Add(time.Hour), MaxAttempts: 3}
	if err := s.ReplaceCode(ctx(), second); err != nil {
		t.Fatal(err)
	}
	live, err := s.LiveCode(ctx(), "activation", "c1")
	if err != nil || live.ID != second.ID || live.Hash != "h2" {
		t.Fatalf("live code = %+v %v; a new code must kill the old", live, err)
	}
	for want := 1; want <= 3; want++ {
		n, err := s.SpendCodeAttempt(ctx(), second.ID)
		if err != nil || n != want {
			t.Fatalf("attempt %d: %d %v", want, n, err)
		}
	}
	if _, err := s.SpendCodeAttempt(ctx(), second.ID); !errors.Is(err, store.ErrStale) {
		t.Fatalf("attempt past the limit: %v", err)
	}
	other := &store.Code{ID: store.NewID(), Purpose: "sms_otp", Subject: "c1", Hash: "h3",
		ExpiresAt: now.Add(-time.Minute), MaxAttempts: 3}
	if err := s.ReplaceCode(ctx(), other); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeCode(ctx(), other.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeCode(ctx(), other.ID, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("second consume: %v", err)
	}
	if _, err := s.LiveCode(ctx(), "sms_otp", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consumed code still live: %v", err)
	}
	n, err := s.DeleteCodesBefore(ctx(), now)
	if err != nil || n != 1 {
		t.Fatalf("delete expired = %d %v", n, err)
	}
}

func testCodesConcurrent(t *testing.T, s store.Store) {
	c := &store.Code{ID: store.NewID(), Purpose: "sms_otp", Subject: "tx", Hash: "h",
		ExpiresAt: time.Now().Add(time.Hour), MaxAttempts: 3}
	if err := s.ReplaceCode(ctx(), c); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.SpendCodeAttempt(ctx(), c.ID); err == nil {
				mu.Lock()
				granted++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrStale) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if granted != 3 {
		t.Fatalf("%d attempts granted concurrently, want exactly 3", granted)
	}
}

func testCounters(t *testing.T, s store.Store) {
	const n = 24
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateCounter(ctx(), "login:doc:X", func(c *store.Counter) error {
				c.Count++
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := s.Counter(ctx(), "login:doc:X")
	if err != nil || c.Count != n {
		t.Fatalf("counter = %d (%v), want %d: increments were lost", c.Count, err, n)
	}
	lock := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if _, err := s.UpdateCounter(ctx(), "login:doc:X", func(c *store.Counter) error {
		c.LockedUntil, c.Lockouts = lock, c.Lockouts+1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Counter(ctx(), "login:doc:X")
	if !c.LockedUntil.Equal(lock) || c.Lockouts != 1 {
		t.Fatalf("lock not kept: %+v", c)
	}
	if err := s.DeleteCounter(ctx(), "login:doc:X"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Counter(ctx(), "login:doc:X"); c.Count != 0 {
		t.Fatalf("deleted counter = %+v", c)
	}
}

func testOutboxEnqueue(t *testing.T, s store.Store) {
	base := time.Now().UTC()
	for i := range 3 {
		m := &store.OutboxMessage{ID: store.NewID(), Channel: "sms", Recipient: "+34600000001",
			Body: fmt.Sprintf("msg %d", i), Language: "ca", EventKey: fmt.Sprintf("ev-%d", i),
			CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if ok, err := s.EnqueueMessage(ctx(), m); err != nil || !ok {
			t.Fatalf("enqueue %d: %v %v", i, ok, err)
		}
	}
	again := &store.OutboxMessage{ID: store.NewID(), Channel: "sms", Recipient: "+34600000001",
		Body: "msg 0 again", EventKey: "ev-0"}
	if ok, err := s.EnqueueMessage(ctx(), again); err != nil || ok {
		t.Fatalf("second message for one event: stored=%v err=%v", ok, err)
	}
	list, err := s.ListMessages(ctx(), 10)
	if err != nil || len(list) != 3 || list[0].Body != "msg 2" || list[2].Body != "msg 0" {
		t.Fatalf("list newest first = %+v %v", list, err)
	}
}

func testOutboxClaims(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	for i := range 30 {
		m := &store.OutboxMessage{ID: store.NewID(), Channel: "email", Recipient: "a@example.org",
			Body: "b", EventKey: fmt.Sprintf("e%d", i), CreatedAt: now}
		if _, err := s.EnqueueMessage(ctx(), m); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ms, err := s.ClaimMessages(ctx(), now.Add(time.Second), time.Minute, 5)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, m := range ms {
					got[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 30 {
		t.Fatalf("claimed %d distinct messages, want 30", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("message %s claimed %d times", id, n)
		}
	}
	// Claims expire: a dispatcher that died lets another take over.
	later, err := s.ClaimMessages(ctx(), now.Add(2*time.Minute), time.Minute, 100)
	if err != nil || len(later) != 30 {
		t.Fatalf("reclaim after lease = %d %v", len(later), err)
	}
	m := later[0]
	m.Status, m.Attempts, m.SentAt, m.Driver = store.MsgSent, 1, now, "outbox"
	if err := s.FinishMessage(ctx(), &m); err != nil {
		t.Fatal(err)
	}
	got2, err := s.MessageByID(ctx(), m.ID)
	if err != nil || got2.Status != store.MsgSent || got2.Attempts != 1 || got2.Driver != "outbox" {
		t.Fatalf("finished message = %+v %v", got2, err)
	}
	if again, _ := s.ClaimMessages(ctx(), now.Add(time.Hour), time.Minute, 100); len(again) != 29 {
		t.Fatalf("sent message claimed again: %d due", len(again))
	}
}

func testReseal(t *testing.T, s store.Store) {
	o := mustOffice(t, s, "BCN-01")
	off := identity.Officer{ID: store.NewID(), Username: "a", DisplayName: "A", PasswordHash: "x",
		TOTPSecretSealed: "old", OfficeID: o.ID, Role: identity.RoleAdmin, Status: identity.OfficerActive}
	if err := s.CreateOfficer(ctx(), &off); err != nil {
		t.Fatal(err)
	}
	n, err := s.ResealAll(ctx(), func(v store.SealedValue) (string, error) {
		if v.Table != "officers" || v.RowID != off.ID || v.Value != "old" {
			return "", fmt.Errorf("unexpected %+v", v)
		}
		return "new", nil
	})
	if err != nil || n != 1 {
		t.Fatalf("reseal = %d %v", n, err)
	}
	got, _ := s.OfficerByID(ctx(), off.ID)
	if got.TOTPSecretSealed != "new" {
		t.Fatalf("resealed value = %q", got.TOTPSecretSealed)
	}

	// Sealed values inside flows' JSON are found and re-sealed too.
	f := &store.Flow{ID: store.NewID(), Kind: "oidc_key", State: "ok", Data: []byte(`{"signing":"v1.k1.old","n":3}`),
		ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateFlow(ctx(), f); err != nil {
		t.Fatal(err)
	}
	n, err = s.ResealAll(ctx(), func(v store.SealedValue) (string, error) {
		if v.Table == "flows" {
			if v.Column != "data.signing" || v.RowID != f.ID || v.Value != "v1.k1.old" {
				return "", fmt.Errorf("unexpected %+v", v)
			}
			return "v1.k2.new", nil
		}
		return v.Value, nil
	})
	if err != nil || n != 1 {
		t.Fatalf("reseal flows = %d %v", n, err)
	}
	gf, _ := s.FlowByID(ctx(), "oidc_key", f.ID)
	if !strings.Contains(string(gf.Data), `"signing":"v1.k2.new"`) || !strings.Contains(string(gf.Data), `"n":3`) {
		t.Fatalf("flow data after reseal = %s", gf.Data)
	}
}

func testFlows(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	f := &store.Flow{ID: store.NewID(), Kind: "activation", State: "code_ok", Subject: "c1",
		Data: []byte(`{"step":1}`), ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFlow(ctx(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FlowByID(ctx(), "login", f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("flow found under another kind: %v", err)
	}
	a, _ := s.FlowByID(ctx(), "activation", f.ID)
	b, _ := s.FlowByID(ctx(), "activation", f.ID)
	a.State, a.Data = "sms_sent", []byte(`{"step":2}`)
	if err := s.UpdateFlow(ctx(), a); err != nil || a.Version != 2 {
		t.Fatalf("update: %v, version %d", err, a.Version)
	}
	b.State = "done"
	if err := s.UpdateFlow(ctx(), b); !errors.Is(err, store.ErrStale) {
		t.Fatalf("a double submit must lose: %v", err)
	}
	got, _ := s.FlowByID(ctx(), "activation", f.ID)
	if got.State != "sms_sent" || string(got.Data) != `{"step":2}` {
		t.Fatalf("flow = %+v", got)
	}
	if n, err := s.DeleteFlowsBefore(ctx(), now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("delete expired flows = %d %v", n, err)
	}
}

func testSessions(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	se := &store.Session{ID: "hash-1", Kind: store.SessionCitizen, Subject: "c1", LoA: "low", AMR: []string{"pwd"},
		AuthTime: now, ExpiresAt: now.Add(8 * time.Hour), Source: "203.0.113.1", UserAgent: "test"}
	if err := s.CreateSession(ctx(), se); err != nil {
		t.Fatal(err)
	}
	other := &store.Session{ID: "hash-2", Kind: store.SessionCitizen, Subject: "c1", LoA: "low",
		AuthTime: now, ExpiresAt: now.Add(-time.Minute)}
	if err := s.CreateSession(ctx(), other); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByID(ctx(), "hash-1")
	if err != nil || got.LoA != "low" || len(got.AMR) != 1 || !got.AuthTime.Equal(now) {
		t.Fatalf("session = %+v %v", got, err)
	}
	got.LoA, got.AMR = "substantial", []string{"pwd", "sms"}
	if err := s.UpdateSession(ctx(), got); err != nil {
		t.Fatal(err)
	}
	stale, _ := s.SessionByID(ctx(), "hash-1")
	stale.Version--
	if err := s.UpdateSession(ctx(), stale); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale session update: %v", err)
	}
	live, _ := s.ListSessions(ctx(), store.SessionCitizen, "c1", now)
	if len(live) != 1 || live[0].ID != "hash-1" || live[0].LoA != "substantial" {
		t.Fatalf("live sessions = %+v", live)
	}
	if err := s.RevokeSession(ctx(), "hash-1", now); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.ListSessions(ctx(), store.SessionCitizen, "c1", now); len(live) != 0 {
		t.Fatal("a revoked session is still listed")
	}
	if got, _ := s.SessionByID(ctx(), "hash-1"); got.RevokedAt.IsZero() {
		t.Fatal("revocation not recorded")
	}
}

func testPasswords(t *testing.T, s store.Store) {
	c := mustCitizen(t, s, 1)
	if _, err := s.PasswordOf(ctx(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("password before any: %v", err)
	}
	p := &store.Password{CitizenID: c.ID, Hash: "h1"}
	if err := s.SetPassword(ctx(), p); err != nil || p.Version != 1 {
		t.Fatalf("set: %v %d", err, p.Version)
	}
	p2 := &store.Password{CitizenID: c.ID, Hash: "h2"}
	if err := s.SetPassword(ctx(), p2); err != nil || p2.Version != 2 {
		t.Fatalf("replace: %v %d", err, p2.Version)
	}
	p.Hash = "rehash-of-h1"
	if err := s.UpdatePasswordHash(ctx(), p); !errors.Is(err, store.ErrStale) {
		t.Fatalf("a rehash must not overwrite a newer password: %v", err)
	}
	got, _ := s.PasswordOf(ctx(), c.ID)
	if got.Hash != "h2" {
		t.Fatalf("password = %+v", got)
	}
	noSuch := &store.Password{CitizenID: "no-such-citizen", Hash: "x"}
	if err := s.SetPassword(ctx(), noSuch); err == nil {
		t.Fatal("a password for an unknown citizen was saved")
	}
}

func testCodeRefund(t *testing.T, s store.Store) {
	c := &store.Code{ID: store.NewID(), Purpose: "activation", Subject: "c", Hash: "h",
		ExpiresAt: time.Now().Add(time.Hour), MaxAttempts: 5}
	if err := s.ReplaceCode(ctx(), c); err != nil {
		t.Fatal(err)
	}
	s.SpendCodeAttempt(ctx(), c.ID)
	if err := s.RefundCodeAttempt(ctx(), c.ID); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.LiveCode(ctx(), "activation", "c"); live.Attempts != 0 {
		t.Fatalf("attempts after refund = %d", live.Attempts)
	}
	if err := s.RefundCodeAttempt(ctx(), c.ID); !errors.Is(err, store.ErrStale) {
		t.Fatalf("refund below zero: %v", err)
	}
}

func mustSlot(t *testing.T, s store.Store, capacity int, start time.Time) (*identity.Office, store.Slot) {
	t.Helper()
	o := mustOffice(t, s, "APT-01")
	sl := store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: start, EndsAt: start.Add(15 * time.Minute), Capacity: capacity}
	if n, err := s.AddSlots(ctx(), []store.Slot{sl, sl}); err != nil || n != 1 {
		t.Fatalf("add slots = %d %v (the same start twice must be added once)", n, err)
	}
	return o, sl
}

func appt(slot string, i int) *store.Appointment {
	return &store.Appointment{ID: store.NewID(), SlotID: slot, DocNumber: seed.DNI(i), Name: "Citizen", Language: "ca",
		RefHash: store.NewID()}
}

// Many citizens click the same slot at once: exactly its capacity books.
func testSlotsConcurrent(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	_, sl := mustSlot(t, s, 3, now.Add(24*time.Hour))
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Book(ctx(), appt(sl.ID, i), now)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, store.ErrSlotFull) {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 3 {
		t.Fatalf("%d bookings of a 3-place slot succeeded", ok)
	}
	got, _ := s.ListSlots(ctx(), sl.OfficeID, now, now.Add(48*time.Hour))
	if len(got) != 1 || got[0].Booked != 3 {
		t.Fatalf("slot after the rush = %+v", got)
	}
}

func testAppointments(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	o, sl := mustSlot(t, s, 2, now.Add(time.Hour))
	a := appt(sl.ID, 1)
	if err := s.Book(ctx(), a, now); err != nil || a.OfficeID != o.ID || a.Status != store.ApptBooked {
		t.Fatalf("book: %v %+v", err, a)
	}
	again := appt(sl.ID, 1)
	if f, ok := store.IsDuplicate(s.Book(ctx(), again, now)); !ok || f != "document" {
		t.Fatalf("second live appointment for one document: %q %v", f, ok)
	}
	got, err := s.AppointmentByRef(ctx(), a.RefHash)
	if err != nil || got.ID != a.ID {
		t.Fatalf("by reference: %v", err)
	}
	if err := s.SetAppointmentStatus(ctx(), got, store.ApptCancelled); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppointmentStatus(ctx(), got, store.ApptCancelled); !errors.Is(err, store.ErrStale) {
		t.Fatalf("cancelling twice: %v", err)
	}
	slots, _ := s.ListSlots(ctx(), o.ID, now, now.Add(2*time.Hour))
	if slots[0].Booked != 0 {
		t.Fatalf("a cancelled appointment kept its place: %+v", slots[0])
	}
	// The document may book again once its appointment is cancelled.
	if err := s.Book(ctx(), appt(sl.ID, 1), now); err != nil {
		t.Fatalf("rebook after cancel: %v", err)
	}
	// Past slots cannot be booked.
	if err := s.Book(ctx(), appt(sl.ID, 2), now.Add(2*time.Hour)); !errors.Is(err, store.ErrSlotFull) {
		t.Fatalf("booking a past slot: %v", err)
	}
	list, err := s.ListAppointments(ctx(), o.ID, now, now.Add(2*time.Hour))
	if err != nil || len(list) != 2 {
		t.Fatalf("day view = %d %v", len(list), err)
	}
}

func testLogoutQueue(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	for i := range 12 {
		d := &store.LogoutDelivery{ID: store.NewID(), ClientID: "rp", URI: "https://rp.example/bcl",
			Subject: fmt.Sprintf("sub-%d", i), SID: "sid", CreatedAt: now}
		if err := s.EnqueueLogout(ctx(), d); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 6 {
				ds, err := s.ClaimLogouts(ctx(), now.Add(time.Second), time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					got[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 12 {
		t.Fatalf("claimed %d of 12", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
	// Nothing is due while the claims hold; an expired claim is due again.
	if ds, _ := s.ClaimLogouts(ctx(), now.Add(30*time.Second), time.Minute, 50); len(ds) != 0 {
		t.Fatalf("claimed again under a live lease: %d", len(ds))
	}
	ds, err := s.ClaimLogouts(ctx(), now.Add(2*time.Minute), time.Minute, 50)
	if err != nil || len(ds) != 12 {
		t.Fatalf("after the lease: %d %v", len(ds), err)
	}
	d := ds[0]
	d.Status, d.Attempts, d.LastError, d.NextAttemptAt = store.MsgPending, 1, "answered 503", now.Add(time.Hour)
	if err := s.FinishLogout(ctx(), &d); err != nil {
		t.Fatal(err)
	}
	e := ds[1]
	e.Status, e.Attempts, e.SentAt = store.MsgSent, 1, now
	if err := s.FinishLogout(ctx(), &e); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListLogouts(ctx(), 50)
	if err != nil || len(list) != 12 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	for _, l := range list {
		switch l.ID {
		case d.ID:
			if l.Status != store.MsgPending || l.Attempts != 1 || l.LastError != "answered 503" || !l.NextAttemptAt.Equal(d.NextAttemptAt.Truncate(time.Microsecond)) {
				t.Errorf("retry recorded as %+v", l)
			}
		case e.ID:
			if l.Status != store.MsgSent || l.SentAt.IsZero() {
				t.Errorf("delivery recorded as %+v", l)
			}
		}
	}
	if err := s.FinishLogout(ctx(), &store.LogoutDelivery{ID: "nope", Status: store.MsgSent}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finishing an unknown delivery: %v", err)
	}
}

// The desk marks arrivals, no-shows and registrations; a citizen moves
// to another slot, never losing the old place when the new one is taken.
func testAppointmentMoves(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	o, sl := mustSlot(t, s, 1, now.Add(time.Hour))
	other := store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: now.Add(2 * time.Hour), EndsAt: now.Add(2*time.Hour + 15*time.Minute), Capacity: 1}
	third := store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: now.Add(3 * time.Hour), EndsAt: now.Add(3*time.Hour + 15*time.Minute), Capacity: 1}
	if _, err := s.AddSlots(ctx(), []store.Slot{other, third}); err != nil {
		t.Fatal(err)
	}
	a := appt(sl.ID, 1)
	if err := s.Book(ctx(), a, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.AppointmentByID(ctx(), a.ID)
	if err != nil || got.RefHash != a.RefHash || !got.StartsAt.Equal(sl.StartsAt.Truncate(time.Microsecond)) {
		t.Fatalf("by id: %v %+v", err, got)
	}
	if _, err := s.AppointmentByID(ctx(), store.NewID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	// The other slot is taken by someone else: the move fails and the
	// appointment keeps its place.
	b := appt(other.ID, 2)
	if err := s.Book(ctx(), b, now); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveAppointment(ctx(), got, other.ID, now); !errors.Is(err, store.ErrSlotFull) {
		t.Fatalf("move to a full slot: %v", err)
	}
	if err := s.SetAppointmentStatus(ctx(), b, store.ApptCancelled); err != nil {
		t.Fatal(err)
	}
	stale := *got
	if err := s.MoveAppointment(ctx(), got, other.ID, now); err != nil || got.SlotID != other.ID || !got.StartsAt.Equal(other.StartsAt.Truncate(time.Microsecond)) {
		t.Fatalf("move: %v %+v", err, got)
	}
	// A second move from the old version is stale and takes nothing.
	if err := s.MoveAppointment(ctx(), &stale, third.ID, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale move: %v", err)
	}
	slots, _ := s.ListSlots(ctx(), o.ID, now, now.Add(4*time.Hour))
	if len(slots) != 3 || slots[0].Booked != 0 || slots[1].Booked != 1 || slots[2].Booked != 0 {
		t.Fatalf("slots after the move: %+v", slots)
	}
	// Past slots cannot be moved to.
	if err := s.MoveAppointment(ctx(), got, sl.ID, now.Add(90*time.Minute)); !errors.Is(err, store.ErrSlotFull) {
		t.Fatalf("move to a past slot: %v", err)
	}
	// Desk: arrived, then registered; a no-show is only from booked.
	if err := s.SetAppointmentStatus(ctx(), got, store.ApptAttended); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppointmentStatus(ctx(), got, store.ApptNoShow); !errors.Is(err, store.ErrStale) {
		t.Fatalf("no-show after arrival: %v", err)
	}
	if err := s.SetAppointmentStatus(ctx(), got, store.ApptDone); err != nil || got.Status != store.ApptDone {
		t.Fatalf("done: %v", err)
	}
	if err := s.SetAppointmentStatus(ctx(), got, store.ApptCancelled); !errors.Is(err, store.ErrStale) {
		t.Fatalf("cancel after done: %v", err)
	}
	if err := s.SetAppointmentStatus(ctx(), got, "bogus"); !errors.Is(err, store.ErrStale) {
		t.Fatalf("unknown status: %v", err)
	}
	slots, _ = s.ListSlots(ctx(), o.ID, now, now.Add(3*time.Hour))
	if slots[1].Booked != 1 {
		t.Fatalf("a visit that happened gave its place back: %+v", slots[1])
	}
}

func testSchedules(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	o, sl := mustSlot(t, s, 2, now.Add(time.Hour))
	hours := []store.OfficeHours{{Weekday: time.Monday, Open: "09:00", Close: "14:00", SlotMinutes: 15, Desks: 2},
		{Weekday: time.Thursday, Open: "16:00", Close: "18:30", SlotMinutes: 20, Desks: 1}}
	if err := s.SetOfficeHours(ctx(), o.ID, hours); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOfficeHours(ctx(), o.ID, hours[1:]); err != nil {
		t.Fatal(err)
	}
	got, err := s.OfficeHours(ctx(), o.ID)
	if err != nil || len(got) != 1 || got[0] != hours[1] {
		t.Fatalf("hours = %+v %v", got, err)
	}
	if err := s.AddClosure(ctx(), o.ID, store.Closure{Day: "2026-12-25", Reason: "Nadal"}); err != nil {
		t.Fatal(err)
	}
	if f, ok := store.IsDuplicate(s.AddClosure(ctx(), o.ID, store.Closure{Day: "2026-12-25", Reason: "again"})); !ok || f != "day" {
		t.Fatalf("closing a day twice: %q %v", f, ok)
	}
	if cl, err := s.Closures(ctx(), o.ID); err != nil || len(cl) != 1 || cl[0].Reason != "Nadal" {
		t.Fatalf("closures = %+v %v", cl, err)
	}
	if err := s.DeleteClosure(ctx(), o.ID, "2026-12-25"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClosure(ctx(), o.ID, "2026-12-25"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	// Two booked, then closed: nobody books; reopened with one desk, the
	// capacity stays at what is booked.
	for i := range 2 {
		if err := s.Book(ctx(), appt(sl.ID, 40+i), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetAppointmentStatus(ctx(), mustAppt(t, s, o.ID, now), store.ApptCancelled); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseSlot(ctx(), sl.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Book(ctx(), appt(sl.ID, 42), now); !errors.Is(err, store.ErrSlotFull) {
		t.Fatalf("booking a closed slot: %v", err)
	}
	again := sl
	again.ID, again.Capacity = store.NewID(), 0
	extra := store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: sl.StartsAt.Add(time.Hour), EndsAt: sl.StartsAt.Add(75 * time.Minute), Capacity: 3}
	if err := s.PutSlots(ctx(), []store.Slot{again, extra}); err != nil {
		t.Fatal(err)
	}
	slots, _ := s.ListSlots(ctx(), o.ID, now, now.Add(3*time.Hour))
	if len(slots) != 2 || slots[0].ID != sl.ID || slots[0].Closed || slots[0].Capacity != 1 || slots[0].Booked != 1 || slots[1].Capacity != 3 {
		t.Fatalf("slots after put = %+v", slots)
	}
}

func mustAppt(t *testing.T, s store.Store, officeID string, now time.Time) *store.Appointment {
	t.Helper()
	list, err := s.ListAppointments(ctx(), officeID, now, now.Add(48*time.Hour))
	if err != nil || len(list) == 0 {
		t.Fatalf("appointments: %v", err)
	}
	return &list[0]
}

// Many processes send reminders at once: each appointment is marked once.
func testRemindersConcurrent(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	o, sl := mustSlot(t, s, 5, now.Add(20*time.Hour))
	for i := range 3 {
		if err := s.Book(ctx(), appt(sl.ID, 50+i), now); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueReminders(ctx(), now, now.Add(24*time.Hour), 10)
	if err != nil || len(due) != 3 || due[0].OfficeID != o.ID {
		t.Fatalf("due = %d %v", len(due), err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[string]int{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, a := range due {
				err := s.MarkReminded(ctx(), a.ID, now)
				mu.Lock()
				if err == nil {
					wins[a.ID]++
				} else if !errors.Is(err, store.ErrStale) {
					t.Errorf("mark: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, a := range due {
		if wins[a.ID] != 1 {
			t.Fatalf("appointment %s marked %d times", a.ID, wins[a.ID])
		}
	}
	if due, _ := s.DueReminders(ctx(), now, now.Add(24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("still due after marking: %d", len(due))
	}
}

func testPINServices(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := mustCitizen(t, s, 1)
	if _, err := s.PINServiceOf(ctx(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no service yet: %v", err)
	}
	p := &store.PINService{CitizenID: c.ID, PersonalCodeHash: "h1", EnabledAt: now, ExpiresAt: now.Add(48 * time.Hour),
		EnabledBy: "citizen:" + c.ID}
	if err := s.SetPINService(ctx(), p); err != nil || p.Version != 1 {
		t.Fatalf("enable: %v %+v", err, p)
	}
	due, err := s.PINServicesToNotify(ctx(), now, now.Add(72*time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].CitizenID != c.ID || !due[0].ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("to notify: %v %+v", err, due)
	}
	if due, _ := s.PINServicesToNotify(ctx(), now, now.Add(24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("not due yet listed: %+v", due)
	}
	stale := due[0]
	if err := s.MarkPINNoticeSent(ctx(), &due[0], now); err != nil {
		t.Fatalf("mark: %v", err)
	}
	if err := s.MarkPINNoticeSent(ctx(), &stale, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("second notice: %v", err)
	}
	if due, _ := s.PINServicesToNotify(ctx(), now, now.Add(72*time.Hour), 10); len(due) != 0 {
		t.Fatalf("notified again: %+v", due)
	}
	// Renewing clears the notice and moves the expiry.
	p.ExpiresAt, p.PersonalCodeHash = now.Add(96*time.Hour), ""
	if err := s.SetPINService(ctx(), p); err != nil || p.Version != 3 {
		t.Fatalf("renew: %v %+v", err, p)
	}
	got, err := s.PINServiceOf(ctx(), c.ID)
	if err != nil || !got.NoticeSentAt.IsZero() || got.PersonalCodeHash != "" || !got.ExpiresAt.Equal(now.Add(96*time.Hour)) {
		t.Fatalf("after renew: %v %+v", err, got)
	}
	if err := s.DeletePINService(ctx(), c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePINService(ctx(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testPasskeys(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	c, d := mustCitizen(t, s, 1), mustCitizen(t, s, 2)
	k1 := &store.Passkey{ID: store.NewID(), CitizenID: c.ID, CredentialID: []byte{0, 1, 2, 255}, Name: "Mòbil",
		Credential: []byte(`{"a":1}`), SignCount: 3, CreatedAt: now}
	k2 := &store.Passkey{ID: store.NewID(), CitizenID: c.ID, CredentialID: []byte{9}, Name: "Portàtil",
		Credential: []byte(`{}`), CreatedAt: now.Add(time.Second)}
	for _, k := range []*store.Passkey{k1, k2} {
		if err := s.CreatePasskey(ctx(), k); err != nil {
			t.Fatal(err)
		}
	}
	dup := &store.Passkey{ID: store.NewID(), CitizenID: d.ID, CredentialID: []byte{9}, Name: "x", Credential: []byte(`{}`)}
	if f, ok := store.IsDuplicate(s.CreatePasskey(ctx(), dup)); !ok || f != "credential" {
		t.Fatalf("duplicate credential: %q %v", f, ok)
	}
	list, err := s.PasskeysOf(ctx(), c.ID)
	if err != nil || len(list) != 2 || list[0].Name != "Mòbil" || list[1].Name != "Portàtil" {
		t.Fatalf("list: %v %+v", err, list)
	}
	got, err := s.PasskeyByCredentialID(ctx(), []byte{0, 1, 2, 255})
	if err != nil || got.ID != k1.ID || got.SignCount != 3 || string(got.Credential) != `{"a":1}` {
		t.Fatalf("by credential: %v %+v", err, got)
	}
	got.SignCount, got.LastUsedAt, got.Credential = 4, now, []byte(`{"a":2}`)
	if err := s.UsePasskey(ctx(), got, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.UsePasskey(ctx(), got, 3); !errors.Is(err, store.ErrStale) {
		t.Fatalf("use with an old counter: %v", err)
	}
	if err := s.DeletePasskey(ctx(), d.ID, k1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another citizen deleted it: %v", err)
	}
	if err := s.DeletePasskey(ctx(), c.ID, k1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasskeyByCredentialID(ctx(), []byte{0, 1, 2, 255}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed passkey found: %v", err)
	}
}

func testOIDCClients(t *testing.T, s store.Store) {
	for _, id := range []string{"seu", "ajuntament"} {
		if err := s.CreateOIDCClient(ctx(), &store.OIDCClientRecord{ID: id, Settings: []byte(`{"id":"` + id + `"}`),
			SecretHash: "k1.h-" + id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, dup := store.IsDuplicate(s.CreateOIDCClient(ctx(), &store.OIDCClientRecord{ID: "seu", Settings: []byte("{}")})); !dup {
		t.Fatal("a second client with one ID")
	}
	c, err := s.OIDCClientByID(ctx(), "seu")
	if err != nil || c.SecretHash != "k1.h-seu" || string(c.Settings) != `{"id":"seu"}` || c.CreatedAt.IsZero() {
		t.Fatalf("by id: %+v %v", c, err)
	}
	list, err := s.ListOIDCClients(ctx())
	if err != nil || len(list) != 2 || list[0].ID != "ajuntament" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.DeleteOIDCClient(ctx(), "seu"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOIDCClient(ctx(), "seu"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.OIDCClientByID(ctx(), "seu"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// First come, first served, and each waiting citizen offered once however
// many places free at once.
func testWaitlist(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	o := mustOffice(t, s, "WAIT-01")
	for i := range 6 {
		e := &store.WaitEntry{ID: store.NewID(), OfficeID: o.ID, DocNumber: seed.DNI(60 + i), Name: "W", Language: "ca",
			CreatedAt: now.Add(time.Duration(i) * time.Second)}
		if err := s.JoinWaitlist(ctx(), e); err != nil {
			t.Fatal(err)
		}
	}
	dup := &store.WaitEntry{ID: store.NewID(), OfficeID: o.ID, DocNumber: seed.DNI(60), Name: "W", Language: "ca"}
	if f, ok := store.IsDuplicate(s.JoinWaitlist(ctx(), dup)); !ok || f != "document" {
		t.Fatalf("waiting twice: %q %v", f, ok)
	}
	first, err := s.OfferNext(ctx(), o.ID, now)
	if err != nil || first.DocNumber != seed.DNI(60) || first.Status != "offered" {
		t.Fatalf("first offer: %+v %v", first, err)
	}
	// Once offered, the document may queue again.
	if err := s.JoinWaitlist(ctx(), dup); err != nil {
		t.Fatalf("queue again after an offer: %v", err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.OfferNext(ctx(), o.ID, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				got[e.DocNumber]++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("offer: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(got) != 6 {
		t.Fatalf("offers = %v, want the 6 waiting", got)
	}
	for d, n := range got {
		if n != 1 {
			t.Fatalf("%s offered %d times", d, n)
		}
	}
	if _, err := s.OfferNext(ctx(), o.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty queue: %v", err)
	}
}
