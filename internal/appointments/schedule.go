package appointments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// Schedules: supervisors set an office's weekly hours (per weekday, with
// the slot length and desks per slot) and its closed days; the office's
// slots for the next ScheduleDays follow. A change that removes a booked
// slot never drops it silently: each citizen in it is told, in their
// language, and given the link to book another time; the appointment is
// cancelled so their document may book again.

// ScheduleDays is how far ahead slots are kept in step with the schedule.
const ScheduleDays = 28

// Errors supervisors see.
var (
	ErrClosureDay    = problem.Invalid(problem.Field{Name: "day", MsgID: "schedule.day_invalid"})
	ErrClosurePast   = problem.Invalid(problem.Field{Name: "day", MsgID: "schedule.day_past"})
	ErrClosureTwice  = problem.Invalid(problem.Field{Name: "day", MsgID: "schedule.day_closed"})
	ErrClosureReason = problem.Invalid(problem.Field{Name: "reason", MsgID: "schedule.reason_required"})
	ErrNoClosure     = problem.New(http.StatusNotFound, "schedule.no_closure")
)

// ScheduleChange is one change to an office's schedule; exactly one part is set.
type ScheduleChange struct {
	Hours         []store.OfficeHours // the whole week (nil: unchanged)
	SetHours      bool
	AddClosure    *store.Closure
	RemoveClosure string // a day
}

// Who is the officer making a change, for the audit trail.
type Who struct{ Actor, Source string }

// CheckHours validates a week: HH:MM times with open before close, slots
// of 5 to 240 minutes, 1 to 50 desks. Errors name the field open_<weekday>.
func CheckHours(hours []store.OfficeHours) error {
	var fields []problem.Field
	for _, h := range hours {
		o, err1 := time.Parse("15:04", h.Open)
		c, err2 := time.Parse("15:04", h.Close)
		name := fmt.Sprintf("open_%d", int(h.Weekday))
		switch {
		case err1 != nil || err2 != nil:
			fields = append(fields, problem.Field{Name: name, MsgID: "schedule.time_invalid"})
		case !o.Before(c):
			fields = append(fields, problem.Field{Name: name, MsgID: "schedule.open_before_close"})
		case c.Sub(o) < time.Duration(h.SlotMinutes)*time.Minute:
			fields = append(fields, problem.Field{Name: name, MsgID: "schedule.shorter_than_slot"})
		}
	}
	if len(hours) > 0 {
		if m := hours[0].SlotMinutes; m < 5 || m > 240 {
			fields = append(fields, problem.Field{Name: "slot_minutes", MsgID: "schedule.slot_minutes"})
		}
		if d := hours[0].Desks; d < 1 || d > 50 {
			fields = append(fields, problem.Field{Name: "desks", MsgID: "schedule.desks"})
		}
	}
	if len(fields) > 0 {
		return problem.Invalid(fields...)
	}
	return nil
}

// Reschedule applies a change and brings the office's slots of the next
// ScheduleDays in line with it, in one transaction: wanted slots are
// added or reopened, the others closed, and the citizens booked in a
// closed slot told. It returns how many appointments were given up.
func (s *Service) Reschedule(ctx context.Context, o *identity.Office, c ScheduleChange, who Who) (int, error) {
	dropped, err := s.RescheduleDropped(ctx, o, c, who)
	return len(dropped), err
}

