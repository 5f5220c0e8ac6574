package desk

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// The day view: an office's appointments of one day, in slot order, with
// who comes and when. Officers mark arrivals and no-shows, and open the
// registration form filled from an appointment; a registration made from
// it marks the appointment done. Officers see only their own office's
// appointments; every change is audited.

var (
	errApptNotFound = problem.New(http.StatusNotFound, "desk.appt.not_found")
	errApptTooEarly = problem.New(http.StatusConflict, "desk.appt.too_early")
	errApptStale    = problem.New(http.StatusConflict, "desk.appt.stale")
	errApptDay      = problem.Invalid(problem.Field{Name: "day", MsgID: "desk.appt.day_invalid"})
)

// apptView is one line of the day view.
type apptView struct {
	ID, Time, Name, Document, Contact string
	Status                            string // message ID
	Version                           int64
	Booked, Arrived                   bool // what the officer may still do
	// Labels naming the citizen, for screen readers.
	ArrivedLabel, NoShowLabel, RegisterLabel string
}

// dayView is the day view's page data.
type dayView struct {
	Day, DayText, Prev, Next, Today string
	Appointments                    []apptView
	Counts                          map[string]any // by status, for the summary line
}

// apptStatuses the desk may set from the day view, with the audit action.
var apptStatuses = map[string]string{
	store.ApptAttended: "appointment.arrived",
	store.ApptNoShow:   "appointment.no_show",
}

// day reads the ?day= of the day view; empty is today in the desk's zone.
func (d *Desk) day(q string) (time.Time, error) {
	if q == "" {
		n := d.now().In(d.loc)
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, d.loc), nil
	}
	t, err := time.ParseInLocation("2006-01-02", q, d.loc)
	if err != nil || t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, errApptDay
	}
	return t, nil
}

func (d *Desk) appointmentsPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	day, err := d.day(r.URL.Query().Get("day"))
	if err != nil {
		d.fail(w, r, "/desk/appointments", err)
		return
	}
	notice := ""
	switch r.URL.Query().Get("done") {
	case store.ApptAttended:
		notice = "desk.appt.arrived_done"
	case store.ApptNoShow:
		notice = "desk.appt.no_show_done"
	}
	d.renderDay(w, r, s, http.StatusOK, day, notice, nil)
}

func (d *Desk) renderDay(w http.ResponseWriter, r *http.Request, s *signedIn, status int, day time.Time, notice string, pageErr error) {
	ctx, lang := r.Context(), d.lang(r)
	list, err := d.d.Store.ListAppointments(ctx, s.Office.ID, day.UTC(), day.AddDate(0, 0, 1).UTC())
	if err == nil {
		err = d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "appointment.day_view",
			Office: s.Office.Code, Source: s.actor(r).Source, Details: map[string]string{"day": day.Format("2006-01-02")}})
	}
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	n := d.now().In(d.loc)
	dv := &dayView{Day: day.Format("2006-01-02"), DayText: day.Format("02/01/2006"),
		Prev: day.AddDate(0, 0, -1).Format("2006-01-02"), Next: day.AddDate(0, 0, 1).Format("2006-01-02"),
		Today: n.Format("2006-01-02")}
	counts := map[string]int{}
	for _, a := range list {
		counts[a.Status]++
		if a.Status == store.ApptCancelled {
			continue
		}
		doc := a.DocNumber
		if p, err := identity.ParseDocument(doc); err == nil {
			doc = p.Number
		}
		contact := a.Mobile
		if contact == "" {
			contact = a.Email
		}
		args := map[string]any{"Name": a.Name}
		dv.Appointments = append(dv.Appointments, apptView{ID: a.ID, Time: a.StartsAt.In(d.loc).Format("15:04"),
			Name: a.Name, Document: doc, Contact: contact, Status: "desk.appt.status." + a.Status, Version: a.Version,
			Booked: a.Status == store.ApptBooked, Arrived: a.Status == store.ApptAttended,
			ArrivedLabel:  d.t(lang, "desk.appt.arrived_label", args),
			NoShowLabel:   d.t(lang, "desk.appt.no_show_label", args),
			RegisterLabel: d.t(lang, "desk.appt.register_label", args)})
	}
	dv.Counts = map[string]any{"Booked": counts[store.ApptBooked], "Arrived": counts[store.ApptAttended],
		"NoShow": counts[store.ApptNoShow], "Done": counts[store.ApptDone], "Cancelled": counts[store.ApptCancelled]}
	v := &view{Lang: lang, Me: d.me(lang, s), Day: dv}
	d.setMessages(v, lang, notice, pageErr)
	d.render(w, at(r, "/desk/appointments"), status, "desk_appointments.html", "desk.appt.title", v)
}

// ownAppointment finds an appointment of the officer's office; another
// office's is "not found", and the attempt is audited.
func (d *Desk) ownAppointment(ctx context.Context, r *http.Request, s *signedIn, id, action string) (*store.Appointment, error) {
	a, err := d.d.Store.AppointmentByID(ctx, id)
	if err == nil && a.OfficeID == s.Office.ID {
		return a, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: action,
		Subject: "appointment:" + id, Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
		Details: map[string]string{"reason": "not an appointment of this office"}}); err != nil {
		return nil, err
	}
	return nil, errApptNotFound
}

