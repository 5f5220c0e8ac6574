package desk_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
)

// booked is an appointment of office o at start for document i.
func (w *world) booked(o *identity.Office, start time.Time, i int, name, mobile string) *store.Appointment {
	w.t.Helper()
	slots, err := w.store.ListSlots(w.ctx, o.ID, start, start.Add(time.Minute))
	if err != nil {
		w.t.Fatal(err)
	}
	var sl store.Slot
	if len(slots) == 1 {
		sl = slots[0]
	} else {
		sl = store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: start, EndsAt: start.Add(15 * time.Minute), Capacity: 3}
		if _, err := w.store.AddSlots(w.ctx, []store.Slot{sl}); err != nil {
			w.t.Fatal(err)
		}
	}
	a := &store.Appointment{ID: store.NewID(), SlotID: sl.ID, DocNumber: seed.DNI(i), Name: name, Mobile: mobile,
		Language: "es", RefHash: store.NewID()}
	if err := w.store.Book(w.ctx, a, w.clock.Now()); err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) apptStatus(id string) string {
	w.t.Helper()
	a, err := w.store.AppointmentByID(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Status
}

// The officer's day: the appointments of their office, arrivals and
// no-shows marked and audited, and a citizen registered from their
// appointment with the form filled from it; the appointment is then done.
func TestDayViewAndRegisterFromAppointment(t *testing.T) {
	w := newWorld(t)
	clerk := w.officer(w.bcn, "marta", identity.RoleOfficer, true)
	other := w.officer(w.gir, "jordi", identity.RoleOfficer, true)
	ten := w.clock.Now().Add(time.Hour) // 11:00 in Madrid
	nuria := w.booked(w.bcn, ten, 1, "Núria Puig Ferrer", "+34612345678")
	pau := w.booked(w.bcn, ten, 2, "Pau Soler", "+34612345679")
	late := w.booked(w.bcn, ten.Add(15*time.Minute), 3, "Anna Vidal", "")
	girona := w.booked(w.gir, ten, 4, "Joan Roca", "+34612345670")

	b := w.signedIn(clerk, "ca")
	p := b.get("/desk/appointments?day=2026-03-02")
	body := text(p.body)
	if p.status != http.StatusOK || !strings.Contains(body, "Núria Puig Ferrer") || !strings.Contains(body, "Pau Soler") ||
		!strings.Contains(body, "11:00") || !strings.Contains(body, "Reservades: 3.") {
		t.Fatalf("day view: %d\n%s", p.status, body)
	}
	if strings.Contains(body, "Joan Roca") {
		t.Fatal("the day view shows another office's appointment")
	}
	if !w.hasAudit("appointment.day_view", "ok") {
		t.Fatalf("day view not audited: %v", w.auditActions())
	}
	// Today is the default day; a malformed day is refused in words.
	if p := b.get("/desk/appointments"); !strings.Contains(text(p.body), "Pau Soler") {
		t.Fatalf("today's view:\n%s", text(p.body))
	}
	if p := b.get("/desk/appointments?day=2026-13-45"); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(text(p.body), "AAAA-MM-DD") {
		t.Fatalf("bad day: %d\n%s", p.status, text(p.body))
	}

	// Not yet 11:00: nobody is missing.
	p = b.post("/desk/appointments/"+pau.ID+"/status", url.Values{"status": {"no_show"}, "version": {"1"}})
	if p.status != http.StatusConflict || !strings.Contains(text(p.body), "encara no ha començat") || w.apptStatus(pau.ID) != store.ApptBooked {
		t.Fatalf("early no-show: %d\n%s", p.status, text(p.body))
	}
	// Pau arrives; a second click from an old page is stale.
	p = b.post("/desk/appointments/"+pau.ID+"/status", url.Values{"status": {"attended"}, "version": {"1"}})
	if p.status != http.StatusOK || !strings.Contains(text(p.body), "Arribada anotada") || w.apptStatus(pau.ID) != store.ApptAttended {
		t.Fatalf("arrived: %d\n%s", p.status, text(p.body))
	}
	p = b.post("/desk/appointments/"+pau.ID+"/status", url.Values{"status": {"attended"}, "version": {"1"}})
	if p.status != http.StatusConflict || !strings.Contains(text(p.body), "Algú altre") {
		t.Fatalf("stale arrival: %d\n%s", p.status, text(p.body))
	}
	p = b.post("/desk/appointments/"+pau.ID+"/status", url.Values{"status": {"cancelled"}, "version": {"2"}})
	if p.status != http.StatusUnprocessableEntity || w.apptStatus(pau.ID) != store.ApptAttended {
		t.Fatalf("desk cancelling: %d\n%s", p.status, text(p.body))
	}
	// Another office's appointment does not exist for this officer.
	p = b.post("/desk/appointments/"+girona.ID+"/status", url.Values{"status": {"attended"}, "version": {"1"}})
	if p.status != http.StatusNotFound || w.apptStatus(girona.ID) != store.ApptBooked {
		t.Fatalf("other office's appointment: %d\n%s", p.status, text(p.body))
	}
	if p := b.get("/desk/register?appointment=" + girona.ID); p.status != http.StatusNotFound {
		t.Fatalf("registering from another office's appointment: %d", p.status)
	}
	if !w.hasAudit("appointment.arrived", "ok") || !w.hasAudit("appointment.arrived", "denied") ||
		!w.hasAudit("appointment.no_show", "denied") || !w.hasAudit("appointment.register", "denied") {
		t.Fatalf("audit: %v", w.auditActions())
	}

	// Register Núria from her appointment: the form comes filled.
	p = b.get("/desk/register?appointment=" + nuria.ID)
	for _, want := range []string{`value="` + seed.DNI(1) + `"`, `value="Núria"`, `value="Puig"`, `value="Ferrer"`,
		`value="&#43;34612345678"`, `name="appointment" value="` + nuria.ID + `"`, `<option value="es" selected>`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("pre-filled form lacks %s:\n%s", want, p.body)
		}
	}
	form := citizenForm(seed.DNI(1), "+34612345678", "es")
	form.Set("appointment", nuria.ID)
	rec, _ := b.register(form)
	if codeRE.FindString(rec.body) == "" {
		t.Fatalf("no activation code on the receipt:\n%s", text(rec.body))
	}
	if got := w.apptStatus(nuria.ID); got != store.ApptDone {
		t.Fatalf("appointment after the registration: %s", got)
	}
	if !w.hasAudit("appointment.done", "ok") {
		t.Fatalf("done not audited: %v", w.auditActions())
	}
	// The same appointment cannot register twice.
	form.Set("document", seed.DNI(5))
	form.Set("mobile", "+34612345600")
	p = b.post("/desk/register", form)
	if p.status != http.StatusConflict || !strings.Contains(text(p.body), "ja s'ha fet servir") {
		t.Fatalf("second registration from one appointment: %d\n%s", p.status, text(p.body))
	}
	if _, err := w.store.CitizenByDocument(w.ctx, seed.DNI(5)); err == nil {
		t.Fatal("a refused registration was saved")
	}

	// After 11:15 Anna has not come.
	w.clock.Add(90 * time.Minute)
	b = w.signedIn(clerk, "ca") // the session idled out meanwhile
	p = b.post("/desk/appointments/"+late.ID+"/status", url.Values{"status": {"no_show"}, "version": {"1"}})
	if p.status != http.StatusOK || w.apptStatus(late.ID) != store.ApptNoShow {
		t.Fatalf("no-show: %d\n%s", p.status, text(p.body))
	}
	if body := text(p.body); !strings.Contains(body, "Registrat") || !strings.Contains(body, "No presentat") ||
		!strings.Contains(body, "Ha arribat") {
		t.Fatalf("day view after the morning:\n%s", body)
	}

	// The other office's officer sees only their own.
	p = w.signedIn(other, "en").get("/desk/appointments?day=2026-03-02")
	if body := text(p.body); !strings.Contains(body, "Joan Roca") || strings.Contains(body, "Núria") {
		t.Fatalf("Girona's day view:\n%s", body)
	}
}

