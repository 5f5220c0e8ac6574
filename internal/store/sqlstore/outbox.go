package sqlstore

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const outboxCols = `id, channel, recipient, subject, body, language, event_key, status, attempts,
	next_attempt_at, claimed_until, last_error, driver, created_at, sent_at`

// EnqueueMessage implements store.Outbox.
func (s *Store) EnqueueMessage(ctx context.Context, m *store.OutboxMessage) (bool, error) {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now().UTC()
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	if m.Status == "" {
		m.Status = store.MsgPending
	}
	res, err := s.q().ExecContext(ctx, `INSERT INTO outbox (`+outboxCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT (event_key) DO NOTHING`,
		m.ID, m.Channel, m.Recipient, m.Subject, m.Body, m.Language, m.EventKey, m.Status, m.Attempts,
		micros(m.NextAttemptAt), micros(m.ClaimedUntil), m.LastError, m.Driver, micros(m.CreatedAt), micros(m.SentAt))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimMessages implements store.Outbox. Each claim is a conditional
// update, so of two dispatchers that read the same due message only one
// wins it.
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	nowU := micros(now)
	rows, err := s.q().QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox
		WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1)
		ORDER BY next_attempt_at LIMIT $2`, nowU, limitOr(limit, 50))
	due, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, err
	}
	until := now.Add(lease)
	var claimed []store.OutboxMessage
	for _, m := range due {
		res, err := s.q().ExecContext(ctx, `UPDATE outbox SET status='sending', claimed_until=$1
			WHERE id=$2 AND status=$3 AND claimed_until=$4`, micros(until), m.ID, m.Status, micros(m.ClaimedUntil))
		if err := checkOne(res, err); err == store.ErrStale {
			continue
		} else if err != nil {
			return claimed, err
		}
		m.Status, m.ClaimedUntil = store.MsgSending, fromMicros(micros(until))
		claimed = append(claimed, m)
	}
	return claimed, nil
}

// FinishMessage implements store.Outbox.
func (s *Store) FinishMessage(ctx context.Context, m *store.OutboxMessage) error {
	res, err := s.q().ExecContext(ctx, `UPDATE outbox SET status=$1, attempts=$2, next_attempt_at=$3,
		claimed_until=0, last_error=$4, driver=$5, sent_at=$6 WHERE id=$7`,
		m.Status, m.Attempts, micros(m.NextAttemptAt), m.LastError, m.Driver, micros(m.SentAt), m.ID)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else {
		return err
	}
}

// MessageByID implements store.Outbox.
func (s *Store) MessageByID(ctx context.Context, id string) (*store.OutboxMessage, error) {
	m, err := scanMessage(s.q().QueryRowContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id=$1`, id))
	return m, mapErr(err)
}

// ListMessages implements store.Outbox.
func (s *Store) ListMessages(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox
		ORDER BY created_at DESC, id DESC LIMIT $1`, limitOr(limit, 100))
	return collect(rows, err, scanMessage)
}

func scanMessage(r scanner) (*store.OutboxMessage, error) {
	var (
		m                              store.OutboxMessage
		next, claimed, created, sentAt int64
	)
	if err := r.Scan(&m.ID, &m.Channel, &m.Recipient, &m.Subject, &m.Body, &m.Language, &m.EventKey,
		&m.Status, &m.Attempts, &next, &claimed, &m.LastError, &m.Driver, &created, &sentAt); err != nil {
		return nil, err
	}
	m.NextAttemptAt, m.ClaimedUntil = fromMicros(next), fromMicros(claimed)
	m.CreatedAt, m.SentAt = fromMicros(created), fromMicros(sentAt)
	return &m, nil
}
