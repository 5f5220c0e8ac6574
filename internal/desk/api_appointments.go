package desk

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// The desk API's day view and schedule: the same service calls, checks,
// refusals and audit events as the /desk/appointments and /desk/schedule
// pages (markAppointment, mayManageSchedule, appointments.Reschedule).

// apiAppointment is an appointment in the API.
type apiAppointment struct {
	ID       string    `json:"id"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Time     string    `json:"time"` // local HH:MM at the office
	Name     string    `json:"name"`
	Document string    `json:"document"`
	Mobile   string    `json:"mobile,omitempty"`
	Email    string    `json:"email,omitempty"`
	Language string    `json:"language,omitempty"`
	Status   string    `json:"status"`
	Version  int64     `json:"version"`
}

func (d *Desk) apiAppointmentOf(a *store.Appointment) apiAppointment {
	doc := a.DocNumber
	if p, err := identity.ParseDocument(doc); err == nil {
		doc = p.Number
	}
	return apiAppointment{ID: a.ID, StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(), Time: a.StartsAt.In(d.loc).Format("15:04"),
		Name: a.Name, Document: doc, Mobile: a.Mobile, Email: a.Email, Language: a.Language, Status: a.Status, Version: a.Version}
}

// apiAppointments is GET /api/desk/v1/appointments?day=: the office's
// appointments of a day (today by default), in slot order, every status.
func (d *Desk) apiAppointments(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	day, err := d.day(r.URL.Query().Get("day"))
	if err != nil {
		err = d.refusedAPI(r, s, "appointment.day_view", "", err)
		d.d.Server.WriteError(w, r, err)
		return
	}
	list, err := d.d.Store.ListAppointments(ctx, s.Office.ID, day.UTC(), day.AddDate(0, 0, 1).UTC())
	if err == nil {
		err = d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "appointment.day_view",
			Office: s.Office.Code, Source: s.actor(r).Source, Details: map[string]string{"day": day.Format("2006-01-02"), "via": "api"}})
	}
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	out := []apiAppointment{}
	for i := range list {
		out = append(out, d.apiAppointmentOf(&list[i]))
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"office": s.Office.Code, "day": day.Format("2006-01-02"), "appointments": out})
}

// refusedAPI audits a refusal the page shows without a trail entry of its
// own (a malformed request), and returns err.
func (d *Desk) refusedAPI(r *http.Request, s *signedIn, action, subject string, err error) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	reason := p.MsgID
	for _, f := range p.Fields {
		reason += " " + f.Name + ":" + f.MsgID
	}
	if aerr := d.trail.Record(r.Context(), audit.Event{Actor: "officer:" + s.Officer.Username, Action: action, Subject: subject,
		Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
		Details: map[string]string{"reason": reason, "via": "api"}}); aerr != nil {
		return aerr
	}
	return err
}

// apiAppointmentStatus is POST /api/desk/v1/appointments/{id}/status with
// {"status": "attended"|"no_show", "version": N}; "arrived" is taken for
// "attended".
func (d *Desk) apiAppointmentStatus(w http.ResponseWriter, r *http.Request, s *signedIn) {
	var in struct {
		Status  string `json:"status"`
		Version int64  `json:"version"`
	}
	subject := "appointment:" + r.PathValue("id")
	if err := decodeVersioned(r, &in, &in.Version); err != nil {
		d.d.Server.WriteError(w, r, d.refusedAPI(r, s, "appointment.status", subject, err))
		return
	}
	if in.Status == "arrived" {
		in.Status = store.ApptAttended
	}
	a, err := d.markAppointment(r.Context(), r, s, r.PathValue("id"), in.Status, in.Version)
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, d.apiAppointmentOf(a))
}

// weekdayNames are the API's names of the days of the week.
var weekdayNames = map[time.Weekday]string{time.Monday: "monday", time.Tuesday: "tuesday", time.Wednesday: "wednesday",
	time.Thursday: "thursday", time.Friday: "friday", time.Saturday: "saturday", time.Sunday: "sunday"}

type apiHours struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

type apiClosure struct {
	Day    string `json:"day"`
	Reason string `json:"reason"`
}

// apiSchedule is the office's schedule as GET /api/desk/v1/schedule
// shows it and PUT …/schedule/hours takes it (without closures).
type apiSchedule struct {
	Office      string              `json:"office"`
	Hours       map[string]apiHours `json:"hours"` // by weekday name; a day left out is closed
	SlotMinutes int                 `json:"slot_minutes"`
	Desks       int                 `json:"desks"`
	Closures    []apiClosure        `json:"closures"` // today and later
}

func (d *Desk) apiScheduleOf(r *http.Request, s *signedIn) (*apiSchedule, error) {
	ctx := r.Context()
	hs, err := d.d.Store.OfficeHours(ctx, s.Office.ID)
	if err != nil {
		return nil, err
	}
	cl, err := d.d.Store.Closures(ctx, s.Office.ID)
	if err != nil {
		return nil, err
	}
	out := &apiSchedule{Office: s.Office.Code, Hours: map[string]apiHours{}, Closures: []apiClosure{}}
	for _, h := range hs {
		out.Hours[weekdayNames[h.Weekday]] = apiHours{Open: h.Open, Close: h.Close}
		out.SlotMinutes, out.Desks = h.SlotMinutes, h.Desks
	}
	today := d.now().In(d.loc).Format("2006-01-02")
	for _, c := range cl {
		if c.Day >= today {
			out.Closures = append(out.Closures, apiClosure{Day: c.Day, Reason: c.Reason})
		}
	}
	sort.Slice(out.Closures, func(i, j int) bool { return out.Closures[i].Day < out.Closures[j].Day })
	return out, nil
}

func (d *Desk) apiScheduleGet(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if err := d.mayManageSchedule(r, s, "schedule.view"); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	out, err := d.apiScheduleOf(r, s)
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

// apiFieldNames turns the schedule's form field names (open_<weekday>)
// into the API's (hours.<weekday name>).
func apiFieldNames(err error) error {
	p, ok := problem.As(err)
	if !ok || len(p.Fields) == 0 {
		return err
	}
	fields := make([]problem.Field, len(p.Fields))
	copy(fields, p.Fields)
	for i, f := range fields {
		for wd, name := range weekdayNames {
			if f.Name == fmt.Sprintf("open_%d", wd) {
				fields[i].Name = "hours." + name
			}
		}
	}
	out := *p
	out.Fields = fields
	return &out
}

// dropped is the answer to a schedule change: the appointments given up,
// whose citizens were told.
func (d *Desk) dropped(list []store.Appointment) map[string]any {
	out := []apiAppointment{}
	for i := range list {
		out = append(out, d.apiAppointmentOf(&list[i]))
	}
	return map[string]any{"appointments_dropped": len(out), "dropped": out}
}

// apiScheduleHours is PUT /api/desk/v1/schedule/hours: the whole week.
func (d *Desk) apiScheduleHours(w http.ResponseWriter, r *http.Request, s *signedIn) {
	const action = "schedule.update"
	if err := d.mayManageSchedule(r, s, action); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	var in struct {
		Hours       map[string]apiHours `json:"hours"`
		SlotMinutes int                 `json:"slot_minutes"`
		Desks       int                 `json:"desks"`
	}
	if err := decode(r, &in); err != nil {
		d.d.Server.WriteError(w, r, d.refusedAPI(r, s, action, "office:"+s.Office.Code, err))
		return
	}
	var unknown []problem.Field
	if in.Hours == nil {
		// Left out by mistake, it would close every day: an empty week is {}.
		unknown = append(unknown, problem.Field{Name: "hours", MsgID: "desk.api.hours_required"})
	}
	for name := range in.Hours {
		known := false
		for _, n := range weekdayNames {
			known = known || n == name
		}
		if !known {
			unknown = append(unknown, problem.Field{Name: "hours." + name, MsgID: "desk.api.weekday_invalid"})
		}
	}
	var hours []store.OfficeHours
	for _, wd := range weekdays {
		h, ok := in.Hours[weekdayNames[wd]]
		if !ok {
			continue // closed that weekday
		}
		hours = append(hours, store.OfficeHours{Weekday: wd, Open: strings.TrimSpace(h.Open), Close: strings.TrimSpace(h.Close),
			SlotMinutes: in.SlotMinutes, Desks: in.Desks})
	}
	var err error
	var list []store.Appointment
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool { return unknown[i].Name < unknown[j].Name })
		if p, ok := problem.As(appointments.CheckHours(hours)); ok {
			unknown = append(unknown, apiFieldNames(p).(*problem.Error).Fields...)
		}
		err = problem.Invalid(unknown...)
	} else {
		list, err = d.d.Appointments.RescheduleDropped(r.Context(), s.Office, appointments.ScheduleChange{SetHours: true, Hours: hours},
			appointments.Who{Actor: "officer:" + s.Officer.Username, Source: s.actor(r).Source})
		err = apiFieldNames(err)
	}
	if err != nil {
		if aerr := d.auditScheduleRefusal(r, s, action, err); aerr != nil {
			err = aerr
		}
		d.d.Server.WriteError(w, r, err)
		return
	}
	out := d.dropped(list)
	if out["schedule"], err = d.apiScheduleOf(r, s); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

// apiClosureAdd is POST /api/desk/v1/schedule/closures with {"day", "reason"}.
func (d *Desk) apiClosureAdd(w http.ResponseWriter, r *http.Request, s *signedIn) {
	const action = "schedule.closure_add"
	if err := d.mayManageSchedule(r, s, action); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	var in apiClosure
	if err := decode(r, &in); err != nil {
		d.d.Server.WriteError(w, r, d.refusedAPI(r, s, action, "office:"+s.Office.Code, err))
		return
	}
	list, err := d.d.Appointments.RescheduleDropped(r.Context(), s.Office, appointments.ScheduleChange{AddClosure: &store.Closure{
		Day: in.Day, Reason: in.Reason}}, appointments.Who{Actor: "officer:" + s.Officer.Username, Source: s.actor(r).Source})
	if err != nil {
		if aerr := d.auditScheduleRefusal(r, s, action, err); aerr != nil {
			err = aerr
		}
		d.d.Server.WriteError(w, r, err)
		return
	}
	out := d.dropped(list)
	out["closure"] = apiClosure{Day: strings.TrimSpace(in.Day), Reason: strings.Join(strings.Fields(in.Reason), " ")}
	w.Header().Set("Location", "/api/desk/v1/schedule/closures/"+strings.TrimSpace(in.Day))
	httpserver.WriteJSON(w, http.StatusCreated, out)
}

// apiClosureRemove is DELETE /api/desk/v1/schedule/closures/{day}: the
// office opens that day again.
func (d *Desk) apiClosureRemove(w http.ResponseWriter, r *http.Request, s *signedIn) {
	const action = "schedule.closure_remove"
	if err := d.mayManageSchedule(r, s, action); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	_, err := d.d.Appointments.RescheduleDropped(r.Context(), s.Office, appointments.ScheduleChange{RemoveClosure: r.PathValue("day")},
		appointments.Who{Actor: "officer:" + s.Officer.Username, Source: s.actor(r).Source})
	if err != nil {
		if aerr := d.auditScheduleRefusal(r, s, action, err); aerr != nil {
			err = aerr
		}
		d.d.Server.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
