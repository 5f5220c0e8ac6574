package sqlstore

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

const flowCols = `id, kind, state, subject, data, version, created_at, updated_at, expires_at`

// CreateFlow implements store.Flows.
func (s *Store) CreateFlow(ctx context.Context, f *store.Flow) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = s.now().UTC()
	}
	f.UpdatedAt, f.Version = f.CreatedAt, 1
	if len(f.Data) == 0 {
		f.Data = []byte("{}")
	}
	_, err := s.q().ExecContext(ctx, `INSERT INTO flows (`+flowCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		f.ID, f.Kind, f.State, f.Subject, string(f.Data), f.Version, micros(f.CreatedAt), micros(f.UpdatedAt), micros(f.ExpiresAt))
	return mapErr(err)
}

// FlowByID implements store.Flows.
func (s *Store) FlowByID(ctx context.Context, kind, id string) (*store.Flow, error) {
	var (
		f                         store.Flow
		data                      string
		created, updated, expires int64
	)
	err := s.q().QueryRowContext(ctx, `SELECT `+flowCols+` FROM flows WHERE id=$1 AND kind=$2`, id, kind).
		Scan(&f.ID, &f.Kind, &f.State, &f.Subject, &data, &f.Version, &created, &updated, &expires)
	if err != nil {
		return nil, mapErr(err)
	}
	f.Data = []byte(data)
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromMicros(created), fromMicros(updated), fromMicros(expires)
	return &f, nil
}

// UpdateFlow implements store.Flows.
func (s *Store) UpdateFlow(ctx context.Context, f *store.Flow) error {
	updated := s.now().UTC()
	res, err := s.q().ExecContext(ctx, `UPDATE flows SET state=$1, subject=$2, data=$3, version=version+1,
		updated_at=$4, expires_at=$5 WHERE id=$6 AND version=$7`,
		f.State, f.Subject, string(f.Data), micros(updated), micros(f.ExpiresAt), f.ID, f.Version)
	if err := checkOne(res, err); err != nil {
		return err
	}
	f.Version++
	f.UpdatedAt = updated
	return nil
}

// DeleteFlowsBefore implements store.Flows.
func (s *Store) DeleteFlowsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM flows WHERE expires_at < $1`, micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
