package sqlstore

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const logoutCols = `id, client_id, uri, subject, sid, status, attempts, next_attempt_at, claimed_until,
	last_error, created_at, sent_at`

// EnqueueLogout implements store.LogoutQueue.
func (s *Store) EnqueueLogout(ctx context.Context, d *store.LogoutDelivery) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now().UTC()
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.CreatedAt
	}
	if d.Status == "" {
		d.Status = store.MsgPending
	}
	_, err := s.q().ExecContext(ctx, `INSERT INTO oidc_logouts (`+logoutCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		d.ID, d.ClientID, d.URI, d.Subject, d.SID, d.Status, d.Attempts, micros(d.NextAttemptAt),
		micros(d.ClaimedUntil), d.LastError, micros(d.CreatedAt), micros(d.SentAt))
	return mapErr(err)
}

// ClaimLogouts implements store.LogoutQueue with one conditional update
// per row, as ClaimMessages does.
func (s *Store) ClaimLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.LogoutDelivery, error) {
	nowU := micros(now)
	rows, err := s.q().QueryContext(ctx, `SELECT `+logoutCols+` FROM oidc_logouts
		WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1)
		ORDER BY next_attempt_at LIMIT $2`, nowU, limitOr(limit, 50))
	due, err := collect(rows, err, scanLogout)
	if err != nil {
		return nil, err
	}
	until := now.Add(lease)
	var claimed []store.LogoutDelivery
	for _, d := range due {
		res, err := s.q().ExecContext(ctx, `UPDATE oidc_logouts SET status='sending', claimed_until=$1
			WHERE id=$2 AND status=$3 AND claimed_until=$4`, micros(until), d.ID, d.Status, micros(d.ClaimedUntil))
		if err := checkOne(res, err); err == store.ErrStale {
			continue
		} else if err != nil {
			return claimed, err
		}
		d.Status, d.ClaimedUntil = store.MsgSending, fromMicros(micros(until))
		claimed = append(claimed, d)
	}
	return claimed, nil
}

// FinishLogout implements store.LogoutQueue.
func (s *Store) FinishLogout(ctx context.Context, d *store.LogoutDelivery) error {
	res, err := s.q().ExecContext(ctx, `UPDATE oidc_logouts SET status=$1, attempts=$2, next_attempt_at=$3,
		claimed_until=0, last_error=$4, sent_at=$5 WHERE id=$6`,
		d.Status, d.Attempts, micros(d.NextAttemptAt), d.LastError, micros(d.SentAt), d.ID)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else {
		return err
	}
}

// ListLogouts implements store.LogoutQueue.
func (s *Store) ListLogouts(ctx context.Context, limit int) ([]store.LogoutDelivery, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+logoutCols+` FROM oidc_logouts
		ORDER BY created_at DESC, id DESC LIMIT $1`, limitOr(limit, 50))
	return collect(rows, err, scanLogout)
}

func scanLogout(r scanner) (*store.LogoutDelivery, error) {
	var (
		d                              store.LogoutDelivery
		next, claimed, created, sentAt int64
	)
	if err := r.Scan(&d.ID, &d.ClientID, &d.URI, &d.Subject, &d.SID, &d.Status, &d.Attempts, &next, &claimed,
		&d.LastError, &created, &sentAt); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.ClaimedUntil = fromMicros(next), fromMicros(claimed)
	d.CreatedAt, d.SentAt = fromMicros(created), fromMicros(sentAt)
	return &d, nil
}

// CreateOIDCClient implements store.OIDCClients.
func (s *Store) CreateOIDCClient(ctx context.Context, c *store.OIDCClientRecord) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	c.UpdatedAt = c.CreatedAt
	_, err := s.q().ExecContext(ctx, `INSERT INTO oidc_clients (id, settings, secret_hash, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5)`, c.ID, string(c.Settings), c.SecretHash, micros(c.CreatedAt), micros(c.UpdatedAt))
	return mapErr(err)
}

// OIDCClientByID implements store.OIDCClients.
func (s *Store) OIDCClientByID(ctx context.Context, id string) (*store.OIDCClientRecord, error) {
	c, err := scanOIDCClient(s.q().QueryRowContext(ctx, `SELECT id, settings, secret_hash, created_at, updated_at
		FROM oidc_clients WHERE id=$1`, id))
	return c, mapErr(err)
}

// ListOIDCClients implements store.OIDCClients.
func (s *Store) ListOIDCClients(ctx context.Context) ([]store.OIDCClientRecord, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT id, settings, secret_hash, created_at, updated_at
		FROM oidc_clients ORDER BY id`)
	return collect(rows, err, scanOIDCClient)
}

// DeleteOIDCClient implements store.OIDCClients.
func (s *Store) DeleteOIDCClient(ctx context.Context, id string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM oidc_clients WHERE id=$1`, id)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else {
		return err
	}
}

func scanOIDCClient(r scanner) (*store.OIDCClientRecord, error) {
	var (
		c                store.OIDCClientRecord
		settings         string
		created, updated int64
	)
	if err := r.Scan(&c.ID, &settings, &c.SecretHash, &created, &updated); err != nil {
		return nil, err
	}
	c.Settings, c.CreatedAt, c.UpdatedAt = []byte(settings), fromMicros(created), fromMicros(updated)
	return &c, nil
}
