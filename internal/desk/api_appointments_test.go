package desk_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
)

// fieldsOf lists a problem's fields as name:code.
func fieldsOf(r apiResult) []string {
	var out []string
	fs, _ := r.body["fields"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		out = append(out, fmt.Sprint(m["name"], ":", m["code"]))
	}
	return out
}

func listOf(r apiResult, member string) []map[string]any {
	var out []map[string]any
	l, _ := r.body[member].([]any)
	for _, x := range l {
		out = append(out, x.(map[string]any))
	}
	return out
}

// The day view over the API: the office's appointments with status and
// version, arrivals and no-shows marked with the version read, and the
// page's refusals (bad day, another office's appointment, stale version,
// no-show before the time, a status the desk may not set), each audited.
func TestAPIAppointments(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clerk := w.api(w.officer(w.bcn, "marta", identity.RoleOfficer, true), 8*time.Hour)
	jordi := w.api(w.officer(w.gir, "jordi", identity.RoleOfficer, true), 8*time.Hour)
	ten := w.clock.Now().Add(time.Hour) // 11:00 in Madrid
	nuria := w.booked(w.bcn, ten, 1, "Núria Puig Ferrer", "+34612345678")
	pau := w.booked(w.bcn, ten, 2, "Pau Soler", "+34612345679")
	late := w.booked(w.bcn, ten.Add(15*time.Minute), 3, "Anna Vidal", "")
	girona := w.booked(w.gir, ten, 4, "Joan Roca", "+34612345670")

	r := clerk.call("GET", "/api/desk/v1/appointments?day=2026-03-02", "", "")
	list := listOf(r, "appointments")
	if r.status != 200 || r.body["day"] != "2026-03-02" || r.body["office"] != "BCN-01" || len(list) != 3 {
		t.Fatalf("day: %d %s", r.status, r.raw)
	}
	if list[0]["time"] != "11:00" || list[0]["status"] != "booked" || list[0]["version"] != float64(1) ||
		list[0]["starts_at"] != "2026-03-02T10:00:00Z" || list[2]["id"] != late.ID || list[2]["name"] != "Anna Vidal" {
		t.Fatalf("day's appointments: %s", r.raw)
	}
	if strings.Contains(r.raw, "Joan Roca") || strings.Contains(r.raw, girona.ID) {
		t.Fatal("the API shows another office's appointment")
	}
	if !strings.Contains(r.raw, seed.DNI(1)) || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("document or caching: %s %v", r.raw, r.header)
	}
	if !w.hasAudit("appointment.day_view", "ok") {
		t.Fatalf("day view not audited: %v", w.auditActions())
	}
	if r := clerk.call("GET", "/api/desk/v1/appointments", "", ""); r.status != 200 || len(listOf(r, "appointments")) != 3 {
		t.Fatalf("today: %d %s", r.status, r.raw)
	}
	for _, lang := range []string{"ca", "es", "en"} {
		clerk.lang = lang
		r := clerk.call("GET", "/api/desk/v1/appointments?day=2026-13-45", "", "")
		if r.status != 422 || strings.Join(fieldsOf(r), " ") != "day:desk.appt.day_invalid" || r.header.Get("Content-Language") != lang ||
			!strings.Contains(r.raw, map[string]string{"ca": "AAAA-MM-DD", "es": "AAAA-MM-DD", "en": "YYYY-MM-DD"}[lang]) {
			t.Fatalf("bad day (%s): %d %s", lang, r.status, r.raw)
		}
	}
	clerk.lang = ""
	if !w.hasAudit("appointment.day_view", "denied") {
		t.Fatalf("bad day not audited: %v", w.auditActions())
	}
	if r := (&api{w: w}).call("GET", "/api/desk/v1/appointments", "", ""); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}

	status := func(a *api, id string, body map[string]any) apiResult {
		return a.json("POST", "/api/desk/v1/appointments/"+id+"/status", body)
	}
	// Not yet 11:00: nobody is missing.
	r = status(clerk, pau.ID, map[string]any{"status": "no_show", "version": 1})
	if r.status != 409 || r.body["code"] != "desk.appt.too_early" || w.apptStatus(pau.ID) != store.ApptBooked {
		t.Fatalf("early no-show: %d %s", r.status, r.raw)
	}
	// Pau arrives; the same call again is stale.
	r = status(clerk, pau.ID, map[string]any{"status": "attended", "version": 1})
	if r.status != 200 || r.body["status"] != "attended" || r.body["version"] != float64(2) || r.body["id"] != pau.ID ||
		w.apptStatus(pau.ID) != store.ApptAttended {
		t.Fatalf("arrived: %d %s", r.status, r.raw)
	}
	r = status(clerk, pau.ID, map[string]any{"status": "attended", "version": 1})
	if r.status != 409 || r.body["code"] != "desk.appt.stale" {
		t.Fatalf("stale arrival: %d %s", r.status, r.raw)
	}
	// "arrived" is the same as "attended".
	if r := status(clerk, nuria.ID, map[string]any{"status": "arrived", "version": 1}); r.status != 200 || r.body["status"] != "attended" {
		t.Fatalf("arrived alias: %d %s", r.status, r.raw)
	}
	// The desk does not cancel, and needs the version.
	r = status(clerk, late.ID, map[string]any{"status": "cancelled", "version": 1})
	if r.status != 422 || strings.Join(fieldsOf(r), " ") != "status:desk.appt.status_invalid" || w.apptStatus(late.ID) != store.ApptBooked {
		t.Fatalf("desk cancelling: %d %s", r.status, r.raw)
	}
	r = status(clerk, late.ID, map[string]any{"status": "attended"})
	if r.status != 422 || strings.Join(fieldsOf(r), " ") != "version:desk.api.version_required" {
		t.Fatalf("no version: %d %s", r.status, r.raw)
	}
	if r := clerk.call("POST", "/api/desk/v1/appointments/"+late.ID+"/status", "application/json", `{"status": "attended", "version": "1"}`); r.status != 400 ||
		r.body["code"] != "desk.api.malformed" {
		t.Fatalf("malformed: %d %s", r.status, r.raw)
	}
	// Another office's appointment, or none, does not exist for this officer.
	for _, id := range []string{girona.ID, "nosuchappointment"} {
		r = status(clerk, id, map[string]any{"status": "attended", "version": 1})
		if r.status != 404 || r.body["code"] != "desk.appt.not_found" {
			t.Fatalf("appointment %s: %d %s", id, r.status, r.raw)
		}
	}
	if w.apptStatus(girona.ID) != store.ApptBooked {
		t.Fatal("another office's appointment changed")
	}
	for _, want := range []string{"appointment.arrived:ok", "appointment.arrived:denied", "appointment.no_show:denied", "appointment.status:denied"} {
		if !w.hasAudit(strings.Split(want, ":")[0], strings.Split(want, ":")[1]) {
			t.Errorf("audit lacks %s: %v", want, w.auditActions())
		}
	}

	// After 11:15 Anna has not come.
	w.clock.Add(90 * time.Minute)
	if r := status(clerk, late.ID, map[string]any{"status": "no_show", "version": 1}); r.status != 200 || r.body["status"] != "no_show" ||
		w.apptStatus(late.ID) != store.ApptNoShow {
		t.Fatalf("no-show: %d %s", r.status, r.raw)
	}
	// Pau came: he cannot be marked missing afterwards, even with the current version.
	if r := status(clerk, pau.ID, map[string]any{"status": "no_show", "version": 2}); r.status != 409 || r.body["code"] != "desk.appt.stale" ||
		w.apptStatus(pau.ID) != store.ApptAttended {
		t.Fatalf("no-show after arrival: %d %s", r.status, r.raw)
	}
	if !w.hasAudit("appointment.no_show", "ok") {
		t.Fatalf("no-show not audited: %v", w.auditActions())
	}
	// Girona sees only its own.
	r = jordi.call("GET", "/api/desk/v1/appointments?day=2026-03-02", "", "")
	if l := listOf(r, "appointments"); r.status != 200 || len(l) != 1 || l[0]["id"] != girona.ID {
		t.Fatalf("Girona's day: %d %s", r.status, r.raw)
	}
}

