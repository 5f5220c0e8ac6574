package sqlstore

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const codeCols = `id, purpose, subject, hash, expires_at, attempts, max_attempts, created_at, consumed_at`

// ReplaceCode implements store.Codes.
func (s *Store) ReplaceCode(ctx context.Context, c *store.Code) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	return s.atomic(ctx, func(t *Store) error {
		if _, err := t.q().ExecContext(ctx, `DELETE FROM codes WHERE purpose=$1 AND subject=$2`,
			c.Purpose, c.Subject); err != nil {
			return err
		}
		_, err := t.q().ExecContext(ctx, `INSERT INTO codes (`+codeCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			c.ID, c.Purpose, c.Subject, c.Hash, micros(c.ExpiresAt), c.Attempts, c.MaxAttempts,
			micros(c.CreatedAt), micros(c.ConsumedAt))
		return mapErr(err)
	})
}

// LiveCode implements store.Codes.
func (s *Store) LiveCode(ctx context.Context, purpose, subject string) (*store.Code, error) {
	var (
		c                          store.Code
		expires, created, consumed int64
	)
	err := s.q().QueryRowContext(ctx, `SELECT `+codeCols+` FROM codes
		WHERE purpose=$1 AND subject=$2 AND consumed_at = 0 ORDER BY created_at DESC LIMIT 1`,
		purpose, subject).Scan(&c.ID, &c.Purpose, &c.Subject, &c.Hash, &expires, &c.Attempts,
		&c.MaxAttempts, &created, &consumed)
	if err != nil {
		return nil, mapErr(err)
	}
	c.ExpiresAt, c.CreatedAt, c.ConsumedAt = fromMicros(expires), fromMicros(created), fromMicros(consumed)
	return &c, nil
}

// SpendCodeAttempt implements store.Codes with one conditional update, so
// concurrent guesses cannot exceed the limit.
func (s *Store) SpendCodeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.atomic(ctx, func(t *Store) error { // a write: through the SQLite write gate
		return t.q().QueryRowContext(ctx, `UPDATE codes SET attempts = attempts + 1
		WHERE id=$1 AND consumed_at = 0 AND attempts < max_attempts RETURNING attempts`, id).Scan(&n)
	})
	if err != nil {
		if mapErr(err) == store.ErrNotFound {
			return 0, store.ErrStale
		}
		return 0, err
	}
	return n, nil
}

// RefundCodeAttempt implements store.Codes.
func (s *Store) RefundCodeAttempt(ctx context.Context, id string) error {
	res, err := s.q().ExecContext(ctx, `UPDATE codes SET attempts = attempts - 1
		WHERE id=$1 AND consumed_at = 0 AND attempts > 0`, id)
	return checkOne(res, err)
}

// ConsumeCode implements store.Codes.
func (s *Store) ConsumeCode(ctx context.Context, id string, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE codes SET consumed_at=$1 WHERE id=$2 AND consumed_at = 0`,
		micros(at), id)
	return checkOne(res, err)
}

// DeleteCodesBefore implements store.Codes.
func (s *Store) DeleteCodesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM codes WHERE expires_at < $1`, micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

const counterCols = `ckey, failures, window_start, locked_until, lockouts, version, updated_at`

// Counter implements store.Counters.
func (s *Store) Counter(ctx context.Context, key string) (store.Counter, error) {
	c, err := s.counter(ctx, key)
	if err == store.ErrNotFound {
		return store.Counter{Key: key}, nil
	}
	if err != nil {
		return store.Counter{}, err
	}
	return *c, nil
}

func (s *Store) counter(ctx context.Context, key string) (*store.Counter, error) {
	var (
		c                store.Counter
		win, locked, upd int64
	)
	err := s.q().QueryRowContext(ctx, `SELECT `+counterCols+` FROM counters WHERE ckey=$1`, key).
		Scan(&c.Key, &c.Count, &win, &locked, &c.Lockouts, &c.Version, &upd)
	if err != nil {
		return nil, mapErr(err)
	}
	c.WindowStart, c.LockedUntil = fromMicros(win), fromMicros(locked)
	return &c, nil
}

// UpdateCounter implements store.Counters with optimistic concurrency: it
// writes only if the version it read is still there, else reads again.
func (s *Store) UpdateCounter(ctx context.Context, key string, fn func(c *store.Counter) error) (store.Counter, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return store.Counter{}, err
		}
		cur, err := s.counter(ctx, key)
		if err != nil && err != store.ErrNotFound {
			return store.Counter{}, err
		}
		next := store.Counter{Key: key}
		if cur != nil {
			next = *cur
		}
		if err := fn(&next); err != nil {
			return store.Counter{}, err
		}
		next.Key = key
		now := micros(s.now())
		if cur == nil {
			next.Version = 1
			res, err := s.q().ExecContext(ctx, `INSERT INTO counters (`+counterCols+`)
				VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (ckey) DO NOTHING`,
				key, next.Count, micros(next.WindowStart), micros(next.LockedUntil), next.Lockouts, next.Version, now)
			if err := checkOne(res, err); err == nil {
				return next, nil
			} else if err != store.ErrStale {
				return store.Counter{}, err
			}
		} else {
			res, err := s.q().ExecContext(ctx, `UPDATE counters SET failures=$1, window_start=$2, locked_until=$3,
				lockouts=$4, version=version+1, updated_at=$5 WHERE ckey=$6 AND version=$7`,
				next.Count, micros(next.WindowStart), micros(next.LockedUntil), next.Lockouts, now, key, cur.Version)
			if err := checkOne(res, err); err == nil {
				next.Version = cur.Version + 1
				return next, nil
			} else if err != store.ErrStale {
				return store.Counter{}, err
			}
		}
		if s.tx != nil && attempt > 3 {
			// Inside a transaction the same snapshot would be read again.
			return store.Counter{}, store.ErrStale
		}
	}
}

// DeleteCounter implements store.Counters.
func (s *Store) DeleteCounter(ctx context.Context, key string) error {
	_, err := s.q().ExecContext(ctx, `DELETE FROM counters WHERE ckey=$1`, key)
	return err
}

// DeleteCountersBefore implements store.Counters.
func (s *Store) DeleteCountersBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM counters WHERE updated_at < $1 AND locked_until < $1`, micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
