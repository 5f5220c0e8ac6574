package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

const refCols = `doc_number, doc_type, doc_validity, doc_permanent, support_number, given_name, first_surname,
	second_surname, birth_date, nationality, address_line1, address_line2, postal_code, municipality, province, import_id,
	version, created_at, updated_at`

// PutReference implements store.References: one upsert, so two imports
// racing on a document never fail half-way.
func (s *Store) PutReference(ctx context.Context, r *store.Reference) (bool, error) {
	now := s.now().UTC()
	var (
		version int64
		created int64
	)
	err := s.atomic(ctx, func(t *Store) error { // a write: through the SQLite write gate
		return t.q().QueryRowContext(ctx, `INSERT INTO reference_records (`+refCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$17,$10,$11,$12,$13,$14,$15,1,$16,$16)
		ON CONFLICT (doc_number) DO UPDATE SET doc_type=excluded.doc_type, doc_validity=excluded.doc_validity,
			doc_permanent=excluded.doc_permanent, support_number=excluded.support_number,
			given_name=excluded.given_name, first_surname=excluded.first_surname,
			second_surname=excluded.second_surname, birth_date=excluded.birth_date, nationality=excluded.nationality,
			address_line1=excluded.address_line1, address_line2=excluded.address_line2,
			postal_code=excluded.postal_code, municipality=excluded.municipality, province=excluded.province,
			import_id=excluded.import_id, version=reference_records.version+1, updated_at=excluded.updated_at
		RETURNING version, created_at`,
			r.Document.Number, string(r.Document.Type), dateText(r.DocValidity), r.DocPermanent, r.SupportNumber,
			r.GivenName, r.FirstSurname, r.SecondSurname, dateText(r.BirthDate), r.AddressLine1, r.AddressLine2,
			r.PostalCode, r.Municipality, r.Province, r.ImportID, micros(now), r.Nationality).Scan(&version, &created)
	})
	if err != nil {
		return false, mapErr(err)
	}
	r.Version, r.CreatedAt, r.UpdatedAt = version, fromMicros(created), now
	return version == 1, nil
}

// ReferenceByDocument implements store.References.
func (s *Store) ReferenceByDocument(ctx context.Context, number string) (*store.Reference, error) {
	var (
		r                 store.Reference
		typ, valid, birth string
		created, updated  int64
	)
	err := s.q().QueryRowContext(ctx, `SELECT `+refCols+` FROM reference_records WHERE doc_number=$1`, number).Scan(
		&r.Document.Number, &typ, &valid, &r.DocPermanent, &r.SupportNumber, &r.GivenName, &r.FirstSurname,
		&r.SecondSurname, &birth, &r.Nationality, &r.AddressLine1, &r.AddressLine2, &r.PostalCode, &r.Municipality, &r.Province,
		&r.ImportID, &r.Version, &created, &updated)
	if err != nil {
		return nil, mapErr(err)
	}
	r.Document.Type = identity.DocumentType(typ)
	r.DocValidity, r.BirthDate = parseDateText(valid), parseDateText(birth)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &r, nil
}

// CountReferences implements store.References.
func (s *Store) CountReferences(ctx context.Context) (int64, error) {
	var n int64
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM reference_records`).Scan(&n)
	return n, err
}

const letterCols = `id, citizen_id, language, recipient, address, code_sealed, expires_at, status, created_at,
	sent_at, version`

// CreateLetter implements store.Letters.
func (s *Store) CreateLetter(ctx context.Context, l *store.Letter) error {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = s.now().UTC()
	}
	if l.Status == "" {
		l.Status = store.LetterQueued
	}
	l.Version = 1
	_, err := s.q().ExecContext(ctx, `INSERT INTO letters (`+letterCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
		l.ID, l.CitizenID, l.Language, l.Recipient, strings.Join(l.Address, "\n"), l.CodeSealed, micros(l.ExpiresAt),
		l.Status, micros(l.CreatedAt), micros(l.SentAt), l.Version)
	return mapErr(err)
}

// SupersedeLetters implements store.Letters.
func (s *Store) SupersedeLetters(ctx context.Context, citizenID string, at time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `UPDATE letters SET status=$1, code_sealed='', sent_at=$2, version=version+1
		WHERE citizen_id=$3 AND status=$4`, store.LetterSuperseded, micros(at), citizenID, store.LetterQueued)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LetterByID implements store.Letters.
func (s *Store) LetterByID(ctx context.Context, id string) (*store.Letter, error) {
	l, err := scanLetter(s.q().QueryRowContext(ctx, `SELECT `+letterCols+` FROM letters WHERE id=$1`, id))
	return l, mapErr(err)
}

// QueuedLetters implements store.Letters.
func (s *Store) QueuedLetters(ctx context.Context, until time.Time) ([]store.Letter, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+letterCols+` FROM letters
		WHERE status=$1 AND created_at < $2 ORDER BY created_at, id`, store.LetterQueued, micros(until))
	return collect(rows, err, scanLetter)
}

// MarkLettersSent implements store.Letters.
func (s *Store) MarkLettersSent(ctx context.Context, until, at time.Time) (int, error) {
	res, err := s.q().ExecContext(ctx, `UPDATE letters SET status=$1, code_sealed='', sent_at=$2, version=version+1
		WHERE status=$3 AND created_at < $4`, store.LetterSent, micros(at), store.LetterQueued, micros(until))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ListLetters implements store.Letters.
func (s *Store) ListLetters(ctx context.Context, citizenID string) ([]store.Letter, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+letterCols+` FROM letters
		WHERE citizen_id=$1 ORDER BY created_at DESC, id DESC`, citizenID)
	return collect(rows, err, scanLetter)
}

// WasDeregistered implements store.Letters.
func (s *Store) WasDeregistered(ctx context.Context, docNumber string) (bool, error) {
	var n int64
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM citizens WHERE doc_number=$1 AND status='deregistered'`,
		docNumber).Scan(&n)
	return n > 0, err
}

func scanLetter(r scanner) (*store.Letter, error) {
	var (
		l                      store.Letter
		address                string
		expires, created, sent int64
	)
	if err := r.Scan(&l.ID, &l.CitizenID, &l.Language, &l.Recipient, &address, &l.CodeSealed, &expires, &l.Status,
		&created, &sent, &l.Version); err != nil {
		return nil, err
	}
	l.Address = strings.Split(address, "\n")
	l.ExpiresAt, l.CreatedAt, l.SentAt = fromMicros(expires), fromMicros(created), fromMicros(sent)
	return &l, nil
}
