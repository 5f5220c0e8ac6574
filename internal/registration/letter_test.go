package registration_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

func (w *world) enableLetters() {
	w.t.Helper()
	kr, err := secure.NewKeyring(nil, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	w.reg.EnableLetters(registration.LetterOptions{Keyring: kr, ActivateURL: "https://clau.example/activate"})
	for _, r := range []store.Reference{
		{Document: identity.Document{Type: identity.DNI, Number: "12345678Z"}, DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30},
			GivenName: "Núria", FirstSurname: "Puig", SecondSurname: "Ferrer", BirthDate: identity.Date{Year: 1980, Month: 2, Day: 29},
			Nationality: "ES", AddressLine1: "Carrer de la Pau 3, 2n 1a", PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona"},
		{Document: identity.Document{Type: identity.NIE, Number: "X1234567L"}, SupportNumber: "E12345678",
			GivenName: "Marcel·lí", FirstSurname: "O'Neill", BirthDate: identity.Date{Year: 1975, Month: 7, Day: 5},
			Nationality: "IE", AddressLine1: "Plaça Major 1", PostalCode: "17001", Municipality: "Girona", Province: "Girona"},
		{Document: identity.Document{Type: identity.DNI, Number: "87654321X"}, DocValidity: identity.Date{Year: 2025, Month: 1, Day: 1},
			GivenName: "Pere", FirstSurname: "Vell", BirthDate: identity.Date{Year: 1950, Month: 1, Day: 1},
			Nationality: "ES", AddressLine1: "Carrer 1", PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona"},
	} {
		if _, err := w.store.PutReference(w.ctx, &r); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) request(doc, check, mobile string, src string) error {
	return w.reg.RequestLetter(w.ctx, registration.LetterRequest{Document: doc, Check: check, Email: "nuria@example.org",
		Mobile: mobile, Language: "es", Source: src})
}

func (w *world) letters(doc string) []store.Letter {
	w.t.Helper()
	c, err := w.store.CitizenByDocument(w.ctx, doc)
	if err != nil {
		return nil
	}
	ls, err := w.store.ListLetters(w.ctx, c.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return ls
}

func (w *world) denials(reason string) int {
	w.t.Helper()
	evs, err := w.store.ListAudit(w.ctx, store.AuditFilter{Action: "letter.request"})
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Outcome == "denied" && e.Details["reason"] == reason {
			n++
		}
	}
	return n
}

// A letter request that matches the reference registry registers the
// citizen at level basic and queues a letter; the batch shows the code,
// which activates the citizen; marking the batch sent wipes it.
func TestLetterJourney(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		w.enableLetters()
		if err := w.request("12345678-z", "30/04/2031", "612 345 678", "203.0.113.5"); err != nil {
			t.Fatalf("request: %v", err)
		}
		c, err := w.store.CitizenByDocument(w.ctx, "12345678Z")
		if err != nil || c.Level != identity.LevelBasic || c.Channel != identity.ChannelLetter ||
			c.Status != identity.StatusPending || c.GivenName != "Núria" || c.Language != "es" || c.OfficeID != "" {
			t.Fatalf("citizen = %+v, %v", c, err)
		}
		// A second request (lost letter) kills the first letter's code.
		w.clock.Add(time.Hour)
		if err := w.request("12345678Z", "2031-04-30", "+34612345678", "203.0.113.5"); err != nil {
			t.Fatal(err)
		}
		ls := w.letters("12345678Z")
		if len(ls) != 2 || ls[0].Status != store.LetterQueued || ls[1].Status != store.LetterSuperseded || ls[1].CodeSealed != "" {
			t.Fatalf("letters = %+v", ls)
		}
		batch, err := w.reg.PrintBatch(w.ctx, w.desk, w.clock.Now().Add(time.Second))
		if err != nil || len(batch) != 1 {
			t.Fatalf("batch = %+v, %v", batch, err)
		}
		l := batch[0]
		if l.Recipient != "Núria Puig Ferrer" || strings.Join(l.Address, "|") != "Carrer de la Pau 3, 2n 1a|08001 Barcelona" ||
			len(l.Code) != 19 || l.ActivateURL != "https://clau.example/activate" || l.Language != "es" {
			t.Errorf("print letter = %+v", l)
		}
		// The earlier letter's code was never printed and no longer exists;
		// a code from a superseded letter is refused like any wrong code.
		n, err := w.reg.MarkLettersSent(w.ctx, w.desk, w.clock.Now().Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("MarkLettersSent = %d, %v", n, err)
		}
		if again, _ := w.reg.PrintBatch(w.ctx, w.desk, w.clock.Now().Add(time.Second)); len(again) != 0 {
			t.Errorf("a sent letter is still in the batch: %+v", again)
		}
		if ls := w.letters("12345678Z"); ls[0].Status != store.LetterSent || ls[0].CodeSealed != "" {
			t.Errorf("sent letter keeps its code: %+v", ls[0])
		}
		msgs, _ := w.store.ListMessages(w.ctx, 20)
		var posted, renewed int
		for _, m := range msgs {
			if strings.Contains(m.Body, "se envió por correo") && m.Channel == "email" {
				posted++
			}
			if strings.Contains(m.Body, "nueva carta de registro") {
				renewed++
			}
		}
		if posted != 1 || renewed != 2 {
			t.Errorf("notices: %d posted, %d renewed (email+SMS); want 1 and 2", posted, renewed)
		}

		w.clock.Add(time.Minute) // the activation SMS is the newest message to the phone
		got := w.activate(l.Code, goodPassword)
		if got.Level != identity.LevelBasic || got.Status != identity.StatusActive {
			t.Errorf("activated citizen = %+v", got)
		}
		// Now registered and active: a new request is a reset letter
		// (forgotten password); its code sets a new password and keeps
		// the level; the citizen hears of the request and of the reset.
		if err := w.request("12345678Z", "2031-04-30", "+34699999999", "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
		if len(w.letters("12345678Z")) != 3 || w.denials("already registered") != 0 {
			t.Errorf("a request for an active citizen queued no reset letter: %d letters", len(w.letters("12345678Z")))
		}
		if c, _ := w.store.CitizenByID(w.ctx, got.ID); c.Mobile != "+34612345678" {
			t.Errorf("a reset letter request changed the mobile to %s", c.Mobile)
		}
		reset, err := w.reg.PrintBatch(w.ctx, w.desk, w.clock.Now().Add(time.Second))
		if err != nil || len(reset) != 1 {
			t.Fatalf("reset batch = %+v, %v", reset, err)
		}
		w.reg.MarkLettersSent(w.ctx, w.desk, w.clock.Now().Add(time.Second))
		w.clock.Add(time.Minute)
		again := w.activate(reset[0].Code, goodPassword+"-2")
		if again.Level != identity.LevelBasic || again.Status != identity.StatusActive || again.ID != got.ID {
			t.Errorf("after the reset letter: %+v", again)
		}
		msgs, _ = w.store.ListMessages(w.ctx, 50)
		var resetAsked, resetDone int
		for _, m := range msgs {
			if strings.Contains(m.Body, "establecer una nueva contraseña") {
				resetAsked++
			}
			if strings.Contains(m.Body, "nueva contraseña permanente") {
				resetDone++
			}
		}
		if resetAsked != 2 || resetDone != 2 {
			t.Errorf("reset notices: %d asked, %d done (email+SMS each)", resetAsked, resetDone)
		}
		if evs, _ := w.store.ListAudit(w.ctx, store.AuditFilter{Subject: "citizen:" + got.ID,
			Actions: []string{"password.reset", "password.reset_letter"}}); len(evs) != 2 {
			t.Errorf("reset audit events = %+v", evs)
		}

		// At the office, after the in-person check, level advanced.
		if _, err := w.reg.UpgradeToAdvanced(w.ctx, w.desk, got.ID, 0, registration.DocumentCheck{}); msgID(err) != "desk.document_not_checked" {
			t.Errorf("upgrade without the check: %v", err)
		}
		up, err := w.reg.UpgradeToAdvanced(w.ctx, w.desk, got.ID, 0, registration.DocumentCheck{Shown: "dni", Checked: true})
		if err != nil || up.Level != identity.LevelAdvanced || up.OfficeID != w.desk.Office.ID {
			t.Fatalf("upgrade = %+v, %v", up, err)
		}
		if _, err := w.reg.UpgradeToAdvanced(w.ctx, w.desk, got.ID, 0, registration.DocumentCheck{Shown: "dni", Checked: true}); msgID(err) != "desk.already_advanced" {
			t.Errorf("second upgrade: %v", err)
		}
	})
}

func TestLetterCodeAfterNewerLetter(t *testing.T) {
	w := newWorld(t, "sqlite")
	w.enableLetters()
	if err := w.request("12345678Z", "30/04/2031", "612345678", "203.0.113.5"); err != nil {
		t.Fatal(err)
	}
	first, err := w.reg.PrintBatch(w.ctx, w.desk, w.clock.Now().Add(time.Second))
	if err != nil || len(first) != 1 {
		t.Fatal(first, err)
	}
	if _, err := w.reg.MarkLettersSent(w.ctx, w.desk, w.clock.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(time.Hour)
	if err := w.request("12345678Z", "30/04/2031", "612345678", "203.0.113.5"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.StartActivation(w.ctx, "12345678Z", "nuria@example.org", first[0].Code, "203.0.113.5"); msgID(err) != "code.wrong" {
		t.Errorf("the first letter's code after a newer letter: %v, want code.wrong", err)
	}
}

func TestLetterRequestBadInput(t *testing.T) {
	w := newWorld(t, "sqlite")
	w.enableLetters()
	// Malformed input is named field by field.
	err := w.reg.RequestLetter(w.ctx, registration.LetterRequest{Document: "12345678A", Check: "", Email: "x", Mobile: "912345678",
		Language: "fr", Source: "203.0.113.5"})
	want := []string{"document", "check", "email", "mobile", "language"}
	if p, ok := problemOf(err); !ok || len(p) != len(want) || strings.Join(p, ",") != strings.Join(want, ",") {
		t.Errorf("malformed request: fields %v (%v), want %v", p, err, want)
	}
	if err := w.request("12345678Z", "31/02/2031", "612345678", "203.0.113.5"); msgID(err) != "letter.check_date" {
		t.Errorf("bad date: %v", err)
	}
	if err := w.request("X1234567L", "12345678", "612345678", "203.0.113.5"); msgID(err) != "support_number.format" {
		t.Errorf("bad support number: %v", err)
	}
	// Unknown document, wrong (stale) check value, expired DNI: the same
	// answer as a match, nothing registered, each audited.
	for _, tc := range []struct{ doc, check, reason string }{
		{"00000000T", "30/04/2031", "not in the reference registry"},
		{"12345678Z", "30/04/2021", "check value mismatch"},
		{"X1234567L", "E87654321", "check value mismatch"},
		{"87654321X", "01/01/2025", "document expired"},
	} {
		if err := w.request(tc.doc, tc.check, "612345678", "203.0.113.6"); err != nil {
			t.Errorf("%s: %v, want the same answer as a match", tc.doc, err)
		}
		if w.denials(tc.reason) == 0 {
			t.Errorf("%s: no audit event %q", tc.doc, tc.reason)
		}
	}
	if n, _ := w.store.CountCitizens(w.ctx); n != 0 {
		t.Errorf("refused requests registered %d citizens", n)
	}
	// A mobile registered to someone else: the same answer, nothing saved.
	w.register() // 12345678Z at the desk, mobile +34612345678
	if err := w.request("X1234567L", "E12345678", "612345678", "203.0.113.7"); err != nil || w.denials("duplicate mobile") != 1 {
		t.Errorf("duplicate mobile: %v, %d denials", err, w.denials("duplicate mobile"))
	}
	if _, err := w.store.CitizenByDocument(w.ctx, "X1234567L"); err == nil {
		t.Errorf("a request with a taken mobile registered the citizen")
	}
	// The NIE with a good support number and a free mobile.
	if err := w.request("x-1234567-l", "e-1234 5678", "699000111", "203.0.113.7"); err != nil || len(w.letters("X1234567L")) != 1 {
		t.Errorf("NIE request: %v, letters %v", err, w.letters("X1234567L"))
	}

	// Throttling: three requests a day per document, then 429 (for any
	// document, known or not, so the limit says nothing).
	for i := 0; i < 3; i++ {
		_ = w.request("11111111H", "01/01/2030", "612345678", "198.51.100."+string(rune('1'+i)))
	}
	if err := w.request("11111111H", "01/01/2030", "612345678", "198.51.100.9"); msgID(err) != "letter.throttled" {
		t.Errorf("fourth request for a document: %v, want letter.throttled", err)
	}
	if w.denials("throttled") != 1 {
		t.Errorf("throttled request not audited")
	}
}

func problemOf(err error) ([]string, bool) {
	p, ok := problem.As(err)
	if !ok {
		return nil, false
	}
	var out []string
	for _, f := range p.Fields {
		out = append(out, f.Name)
	}
	return out, true
}

// Who renounced registers again only at an office or with a certificate.
func TestLetterAfterDeregistration(t *testing.T) {
	w := newWorld(t, "sqlite")
	w.enableLetters()
	iss := w.register()
	if _, err := w.reg.Deregister(w.ctx, w.desk, iss.Citizen.ID, 0, "renounced"); err != nil {
		t.Fatal(err)
	}
	if err := w.request("12345678Z", "30/04/2031", "612345678", "203.0.113.5"); err != nil {
		t.Fatalf("request: %v, want the same answer as always", err)
	}
	if _, err := w.store.CitizenByDocument(w.ctx, "12345678Z"); err == nil {
		t.Errorf("a deregistered citizen registered again by letter")
	}
	if w.denials("deregistered: office or certificate needed") != 1 {
		t.Errorf("refusal not audited")
	}
}
