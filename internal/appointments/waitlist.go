package appointments

import (
	"context"
	"errors"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// Waiting list: when an office has no free time, citizens queue for it.
// Each place freed by a cancellation or a change is offered to the first
// citizen waiting, first come first served: they get a notice with the
// booking link and leave the queue (they may join again).

// ErrWaiting refuses a document already waiting at the office.
var ErrWaiting = problem.Invalid(problem.Field{Name: "document", MsgID: "booking.already_waiting"})

// JoinWaitlist queues the citizen of r at office o.
func (s *Service) JoinWaitlist(ctx context.Context, o *identity.Office, r Request) error {
	c, fields := checkCitizen(r)
	doc := c.doc
	if err := s.limit(ctx, s.bookings, true, "appointment.book", r.Source, doc.Masked()); err != nil {
		return err
	}
	if len(fields) > 0 {
		return problem.Invalid(fields...)
	}
	e := &store.WaitEntry{ID: store.NewID(), OfficeID: o.ID, DocNumber: doc.Number, Name: c.name, Mobile: c.mobile, Email: c.email,
		Language: c.lang, CreatedAt: s.now().UTC()}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.JoinWaitlist(ctx, e); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "anonymous", Action: "appointment.waitlist_join",
			Subject: "waitlist:" + e.ID, Office: o.Code, Source: r.Source, Details: map[string]string{"document": doc.Masked()}})
	})
	if _, dup := store.IsDuplicate(err); dup {
		return ErrWaiting
	}
	return err
}

// offerFreed offers a place just freed at an office to the first citizen
// waiting there, in the transaction that freed it.
func (s *Service) offerFreed(ctx context.Context, tx store.Tx, officeID string) error {
	e, err := tx.OfferNext(ctx, officeID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	o, err := tx.OfficeByID(ctx, officeID)
	if err != nil {
		return err
	}
	a := &store.Appointment{Mobile: e.Mobile, Email: e.Email, Language: e.Language}
	if err := s.queue(ctx, tx, "appointment.freed", "waitlist-offer:"+e.ID, a, map[string]any{
		"Office": o.Name, "Link": s.BaseURL + "/offices/" + o.Code + "/book"}); err != nil {
		return err
	}
	doc, _ := identity.ParseDocument(e.DocNumber)
	return audit.Append(ctx, tx, &audit.Event{Actor: "system", Action: "appointment.waitlist_offer", Subject: "waitlist:" + e.ID,
		Office: o.Code, Source: "waitlist", Details: map[string]string{"document": doc.Masked()}})
}
