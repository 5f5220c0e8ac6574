package registration_test

import (
	"context"
	"errors"
	"github.com/clau-eid/clau/internal/fakeclock"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

type world struct {
	t      *testing.T
	ctx    context.Context
	store  store.Store
	clock  *fakeclock.Clock
	reg    *registration.Service
	perm   *permanent.Method
	broker *broker.Broker
	desk   registration.Actor
	other  registration.Actor
}

func newWorld(t *testing.T, driver string) *world {
	ctx := context.Background()
	s := sqltest.Open(t, driver)
	clk := fakeclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	kr, _ := secure.NewKeyring(nil, clk.Now())
	codes := secure.NewOneTimeCodes(kr, clk.Now, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, nil)
	tm, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, clk.Now)
	b := broker.New(s, broker.Options{Now: clk.Now})
	w := &world{t: t, ctx: ctx, store: s, clock: clk,
		reg: registration.New(s, codes, hasher, n, registration.Options{Now: clk.Now,
			EndSessions: func(ctx context.Context, tx store.Tx, citizenID string) (int, error) {
				return b.EndSessions(ctx, tx, citizenID, "")
			}}),
		perm:   permanent.New(s, hasher, codes, n, clk.Now),
		broker: b}
	w.desk = w.actor("BCN-01", "mgarcia", identity.RoleOfficer)
	w.other = w.actor("GIR-01", "jpuig", identity.RoleOfficer)
	return w
}

func (w *world) actor(code, user string, role identity.Role) registration.Actor {
	o := &identity.Office{ID: store.NewID(), Code: code, Name: "Oficina " + code, Address: "Plaça 1",
		PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona", Active: true}
	if err := w.store.CreateOffice(w.ctx, o); err != nil {
		w.t.Fatal(err)
	}
	off := &identity.Officer{ID: store.NewID(), Username: user, DisplayName: user, PasswordHash: "x",
		OfficeID: o.ID, Role: role, Status: identity.OfficerActive}
	if err := w.store.CreateOfficer(w.ctx, off); err != nil {
		w.t.Fatal(err)
	}
	return registration.Actor{Officer: off, Office: o, Source: "192.0.2.10"}
}

func citizen() *identity.Citizen {
	return &identity.Citizen{Document: identity.Document{Number: "12345678Z"},
		DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30}, GivenName: "Núria", FirstSurname: "Puig",
		SecondSurname: "Ferrer", BirthDate: identity.Date{Year: 1980, Month: 2, Day: 29},
		Email: "nuria@example.org", Mobile: "612345678", Language: "ca"}
}

var smsCode = regexp.MustCompile(`\b(\d{6})\b`)

// lastSMS reads the newest SMS to a number from the outbox, as the
// citizen reads their phone.
func (w *world) lastSMS(to string) string {
	w.t.Helper()
	msgs, err := w.store.ListMessages(w.ctx, 20)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Recipient == to && m.Channel == "sms" {
			return smsCode.FindString(m.Body)
		}
	}
	w.t.Fatalf("no SMS to %s", to)
	return ""
}

