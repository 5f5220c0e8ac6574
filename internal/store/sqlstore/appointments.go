package sqlstore

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const slotCols = `id, office_id, starts_at, ends_at, capacity, booked, closed, version`

// AddSlots implements store.Appointments.
func (s *Store) AddSlots(ctx context.Context, slots []store.Slot) (int, error) {
	n := 0
	err := s.atomic(ctx, func(t *Store) error {
		n = 0
		for _, sl := range slots {
			res, err := t.q().ExecContext(ctx, `INSERT INTO slots (`+slotCols+`) VALUES ($1,$2,$3,$4,$5,0,$6,1)
				ON CONFLICT (office_id, starts_at) DO NOTHING`,
				sl.ID, sl.OfficeID, micros(sl.StartsAt), micros(sl.EndsAt), sl.Capacity, sl.Closed)
			if err != nil {
				return mapErr(err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// ListSlots implements store.Appointments.
func (s *Store) ListSlots(ctx context.Context, officeID string, from, to time.Time) ([]store.Slot, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+slotCols+` FROM slots
		WHERE office_id=$1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at`, officeID, micros(from), micros(to))
	return collect(rows, err, func(r scanner) (*store.Slot, error) {
		var (
			sl         store.Slot
			start, end int64
		)
		if err := r.Scan(&sl.ID, &sl.OfficeID, &start, &end, &sl.Capacity, &sl.Booked, &sl.Closed, &sl.Version); err != nil {
			return nil, err
		}
		sl.StartsAt, sl.EndsAt = fromMicros(start), fromMicros(end)
		return &sl, nil
	})
}

const apptCols = `id, slot_id, office_id, doc_number, name, mobile, email, language, ref_hash, status, version,
	created_at, updated_at`

// apptJoined selects an appointment with its slot's start.
const apptJoined = `SELECT a.id, a.slot_id, a.office_id, a.doc_number, a.name, a.mobile, a.email,
	a.language, a.ref_hash, a.status, a.version, a.created_at, a.updated_at, s.starts_at, s.ends_at, a.reminded_at
	FROM appointments a JOIN slots s ON s.id = a.slot_id`

// Book implements store.Appointments. Taking the place is one conditional
// update: of many concurrent bookings only as many as the slot has room
// for find booked < capacity true, in PostgreSQL (row lock) as in SQLite
// (one writer).
func (s *Store) Book(ctx context.Context, a *store.Appointment, now time.Time) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now().UTC()
	}
	a.UpdatedAt, a.Version, a.Status = a.CreatedAt, 1, store.ApptBooked
	return s.atomic(ctx, func(t *Store) error {
		var (
			office     string
			start, end int64
		)
		err := t.q().QueryRowContext(ctx, `UPDATE slots SET booked = booked + 1, version = version + 1
			WHERE id=$1 AND booked < capacity AND closed = FALSE AND starts_at > $2 RETURNING office_id, starts_at, ends_at`,
			a.SlotID, micros(now)).Scan(&office, &start, &end)
		if err := mapErr(err); err == store.ErrNotFound {
			return store.ErrSlotFull
		} else if err != nil {
			return err
		}
		a.OfficeID, a.StartsAt, a.EndsAt = office, fromMicros(start), fromMicros(end)
		_, err = t.q().ExecContext(ctx, `INSERT INTO appointments (`+apptCols+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
			a.ID, a.SlotID, a.OfficeID, a.DocNumber, a.Name, a.Mobile, a.Email, a.Language, a.RefHash, a.Status,
			a.Version, micros(a.CreatedAt), micros(a.UpdatedAt))
		return mapErr(err)
	})
}

// AppointmentByRef implements store.Appointments.
func (s *Store) AppointmentByRef(ctx context.Context, refHash string) (*store.Appointment, error) {
	a, err := scanAppt(s.q().QueryRowContext(ctx, apptJoined+` WHERE a.ref_hash=$1`, refHash))
	return a, mapErr(err)
}

// AppointmentByID implements store.Appointments.
func (s *Store) AppointmentByID(ctx context.Context, id string) (*store.Appointment, error) {
	a, err := scanAppt(s.q().QueryRowContext(ctx, apptJoined+` WHERE a.id=$1`, id))
	return a, mapErr(err)
}

// apptFrom is the statuses an appointment may reach each status from.
var apptFrom = map[string][2]string{
	store.ApptCancelled: {store.ApptBooked, store.ApptBooked},
	store.ApptAttended:  {store.ApptBooked, store.ApptBooked},
	store.ApptNoShow:    {store.ApptBooked, store.ApptBooked},
	store.ApptDone:      {store.ApptBooked, store.ApptAttended},
}

// SetAppointmentStatus implements store.Appointments.
func (s *Store) SetAppointmentStatus(ctx context.Context, a *store.Appointment, status string) error {
	from, ok := apptFrom[status]
	if !ok {
		return store.ErrStale
	}
	updated := s.now().UTC()
	err := s.atomic(ctx, func(t *Store) error {
		res, err := t.q().ExecContext(ctx, `UPDATE appointments SET status=$1, version=version+1, updated_at=$2
			WHERE id=$3 AND version=$4 AND (status=$5 OR status=$6)`, status, micros(updated), a.ID, a.Version, from[0], from[1])
		if err := checkOne(res, err); err != nil {
			return err
		}
		if status == store.ApptCancelled {
			_, err = t.q().ExecContext(ctx, `UPDATE slots SET booked = booked - 1, version = version + 1 WHERE id=$1`, a.SlotID)
		}
		return err
	})
	if err != nil {
		return err
	}
	a.Status, a.Version, a.UpdatedAt = status, a.Version+1, updated
	return nil
}

// MoveAppointment implements store.Appointments.
func (s *Store) MoveAppointment(ctx context.Context, a *store.Appointment, slotID string, now time.Time) error {
	updated := s.now().UTC()
	var (
		office     string
		start, end int64
	)
	err := s.atomic(ctx, func(t *Store) error {
		if slotID == a.SlotID {
			return store.ErrSlotFull
		}
		err := t.q().QueryRowContext(ctx, `UPDATE slots SET booked = booked + 1, version = version + 1
			WHERE id=$1 AND booked < capacity AND closed = FALSE AND starts_at > $2 RETURNING office_id, starts_at, ends_at`,
			slotID, micros(now)).Scan(&office, &start, &end)
		if err := mapErr(err); err == store.ErrNotFound {
			return store.ErrSlotFull
		} else if err != nil {
			return err
		}
		res, err := t.q().ExecContext(ctx, `UPDATE appointments SET slot_id=$1, office_id=$2, version=version+1, updated_at=$3
			WHERE id=$4 AND version=$5 AND status=$6`, slotID, office, micros(updated), a.ID, a.Version, store.ApptBooked)
		if err := checkOne(res, err); err != nil {
			return err
		}
		_, err = t.q().ExecContext(ctx, `UPDATE slots SET booked = booked - 1, version = version + 1 WHERE id=$1`, a.SlotID)
		return mapErr(err)
	})
	if err != nil {
		return err
	}
	a.SlotID, a.OfficeID, a.StartsAt, a.EndsAt = slotID, office, fromMicros(start), fromMicros(end)
	a.Version, a.UpdatedAt = a.Version+1, updated
	return nil
}

// ListAppointments implements store.Appointments.
func (s *Store) ListAppointments(ctx context.Context, officeID string, from, to time.Time) ([]store.Appointment, error) {
	rows, err := s.q().QueryContext(ctx, apptJoined+`
		WHERE a.office_id=$1 AND s.starts_at >= $2 AND s.starts_at < $3 ORDER BY s.starts_at, a.created_at`,
		officeID, micros(from), micros(to))
	return collect(rows, err, scanAppt)
}

func scanAppt(r scanner) (*store.Appointment, error) {
	var (
		a                                      store.Appointment
		created, updated, start, end, reminded int64
	)
	if err := r.Scan(&a.ID, &a.SlotID, &a.OfficeID, &a.DocNumber, &a.Name, &a.Mobile, &a.Email, &a.Language,
		&a.RefHash, &a.Status, &a.Version, &created, &updated, &start, &end, &reminded); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt, a.StartsAt, a.EndsAt = fromMicros(created), fromMicros(updated), fromMicros(start), fromMicros(end)
	a.RemindedAt = fromMicros(reminded)
	return &a, nil
}
