// Package appointments lets citizens book a visit to a registration
// office: offices publish slots with room for as many citizens as they
// have desks (made from the supervisors' weekly schedule and closed days),
// a citizen books one (one live appointment per document, a limit per
// source address) and gets a reference to change or cancel it and a
// calendar file; confirmations, changes, day-before reminders, notices of
// dropped appointments and waiting-list offers go out by SMS or email
// through the outbox, each in the transaction that causes it. The store
// guarantees a slot is never booked past its capacity, however many
// citizens click it at once.
//
// It owns booking rules; the citizens' pages live in internal/offices and
// the officers' day view in internal/desk.
package appointments

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// Errors citizens see.
var (
	ErrSlotTaken = problem.New(http.StatusConflict, "booking.slot_taken")
	ErrOneLive   = problem.Invalid(problem.Field{Name: "document", MsgID: "booking.one_live"})
	ErrNoBooking = problem.New(http.StatusNotFound, "booking.not_found")
	ErrNoContact = problem.Invalid(problem.Field{Name: "mobile", MsgID: "booking.contact_required"})
	errName      = problem.Field{Name: "name", MsgID: "name.required"}
)

// Notifier queues messages.
type Notifier interface {
	Queue(ctx context.Context, s store.Outbox, r notify.Request) (string, bool, error)
}

// Service books appointments.
type Service struct {
	store    store.Store
	keyring  *secure.Keyring
	notifier Notifier
	now      func() time.Time
	loc      *time.Location
	// BaseURL starts the links in messages (public_url); empty gives
	// links relative to the site.
	BaseURL string
	// bookings limits booking attempts per source address; refs limits
	// wrong references per source address (guessing).
	bookings, refs *secure.Throttle
}

// Limits are the per-source limits on bookings and wrong references.
type Limits struct{ Bookings, WrongRefs secure.ThrottlePolicy }

// DefaultLimits: 20 booking attempts an hour from one address (a family,
// an office's own desk behind NAT), then a pause that doubles; 10 wrong
// references in 15 minutes.
func DefaultLimits() Limits {
	return Limits{
		Bookings: secure.ThrottlePolicy{MaxFailures: 20, Window: time.Hour, BaseLockout: 15 * time.Minute,
			MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour},
		WrongRefs: secure.ThrottlePolicy{MaxFailures: 10, Window: 15 * time.Minute, BaseLockout: 15 * time.Minute,
			MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour},
	}
}

// New returns the service with DefaultLimits; times are shown in loc.
func New(s store.Store, k *secure.Keyring, n Notifier, loc *time.Location, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	svc := &Service{store: s, keyring: k, notifier: n, now: now, loc: loc}
	svc.SetLimits(DefaultLimits())
	return svc
}

// SetLimits replaces the per-source limits.
func (s *Service) SetLimits(l Limits) {
	s.bookings = secure.NewThrottle(s.store, l.Bookings, s.now)
	s.refs = secure.NewThrottle(s.store, l.WrongRefs, s.now)
}

// Week describes an office's opening for slots: on these weekdays, from
// Open to Close (local "15:04"), one slot every Every with Desks places.
type Week struct {
	Days        []time.Weekday
	Open, Close string
	Every       time.Duration
	Desks       int
}

// AddSlots creates the slots of the next days from day (local date),
// skipping those that exist; it returns how many it created.
func (s *Service) AddSlots(ctx context.Context, officeID string, day time.Time, days int, w Week) (int, error) {
	open, err1 := time.Parse("15:04", w.Open)
	closeAt, err2 := time.Parse("15:04", w.Close)
	if err1 != nil || err2 != nil || !open.Before(closeAt) || w.Every < 5*time.Minute || w.Desks < 1 || days < 1 || days > 366 {
		return 0, errors.New("appointments: a week needs open < close as HH:MM, slots of 5 minutes or more, desks >= 1, 1-366 days")
	}
	var slots []store.Slot
	d0 := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, s.loc)
	for i := range days {
		d := d0.AddDate(0, 0, i)
		if !hasDay(w.Days, d.Weekday()) {
			continue
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), open.Hour(), open.Minute(), 0, 0, s.loc)
		end := time.Date(d.Year(), d.Month(), d.Day(), closeAt.Hour(), closeAt.Minute(), 0, 0, s.loc)
		for t := start; !t.Add(w.Every).After(end); t = t.Add(w.Every) {
			slots = append(slots, store.Slot{ID: store.NewID(), OfficeID: officeID, StartsAt: t.UTC(),
				EndsAt: t.Add(w.Every).UTC(), Capacity: w.Desks})
		}
	}
	return s.store.AddSlots(ctx, slots)
}

func hasDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}

// FreeSlots returns the bookable slots of an office in the next days.
func (s *Service) FreeSlots(ctx context.Context, officeID string, days int) ([]store.Slot, error) {
	now := s.now()
	all, err := s.store.ListSlots(ctx, officeID, now, now.AddDate(0, 0, days))
	if err != nil {
		return nil, err
	}
	var out []store.Slot
	for _, sl := range all {
		if !sl.Closed && sl.Booked < sl.Capacity && sl.StartsAt.After(now) {
			out = append(out, sl)
		}
	}
	return out, nil
}