func msgID(err error) string {
	if p, ok := problem.As(err); ok {
		if len(p.Fields) > 0 {
			return p.Fields[0].MsgID
		}
		return p.MsgID
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func (w *world) register() *registration.Issued {
	w.t.Helper()
	iss, err := w.reg.Register(w.ctx, w.desk, citizen(), registration.DocumentCheck{Shown: "dni", Checked: true})
	if err != nil {
		w.t.Fatal(err)
	}
	return iss
}

func (w *world) activate(code, password string) *identity.Citizen {
	w.t.Helper()
	a, err := w.reg.StartActivation(w.ctx, "12345678-z", "Nuria@Example.org", code, "203.0.113.5")
	if err != nil {
		w.t.Fatalf("start activation: %v", err)
	}
	if _, err := w.reg.ConfirmSMS(w.ctx, a.ID, w.lastSMS("+34612345678"), "203.0.113.5"); err != nil {
		w.t.Fatalf("confirm sms: %v", err)
	}
	c, err := w.reg.SetPassword(w.ctx, a.ID, password, password, "203.0.113.5")
	if err != nil {
		w.t.Fatalf("set password: %v", err)
	}
	return c
}

const goodPassword = "Groc-Mar-Tramuntana-7"

// The whole first journey, on both drivers: desk registration, activation
// by code + SMS + password, then sign-in at low and at substantial.
func TestJourney(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		iss := w.register()
		if iss.Citizen.Level != identity.LevelAdvanced || iss.Citizen.Status != identity.StatusPending ||
			!regexp.MustCompile(`^[2-9A-Z]{4}(-[2-9A-Z]{4}){3}$`).MatchString(iss.Code) {
			t.Fatalf("issued = %+v", iss)
		}
		c := w.activate(iss.Code, goodPassword)
		if c.Status != identity.StatusActive {
			t.Fatalf("after activation status = %s", c.Status)
		}
		// The code is consumed: it cannot activate again.
		if _, err := w.reg.StartActivation(w.ctx, "12345678Z", "nuria@example.org", iss.Code, "x"); msgID(err) != "code.missing" {
			t.Fatalf("reused activation code: %v", err)
		}

		// Sign in at low: password only.
		tx, _ := w.broker.Start(w.ctx, broker.Request{SP: "local", MinLoA: broker.Low, ContinueURL: "/me"})
		got, err := w.perm.CheckPassword(w.ctx, "12345678Z", goodPassword, "203.0.113.5")
		if err != nil || got.ID != c.ID {
			t.Fatalf("password sign-in: %v", err)
		}
		tx.Identified(got.ID, permanent.Name, permanent.PasswordLoA, []string{"pwd"}, w.clock.Now())
		if tx.State != broker.StateDone {
			t.Fatalf("low sign-in state = %s", tx.State)
		}
		se, err := w.broker.Complete(w.ctx, tx, "", broker.Meta{Source: "203.0.113.5"})
		if err != nil || se.Token == "" || se.LoA != "low" {
			t.Fatalf("session = %+v %v", se, err)
		}

		// A service asking for substantial: the session steps up with the SMS code only.
		w.clock.Add(time.Minute)
		tx2, _ := w.broker.Start(w.ctx, broker.Request{SP: "local", MinLoA: broker.Substantial})
		live, _ := w.broker.SessionFor(w.ctx, se.Token)
		if w.broker.TrySSO(w.ctx, tx2, live) {
			t.Fatal("a low session satisfied a substantial request")
		}
		if !w.broker.StepUpFrom(tx2, live, permanent.Name) {
			t.Fatal("no step-up from the low session")
		}
		if err := w.perm.SendSMSCode(w.ctx, tx2, c, "203.0.113.5"); err != nil {
			t.Fatal(err)
		}
		if err := w.perm.SendSMSCode(w.ctx, tx2, c, "203.0.113.5"); msgID(err) != "sms.resend_wait" {
			t.Fatalf("immediate resend: %v", err)
		}
		// A wrong code: its attempt and audit event commit, t stays put.
		var wrong error
		if err := w.store.InTx(w.ctx, func(tx store.Tx) error {
			wrong = w.perm.CheckSMSCodeIn(w.ctx, tx, tx2, "000000", "x")
			return nil
		}); err != nil || msgID(wrong) != "code.wrong" {
			t.Fatalf("wrong sms code: %v, %v", err, wrong)
		}
		if live, err := w.store.LiveCode(w.ctx, permanent.SMSCode.Purpose, tx2.ID); err != nil || live.Attempts != 1 {
			t.Fatalf("attempts after a wrong code: %+v, %v", live, err)
		}
		if tx2.State != broker.StateSecondFactor {
			t.Fatalf("after a wrong code: %s", tx2.State)
		}
		// The right code and the step-up commit together.
		var se2 *broker.Session
		err = w.store.InTx(w.ctx, func(tx store.Tx) error {
			if err := w.perm.CheckSMSCodeIn(w.ctx, tx, tx2, w.lastSMS("+34612345678"), "x"); err != nil {
				return err
			}
			var err error
			se2, err = w.broker.CompleteIn(w.ctx, tx, tx2, se.Token, broker.Meta{})
			return err
		})
		if tx2.State != broker.StateDone || tx2.LoA != broker.Substantial {
			t.Fatalf("after sms: %s %s", tx2.State, tx2.LoA)
		}
		if err != nil || se2.Token == se.Token {
			t.Fatalf("step-up must rotate the session token: %v", err)
		}
		if _, err := w.store.LiveCode(w.ctx, permanent.SMSCode.Purpose, tx2.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the SMS code is live after the step-up: %v", err)
		}
		if old, _ := w.broker.SessionFor(w.ctx, se.Token); old != nil {
			t.Fatal("the old session token still works after rotation")
		}
		cur, _ := w.broker.SessionFor(w.ctx, se2.Token)
		if cur == nil || cur.LoA != "substantial" || len(cur.AMR) < 3 {
			t.Fatalf("stepped-up session = %+v", cur)
		}
		// Now a substantial request is met by SSO.
		tx3, _ := w.broker.Start(w.ctx, broker.Request{SP: "other", MinLoA: broker.Substantial})
		if !w.broker.TrySSO(w.ctx, tx3, cur) {
			t.Fatal("SSO did not satisfy a second service")
		}
		tx4, _ := w.broker.Start(w.ctx, broker.Request{SP: "other", MinLoA: broker.Low, ForceAuthn: true})
		if w.broker.TrySSO(w.ctx, tx4, cur) {
			t.Fatal("force_authn was satisfied by SSO")
		}
	})
}