// The desk API registers from an appointment too.
func TestAPIRegisterFromAppointment(t *testing.T) {
	w := newWorld(t)
	clerk := w.officer(w.bcn, "marta", identity.RoleOfficer, true)
	a := w.booked(w.bcn, w.clock.Now().Add(time.Hour), 1, "Núria Puig", "+34612345678")
	c := w.api(clerk, time.Hour)
	in := map[string]any{"document": seed.DNI(1), "doc_validity": "2031-04-30", "given_name": "Núria",
		"first_surname": "Puig", "birth_date": "1980-02-29", "email": "nuria@example.org", "mobile": "+34612345678",
		"language": "ca", "document_shown": "dni", "document_checked": true, "appointment": a.ID}
	if res := c.json("POST", "/api/desk/v1/citizens", in); res.status != http.StatusCreated {
		t.Fatalf("register: %d %s", res.status, res.raw)
	}
	if got := w.apptStatus(a.ID); got != store.ApptDone {
		t.Fatalf("appointment: %s", got)
	}
	in["document"], in["mobile"] = seed.DNI(2), "+34612345600"
	if res := c.json("POST", "/api/desk/v1/citizens", in); res.status != http.StatusConflict {
		t.Fatalf("second use: %d %s", res.status, res.raw)
	}
}
