package appointments

import (
	"context"
	"errors"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

// SendReminders queues the day-before reminder of every booked
// appointment starting tomorrow (in the offices' time zone) that has not
// had one, and returns how many it queued. Each reminder is recorded in
// the same transaction that writes its message, and only one process can
// record it, so any number of processes may run this at once: every
// citizen gets one reminder.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	now := s.now().In(s.loc)
	from := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, s.loc)
	to := from.AddDate(0, 0, 1)
	offices := map[string]*identity.Office{}
	sent := 0
	for {
		due, err := s.store.DueReminders(ctx, from.UTC(), to.UTC(), 100)
		if err != nil || len(due) == 0 {
			return sent, err
		}
		progress := false
		for i := range due {
			a := &due[i]
			o := offices[a.OfficeID]
			if o == nil {
				if o, err = s.store.OfficeByID(ctx, a.OfficeID); err != nil {
					return sent, err
				}
				offices[a.OfficeID] = o
			}
			err := s.store.InTx(ctx, func(tx store.Tx) error {
				if err := tx.MarkReminded(ctx, a.ID, s.now().UTC()); err != nil {
					return err
				}
				if err := s.queue(ctx, tx, "appointment.reminder", "appointment-reminder:"+a.ID, a, map[string]any{
					"Office": o.Name, "Address": o.Address + ", " + o.Municipality,
					"When": a.StartsAt.In(s.loc).Format("02/01/2006 15:04"), "Link": s.BaseURL + "/appointments/change"}); err != nil {
					return err
				}
				return audit.Append(ctx, tx, &audit.Event{Actor: "system", Action: "appointment.reminder",
					Subject: "appointment:" + a.ID, Office: o.Code, Source: "housekeeping"})
			})
			switch {
			case errors.Is(err, store.ErrStale):
				progress = true // another process sent it
			case err != nil:
				return sent, err
			default:
				sent++
				progress = true
			}
		}
		if !progress {
			return sent, nil
		}
	}
}

// ExtendSchedules adds each active office's slots as days pass (see
// Extend).
func (s *Service) ExtendSchedules(ctx context.Context) error {
	offices, err := s.store.ListOffices(ctx, true)
	if err != nil {
		return err
	}
	for i := range offices {
		if err := s.Extend(ctx, &offices[i]); err != nil {
			return err
		}
	}
	return nil
}
