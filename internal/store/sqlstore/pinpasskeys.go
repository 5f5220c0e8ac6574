package sqlstore

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const pinCols = `citizen_id, personal_code_hash, enabled_at, expires_at, enabled_by, notice_sent_at, version`

// SetPINService implements store.PINServices.
func (s *Store) SetPINService(ctx context.Context, p *store.PINService) error {
	err := s.atomic(ctx, func(t *Store) error { // a write: through the SQLite write gate
		return t.q().QueryRowContext(ctx, `INSERT INTO pin_services (`+pinCols+`) VALUES ($1,$2,$3,$4,$5,0,1)
		ON CONFLICT (citizen_id) DO UPDATE SET personal_code_hash=excluded.personal_code_hash,
			enabled_at=excluded.enabled_at, expires_at=excluded.expires_at, enabled_by=excluded.enabled_by,
			notice_sent_at=0, version=pin_services.version+1
		RETURNING version`,
			p.CitizenID, p.PersonalCodeHash, micros(p.EnabledAt), micros(p.ExpiresAt), p.EnabledBy).Scan(&p.Version)
	})
	if err != nil {
		return mapErr(err)
	}
	p.NoticeSentAt = time.Time{}
	return nil
}

// PINServiceOf implements store.PINServices.
func (s *Store) PINServiceOf(ctx context.Context, citizenID string) (*store.PINService, error) {
	p, err := scanPIN(s.q().QueryRowContext(ctx, `SELECT `+pinCols+` FROM pin_services WHERE citizen_id=$1`, citizenID))
	return p, mapErr(err)
}

// DeletePINService implements store.PINServices.
func (s *Store) DeletePINService(ctx context.Context, citizenID string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM pin_services WHERE citizen_id=$1`, citizenID)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// PINServicesToNotify implements store.PINServices.
func (s *Store) PINServicesToNotify(ctx context.Context, from, until time.Time, limit int) ([]store.PINService, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+pinCols+` FROM pin_services
		WHERE notice_sent_at = 0 AND expires_at > $1 AND expires_at <= $2 ORDER BY expires_at, citizen_id LIMIT $3`,
		micros(from), micros(until), limitOr(limit, 100))
	return collect(rows, err, scanPIN)
}

// MarkPINNoticeSent implements store.PINServices.
func (s *Store) MarkPINNoticeSent(ctx context.Context, p *store.PINService, at time.Time) error {
	res, err := s.q().ExecContext(ctx, `UPDATE pin_services SET notice_sent_at=$1, version=version+1
		WHERE citizen_id=$2 AND version=$3`, micros(at), p.CitizenID, p.Version)
	if err := checkOne(res, err); err != nil {
		return err
	}
	p.NoticeSentAt = at
	p.Version++
	return nil
}

func scanPIN(r scanner) (*store.PINService, error) {
	var (
		p                        store.PINService
		enabled, expires, notice int64
	)
	if err := r.Scan(&p.CitizenID, &p.PersonalCodeHash, &enabled, &expires, &p.EnabledBy, &notice, &p.Version); err != nil {
		return nil, err
	}
	p.EnabledAt, p.ExpiresAt, p.NoticeSentAt = fromMicros(enabled), fromMicros(expires), fromMicros(notice)
	return &p, nil
}

const passkeyCols = `id, citizen_id, credential_id, name, credential, sign_count, created_at, last_used_at`

func credText(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// CreatePasskey implements store.Passkeys.
func (s *Store) CreatePasskey(ctx context.Context, p *store.Passkey) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now().UTC()
	}
	_, err := s.q().ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		p.ID, p.CitizenID, credText(p.CredentialID), p.Name, string(p.Credential), p.SignCount,
		micros(p.CreatedAt), micros(p.LastUsedAt))
	return mapErr(err)
}

// PasskeysOf implements store.Passkeys.
func (s *Store) PasskeysOf(ctx context.Context, citizenID string) ([]store.Passkey, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE citizen_id=$1
		ORDER BY created_at, id`, citizenID)
	return collect(rows, err, scanPasskey)
}

// PasskeyByCredentialID implements store.Passkeys.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*store.Passkey, error) {
	p, err := scanPasskey(s.q().QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id=$1`,
		credText(credentialID)))
	return p, mapErr(err)
}

// UsePasskey implements store.Passkeys.
func (s *Store) UsePasskey(ctx context.Context, p *store.Passkey, prev int64) error {
	res, err := s.q().ExecContext(ctx, `UPDATE passkeys SET sign_count=$1, credential=$2, last_used_at=$3
		WHERE id=$4 AND sign_count=$5`, p.SignCount, string(p.Credential), micros(p.LastUsedAt), p.ID, prev)
	return checkOne(res, err)
}

// DeletePasskey implements store.Passkeys.
func (s *Store) DeletePasskey(ctx context.Context, citizenID, id string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM passkeys WHERE id=$1 AND citizen_id=$2`, id, citizenID)
	if err := checkOne(res, err); err == store.ErrStale {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// DeletePasskeysOf implements store.Passkeys.
func (s *Store) DeletePasskeysOf(ctx context.Context, citizenID string) (int, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM passkeys WHERE citizen_id=$1`, citizenID)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanPasskey(r scanner) (*store.Passkey, error) {
	var (
		p               store.Passkey
		credID, cred    string
		created, usedAt int64
	)
	if err := r.Scan(&p.ID, &p.CitizenID, &credID, &p.Name, &cred, &p.SignCount, &created, &usedAt); err != nil {
		return nil, err
	}
	id, err := base64.RawURLEncoding.DecodeString(credID)
	if err != nil {
		return nil, err
	}
	p.CredentialID, p.Credential = id, []byte(cred)
	p.CreatedAt, p.LastUsedAt = fromMicros(created), fromMicros(usedAt)
	return &p, nil
}