func (d *Desk) appointmentStatus(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	status := r.PostFormValue("status")
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64) // unreadable: 0, which is stale
	a, err := d.markAppointment(r.Context(), r, s, r.PathValue("id"), status, version)
	day := d.now().In(d.loc)
	if a != nil {
		day = a.StartsAt.In(d.loc)
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, d.loc)
	if err != nil {
		if _, ok := problem.As(err); !ok || err == errApptStatus {
			d.fail(w, r, "/desk/appointments", err)
			return
		}
		d.renderDay(w, r, s, problem.Status(err), day, "", err)
		return
	}
	seeOther(w, r, "/desk/appointments?day="+day.Format("2006-01-02")+"&done="+status)
}

var errApptStatus = problem.Invalid(problem.Field{Name: "status", MsgID: "desk.appt.status_invalid"})

// markAppointment records an arrival or a no-show, for the day view and
// the API alike: the appointment must be of the officer's office and
// still at the version the officer read, and nobody is missing before
// their time. Every refusal is audited. It returns the appointment (when
// it is the office's), changed on success.
func (d *Desk) markAppointment(ctx context.Context, r *http.Request, s *signedIn, id, status string, version int64) (*store.Appointment, error) {
	action, ok := apptStatuses[status]
	if !ok {
		if err := d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "appointment.status",
			Subject: "appointment:" + id, Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
			Details: map[string]string{"reason": "desk.appt.status_invalid"}}); err != nil {
			return nil, err
		}
		return nil, errApptStatus
	}
	a, err := d.ownAppointment(ctx, r, s, id, action)
	if err != nil {
		return nil, err
	}
	switch {
	case version != a.Version:
		err = errApptStale
	case status == store.ApptNoShow && a.StartsAt.After(d.now()):
		err = errApptTooEarly // nobody is missing before their time
	}
	if err == nil {
		err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.SetAppointmentStatus(ctx, a, status); err != nil {
				return err
			}
			return audit.Append(ctx, tx, &audit.Event{At: d.now(), Actor: "officer:" + s.Officer.Username, Action: action,
				Subject: "appointment:" + a.ID, Office: s.Office.Code, Source: s.actor(r).Source})
		})
		if errors.Is(err, store.ErrStale) {
			err = errApptStale
		}
	}
	if err != nil {
		if p, ok := problem.As(err); ok {
			if err := d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: action,
				Subject: "appointment:" + a.ID, Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
				Details: map[string]string{"reason": p.MsgID}}); err != nil {
				return a, err
			}
		}
		return a, err
	}
	return a, nil
}

// fromAppointment is the registration form's values from an appointment:
// document, name split into given name and surnames as people in Spain
// write them (the officer corrects it from the document), contact and
// language.
func fromAppointment(a *store.Appointment) map[string]string {
	words := strings.Fields(a.Name)
	v := map[string]string{"appointment": a.ID, "document": a.DocNumber, "email": a.Email, "mobile": a.Mobile,
		"language": a.Language}
	switch len(words) {
	case 0:
	case 1:
		v["given_name"] = words[0]
	case 2:
		v["given_name"], v["first_surname"] = words[0], words[1]
	default:
		v["given_name"] = strings.Join(words[:len(words)-2], " ")
		v["first_surname"], v["second_surname"] = words[len(words)-2], words[len(words)-1]
	}
	return v
}

// errApptClosed refuses registering from an appointment that was
// cancelled, missed or already used.
var errApptClosed = problem.New(http.StatusConflict, "desk.appt.closed")

// registrationAppointment is the appointment a registration is made
// from: one of the officer's office, booked or arrived.
func (d *Desk) registrationAppointment(ctx context.Context, r *http.Request, s *signedIn, id string) (*store.Appointment, error) {
	a, err := d.ownAppointment(ctx, r, s, id, "appointment.register")
	if err != nil {
		return nil, err
	}
	if a.Status != store.ApptBooked && a.Status != store.ApptAttended {
		if err := d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "appointment.register",
			Subject: "appointment:" + a.ID, Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied,
			Details: map[string]string{"reason": "appointment " + a.Status}}); err != nil {
			return nil, err
		}
		return nil, errApptClosed
	}
	return a, nil
}

// appointmentDone marks the appointment a registration was made from as
// done, in the audit trail too. The registration stands whatever happens
// here; a failure is logged and audited, not shown as a failed
// registration.
func (d *Desk) appointmentDone(ctx context.Context, r *http.Request, s *signedIn, id, citizenID string) {
	a, err := d.ownAppointment(ctx, r, s, id, "appointment.done")
	if err == nil {
		err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.SetAppointmentStatus(ctx, a, store.ApptDone); err != nil {
				return err
			}
			return audit.Append(ctx, tx, &audit.Event{At: d.now(), Actor: "officer:" + s.Officer.Username,
				Action: "appointment.done", Subject: "appointment:" + a.ID, Office: s.Office.Code,
				Source: s.actor(r).Source, Details: map[string]string{"citizen": citizenID}})
		})
	}
	if err != nil {
		d.d.Log.Warn("desk: registered from an appointment that could not be marked done", "appointment", id, "error", err.Error())
	}
}
