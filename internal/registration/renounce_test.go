package registration_test

import (
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

// A citizen renounces: confirmed by document or password, the desk's
// deregistration runs with the citizen as actor, the notice goes by email
// and SMS, and a letter cannot register them again.
func TestRenounce(t *testing.T) {
	w := newWorld(t, "sqlite")
	w.enableLetters()
	c := w.activate(w.register().Code, goodPassword)
	for _, tc := range []struct{ name, typed, want string }{
		{"empty", "  ", "renounce.confirm_wrong"},
		{"another document", "87654321X", "renounce.confirm_wrong"},
		{"wrong password", "Not-the-password-1", "renounce.confirm_wrong"},
	} {
		if _, err := w.reg.Renounce(w.ctx, c.ID, tc.typed, "203.0.113.5"); msgID(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if got, _ := w.store.CitizenByID(w.ctx, c.ID); got.Status != identity.StatusActive {
		t.Fatalf("a refused renounce changed the record: %s", got.Status)
	}
	out, err := w.reg.Renounce(w.ctx, c.ID, goodPassword, "203.0.113.5")
	if err != nil || out.Status != identity.StatusDeregistered {
		t.Fatalf("renounce = %+v, %v", out, err)
	}
	if _, err := w.reg.Renounce(w.ctx, c.ID, "12345678Z", "203.0.113.5"); msgID(err) != "renounce.not_active" {
		t.Errorf("second renounce: %v", err)
	}
	evs, _ := w.store.ListAudit(w.ctx, store.AuditFilter{Subject: "citizen:" + c.ID,
		Actions: []string{"citizen.renounce", "citizen.deregister"}})
	var denied, done int
	for _, e := range evs {
		if e.Action == "citizen.renounce" && e.Outcome == "denied" {
			denied++
		}
		if e.Action == "citizen.renounce" && e.Outcome != "denied" && e.Actor == "citizen:"+c.ID {
			done++
		}
	}
	if denied != 4 || done != 1 {
		t.Errorf("audit: %d refusals, %d deregistrations by the citizen", denied, done)
	}
	msgs, _ := w.store.ListMessages(w.ctx, 10)
	notices := 0
	for _, m := range msgs {
		if strings.Contains(m.Body, "a petició vostra") {
			notices++
		}
	}
	if notices != 2 {
		t.Errorf("renounce notices (email+SMS) = %d", notices)
	}
	// Registration by letter is refused afterwards.
	if err := w.request("12345678Z", "30/04/2031", "612345678", "203.0.113.5"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.CitizenByDocument(w.ctx, "12345678Z"); err == nil || w.denials("deregistered: office or certificate needed") != 1 {
		t.Errorf("a renounced citizen registered again by letter (%v)", err)
	}
}
