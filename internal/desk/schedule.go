package desk

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// The schedule page: a supervisor (or admin) sets their office's weekly
// opening hours, slot length and desks per slot, and its closed days.
// Slots follow (appointments.Reschedule); the page says how many booked
// citizens a change affected, and those citizens are told.

var errNotSupervisor = problem.New(http.StatusForbidden, "desk.schedule.forbidden")

// weekdays in the order the page lists them, Monday first.
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

func scheduleFields() []field {
	var fs []field
	for _, d := range weekdays {
		fs = append(fs,
			field{Name: fmt.Sprintf("open_%d", d), Label: "desk.schedule.open", Hint: "desk.schedule.time_hint", Type: "text", Size: "short", Autocomplete: "off"},
			field{Name: fmt.Sprintf("close_%d", d), Label: "desk.schedule.close", Type: "text", Size: "short", Autocomplete: "off"})
	}
	return append(fs,
		field{Name: "slot_minutes", Label: "desk.schedule.slot_minutes", Type: "text", InputMode: "numeric", Size: "short", Required: true, Autocomplete: "off"},
		field{Name: "desks", Label: "desk.schedule.desks", Type: "text", InputMode: "numeric", Size: "short", Required: true, Autocomplete: "off"})
}

var closureFields = []field{
	{Name: "day", Label: "desk.schedule.day", Type: "date", Required: true},
	{Name: "reason", Label: "desk.schedule.reason", Hint: "desk.schedule.reason_hint", Type: "text", Required: true, Autocomplete: "off"},
}

type scheduleDay struct {
	Name       string // message ID
	Open, Shut string // field names
}

type closureView struct{ Day, DayText, Reason, RemoveLabel string }

type scheduleView struct {
	Days     []scheduleDay
	Closures []closureView
	Hours    formView
	Closure  formView
}

func (d *Desk) refuseNonSupervisor(w http.ResponseWriter, r *http.Request, s *signedIn, action string) bool {
	if err := d.mayManageSchedule(r, s, action); err != nil {
		d.fail(w, r, "/desk", err)
		return true
	}
	return false
}

// mayManageSchedule lets supervisors and administrators (of a deployment
// with appointments) see and change the office's schedule; others are
// refused with errNotSupervisor, audited. The page and the API share it.
func (d *Desk) mayManageSchedule(r *http.Request, s *signedIn, action string) error {
	if s.manages() && d.d.Appointments != nil {
		return nil
	}
	err := d.trail.Record(r.Context(), audit.Event{Actor: "officer:" + s.Officer.Username, Action: action,
		Subject: "office:" + s.Office.Code, Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
		Details: map[string]string{"reason": "not a supervisor"}})
	if err == nil {
		err = errNotSupervisor
	}
	return err
}

func (d *Desk) schedulePage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.refuseNonSupervisor(w, r, s, "schedule.view") {
		return
	}
	notice := ""
	if q := r.URL.Query(); q.Get("done") != "" {
		n, _ := strconv.Atoi(q.Get("dropped"))
		notice = d.t(d.lang(r), "desk.schedule.saved", map[string]any{"Count": n})
	}
	d.renderSchedule(w, r, s, http.StatusOK, nil, nil, notice, nil)
}

func (d *Desk) renderSchedule(w http.ResponseWriter, r *http.Request, s *signedIn, status int, hours, closure *web.Form, notice string, pageErr error) {
	ctx, lang := r.Context(), d.lang(r)
	if hours == nil {
		hs, err := d.d.Store.OfficeHours(ctx, s.Office.ID)
		if err != nil {
			d.fail(w, r, "/desk", err)
			return
		}
		v := map[string]string{"slot_minutes": "15", "desks": "1"}
		for _, h := range hs {
			v[fmt.Sprintf("open_%d", h.Weekday)], v[fmt.Sprintf("close_%d", h.Weekday)] = h.Open, h.Close
			v["slot_minutes"], v["desks"] = strconv.Itoa(h.SlotMinutes), strconv.Itoa(h.Desks)
		}
		hours = web.NewForm(v)
	}
	cl, err := d.d.Store.Closures(ctx, s.Office.ID)
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	sv := &scheduleView{Hours: d.buildForm(lang, hours, scheduleFields()), Closure: d.buildForm(lang, closure, closureFields)}
	for _, wd := range weekdays {
		sv.Days = append(sv.Days, scheduleDay{Name: "desk.schedule.weekday." + strconv.Itoa(int(wd)),
			Open: fmt.Sprintf("open_%d", wd), Shut: fmt.Sprintf("close_%d", wd)})
	}
	today := d.now().In(d.loc).Format("2006-01-02")
	for _, c := range cl {
		if c.Day < today {
			continue
		}
		t, _ := time.Parse("2006-01-02", c.Day)
		sv.Closures = append(sv.Closures, closureView{Day: c.Day, DayText: t.Format("02/01/2006"), Reason: c.Reason,
			RemoveLabel: d.t(lang, "desk.schedule.remove_label", map[string]any{"Day": t.Format("02/01/2006")})})
	}
	v := &view{Lang: lang, Me: d.me(lang, s), Schedule: sv, Notice: notice}
	if pageErr != nil {
		v.Error = d.t(lang, problemOf(pageErr).MsgID, nil)
	}
	d.render(w, at(r, "/desk/schedule"), status, "desk_schedule.html", "desk.schedule.title", v)
}

func (d *Desk) scheduleHours(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	if d.refuseNonSupervisor(w, r, s, "schedule.update") {
		return
	}
	values := map[string]string{}
	for _, f := range scheduleFields() {
		values[f.Name] = strings.TrimSpace(r.PostFormValue(f.Name))
	}
	form := web.NewForm(values)
	var fields []problem.Field
	minutes, err1 := strconv.Atoi(values["slot_minutes"])
	desks, err2 := strconv.Atoi(values["desks"])
	if err1 != nil {
		fields = append(fields, problem.Field{Name: "slot_minutes", MsgID: "schedule.slot_minutes"})
	}
	if err2 != nil {
		fields = append(fields, problem.Field{Name: "desks", MsgID: "schedule.desks"})
	}
	var hours []store.OfficeHours
	for _, wd := range weekdays {
		o, c := values[fmt.Sprintf("open_%d", wd)], values[fmt.Sprintf("close_%d", wd)]
		if o == "" && c == "" {
			continue // closed that weekday
		}
		hours = append(hours, store.OfficeHours{Weekday: wd, Open: o, Close: c, SlotMinutes: minutes, Desks: desks})
	}
	if len(fields) > 0 {
		// Check the hours too, so every mistake shows at once.
		probe := append([]store.OfficeHours(nil), hours...)
		for i := range probe {
			probe[i].SlotMinutes, probe[i].Desks = 5, 1
		}
		if p, ok := problem.As(appointments.CheckHours(probe)); ok {
			fields = append(p.Fields, fields...)
		}
	}
	var err error
	if len(fields) > 0 {
		err = problem.Invalid(fields...)
	} else {
		var n int
		n, err = d.d.Appointments.Reschedule(ctx, s.Office, appointments.ScheduleChange{SetHours: true, Hours: hours},
			appointments.Who{Actor: "officer:" + s.Officer.Username, Source: s.actor(r).Source})
		if err == nil {
			seeOther(w, r, "/desk/schedule?done=hours&dropped="+strconv.Itoa(n))
			return
		}
	}
	d.scheduleFailed(w, r, s, "schedule.update", err, func(status int) {
		d.failForm(lang, form, err, scheduleFields())
		d.renderSchedule(w, r, s, status, form, nil, "", nil)
	})
}

// scheduleFailed audits a refused change and shows the page again.
func (d *Desk) scheduleFailed(w http.ResponseWriter, r *http.Request, s *signedIn, action string, err error, show func(status int)) {
	if _, ok := problem.As(err); !ok {
		d.fail(w, r, "/desk/schedule", err)
		return
	}
	if err := d.auditScheduleRefusal(r, s, action, err); err != nil {
		d.fail(w, r, "/desk/schedule", err)
		return
	}
	show(problem.Status(err))
}

// auditScheduleRefusal records a refused schedule change (a problem) with
// the message and every field at fault.
func (d *Desk) auditScheduleRefusal(r *http.Request, s *signedIn, action string, err error) error {
	p, ok := problem.As(err)
	if !ok {
		return nil
	}
	reason := p.MsgID
	for _, f := range p.Fields {
		reason += " " + f.Name + ":" + f.MsgID
	}
	return d.trail.Record(r.Context(), audit.Event{Actor: "officer:" + s.Officer.Username, Action: action,
		Subject: "office:" + s.Office.Code, Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
		Details: map[string]string{"reason": reason}})
}

func (d *Desk) scheduleClosureAdd(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	if d.refuseNonSupervisor(w, r, s, "schedule.closure_add") {
		return
	}
	form := web.NewForm(map[string]string{"day": r.PostFormValue("day"), "reason": r.PostFormValue("reason")})
	n, err := d.d.Appointments.Reschedule(ctx, s.Office, appointments.ScheduleChange{AddClosure: &store.Closure{
		Day: r.PostFormValue("day"), Reason: r.PostFormValue("reason")}},
		appointments.Who{Actor: "officer:" + s.Officer.Username, Source: s.actor(r).Source})
	if err == nil {
		seeOther(w, r, "/desk/schedule?done=closure&dropped="+strconv.Itoa(n))
		return
	}
	d.scheduleFailed(w, r, s, "schedule.closure_add", err, func(status int) {
		d.failForm(lang, form, err, closureFields)
		d.renderSchedule(w, r, s, status, nil, form, "", nil)
	})
}

func (d *Desk) scheduleClosureRemove(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.refuseNonSupervisor(w, r, s, "schedule.closure_remove") {
		return
	}
	_, err := d.d.Appointments.Reschedule(r.Context(), s.Office, appointments.ScheduleChange{RemoveClosure: r.PathValue("day")},
		appointments.Who{Actor: "officer:" + s.Officer.Username, Source: s.actor(r).Source})
	if err == nil {
		seeOther(w, r, "/desk/schedule?done=reopened")
		return
	}
	if errors.Is(err, appointments.ErrNoClosure) {
		d.scheduleFailed(w, r, s, "schedule.closure_remove", err, func(status int) {
			d.renderSchedule(w, r, s, status, nil, nil, "", err)
		})
		return
	}
	d.fail(w, r, "/desk/schedule", err)
}