func TestActivationBadInput(t *testing.T) {
	w := newWorld(t, sqlstore.SQLite)
	iss := w.register()
	ctx := w.ctx
	// Unknown document and wrong email: the same answer.
	_, errUnknown := w.reg.StartActivation(ctx, "87654321X", "nuria@example.org", iss.Code, "x")
	_, errEmail := w.reg.StartActivation(ctx, "12345678Z", "other@example.org", iss.Code, "x")
	if msgID(errUnknown) != "activation.mismatch" || msgID(errEmail) != "activation.mismatch" {
		t.Fatalf("unknown doc %v / wrong email %v", errUnknown, errEmail)
	}
	if _, err := w.reg.StartActivation(ctx, "12345678A", "nuria@example.org", iss.Code, "x"); msgID(err) != "document.letter" {
		t.Fatalf("wrong letter: %v", err)
	}
	// Going back and entering the right code again does not use it up.
	for range 6 {
		if _, err := w.reg.StartActivation(ctx, "12345678Z", "nuria@example.org", iss.Code, "x"); err != nil {
			t.Fatalf("right code again: %v", err)
		}
		w.clock.Add(time.Minute)
	}
	// Five wrong codes kill it.
	for i := 1; i <= 5; i++ {
		_, err := w.reg.StartActivation(ctx, "12345678Z", "nuria@example.org", "AAAA-AAAA-AAAA-AAAA", "x")
		want := "code.wrong"
		if i == 5 {
			want = "code.exhausted"
		}
		if msgID(err) != want {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := w.reg.StartActivation(ctx, "12345678Z", "nuria@example.org", iss.Code, "x"); msgID(err) != "code.exhausted" {
		t.Fatalf("right code after five wrong: %v", err)
	}
	// A reissued code works; an activation started with the old one cannot finish.
	iss2, err := w.reg.Reissue(ctx, w.desk, iss.Citizen.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.reg.StartActivation(ctx, "12345678Z", "nuria@example.org", iss2.Code, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.ConfirmSMS(ctx, a.ID, w.lastSMS("+34612345678"), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.ConfirmSMS(ctx, a.ID, "123456", "x"); err != nil {
		t.Fatalf("double submit of a confirmed SMS step must be harmless: %v", err)
	}
	for _, tc := range []struct{ pw, again, want string }{
		{"Groc-Mar-7", "Groc-Mar-8", "password.mismatch"},
		{"short1A", "short1A", "password.too_short"},
		{"nuria-Puig-2026-xyz", "nuria-Puig-2026-xyz", "password.personal"},
		{"Xy-12345678-abc", "Xy-12345678-abc", "password.personal"},
		{"Barcelona2024!", "Barcelona2024!", "password.common"},
	} {
		if _, err := w.reg.SetPassword(ctx, a.ID, tc.pw, tc.again, "x"); msgID(err) != tc.want {
			t.Errorf("password %q: %v, want %s", tc.pw, err, tc.want)
		}
	}
	if c, _ := w.store.CitizenByID(ctx, iss.Citizen.ID); c.Status != identity.StatusPending {
		t.Fatal("a refused password activated the citizen")
	}
	iss3, _ := w.reg.Reissue(ctx, w.desk, iss.Citizen.ID)
	if _, err := w.reg.SetPassword(ctx, a.ID, goodPassword, goodPassword, "x"); msgID(err) != "activation.code_changed" {
		t.Fatalf("finishing with a reissued code: %v", err)
	}
	if c, _ := w.store.CitizenByID(ctx, iss.Citizen.ID); c.Status != identity.StatusPending {
		t.Fatal("half-made state: the citizen is active")
	}
	// The new code still works from the start.
	w.clock.Add(time.Minute)
	if c := w.activate(iss3.Code, goodPassword); c.Status != identity.StatusActive {
		t.Fatal("activation with the newest code failed")
	}
	// Expiry.
	iss4, _ := w.reg.Reissue(ctx, w.desk, iss.Citizen.ID)
	w.clock.Add(31 * 24 * time.Hour)
	if _, err := w.reg.StartActivation(ctx, "12345678Z", "nuria@example.org", iss4.Code, "x"); msgID(err) != "code.expired" {
		t.Fatalf("expired code: %v", err)
	}
}

func TestConcurrentDoubleSubmitOfPassword(t *testing.T) {
	w := newWorld(t, sqlstore.SQLite)
	iss := w.register()
	a, _ := w.reg.StartActivation(w.ctx, "12345678Z", "nuria@example.org", iss.Code, "x")
	w.reg.ConfirmSMS(w.ctx, a.ID, w.lastSMS("+34612345678"), "x")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.reg.SetPassword(w.ctx, a.ID, goodPassword, goodPassword, "x")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 4 simultaneous submits succeeded: %v", ok, errs)
	}
}

func TestDeskRules(t *testing.T) {
	w := newWorld(t, sqlstore.SQLite)
	ctx := w.ctx
	if _, err := w.reg.Register(ctx, w.desk, citizen(), registration.DocumentCheck{Shown: "dni"}); msgID(err) != "desk.document_not_checked" {
		t.Fatalf("registration without the in-person check: %v", err)
	}
	iss := w.register()
	dup := citizen()
	dup.Mobile = "699000111"
	if _, err := w.reg.Register(ctx, w.desk, dup, registration.DocumentCheck{Shown: "dni", Checked: true}); msgID(err) != "duplicate.document" {
		t.Fatalf("duplicate document: %v", err)
	}
	sameMobile := citizen()
	sameMobile.Document.Number = "87654321X"
	if _, err := w.reg.Register(ctx, w.desk, sameMobile, registration.DocumentCheck{Shown: "dni", Checked: true}); msgID(err) != "duplicate.mobile" {
		t.Fatalf("mobile of another document: %v", err)
	}
	// Another office may look but not touch.
	if c, err := w.reg.Find(ctx, w.other, "12345678Z"); err != nil || c.ID != iss.Citizen.ID {
		t.Fatalf("find from another office: %v", err)
	}
	if _, err := w.reg.Reissue(ctx, w.other, iss.Citizen.ID); !errors.Is(err, registration.ErrNotYourOffice) {
		t.Fatalf("reissue from another office: %v", err)
	}
	if _, err := w.reg.CorrectContact(ctx, w.other, iss.Citizen.ID, 0, "a@example.org", "611111111"); !errors.Is(err, registration.ErrNotYourOffice) {
		t.Fatalf("correct from another office: %v", err)
	}
	// Two officers editing at once: the second, on an old version, is refused.
	c, err := w.reg.CorrectContact(ctx, w.desk, iss.Citizen.ID, iss.Citizen.Version, "new@example.org", "611 111 111")
	if err != nil || c.Email != "new@example.org" || c.Mobile != "+34611111111" {
		t.Fatalf("correct: %+v %v", c, err)
	}
	if _, err := w.reg.CorrectContact(ctx, w.desk, iss.Citizen.ID, iss.Citizen.Version, "x@example.org", "622222222"); !errors.Is(err, registration.ErrStale) {
		t.Fatalf("stale correction: %v", err)
	}
	if _, err := w.reg.CorrectContact(ctx, w.desk, iss.Citizen.ID, 0, "bad", "91234"); err == nil {
		t.Fatal("invalid contact data accepted")
	}
	if _, err := w.reg.Deregister(ctx, w.desk, iss.Citizen.ID, 0, " "); msgID(err) != "desk.reason_required" {
		t.Fatalf("deregister without reason: %v", err)
	}
	if _, err := w.reg.Deregister(ctx, w.desk, iss.Citizen.ID, 0, "renounced at the desk"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Find(ctx, w.desk, "12345678Z"); !errors.Is(err, registration.ErrNotFound) {
		t.Fatalf("deregistered citizen still found: %v", err)
	}
	events, _ := w.store.ListAudit(ctx, store.AuditFilter{Limit: 100})
	denied := 0
	for _, e := range events {
		if e.Outcome == "denied" {
			denied++
			if e.Office == "" || e.Actor == "" {
				t.Errorf("denied event without officer or office: %+v", e)
			}
		}
	}
	if denied < 5 {
		for _, e := range events {
			t.Logf("%d %s %s %s %s", e.Seq, e.Actor, e.Action, e.Outcome, e.Details)
		}
		t.Fatalf("refusals audited: %d, want at least 4", denied)
	}
}

// No enumeration: an unknown document and a wrong password get the same
// answer, and five failures lock either; a new activation code unlocks.
func TestSignInFailures(t *testing.T) {
	w := newWorld(t, sqlstore.SQLite)
	ctx := w.ctx
	iss := w.register()
	w.activate(iss.Code, goodPassword)
	_, errWrong := w.perm.CheckPassword(ctx, "12345678Z", "Wrong-Password-1", "203.0.113.5")
	_, errUnknown := w.perm.CheckPassword(ctx, "87654321X", "Wrong-Password-1", "203.0.113.5")
	if msgID(errWrong) != "login.failed" || msgID(errUnknown) != "login.failed" {
		t.Fatalf("wrong password %v, unknown document %v", errWrong, errUnknown)
	}
	for i := 2; i <= 5; i++ {
		_, err := w.perm.CheckPassword(ctx, "12345678Z", "Wrong-Password-1", "203.0.113.5")
		if i == 5 && msgID(err) != "account.locked" {
			t.Fatalf("fifth failure: %v", err)
		}
	}
	if _, err := w.perm.CheckPassword(ctx, "12345678Z", goodPassword, "203.0.113.5"); msgID(err) != "account.locked" {
		t.Fatalf("right password while locked: %v", err)
	}
	for i := 2; i <= 5; i++ {
		w.perm.CheckPassword(ctx, "87654321X", "Wrong-Password-1", "203.0.113.5")
	}
	if _, err := w.perm.CheckPassword(ctx, "87654321X", "x", "203.0.113.5"); msgID(err) != "account.locked" {
		t.Fatalf("an unknown document must lock like a known one: %v", err)
	}
	if _, err := w.reg.Reissue(ctx, w.desk, iss.Citizen.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.perm.CheckPassword(ctx, "12345678Z", goodPassword, "203.0.113.5"); err != nil {
		t.Fatalf("a new activation code must lift the lock: %v", err)
	}
}
