package sqlstore

import (
	"context"
	"database/sql"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

const citizenCols = `id, doc_type, doc_number, doc_validity, doc_permanent, support_number,
	given_name, first_surname, second_surname, birth_date, nationality, email, mobile,
	language, level, channel, status, version, created_at, updated_at, office_id`

// CreateCitizen implements store.Citizens.
func (s *Store) CreateCitizen(ctx context.Context, c *identity.Citizen) error {
	now := s.now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
	_, err := s.q().ExecContext(ctx, `INSERT INTO citizens (`+citizenCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`,
		c.ID, string(c.Document.Type), c.Document.Number, dateText(c.DocValidity), c.DocPermanent, c.SupportNumber,
		c.GivenName, c.FirstSurname, c.SecondSurname, dateText(c.BirthDate), c.Nationality, c.Email, c.Mobile,
		c.Language, string(c.Level), string(c.Channel), string(c.Status), c.Version, micros(c.CreatedAt), micros(c.UpdatedAt),
		c.OfficeID)
	return mapErr(err)
}

// UpdateCitizen implements store.Citizens.
func (s *Store) UpdateCitizen(ctx context.Context, c *identity.Citizen) error {
	updated := s.now().UTC()
	res, err := s.q().ExecContext(ctx, `UPDATE citizens SET doc_type=$1, doc_number=$2, doc_validity=$3,
		doc_permanent=$4, support_number=$5, given_name=$6, first_surname=$7, second_surname=$8,
		birth_date=$9, nationality=$10, email=$11, mobile=$12, language=$13, level=$14, channel=$15,
		status=$16, version=version+1, updated_at=$17, office_id=$20
		WHERE id=$18 AND version=$19`,
		string(c.Document.Type), c.Document.Number, dateText(c.DocValidity), c.DocPermanent, c.SupportNumber,
		c.GivenName, c.FirstSurname, c.SecondSurname, dateText(c.BirthDate), c.Nationality, c.Email, c.Mobile,
		c.Language, string(c.Level), string(c.Channel), string(c.Status), micros(updated), c.ID, c.Version, c.OfficeID)
	if err := checkOne(res, err); err != nil {
		return err
	}
	c.Version++
	c.UpdatedAt = updated
	return nil
}

// CitizenByID implements store.Citizens.
func (s *Store) CitizenByID(ctx context.Context, id string) (*identity.Citizen, error) {
	return s.oneCitizen(ctx, `SELECT `+citizenCols+` FROM citizens WHERE id=$1`, id)
}

// CitizenByDocument implements store.Citizens.
func (s *Store) CitizenByDocument(ctx context.Context, number string) (*identity.Citizen, error) {
	return s.oneCitizen(ctx, `SELECT `+citizenCols+` FROM citizens
		WHERE doc_number=$1 AND status <> 'deregistered'`, number)
}

// CitizenByMobile implements store.Citizens.
func (s *Store) CitizenByMobile(ctx context.Context, e164 string) (*identity.Citizen, error) {
	return s.oneCitizen(ctx, `SELECT `+citizenCols+` FROM citizens
		WHERE mobile=$1 AND status <> 'deregistered'`, e164)
}

// ListCitizens implements store.Citizens, ordered by ID.
func (s *Store) ListCitizens(ctx context.Context, p store.Page) ([]identity.Citizen, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+citizenCols+` FROM citizens
		WHERE id > $1 ORDER BY id LIMIT $2`, p.After, limitOr(p.Limit, 100))
	return collect(rows, err, scanCitizen)
}

// CountCitizens implements store.Citizens.
func (s *Store) CountCitizens(ctx context.Context) (int64, error) {
	var n int64
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM citizens`).Scan(&n)
	return n, err
}

func (s *Store) oneCitizen(ctx context.Context, query string, args ...any) (*identity.Citizen, error) {
	c, err := scanCitizen(s.q().QueryRowContext(ctx, query, args...))
	return c, mapErr(err)
}

type scanner interface{ Scan(dest ...any) error }

// collect scans every row of a query into a slice and closes the rows.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

func scanCitizen(r scanner) (*identity.Citizen, error) {
	var (
		c                          identity.Citizen
		docType, level, ch, status string
		validity, birth            string
		created, updated           int64
	)
	err := r.Scan(&c.ID, &docType, &c.Document.Number, &validity, &c.DocPermanent, &c.SupportNumber,
		&c.GivenName, &c.FirstSurname, &c.SecondSurname, &birth, &c.Nationality, &c.Email, &c.Mobile,
		&c.Language, &level, &ch, &status, &c.Version, &created, &updated, &c.OfficeID)
	if err != nil {
		return nil, err
	}
	c.Document.Type = identity.DocumentType(docType)
	c.Level, c.Channel, c.Status = identity.Level(level), identity.Channel(ch), identity.CitizenStatus(status)
	c.DocValidity, c.BirthDate = parseDateText(validity), parseDateText(birth)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func dateText(d identity.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func parseDateText(s string) identity.Date {
	if s == "" {
		return identity.Date{}
	}
	d, err := identity.ParseDate(s)
	if err != nil {
		return identity.Date{}
	}
	return d
}

// checkOne turns an update that touched no row into ErrStale.
func checkOne(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrStale
	}
	return nil
}
