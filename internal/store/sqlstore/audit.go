package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/clau-eid/clau/internal/store"
)

const auditCols = `seq, at, actor, action, subject, office, source, outcome, details, prev_hash, hash`

// AppendAudit implements store.AuditLog. Bumping the head row first takes
// its row lock (PostgreSQL) or the write lock (SQLite), so appenders queue
// on it and each sees the hash its predecessor committed.
func (s *Store) AppendAudit(ctx context.Context, e *store.AuditEvent, seal func(e *store.AuditEvent) error) error {
	return s.atomic(ctx, func(t *Store) error {
		var (
			seq  int64
			prev string
		)
		err := t.q().QueryRowContext(ctx,
			`UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&seq, &prev)
		if err != nil {
			return fmt.Errorf("audit head: %w", mapErr(err))
		}
		e.Seq, e.PrevHash = seq, prev
		if e.At.IsZero() {
			e.At = t.now().UTC()
		}
		e.At = fromMicros(micros(e.At)) // the precision the store keeps, so the hash verifies later
		if err := seal(e); err != nil {
			return err
		}
		details, err := json.Marshal(e.Details)
		if err != nil {
			return err
		}
		if _, err := t.q().ExecContext(ctx, `INSERT INTO audit_events (`+auditCols+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
			e.Seq, micros(e.At), e.Actor, e.Action, e.Subject, e.Office, e.Source, e.Outcome,
			string(details), e.PrevHash, e.Hash); err != nil {
			return mapErr(err)
		}
		_, err = t.q().ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e.Hash)
		return err
	})
}

// ScanAudit implements store.AuditLog. It reads in pages so a long trail
// never holds one huge result set open.
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(e store.AuditEvent) error) error {
	const page = 1000
	next := from
	for {
		rows, err := s.q().QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events
			WHERE seq >= $1 ORDER BY seq LIMIT $2`, next, page)
		batch, err := collect(rows, err, scanAudit)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < page {
			return nil
		}
		next = batch[len(batch)-1].Seq + 1
	}
}

// AuditHead implements store.AuditLog.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var (
		seq  int64
		hash string
	)
	err := s.q().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, hash, mapErr(err)
}

// ListAudit implements store.AuditLog.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	before := f.Before
	if before <= 0 {
		before = 1 << 62
	}
	args := []any{before, f.Subject, f.Actor, f.Action, likePrefix(f.Action), limitOr(f.Limit, 100)}
	actions := ""
	if len(f.Actions) > 0 {
		marks := make([]string, len(f.Actions))
		for i, a := range f.Actions {
			args = append(args, a)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		actions = ` AND action IN (` + strings.Join(marks, ",") + `)`
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events
		WHERE seq < $1 AND ($2 = '' OR subject = $2) AND ($3 = '' OR actor = $3)
		AND ($4 = '' OR action LIKE $5 ESCAPE '\')`+actions+` ORDER BY seq DESC LIMIT $6`, args...)
	return collect(rows, err, scanAudit)
}

// likePrefix is a LIKE pattern (with ESCAPE '\') matching what starts
// with s. Action names hold '_' (saml.authn_request), which LIKE would
// take for any character: it is escaped, not dropped, as are '%' and
// the escape itself.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

func scanAudit(r scanner) (*store.AuditEvent, error) {
	var (
		e       store.AuditEvent
		at      int64
		details string
	)
	if err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Office, &e.Source, &e.Outcome,
		&details, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.At = fromMicros(at)
	if details != "" && details != "null" {
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %d: details: %w", e.Seq, err)
		}
	}
	return &e, nil
}