// RescheduleDropped is Reschedule returning the appointments given up
// (now cancelled, their citizens told), with the time each was booked for.
func (s *Service) RescheduleDropped(ctx context.Context, o *identity.Office, c ScheduleChange, who Who) ([]store.Appointment, error) {
	now := s.now()
	today := time.Date(now.In(s.loc).Year(), now.In(s.loc).Month(), now.In(s.loc).Day(), 0, 0, 0, 0, s.loc)
	action, details := "schedule.update", map[string]string{}
	switch {
	case c.SetHours:
		if err := CheckHours(c.Hours); err != nil {
			return nil, err
		}
		var days []string
		for _, h := range c.Hours {
			days = append(days, fmt.Sprintf("%s %s-%s", h.Weekday.String()[:3], h.Open, h.Close))
		}
		details["hours"] = strings.Join(days, ", ")
	case c.AddClosure != nil:
		action = "schedule.closure_add"
		d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(c.AddClosure.Day), s.loc)
		reason := strings.Join(strings.Fields(c.AddClosure.Reason), " ")
		var fields []problem.Field
		switch {
		case err != nil:
			fields = append(fields, ErrClosureDay.Fields...)
		case d.Before(today):
			fields = append(fields, ErrClosurePast.Fields...)
		}
		if reason == "" || utf8.RuneCountInString(reason) > 200 {
			fields = append(fields, ErrClosureReason.Fields...)
		}
		if len(fields) > 0 {
			return nil, problem.Invalid(fields...)
		}
		c.AddClosure = &store.Closure{Day: d.Format("2006-01-02"), Reason: reason, CreatedAt: now.UTC()}
		details["day"], details["reason"] = c.AddClosure.Day, reason
	default:
		action = "schedule.closure_remove"
		details["day"] = c.RemoveClosure
	}
	var dropped []store.Appointment
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		dropped = nil
		switch {
		case c.SetHours:
			if err := tx.SetOfficeHours(ctx, o.ID, c.Hours); err != nil {
				return err
			}
		case c.AddClosure != nil:
			if err := tx.AddClosure(ctx, o.ID, *c.AddClosure); err != nil {
				if _, dup := store.IsDuplicate(err); dup {
					return ErrClosureTwice
				}
				return err
			}
		default:
			if err := tx.DeleteClosure(ctx, o.ID, c.RemoveClosure); errors.Is(err, store.ErrNotFound) {
				return ErrNoClosure
			} else if err != nil {
				return err
			}
		}
		gone, err := s.sync(ctx, tx, o, today, now)
		if err != nil {
			return err
		}
		dropped = gone
		details["appointments_dropped"] = fmt.Sprint(len(gone))
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: who.Actor, Action: action, Subject: "office:" + o.Code,
			Office: o.Code, Source: who.Source, Details: details})
	})
	return dropped, err
}

// Extend adds the slots of the office's schedule up to ScheduleDays ahead,
// as days pass; it drops nothing (housekeeping runs it daily).
func (s *Service) Extend(ctx context.Context, o *identity.Office) error {
	now := s.now()
	return s.store.InTx(ctx, func(tx store.Tx) error {
		hours, err := tx.OfficeHours(ctx, o.ID)
		if err != nil || len(hours) == 0 {
			return err
		}
		today := time.Date(now.In(s.loc).Year(), now.In(s.loc).Month(), now.In(s.loc).Day(), 0, 0, 0, 0, s.loc)
		wanted, err := s.wanted(ctx, tx, o, hours, today, now)
		if err != nil {
			return err
		}
		existing, err := tx.ListSlots(ctx, o.ID, now, today.AddDate(0, 0, ScheduleDays))
		if err != nil {
			return err
		}
		have := map[int64]bool{}
		for _, sl := range existing {
			have[sl.StartsAt.UnixMicro()] = true
		}
		var add []store.Slot
		for _, sl := range wanted {
			if !have[sl.StartsAt.UnixMicro()] {
				add = append(add, sl)
			}
		}
		return tx.PutSlots(ctx, add)
	})
}

