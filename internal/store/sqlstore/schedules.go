package sqlstore

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// OfficeHours implements store.Schedules.
func (s *Store) OfficeHours(ctx context.Context, officeID string) ([]store.OfficeHours, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT weekday, open_at, close_at, slot_minutes, desks FROM office_hours
		WHERE office_id=$1 ORDER BY weekday`, officeID)
	return collect(rows, err, func(r scanner) (*store.OfficeHours, error) {
		var (
			h  store.OfficeHours
			wd int
		)
		if err := r.Scan(&wd, &h.Open, &h.Close, &h.SlotMinutes, &h.Desks); err != nil {
			return nil, err
		}
		h.Weekday = time.Weekday(wd)
		return &h, nil
	})
}

// SetOfficeHours implements store.Schedules.
func (s *Store) SetOfficeHours(ctx context.Context, officeID string, hours []store.OfficeHours) error {
	return s.atomic(ctx, func(t *Store) error {
		if _, err := t.q().ExecContext(ctx, `DELETE FROM office_hours WHERE office_id=$1`, officeID); err != nil {
			return mapErr(err)
		}
		for _, h := range hours {
			if _, err := t.q().ExecContext(ctx, `INSERT INTO office_hours (office_id, weekday, open_at, close_at, slot_minutes, desks)
				VALUES ($1,$2,$3,$4,$5,$6)`, officeID, int(h.Weekday), h.Open, h.Close, h.SlotMinutes, h.Desks); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
}

// Closures implements store.Schedules.
func (s *Store) Closures(ctx context.Context, officeID string) ([]store.Closure, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT day, reason, created_at FROM office_closures WHERE office_id=$1 ORDER BY day`, officeID)
	return collect(rows, err, func(r scanner) (*store.Closure, error) {
		var (
			c       store.Closure
			created int64
		)
		if err := r.Scan(&c.Day, &c.Reason, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMicros(created)
		return &c, nil
	})
}

// AddClosure implements store.Schedules.
func (s *Store) AddClosure(ctx context.Context, officeID string, c store.Closure) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	res, err := s.q().ExecContext(ctx, `INSERT INTO office_closures (office_id, day, reason, created_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (office_id, day) DO NOTHING`, officeID, c.Day, c.Reason, micros(c.CreatedAt))
	if err := checkOne(res, err); err == store.ErrStale {
		return &store.DuplicateError{Field: "day"}
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteClosure implements store.Schedules.
func (s *Store) DeleteClosure(ctx context.Context, officeID, day string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM office_closures WHERE office_id=$1 AND day=$2`, officeID, day)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// PutSlots implements store.Schedules.
func (s *Store) PutSlots(ctx context.Context, slots []store.Slot) error {
	return s.atomic(ctx, func(t *Store) error {
		for _, sl := range slots {
			_, err := t.q().ExecContext(ctx, `INSERT INTO slots (`+slotCols+`) VALUES ($1,$2,$3,$4,$5,0,FALSE,1)
				ON CONFLICT (office_id, starts_at) DO UPDATE SET closed=FALSE, ends_at=excluded.ends_at,
					capacity = CASE WHEN excluded.capacity > slots.booked THEN excluded.capacity ELSE slots.booked END,
					version = slots.version + 1`,
				sl.ID, sl.OfficeID, micros(sl.StartsAt), micros(sl.EndsAt), sl.Capacity)
			if err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
}

// CloseSlot implements store.Schedules.
func (s *Store) CloseSlot(ctx context.Context, slotID string) error {
	res, err := s.q().ExecContext(ctx, `UPDATE slots SET closed=TRUE, version=version+1 WHERE id=$1`, slotID)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// DueReminders implements store.Schedules.
func (s *Store) DueReminders(ctx context.Context, from, to time.Time, limit int) ([]store.Appointment, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.q().QueryContext(ctx, apptJoined+`
		WHERE a.status=$1 AND a.reminded_at=0 AND s.starts_at >= $2 AND s.starts_at < $3
		ORDER BY s.starts_at, a.id LIMIT $4`, store.ApptBooked, micros(from), micros(to), limit)
	return collect(rows, err, scanAppt)
}

// MarkReminded implements store.Schedules.
func (s *Store) MarkReminded(ctx context.Context, appointmentID string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE appointments SET reminded_at=$1 WHERE id=$2 AND reminded_at=0`,
		micros(at), appointmentID)
	return checkOne(res, err)
}

// JoinWaitlist implements store.Schedules.
func (s *Store) JoinWaitlist(ctx context.Context, e *store.WaitEntry) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now().UTC()
	}
	e.Status = "waiting"
	_, err := s.q().ExecContext(ctx, `INSERT INTO waitlist (id, office_id, doc_number, name, mobile, email, language, status, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, e.ID, e.OfficeID, e.DocNumber, e.Name, e.Mobile, e.Email, e.Language, e.Status,
		micros(e.CreatedAt))
	err = mapErr(err)
	if _, dup := store.IsDuplicate(err); dup {
		return &store.DuplicateError{Field: "document"} // ids are random: the document waits already
	}
	return err
}

// OfferNext implements store.Schedules. The first waiting row is taken
// with a conditional update; a concurrent taker makes it match nothing,
// and this one tries the next.
func (s *Store) OfferNext(ctx context.Context, officeID string, now time.Time) (*store.WaitEntry, error) {
	var out *store.WaitEntry
	err := s.atomic(ctx, func(t *Store) error {
		for range 20 {
			var (
				e       store.WaitEntry
				created int64
			)
			err := t.q().QueryRowContext(ctx, `SELECT id, office_id, doc_number, name, mobile, email, language, created_at
				FROM waitlist WHERE office_id=$1 AND status='waiting' ORDER BY created_at, id LIMIT 1`, officeID).
				Scan(&e.ID, &e.OfficeID, &e.DocNumber, &e.Name, &e.Mobile, &e.Email, &e.Language, &created)
			if err != nil {
				return mapErr(err)
			}
			res, err := t.q().ExecContext(ctx, `UPDATE waitlist SET status='offered', offered_at=$1 WHERE id=$2 AND status='waiting'`,
				micros(now), e.ID)
			if err := checkOne(res, err); err == store.ErrStale {
				continue
			} else if err != nil {
				return err
			}
			e.Status, e.CreatedAt, e.OfferedAt = "offered", fromMicros(created), now.UTC()
			out = &e
			return nil
		}
		return store.ErrStale
	})
	return out, err
}