func weekJSON(open, close string) map[string]any {
	h := map[string]any{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		h[d] = map[string]string{"open": open, "close": close}
	}
	return map[string]any{"hours": h, "slot_minutes": 15, "desks": 2}
}

// The schedule over the API: supervisors and administrators only; bad
// input named field by field and nothing saved; changes that drop booked
// appointments answer with them, and their citizens are told.
func TestAPISchedule(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clerk := w.api(w.officer(w.bcn, "marta", identity.RoleOfficer, true), time.Hour)
	boss := w.api(w.officer(w.bcn, "rosa", identity.RoleSupervisor, true), time.Hour)
	admin := w.api(w.officer(w.gir, "root", identity.RoleAdmin, true), time.Hour)

	// An officer may neither see nor change the schedule; each try is audited.
	for _, c := range []struct {
		method, path, action string
		body                 any
	}{
		{"GET", "/api/desk/v1/schedule", "schedule.view", nil},
		{"PUT", "/api/desk/v1/schedule/hours", "schedule.update", weekJSON("09:00", "14:00")},
		{"POST", "/api/desk/v1/schedule/closures", "schedule.closure_add", map[string]any{"day": "2026-03-04", "reason": "Festa"}},
		{"DELETE", "/api/desk/v1/schedule/closures/2026-03-04", "schedule.closure_remove", nil},
	} {
		var r apiResult
		if c.body == nil {
			r = clerk.call(c.method, c.path, "", "")
		} else {
			r = clerk.json(c.method, c.path, c.body)
		}
		if r.status != 403 || r.body["code"] != "desk.schedule.forbidden" || !w.hasAudit(c.action, "denied") {
			t.Fatalf("officer %s %s: %d %s", c.method, c.path, r.status, r.raw)
		}
	}
	if h, _ := w.store.OfficeHours(w.ctx, w.bcn.ID); len(h) != 0 {
		t.Fatalf("an officer changed the hours: %+v", h)
	}

	// Bad input: every field named, nothing saved, audited.
	bad := weekJSON("09:00", "14:00")
	hours := bad["hours"].(map[string]any)
	hours["tuesday"] = map[string]string{"open": "25:00", "close": "14:00"}
	hours["wednesday"] = map[string]string{"open": "15:00", "close": "14:00"}
	hours["funday"] = map[string]string{"open": "09:00", "close": "14:00"}
	bad["desks"] = 0
	boss.lang = "es"
	r := boss.json("PUT", "/api/desk/v1/schedule/hours", bad)
	got := strings.Join(fieldsOf(r), " ")
	for _, want := range []string{"hours.funday:desk.api.weekday_invalid", "hours.tuesday:schedule.time_invalid",
		"hours.wednesday:schedule.open_before_close", "desks:schedule.desks"} {
		if !strings.Contains(got, want) {
			t.Errorf("bad hours lack %s: %d %s", want, r.status, r.raw)
		}
	}
	if r.status != 422 || !strings.Contains(r.raw, "monday") || !strings.Contains(r.raw, "HH:MM") {
		t.Fatalf("bad hours: %d %s", r.status, r.raw)
	}
	delete(hours, "funday")
	r = boss.json("PUT", "/api/desk/v1/schedule/hours", bad)
	if got := strings.Join(fieldsOf(r), " "); r.status != 422 ||
		got != "hours.tuesday:schedule.time_invalid hours.wednesday:schedule.open_before_close desks:schedule.desks" {
		t.Fatalf("bad hours without the unknown day: %d %s", r.status, r.raw)
	}
	if r := boss.call("PUT", "/api/desk/v1/schedule/hours", "application/json", `{"hours": {"monday": {"open": "09:00", "shut": "14:00"}}}`); r.status != 400 {
		t.Fatalf("unknown member: %d %s", r.status, r.raw)
	}
	if r := boss.json("PUT", "/api/desk/v1/schedule/hours", map[string]any{"slot_minutes": 15, "desks": 2}); r.status != 422 ||
		strings.Join(fieldsOf(r), " ") != "hours:desk.api.hours_required" || !strings.Contains(r.raw, "toda la semana") {
		t.Fatalf("week left out: %d %s", r.status, r.raw)
	}
	boss.lang = ""
	if h, _ := w.store.OfficeHours(w.ctx, w.bcn.ID); len(h) != 0 || !w.hasAudit("schedule.update", "denied") {
		t.Fatalf("bad hours saved: %+v", h)
	}

	// Monday to Friday 9-14, slots of 15 minutes, two desks.
	r = boss.json("PUT", "/api/desk/v1/schedule/hours", weekJSON("09:00", "14:00"))
	sched, _ := r.body["schedule"].(map[string]any)
	if r.status != 200 || r.body["appointments_dropped"] != float64(0) || sched == nil || sched["desks"] != float64(2) ||
		fmt.Sprint(sched["hours"].(map[string]any)["friday"]) != "map[close:14:00 open:09:00]" {
		t.Fatalf("save hours: %d %s", r.status, r.raw)
	}
	if s := w.slotsOn(w.bcn, "2026-03-04"); len(s) != 20 || s[0].Capacity != 2 || !w.hasAudit("schedule.update", "ok") {
		t.Fatalf("Wednesday's slots = %d", len(s))
	}
	r = boss.call("GET", "/api/desk/v1/schedule", "", "")
	if r.status != 200 || r.body["slot_minutes"] != float64(15) || len(r.body["hours"].(map[string]any)) != 5 ||
		r.body["hours"].(map[string]any)["saturday"] != nil || len(listOf(r, "closures")) != 0 {
		t.Fatalf("get schedule: %d %s", r.status, r.raw)
	}

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

	// Wednesday becomes a local holiday: Núria's appointment is dropped and she is told.
	r = boss.json("POST", "/api/desk/v1/schedule/closures", map[string]any{"day": "2026-03-04", "reason": "Festa  local"})
	dropped := listOf(r, "dropped")
	if r.status != 201 || r.body["appointments_dropped"] != float64(1) || len(dropped) != 1 || dropped[0]["id"] != a.Appointment.ID ||
		dropped[0]["status"] != "cancelled" || dropped[0]["starts_at"] != "2026-03-04T09:00:00Z" ||
		fmt.Sprint(r.body["closure"]) != "map[day:2026-03-04 reason:Festa local]" ||
		r.header.Get("Location") != "/api/desk/v1/schedule/closures/2026-03-04" {
		t.Fatalf("close a day: %d %s", r.status, r.raw)
	}
	if got := w.apptStatus(a.Appointment.ID); got != store.ApptCancelled {
		t.Fatalf("appointment on a closed day: %s", got)
	}
	if m := w.message("no puede mantener"); m.Recipient != "+34612345678" || !strings.Contains(m.Body, "04/03/2026 10:00") {
		t.Fatalf("notice = %+v", m)
	}
	if !w.hasAudit("appointment.dropped", "ok") || !w.hasAudit("schedule.closure_add", "ok") {
		t.Fatalf("audit: %v", w.auditActions())
	}
	// Bad closures.
	for _, tc := range []struct{ day, reason, fields string }{
		{"2026-03-04", "Again", "day:schedule.day_closed"},
		{"2026-03-01", "Past", "day:schedule.day_past"},
		{"dimecres", "", "day:schedule.day_invalid reason:schedule.reason_required"},
	} {
		r := boss.json("POST", "/api/desk/v1/schedule/closures", map[string]any{"day": tc.day, "reason": tc.reason})
		if r.status != 422 || strings.Join(fieldsOf(r), " ") != tc.fields {
			t.Fatalf("closure %q: %d %s", tc.day, r.status, r.raw)
		}
	}
	if !w.hasAudit("schedule.closure_add", "denied") {
		t.Fatalf("bad closure not audited: %v", w.auditActions())
	}
	r = boss.call("GET", "/api/desk/v1/schedule", "", "")
	if cl := listOf(r, "closures"); len(cl) != 1 || cl[0]["day"] != "2026-03-04" || cl[0]["reason"] != "Festa local" {
		t.Fatalf("closures: %s", r.raw)
	}
	// Open again; a second time there is nothing to reopen.
	if r := boss.call("DELETE", "/api/desk/v1/schedule/closures/2026-03-04", "", ""); r.status != 204 || open(w.slotsOn(w.bcn, "2026-03-04")) != 20 {
		t.Fatalf("reopen: %d %s", r.status, r.raw)
	}
	if r := boss.call("DELETE", "/api/desk/v1/schedule/closures/2026-03-04", "", ""); r.status != 404 || r.body["code"] != "schedule.no_closure" ||
		!w.hasAudit("schedule.closure_remove", "denied") || !w.hasAudit("schedule.closure_remove", "ok") {
		t.Fatalf("reopen an open day: %d %s", r.status, r.raw)
	}

	// Afternoons are cut: Pere's 13:30 no longer fits; he is told in English.
	r = boss.json("PUT", "/api/desk/v1/schedule/hours", weekJSON("09:00", "13:00"))
	if dropped := listOf(r, "dropped"); r.status != 200 || len(dropped) != 1 || dropped[0]["id"] != c.Appointment.ID || dropped[0]["name"] != "Pere Vila" {
		t.Fatalf("shorter hours: %d %s", r.status, r.raw)
	}
	if m := w.message("cannot keep"); m.Recipient != "pere@example.org" || !strings.Contains(m.Body, "05/03/2026 13:30") {
		t.Fatalf("notice = %+v", m)
	}

	// An administrator manages their own office's schedule; an empty week closes every day.
	r = admin.json("PUT", "/api/desk/v1/schedule/hours", map[string]any{"hours": map[string]any{}})
	if r.status != 200 || r.body["schedule"].(map[string]any)["office"] != "GIR-01" {
		t.Fatalf("admin: %d %s", r.status, r.raw)
	}
	if h, _ := w.store.OfficeHours(w.ctx, w.bcn.ID); len(h) != 5 || h[0].Close != "13:00" {
		t.Fatalf("Barcelona's hours after Girona's change: %+v", h)
	}
}
