package sqlstore

import (
	"context"

	"github.com/clau-eid/clau/internal/identity"
)

const officeCols = `id, code, name, address, postal_code, municipality, province, phone, email,
	opening_hours, active, version, created_at, updated_at, services, accessibility`

// CreateOffice implements store.Offices.
func (s *Store) CreateOffice(ctx context.Context, o *identity.Office) error {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now().UTC()
	}
	o.UpdatedAt, o.Version = o.CreatedAt, 1
	_, err := s.q().ExecContext(ctx, `INSERT INTO offices (`+officeCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
		o.ID, o.Code, o.Name, o.Address, o.PostalCode, o.Municipality, o.Province, o.Phone, o.Email,
		o.OpeningHours, o.Active, o.Version, micros(o.CreatedAt), micros(o.UpdatedAt), o.Services, o.Accessibility)
	return mapErr(err)
}

// UpdateOffice implements store.Offices.
func (s *Store) UpdateOffice(ctx context.Context, o *identity.Office) error {
	updated := s.now().UTC()
	res, err := s.q().ExecContext(ctx, `UPDATE offices SET code=$1, name=$2, address=$3, postal_code=$4,
		municipality=$5, province=$6, phone=$7, email=$8, opening_hours=$9, active=$10,
		version=version+1, updated_at=$11, services=$14, accessibility=$15 WHERE id=$12 AND version=$13`,
		o.Code, o.Name, o.Address, o.PostalCode, o.Municipality, o.Province, o.Phone, o.Email,
		o.OpeningHours, o.Active, micros(updated), o.ID, o.Version, o.Services, o.Accessibility)
	if err := checkOne(res, err); err != nil {
		return err
	}
	o.Version++
	o.UpdatedAt = updated
	return nil
}

// OfficeByID implements store.Offices.
func (s *Store) OfficeByID(ctx context.Context, id string) (*identity.Office, error) {
	o, err := scanOffice(s.q().QueryRowContext(ctx, `SELECT `+officeCols+` FROM offices WHERE id=$1`, id))
	return o, mapErr(err)
}

// OfficeByCode implements store.Offices.
func (s *Store) OfficeByCode(ctx context.Context, code string) (*identity.Office, error) {
	o, err := scanOffice(s.q().QueryRowContext(ctx, `SELECT `+officeCols+` FROM offices WHERE code=$1`, code))
	return o, mapErr(err)
}

// ListOffices implements store.Offices, ordered by code.
func (s *Store) ListOffices(ctx context.Context, activeOnly bool) ([]identity.Office, error) {
	q := `SELECT ` + officeCols + ` FROM offices ORDER BY code`
	if activeOnly {
		q = `SELECT ` + officeCols + ` FROM offices WHERE active = TRUE ORDER BY code`
	}
	rows, err := s.q().QueryContext(ctx, q)
	return collect(rows, err, scanOffice)
}

func scanOffice(r scanner) (*identity.Office, error) {
	var (
		o                identity.Office
		created, updated int64
	)
	if err := r.Scan(&o.ID, &o.Code, &o.Name, &o.Address, &o.PostalCode, &o.Municipality, &o.Province,
		&o.Phone, &o.Email, &o.OpeningHours, &o.Active, &o.Version, &created, &updated, &o.Services, &o.Accessibility); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &o, nil
}

const officerCols = `id, username, display_name, password_hash, totp_secret, totp_last_step, office_id,
	role, status, version, created_at, updated_at`

// CreateOfficer implements store.Officers.
func (s *Store) CreateOfficer(ctx context.Context, o *identity.Officer) error {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now().UTC()
	}
	o.UpdatedAt, o.Version = o.CreatedAt, 1
	_, err := s.q().ExecContext(ctx, `INSERT INTO officers (`+officerCols+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		o.ID, o.Username, o.DisplayName, o.PasswordHash, o.TOTPSecretSealed, o.TOTPLastStep, o.OfficeID,
		string(o.Role), string(o.Status), o.Version, micros(o.CreatedAt), micros(o.UpdatedAt))
	return mapErr(err)
}

// UpdateOfficer implements store.Officers.
func (s *Store) UpdateOfficer(ctx context.Context, o *identity.Officer) error {
	updated := s.now().UTC()
	res, err := s.q().ExecContext(ctx, `UPDATE officers SET username=$1, display_name=$2, password_hash=$3,
		totp_secret=$4, totp_last_step=$5, office_id=$6, role=$7, status=$8, version=version+1,
		updated_at=$9 WHERE id=$10 AND version=$11`,
		o.Username, o.DisplayName, o.PasswordHash, o.TOTPSecretSealed, o.TOTPLastStep, o.OfficeID,
		string(o.Role), string(o.Status), micros(updated), o.ID, o.Version)
	if err := checkOne(res, err); err != nil {
		return err
	}
	o.Version++
	o.UpdatedAt = updated
	return nil
}

// OfficerByID implements store.Officers.
func (s *Store) OfficerByID(ctx context.Context, id string) (*identity.Officer, error) {
	o, err := scanOfficer(s.q().QueryRowContext(ctx, `SELECT `+officerCols+` FROM officers WHERE id=$1`, id))
	return o, mapErr(err)
}

// OfficerByUsername implements store.Officers.
func (s *Store) OfficerByUsername(ctx context.Context, username string) (*identity.Officer, error) {
	o, err := scanOfficer(s.q().QueryRowContext(ctx, `SELECT `+officerCols+` FROM officers WHERE username=$1`, username))
	return o, mapErr(err)
}

// ListOfficers implements store.Officers, ordered by username.
func (s *Store) ListOfficers(ctx context.Context, officeID string) ([]identity.Officer, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+officerCols+` FROM officers
		WHERE ($1 = '' OR office_id = $1) ORDER BY username`, officeID)
	return collect(rows, err, scanOfficer)
}

func scanOfficer(r scanner) (*identity.Officer, error) {
	var (
		o                identity.Officer
		role, status     string
		created, updated int64
	)
	if err := r.Scan(&o.ID, &o.Username, &o.DisplayName, &o.PasswordHash, &o.TOTPSecretSealed, &o.TOTPLastStep,
		&o.OfficeID, &role, &status, &o.Version, &created, &updated); err != nil {
		return nil, err
	}
	o.Role, o.Status = identity.Role(role), identity.OfficerStatus(status)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &o, nil
}