// Request is what a citizen gives to book.
type Request struct {
	SlotID, Document, Name, Mobile, Email, Language, Source string
}

// Booking is a booked appointment with the reference shown once.
type Booking struct {
	Appointment store.Appointment
	Reference   string
	StartsAt    time.Time // local
}

func refHash(k *secure.Keyring, ref string) string { return k.Hash("appointment_ref", []byte(ref)) }

// citizen is who a Request is for, checked and normalised.
type citizen struct {
	doc                       identity.Document
	name, mobile, email, lang string
}

// checkCitizen checks the document, name and contact of r, the same for
// booking and for the waiting list; fields lists what is wrong, in the
// order of the form.
func checkCitizen(r Request) (c citizen, fields []problem.Field) {
	var err error
	c.doc, err = identity.ParseDocument(r.Document)
	if p, ok := problem.As(err); ok {
		fields = append(fields, p.Fields...)
	}
	c.name = strings.Join(strings.Fields(r.Name), " ")
	if c.name == "" || utf8.RuneCountInString(c.name) > 120 {
		fields = append(fields, errName)
	}
	if strings.TrimSpace(r.Mobile) != "" {
		if c.mobile, err = identity.NormaliseMobile(r.Mobile); err != nil {
			fields = append(fields, problem.Field{Name: "mobile", MsgID: "mobile.format"})
		}
	}
	if strings.TrimSpace(r.Email) != "" {
		if c.email, err = identity.NormaliseEmail(r.Email); err != nil {
			fields = append(fields, problem.Field{Name: "email", MsgID: "email.format"})
		}
	}
	if strings.TrimSpace(r.Mobile) == "" && strings.TrimSpace(r.Email) == "" {
		fields = append(fields, ErrNoContact.Fields...)
	}
	c.lang = r.Language
	if c.lang != "es" && c.lang != "en" {
		c.lang = "ca"
	}
	return c, fields
}

// Book books a slot of office o for the citizen and queues the
// confirmation, all or nothing.
func (s *Service) Book(ctx context.Context, o *identity.Office, r Request) (*Booking, error) {
	c, fields := checkCitizen(r)
	doc := c.doc
	if r.SlotID == "" {
		fields = append(fields, problem.Field{Name: "slot", MsgID: "booking.slot_required"})
	}
	if err := s.limit(ctx, s.bookings, true, "appointment.book", r.Source, doc.Masked()); err != nil {
		return nil, err
	}
	if len(fields) > 0 {
		return nil, problem.Invalid(fields...)
	}
	code, err := secure.NewActivationCode(nil)
	if err != nil {
		return nil, err
	}
	ref := code[:8]
	a := &store.Appointment{ID: store.NewID(), SlotID: r.SlotID, DocNumber: doc.Number, Name: c.name, Mobile: c.mobile,
		Email: c.email, Language: c.lang, RefHash: refHash(s.keyring, ref)}
	var when time.Time
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.Book(ctx, a, s.now()); err != nil {
			return err
		}
		if a.OfficeID != o.ID {
			return ErrSlotTaken // a slot of another office: treat as not bookable here
		}
		when = a.StartsAt.In(s.loc)
		if err := s.tell(ctx, tx, "appointment.confirmed", "appointment:"+a.ID, a, o, ref); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "appointment.book", Subject: "appointment:" + a.ID,
			Office: o.Code, Source: r.Source, Details: map[string]string{"document": doc.Masked(), "when": when.Format(time.RFC3339)}})
	})
	switch {
	case errors.Is(err, store.ErrSlotFull):
		return nil, ErrSlotTaken
	case err != nil:
		if f, dup := store.IsDuplicate(err); dup && f == "document" {
			return nil, ErrOneLive
		}
		return nil, err
	}
	return &Booking{Appointment: *a, Reference: ref, StartsAt: when}, nil
}

// Cancel cancels the appointment with a reference, if the document is
// the one it was booked for; the place becomes free again.
func (s *Service) Cancel(ctx context.Context, ref, docInput, source string) error {
	a, doc, err := s.Lookup(ctx, ref, docInput, source, "appointment.cancel")
	if err != nil {
		return err
	}
	// Cancelling frees a place: the first citizen waiting at the office is
	// told, in the same transaction.
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		c := *a
		if err := tx.SetAppointmentStatus(ctx, &c, store.ApptCancelled); err != nil {
			return err
		}
		if err := s.offerFreed(ctx, tx, a.OfficeID); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "appointment.cancel",
			Subject: "appointment:" + a.ID, Source: source, Details: map[string]string{"document": doc.Masked()}})
	})
	if errors.Is(err, store.ErrStale) {
		return ErrNoBooking
	}
	return err
}
