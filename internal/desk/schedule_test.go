package desk_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

func weekHours(open, close string) url.Values {
	v := url.Values{"slot_minutes": {"15"}, "desks": {"2"}}
	for _, d := range []string{"1", "2", "3", "4", "5"} {
		v.Set("open_"+d, open)
		v.Set("close_"+d, close)
	}
	return v
}

func (w *world) slotsOn(o *identity.Office, day string) []store.Slot {
	w.t.Helper()
	madrid, _ := time.LoadLocation("Europe/Madrid")
	d, _ := time.ParseInLocation("2006-01-02", day, madrid)
	s, err := w.store.ListSlots(w.ctx, o.ID, d, d.AddDate(0, 0, 1))
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// message is the newest message whose body contains s.
func (w *world) message(s string) store.OutboxMessage {
	w.t.Helper()
	msgs, err := w.store.ListMessages(w.ctx, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Body, s) {
			return m
		}
	}
	w.t.Fatalf("no message says %q", s)
	return store.OutboxMessage{}
}

func open(slots []store.Slot) (n int) {
	for _, s := range slots {
		if !s.Closed {
			n++
		}
	}
	return n
}

// Supervisors set the weekly hours and closed days; slots follow, and the
// citizens whose appointment no longer fits are told and offered another
// time, in their language, never silently dropped.
func TestSchedule(t *testing.T) {
	w := newWorld(t)
	clerk := w.officer(w.bcn, "marta", identity.RoleOfficer, true)
	boss := w.officer(w.bcn, "rosa", identity.RoleSupervisor, true)

	if p := w.signedIn(clerk, "ca").get("/desk/schedule"); p.status != http.StatusForbidden || !w.hasAudit("schedule.view", "denied") {
		t.Fatalf("officer on the schedule page: %d", p.status)
	}
	b := w.signedIn(boss, "ca")
	if p := b.get("/desk/schedule"); p.status != http.StatusOK || !strings.Contains(text(p.body), "Horari setmanal") {
		t.Fatalf("schedule page: %d\n%s", p.status, text(p.body))
	}
	// Bad input: every field named, nothing saved.
	bad := weekHours("09:00", "14:00")
	bad.Set("open_2", "25:00")
	bad.Set("open_3", "15:00")
	bad.Set("desks", "cap")
	p := b.post("/desk/schedule/hours", bad)
	body := text(p.body)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(body, "HH:MM") || !strings.Contains(body, "obrir abans de tancar") ||
		!strings.Contains(body, "d'1 a 50") || !strings.Contains(p.body, `value="25:00"`) {
		t.Fatalf("bad hours: %d\n%s", p.status, body)
	}
	if h, _ := w.store.OfficeHours(w.ctx, w.bcn.ID); len(h) != 0 || !w.hasAudit("schedule.update", "denied") {
		t.Fatalf("bad hours saved: %+v", h)
	}

	// Monday to Friday 9-14, slots of 15 minutes, two desks.
	p = b.post("/desk/schedule/hours", weekHours("09:00", "14:00"))
	if p.status != http.StatusOK || !strings.Contains(text(p.body), "avisades: 0") {
		t.Fatalf("save hours: %d\n%s", p.status, text(p.body))
	}
	if s := w.slotsOn(w.bcn, "2026-03-04"); len(s) != 20 || s[0].Capacity != 2 {
		t.Fatalf("Wednesday's slots = %d", len(s))
	}
	if s := w.slotsOn(w.bcn, "2026-03-07"); len(s) != 0 {
		t.Fatalf("Saturday has %d slots", len(s))
	}

	// A citizen books Wednesday 10:00, another Thursday 13:30.
	wed := w.slotsOn(w.bcn, "2026-03-04")[4]
	a, err := w.appts.Book(w.ctx, w.bcn, appointments.Request{SlotID: wed.ID, Document: "12345678Z", Name: "Núria Puig",
		Mobile: "612345678", Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	thu := w.slotsOn(w.bcn, "2026-03-05")[18]
	c, err := w.appts.Book(w.ctx, w.bcn, appointments.Request{SlotID: thu.ID, Document: "87654321X", Name: "Pere Vila",
		Email: "pere@example.org", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}

	// Wednesday becomes a local holiday: Núria is told in Spanish.
	p = b.post("/desk/schedule/closures", url.Values{"day": {"2026-03-04"}, "reason": {"Festa local"}})
	if p.status != http.StatusOK || !strings.Contains(text(p.body), "avisades: 1") || !strings.Contains(text(p.body), "Festa local") {
		t.Fatalf("close a day: %d\n%s", p.status, text(p.body))
	}
	if got := w.apptStatus(a.Appointment.ID); got != store.ApptCancelled {
		t.Fatalf("appointment on a closed day: %s", got)
	}
	if open(w.slotsOn(w.bcn, "2026-03-04")) != 0 {
		t.Fatal("a closed day still offers slots")
	}
	if m := w.message("no puede mantener"); m.Recipient != "+34612345678" || !strings.Contains(m.Body, "su cita del 04/03/2026 10:00") ||
		!strings.Contains(m.Body, "https://clau.example.org/offices/BCN-01/book") {
		t.Fatalf("notice = %+v", m)
	}
	if !w.hasAudit("appointment.dropped", "ok") || !w.hasAudit("schedule.closure_add", "ok") {
		t.Fatalf("audit: %v", w.auditActions())
	}
	// Bad closures.
	for _, tc := range []struct{ day, reason, want string }{
		{"2026-03-04", "Again", "ja està tancat"},
		{"2026-03-01", "Past", "ja ha passat"},
		{"dimecres", "", "com a data"},
	} {
		p := b.post("/desk/schedule/closures", url.Values{"day": {tc.day}, "reason": {tc.reason}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(text(p.body), tc.want) {
			t.Fatalf("closure %q: %d\n%s", tc.day, p.status, text(p.body))
		}
	}
	// Open again: Wednesday's slots are free again.
	if p := b.post("/desk/schedule/closures/2026-03-04/delete", nil); p.status != http.StatusOK || open(w.slotsOn(w.bcn, "2026-03-04")) != 20 {
		t.Fatalf("reopen: %d", p.status)
	}
	if p := b.post("/desk/schedule/closures/2026-03-04/delete", nil); p.status != http.StatusNotFound {
		t.Fatalf("reopening an open day: %d", p.status)
	}
	// Afternoons are cut: Pere's 13:30 no longer fits; he is told in English.
	p = b.post("/desk/schedule/hours", weekHours("09:00", "13:00"))
	if p.status != http.StatusOK || !strings.Contains(text(p.body), "avisades: 1") {
		t.Fatalf("shorter hours: %d\n%s", p.status, text(p.body))
	}
	if got := w.apptStatus(c.Appointment.ID); got != store.ApptCancelled {
		t.Fatalf("appointment outside the new hours: %s", got)
	}
	if m := w.message("cannot keep"); m.Recipient != "pere@example.org" || !strings.Contains(m.Body, "your appointment on 05/03/2026 13:30") {
		t.Fatalf("notice = %+v", m)
	}
	if s := w.slotsOn(w.bcn, "2026-03-05"); open(s) != 16 {
		t.Fatalf("Thursday's open slots = %d", open(s))
	}
}