// wanted is the slots the schedule gives from now to ScheduleDays ahead.
func (s *Service) wanted(ctx context.Context, tx store.Tx, o *identity.Office, hours []store.OfficeHours, today, now time.Time) ([]store.Slot, error) {
	closures, err := tx.Closures(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	closed := map[string]bool{}
	for _, c := range closures {
		closed[c.Day] = true
	}
	byDay := map[time.Weekday]store.OfficeHours{}
	for _, h := range hours {
		byDay[h.Weekday] = h
	}
	var out []store.Slot
	for i := range ScheduleDays {
		d := today.AddDate(0, 0, i)
		h, open := byDay[d.Weekday()]
		if !open || closed[d.Format("2006-01-02")] {
			continue
		}
		op, _ := time.Parse("15:04", h.Open)
		cl, _ := time.Parse("15:04", h.Close)
		every := time.Duration(h.SlotMinutes) * time.Minute
		start := time.Date(d.Year(), d.Month(), d.Day(), op.Hour(), op.Minute(), 0, 0, s.loc)
		end := time.Date(d.Year(), d.Month(), d.Day(), cl.Hour(), cl.Minute(), 0, 0, s.loc)
		for t := start; !t.Add(every).After(end); t = t.Add(every) {
			if t.After(now) {
				out = append(out, store.Slot{ID: store.NewID(), OfficeID: o.ID, StartsAt: t.UTC(), EndsAt: t.Add(every).UTC(), Capacity: h.Desks})
			}
		}
	}
	return out, nil
}

// sync makes the office's future slots those of its schedule, telling
// the citizens of every closed slot. It returns the appointments given up.
func (s *Service) sync(ctx context.Context, tx store.Tx, o *identity.Office, today, now time.Time) ([]store.Appointment, error) {
	hours, err := tx.OfficeHours(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	wanted, err := s.wanted(ctx, tx, o, hours, today, now)
	if err != nil {
		return nil, err
	}
	until := today.AddDate(0, 0, ScheduleDays)
	existing, err := tx.ListSlots(ctx, o.ID, now, until)
	if err != nil {
		return nil, err
	}
	want := map[int64]bool{}
	for _, sl := range wanted {
		want[sl.StartsAt.UnixMicro()] = true
	}
	gone := map[string]bool{}
	for _, sl := range existing {
		if sl.Closed || want[sl.StartsAt.UnixMicro()] {
			continue
		}
		if err := tx.CloseSlot(ctx, sl.ID); err != nil {
			return nil, err
		}
		if sl.Booked > 0 {
			gone[sl.ID] = true
		}
	}
	if err := tx.PutSlots(ctx, wanted); err != nil {
		return nil, err
	}
	if len(gone) == 0 {
		return nil, nil
	}
	appts, err := tx.ListAppointments(ctx, o.ID, now, until)
	if err != nil {
		return nil, err
	}
	var dropped []store.Appointment
	for i := range appts {
		a := &appts[i]
		if !gone[a.SlotID] || a.Status != store.ApptBooked {
			continue
		}
		when := a.StartsAt
		if err := tx.SetAppointmentStatus(ctx, a, store.ApptCancelled); err != nil {
			return nil, err
		}
		a.StartsAt = when
		if err := s.tellDropped(ctx, tx, a, o); err != nil {
			return nil, err
		}
		if err := audit.Append(ctx, tx, &audit.Event{At: now, Actor: "system", Action: "appointment.dropped",
			Subject: "appointment:" + a.ID, Office: o.Code, Source: "schedule",
			Details: map[string]string{"when": when.In(s.loc).Format(time.RFC3339)}}); err != nil {
			return nil, err
		}
		dropped = append(dropped, *a)
	}
	return dropped, nil
}

// tellDropped tells a citizen their appointment cannot be kept, with the
// link to choose another time at the same office.
func (s *Service) tellDropped(ctx context.Context, tx store.Tx, a *store.Appointment, o *identity.Office) error {
	return s.queue(ctx, tx, "appointment.dropped", "appointment-dropped:"+a.ID, a, map[string]any{
		"Office": o.Name, "When": a.StartsAt.In(s.loc).Format("02/01/2006 15:04"),
		"Link": s.BaseURL + "/offices/" + o.Code + "/book"})
}
