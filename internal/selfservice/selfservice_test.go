package selfservice_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/selfservice"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

const current = "Groc-Mar-Tramuntana-7"

type world struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	svc   *selfservice.Service
	c     *identity.Citizen
}

func newWorld(t *testing.T, driver string) *world {
	t.Helper()
	ctx := context.Background()
	s := sqltest.Open(t, driver)
	clk := fakeclock.New(time.Now())
	kr, _ := secure.NewKeyring(nil, time.Now())
	codes := secure.NewOneTimeCodes(kr, clk.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	c := seed.Citizen(7, store.NewID())
	c.Status, c.Email, c.Language = identity.StatusActive, "old@example.org", "es"
	if err := s.CreateCitizen(ctx, &c); err != nil {
		t.Fatal(err)
	}
	h, err := hasher.Hash(ctx, current)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, &store.Password{CitizenID: c.ID, Hash: h, SetAt: clk.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	svc := selfservice.New(s, codes, hasher, n, permanent.New(s, hasher, codes, n, clk.Now), broker.New(s, broker.Options{Now: clk.Now}),
		selfservice.Options{Now: clk.Now})
	return &world{t: t, ctx: ctx, store: s, svc: svc, c: &c}
}

// count returns how many messages went to an address and how many
// events of action succeeded.
func (w *world) count(to, action string) (msgs, events int) {
	w.t.Helper()
	all, err := w.store.ListMessages(w.ctx, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range all {
		if m.Recipient == to {
			msgs++
		}
	}
	evs, err := w.store.ListAudit(w.ctx, store.AuditFilter{Subject: "citizen:" + w.c.ID, Action: action, Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == action && e.Outcome != "denied" {
			events++
		}
	}
	return msgs, events
}

// parallel runs fn n times at once and returns the errors that are not
// problems a citizen may be shown.
func parallel(n int, fn func() error) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range n {
		wg.Go(func() {
			if err := fn(); err != nil {
				if _, ok := problem.As(err); !ok {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

var code = regexp.MustCompile(`\b\d{6}\b`)

// Double submits that race, on both drivers: the same code confirmed four
// times at once changes the email once with one set of notices, and the
// same password change submitted four times at once changes it once.
func TestParallelSubmitsChangeOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		strong := selfservice.SignIn{LoA: broker.Substantial, AMR: []string{"hwk"}}
		ch, err := w.svc.Start(w.ctx, w.c, selfservice.Email, "new@example.org", strong, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		msgs, _ := w.store.ListMessages(w.ctx, 1)
		sent := code.FindString(msgs[0].Body)
		if errs := parallel(4, func() error {
			c := *w.c
			_, err := w.svc.Confirm(w.ctx, &c, selfservice.Email, ch.ID, sent, strong, "ca", "192.0.2.1")
			return err
		}); len(errs) > 0 {
			t.Fatalf("confirm: %v", errs)
		}
		got, _ := w.store.CitizenByID(w.ctx, w.c.ID)
		if got.Email != "new@example.org" {
			t.Fatalf("email now %q", got.Email)
		}
		if notices, changes := w.count("old@example.org", "email.change"); notices != 1 || changes != 1 {
			t.Fatalf("%d notices to the old address, %d changes recorded", notices, changes)
		}
		w.c = got

		before, _ := w.count("new@example.org", "")
		fresh := "Blau-Cel-Serra-42"
		if errs := parallel(4, func() error {
			c := *w.c
			_, err := w.svc.ChangePassword(w.ctx, &c, selfservice.PasswordChange{Current: current, New: fresh, Again: fresh,
				EndOthers: true, Lang: "ca", Source: "192.0.2.1"})
			return err
		}); len(errs) > 0 {
			t.Fatalf("password: %v", errs)
		}
		if notices, changes := w.count("new@example.org", "password.change"); notices != before+1 || changes != 1 {
			t.Fatalf("%d notices to the email, %d changes recorded", notices-before, changes)
		}
	})
}

// Only a certificate or passkey sign-in at substantial may change the
// mobile: the phone being replaced proves nothing.
func TestMobileChangeAllowed(t *testing.T) {
	for _, tc := range []struct {
		loa  string
		amr  []string
		want bool
	}{
		{"substantial", []string{"hwk", "mfa"}, true},         // passkey
		{"substantial", []string{"swk"}, true},                // software certificate
		{"high", []string{"hwk", "sc"}, true},                 // DNIe
		{"substantial", []string{"pwd", "sms", "mfa"}, false}, // password + SMS
		{"low", []string{"otp", "sms"}, false},                // PIN
		{"low", []string{"pwd"}, false},
		{"low", []string{"hwk"}, false}, // a passkey set below substantial
		{"", nil, false},
	} {
		if got := selfservice.MobileChangeAllowed(selfservice.SignIn{LoA: broker.LoA(tc.loa), AMR: tc.amr}); got != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.loa, tc.amr, got, tc.want)
		}
	}
}
