package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const sessionCols = `id, kind, subject, loa, amr, name, auth_time, created_at, last_seen_at, expires_at,
	source, user_agent, revoked_at, version`

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, se *store.Session) error {
	if se.CreatedAt.IsZero() {
		se.CreatedAt = s.now().UTC()
	}
	if se.LastSeenAt.IsZero() {
		se.LastSeenAt = se.CreatedAt
	}
	se.Version = 1
	_, err := s.q().ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
		se.ID, se.Kind, se.Subject, se.LoA, strings.Join(se.AMR, " "), se.Name, micros(se.AuthTime),
		micros(se.CreatedAt), micros(se.LastSeenAt), micros(se.ExpiresAt), se.Source, se.UserAgent,
		micros(se.RevokedAt), se.Version)
	return mapErr(err)
}

// SessionByID implements store.Sessions.
func (s *Store) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	se, err := scanSession(s.q().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id=$1`, id))
	return se, mapErr(err)
}

// UpdateSession implements store.Sessions.
func (s *Store) UpdateSession(ctx context.Context, se *store.Session) error {
	res, err := s.q().ExecContext(ctx, `UPDATE sessions SET loa=$1, amr=$2, auth_time=$3, last_seen_at=$4,
		expires_at=$5, version=version+1 WHERE id=$6 AND version=$7`,
		se.LoA, strings.Join(se.AMR, " "), micros(se.AuthTime), micros(se.LastSeenAt), micros(se.ExpiresAt),
		se.ID, se.Version)
	if err := checkOne(res, err); err != nil {
		return err
	}
	se.Version++
	return nil
}

// RevokeSession implements store.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `UPDATE sessions SET revoked_at=$1, version=version+1
		WHERE id=$2 AND revoked_at = 0`, micros(at), id)
	return err
}

// ListSessions implements store.Sessions.
func (s *Store) ListSessions(ctx context.Context, kind, subject string, now time.Time) ([]store.Session, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE kind=$1 AND subject=$2 AND revoked_at = 0 AND expires_at > $3 ORDER BY created_at DESC`,
		kind, subject, micros(now))
	return collect(rows, err, scanSession)
}

// DeleteSessionsBefore implements store.Sessions.
func (s *Store) DeleteSessionsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func scanSession(r scanner) (*store.Session, error) {
	var (
		se                                    store.Session
		amr                                   string
		auth, created, seen, expires, revoked int64
	)
	if err := r.Scan(&se.ID, &se.Kind, &se.Subject, &se.LoA, &amr, &se.Name, &auth, &created, &seen, &expires,
		&se.Source, &se.UserAgent, &revoked, &se.Version); err != nil {
		return nil, err
	}
	se.AMR = strings.Fields(amr)
	se.AuthTime, se.CreatedAt, se.LastSeenAt = fromMicros(auth), fromMicros(created), fromMicros(seen)
	se.ExpiresAt, se.RevokedAt = fromMicros(expires), fromMicros(revoked)
	return &se, nil
}

// SetPassword implements store.Passwords.
func (s *Store) SetPassword(ctx context.Context, p *store.Password) error {
	if p.SetAt.IsZero() {
		p.SetAt = s.now().UTC()
	}
	var v int64
	p.NoticeAt = time.Time{}
	err := s.atomic(ctx, func(t *Store) error { // a write: through the SQLite write gate
		return t.q().QueryRowContext(ctx, `INSERT INTO passwords (citizen_id, hash, set_at, version) VALUES ($1,$2,$3,1)
		ON CONFLICT (citizen_id) DO UPDATE SET hash=excluded.hash, set_at=excluded.set_at, notice_at=0,
		version=passwords.version+1 RETURNING version`, p.CitizenID, p.Hash, micros(p.SetAt)).Scan(&v)
	})
	if err != nil {
		return mapErr(err)
	}
	p.Version = v
	return nil
}

// PasswordOf implements store.Passwords.
func (s *Store) PasswordOf(ctx context.Context, citizenID string) (*store.Password, error) {
	p, err := scanPassword(s.q().QueryRowContext(ctx, `SELECT `+passwordCols+` FROM passwords WHERE citizen_id=$1`,
		citizenID))
	if err != nil {
		return nil, mapErr(err)
	}
	return p, nil
}

const passwordCols = `citizen_id, hash, set_at, notice_at, version`

func scanPassword(r scanner) (*store.Password, error) {
	var (
		p             store.Password
		setAt, notice int64
	)
	if err := r.Scan(&p.CitizenID, &p.Hash, &setAt, &notice, &p.Version); err != nil {
		return nil, err
	}
	p.SetAt, p.NoticeAt = fromMicros(setAt), fromMicros(notice)
	return &p, nil
}

// PasswordsToNotify implements store.Passwords.
func (s *Store) PasswordsToNotify(ctx context.Context, from, to time.Time, limit int) ([]store.Password, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+passwordCols+` FROM passwords
		WHERE notice_at = 0 AND set_at >= $1 AND set_at < $2 ORDER BY set_at LIMIT $3`,
		micros(from), micros(to), limitOr(limit, 100))
	return collect(rows, err, scanPassword)
}

// MarkPasswordNotice implements store.Passwords.
func (s *Store) MarkPasswordNotice(ctx context.Context, p *store.Password, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE passwords SET notice_at=$1, version=version+1
		WHERE citizen_id=$2 AND version=$3 AND notice_at = 0`, micros(at), p.CitizenID, p.Version)
	if err := checkOne(res, err); err != nil {
		return err
	}
	p.NoticeAt = fromMicros(micros(at))
	p.Version++
	return nil
}

// UpdatePasswordHash implements store.Passwords.
func (s *Store) UpdatePasswordHash(ctx context.Context, p *store.Password) error {
	res, err := s.q().ExecContext(ctx, `UPDATE passwords SET hash=$1, version=version+1 WHERE citizen_id=$2 AND version=$3`,
		p.Hash, p.CitizenID, p.Version)
	if err := checkOne(res, err); err != nil {
		return err
	}
	p.Version++
	return nil
}
