package appointments

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// ErrTooMany refuses a source that made too many bookings or gave too
// many wrong references; the Retry-After says when to try again.
var ErrTooMany = problem.New(http.StatusTooManyRequests, "booking.too_many")

// limit refuses a locked source, audited. With count it also counts this
// attempt, so the limit's last allowed attempt still goes through and the
// next is refused.
func (s *Service) limit(ctx context.Context, t *secure.Throttle, count bool, action, source, masked string) error {
	if source == "" {
		return nil
	}
	key := action + ":src:" + source
	wait, err := t.Locked(ctx, key)
	if err != nil {
		return err
	}
	if wait <= 0 {
		if count {
			_, err = t.Fail(ctx, key)
		}
		return err
	}
	_ = audit.New(s.store, s.now).Record(ctx, audit.Event{Actor: "anonymous", Action: action, Source: source,
		Outcome: audit.Denied, Details: map[string]string{"document": masked, "reason": "too many requests from this source"}})
	return ErrTooMany
}

// Lookup finds the live appointment of a reference for the document it
// was booked for. A wrong reference or document is refused as "no such
// appointment", audited, and counted against the source.
func (s *Service) Lookup(ctx context.Context, ref, docInput, source, action string) (*store.Appointment, identity.Document, error) {
	doc, err := identity.ParseDocument(docInput)
	if err != nil {
		return nil, doc, err
	}
	if err := s.limit(ctx, s.refs, false, "appointment.reference", source, doc.Masked()); err != nil {
		return nil, doc, err
	}
	ref = strings.ToUpper(strings.TrimSpace(ref))
	a, err := s.store.AppointmentByRef(ctx, refHash(s.keyring, ref))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (a.DocNumber != doc.Number || a.Status != store.ApptBooked)) {
		if source != "" {
			if _, err := s.refs.Fail(ctx, "appointment.reference:src:"+source); err != nil {
				return nil, doc, err
			}
		}
		_ = audit.New(s.store, s.now).Record(ctx, audit.Event{Actor: "anonymous", Action: action,
			Source: source, Outcome: audit.Denied, Details: map[string]string{"document": doc.Masked()}})
		return nil, doc, ErrNoBooking
	} else if err != nil {
		return nil, doc, err
	}
	return a, doc, nil
}

// links are the manage page and the calendar file of a reference.
func (s *Service) links(ref string) (manage, calendar string) {
	q := url.Values{"ref": {ref}}.Encode()
	return s.BaseURL + "/appointments/change?" + q, s.BaseURL + "/appointments/calendar.ics?" + q
}

// tell queues a message about appointment a at office o.
func (s *Service) tell(ctx context.Context, tx store.Tx, template, key string, a *store.Appointment, o *identity.Office, ref string) error {
	manage, cal := s.links(ref)
	return s.queue(ctx, tx, template, key, a, map[string]any{"Office": o.Name, "Address": o.Address + ", " + o.Municipality,
		"When": a.StartsAt.In(s.loc).Format("02/01/2006 15:04"), "Reference": ref, "Link": manage, "Calendar": cal})
}

// queue queues a message to the citizen of a, by SMS when they gave a
// mobile, else by email, in their language.
func (s *Service) queue(ctx context.Context, tx store.Tx, template, key string, a *store.Appointment, data map[string]any) error {
	req := notify.Request{Template: template, Language: a.Language, EventKey: key, Data: data}
	if a.Mobile != "" {
		req.Channel, req.To = notify.SMS, a.Mobile
	} else {
		req.Channel, req.To = notify.Email, a.Email
	}
	_, _, err := s.notifier.Queue(ctx, tx, req)
	return err
}

// Change moves the citizen's appointment to another free slot of the same
// office, keeping its reference. The new place is taken before the old
// one is freed, in one transaction: if the new slot was just taken the
// citizen keeps the old appointment.
func (s *Service) Change(ctx context.Context, o *identity.Office, ref, docInput, slotID, source string) (*Booking, error) {
	a, doc, err := s.Lookup(ctx, ref, docInput, source, "appointment.change")
	if err != nil {
		return nil, err
	}
	if a.OfficeID != o.ID {
		return nil, ErrNoBooking
	}
	if slotID == "" {
		return nil, problem.Invalid(problem.Field{Name: "slot", MsgID: "booking.slot_required"})
	}
	ref = strings.ToUpper(strings.TrimSpace(ref))
	old := a.StartsAt
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.MoveAppointment(ctx, a, slotID, s.now()); err != nil {
			return err
		}
		if a.OfficeID != o.ID {
			return ErrSlotTaken // a slot of another office
		}
		if err := s.tell(ctx, tx, "appointment.changed", "appointment-change:"+a.ID+":"+slotID, a, o, ref); err != nil {
			return err
		}
		if err := s.offerFreed(ctx, tx, o.ID); err != nil { // the old place is free
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "appointment.change",
			Subject: "appointment:" + a.ID, Office: o.Code, Source: source, Details: map[string]string{
				"document": doc.Masked(), "from": old.In(s.loc).Format(time.RFC3339), "to": a.StartsAt.In(s.loc).Format(time.RFC3339)}})
	})
	switch {
	case errors.Is(err, store.ErrSlotFull), errors.Is(err, ErrSlotTaken):
		_ = audit.New(s.store, s.now).Record(ctx, audit.Event{Actor: "anonymous", Action: "appointment.change",
			Subject: "appointment:" + a.ID, Office: o.Code, Source: source, Outcome: audit.Denied,
			Details: map[string]string{"document": doc.Masked(), "reason": "slot taken, closed or past"}})
		return nil, ErrSlotTaken
	case errors.Is(err, store.ErrStale):
		return nil, ErrNoBooking
	case err != nil:
		return nil, err
	}
	return &Booking{Appointment: *a, Reference: ref, StartsAt: a.StartsAt.In(s.loc)}, nil
}

// Calendar finds the live appointment of a reference for its calendar
// file; wrong references count against the source like any other.
func (s *Service) Calendar(ctx context.Context, ref, source string) (*store.Appointment, error) {
	if err := s.limit(ctx, s.refs, false, "appointment.reference", source, ""); err != nil {
		return nil, err
	}
	ref = strings.ToUpper(strings.TrimSpace(ref))
	a, err := s.store.AppointmentByRef(ctx, refHash(s.keyring, ref))
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.Status != store.ApptBooked) {
		if source != "" {
			if _, err := s.refs.Fail(ctx, "appointment.reference:src:"+source); err != nil {
				return nil, err
			}
		}
		_ = audit.New(s.store, s.now).Record(ctx, audit.Event{Actor: "anonymous", Action: "appointment.calendar",
			Source: source, Outcome: audit.Denied})
		return nil, ErrNoBooking
	}
	return a, err
}

// OfficeOf is the office an appointment is at.
func (s *Service) OfficeOf(ctx context.Context, a *store.Appointment) (*identity.Office, error) {
	return s.store.OfficeByID(ctx, a.OfficeID)
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }
