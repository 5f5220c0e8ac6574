package desk

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
)

// The desk API mirrors the desk pages for scripts; docs/desk-api.md is
// its reference. Every answer is JSON; errors are problem+json in the
// Accept-Language language.

var (
	errMalformed   = problem.New(http.StatusBadRequest, "desk.api.malformed")
	errContentType = problem.New(http.StatusUnsupportedMediaType, "desk.api.content_type")
	errVersion     = problem.Invalid(problem.Field{Name: "version", MsgID: "desk.api.version_required"})
)

// apiCitizen is a citizen's record in the API.
type apiCitizen struct {
	ID            string    `json:"id"`
	Document      string    `json:"document"`
	DocumentType  string    `json:"document_type"`
	DocValidity   string    `json:"doc_validity,omitempty"`
	DocPermanent  bool      `json:"doc_permanent"`
	SupportNumber string    `json:"support_number,omitempty"`
	GivenName     string    `json:"given_name"`
	FirstSurname  string    `json:"first_surname"`
	SecondSurname string    `json:"second_surname,omitempty"`
	BirthDate     string    `json:"birth_date"`
	Nationality   string    `json:"nationality"`
	Email         string    `json:"email"`
	Mobile        string    `json:"mobile"`
	Language      string    `json:"language"`
	Level         string    `json:"level"`
	Channel       string    `json:"channel"`
	Status        string    `json:"status"`
	Office        string    `json:"office,omitempty"` // code of the office that registered the citizen
	Version       int64     `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type apiCode struct {
	CitizenID string    `json:"citizen_id"`
	Code      string    `json:"code"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Office    string    `json:"office"`
}

func (d *Desk) apiCitizenOf(r *http.Request, c *identity.Citizen) apiCitizen {
	out := apiCitizen{ID: c.ID, Document: c.Document.Number, DocumentType: string(c.Document.Type),
		DocValidity: dateString(c.DocValidity), DocPermanent: c.DocPermanent, SupportNumber: c.SupportNumber,
		GivenName: c.GivenName, FirstSurname: c.FirstSurname, SecondSurname: c.SecondSurname,
		BirthDate: dateString(c.BirthDate), Nationality: c.Nationality, Email: c.Email, Mobile: c.Mobile,
		Language: c.Language, Level: string(c.Level), Channel: string(c.Channel), Status: string(c.Status),
		Version: c.Version, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.OfficeID != "" {
		if o, err := d.d.Store.OfficeByID(r.Context(), c.OfficeID); err == nil {
			out.Office = o.Code
		}
	}
	return out
}

func codeOf(is *registration.Issued) apiCode {
	return apiCode{CitizenID: is.Citizen.ID, Code: is.Code, IssuedAt: is.IssuedAt.UTC(), ExpiresAt: is.ExpiresAt.UTC(), Office: is.Office.Code}
}

// decode reads one JSON object into v, refusing unknown members and
// trailing data. An over-long body is the server's 413.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errContentType
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errMalformed.Wrap(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errMalformed
	}
	return nil
}

// decodeVersioned decodes the body of a change into v, as decode does, and
// refuses one without the version of the record it was made from; version
// points at that field of v.
func decodeVersioned(r *http.Request, v any, version *int64) error {
	if err := decode(r, v); err != nil {
		return err
	}
	if *version <= 0 {
		return errVersion
	}
	return nil
}

func (d *Desk) apiMe(w http.ResponseWriter, r *http.Request, s *signedIn) {
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"username": s.Officer.Username, "name": s.Officer.DisplayName,
		"role": s.Officer.Role, "office": s.Office.Code, "token_name": s.Session.Name, "token_expires_at": s.Session.ExpiresAt.UTC()})
}

func (d *Desk) apiRegister(w http.ResponseWriter, r *http.Request, s *signedIn) {
	var in citizenInput
	if err := decode(r, &in); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	c, check, err := d.validate(in)
	if err == nil && in.Appointment != "" {
		_, err = d.registrationAppointment(r.Context(), r, s, in.Appointment)
	}
	var issued *registration.Issued
	if err == nil {
		issued, err = d.register(r.Context(), s, r, c, check)
	}
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	if in.Appointment != "" {
		d.appointmentDone(r.Context(), r, s, in.Appointment, issued.Citizen.ID)
	}
	w.Header().Set("Location", "/api/desk/v1/citizens/"+issued.Citizen.ID)
	httpserver.WriteJSON(w, http.StatusCreated, map[string]any{"citizen": d.apiCitizenOf(r, issued.Citizen),
		"activation_code": codeOf(issued)})
}

// apiFind searches by document: the live record, if any, in a list.
func (d *Desk) apiFind(w http.ResponseWriter, r *http.Request, s *signedIn) {
	q := r.URL.Query().Get("document")
	if q == "" {
		d.d.Server.WriteError(w, r, problem.Invalid(problem.Field{Name: "document", MsgID: "document.empty"}))
		return
	}
	out := []apiCitizen{}
	c, err := d.d.Registration.Find(r.Context(), s.actor(r), q)
	switch {
	case err == nil:
		out = append(out, d.apiCitizenOf(r, c))
	case !errors.Is(err, registration.ErrNotFound):
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"citizens": out})
}

func (d *Desk) apiGet(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	c, err := d.d.Registration.Get(ctx, r.PathValue("id"))
	if err == nil {
		err = d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "citizen.view",
			Subject: "citizen:" + c.ID, Office: s.Office.Code, Source: s.actor(r).Source, Details: map[string]string{"via": "api"}})
	}
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, d.apiCitizenOf(r, c))
}

func (d *Desk) apiReissue(w http.ResponseWriter, r *http.Request, s *signedIn) {
	issued, err := d.d.Registration.Reissue(r.Context(), s.actor(r), r.PathValue("id"))
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, codeOf(issued))
}

func (d *Desk) apiContact(w http.ResponseWriter, r *http.Request, s *signedIn) {
	var in struct {
		Version int64  `json:"version"`
		Email   string `json:"email"`
		Mobile  string `json:"mobile"`
	}
	if err := decodeVersioned(r, &in, &in.Version); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	c, err := d.d.Registration.CorrectContact(r.Context(), s.actor(r), r.PathValue("id"), in.Version, in.Email, in.Mobile)
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, d.apiCitizenOf(r, c))
}

func (d *Desk) apiDeregister(w http.ResponseWriter, r *http.Request, s *signedIn) {
	var in struct {
		Version int64  `json:"version"`
		Reason  string `json:"reason"`
	}
	if err := decodeVersioned(r, &in, &in.Version); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	c, err := d.d.Registration.Deregister(r.Context(), s.actor(r), r.PathValue("id"), in.Version, in.Reason)
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, d.apiCitizenOf(r, c))
}
