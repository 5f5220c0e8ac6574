package desk

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/web"
)

// citizenInput is a registration as the form and the API send it.
type citizenInput struct {
	Document        string `json:"document"`
	DocValidity     string `json:"doc_validity"`
	DocPermanent    bool   `json:"doc_permanent"`
	SupportNumber   string `json:"support_number"`
	GivenName       string `json:"given_name"`
	FirstSurname    string `json:"first_surname"`
	SecondSurname   string `json:"second_surname"`
	BirthDate       string `json:"birth_date"`
	Nationality     string `json:"nationality"`
	Email           string `json:"email"`
	Mobile          string `json:"mobile"`
	Language        string `json:"language"`
	DocumentShown   string `json:"document_shown"`
	DocumentChecked bool   `json:"document_checked"`
	// Appointment, when set, is the appointment the citizen came with: it
	// is marked done once the registration succeeds.
	Appointment string `json:"appointment,omitempty"`
}

// documentsShown are the identity documents an officer may record as
// checked in person.
var documentsShown = []string{"dni", "tie", "eu_certificate", "passport"}

// registerFields is the registration form, in order: the summary lists
// errors in this order and focus moves through it top to bottom.
func registerFields() []field {
	shown := []option{{Value: "", Label: "desk.field.choose"}}
	for _, s := range documentsShown {
		shown = append(shown, option{Value: s, Label: "desk.shown." + s})
	}
	return []field{
		{Name: "document", Label: "desk.field.document", Hint: "desk.hint.document", Type: "text", Required: true, Autocomplete: "off", Size: "short"},
		{Name: "doc_validity", Label: "desk.field.doc_validity", Hint: "desk.hint.doc_validity", Type: "date"},
		{Name: "doc_permanent", Label: "desk.field.doc_permanent", Type: "checkbox", Value: "1"},
		{Name: "support_number", Label: "desk.field.support_number", Hint: "desk.hint.support_number", Type: "text", Autocomplete: "off", Size: "short"},
		{Name: "given_name", Label: "desk.field.given_name", Type: "text", Required: true, Autocomplete: "off"},
		{Name: "first_surname", Label: "desk.field.first_surname", Type: "text", Required: true, Autocomplete: "off"},
		{Name: "second_surname", Label: "desk.field.second_surname", Type: "text", Autocomplete: "off"},
		{Name: "birth_date", Label: "desk.field.birth_date", Hint: "desk.hint.date", Type: "date", Required: true},
		{Name: "nationality", Label: "desk.field.nationality", Hint: "desk.hint.nationality", Type: "text", Autocomplete: "off", Size: "short"},
		{Name: "email", Label: "desk.field.email", Type: "email", Required: true, Autocomplete: "off"},
		{Name: "mobile", Label: "desk.field.mobile", Hint: "desk.hint.mobile", Type: "tel", Required: true, Autocomplete: "off"},
		{Name: "language", Label: "desk.field.language", Hint: "desk.hint.language", Type: "select", Required: true,
			Options: []option{{Value: "ca", Label: "desk.lang.ca"}, {Value: "es", Label: "desk.lang.es"}, {Value: "en", Label: "desk.lang.en"}}},
		{Name: "document_shown", Label: "desk.field.document_shown", Type: "select", Required: true, Options: shown},
		{Name: "document_checked", Label: "desk.field.document_checked", Type: "checkbox", Value: "1", Required: true},
		{Name: "appointment", Type: "hidden"},
	}
}

func fieldOrder(fields []field) map[string]int {
	m := make(map[string]int, len(fields))
	for i, f := range fields {
		m[f.Name] = i
	}
	return m
}

// inputFromForm reads the registration form.
func inputFromForm(v url.Values) citizenInput {
	return citizenInput{
		Document: v.Get("document"), DocValidity: v.Get("doc_validity"), DocPermanent: v.Get("doc_permanent") != "",
		SupportNumber: v.Get("support_number"), GivenName: v.Get("given_name"), FirstSurname: v.Get("first_surname"),
		SecondSurname: v.Get("second_surname"), BirthDate: v.Get("birth_date"), Nationality: v.Get("nationality"),
		Email: v.Get("email"), Mobile: v.Get("mobile"), Language: v.Get("language"),
		DocumentShown: v.Get("document_shown"), DocumentChecked: v.Get("document_checked") != "",
		Appointment: v.Get("appointment"),
	}
}

// values is the input as the form shows it again.
func (in citizenInput) values() map[string]string {
	b := func(v bool) string {
		if v {
			return "1"
		}
		return ""
	}
	return map[string]string{"document": in.Document, "doc_validity": in.DocValidity, "doc_permanent": b(in.DocPermanent),
		"support_number": in.SupportNumber, "given_name": in.GivenName, "first_surname": in.FirstSurname,
		"second_surname": in.SecondSurname, "birth_date": in.BirthDate, "nationality": in.Nationality,
		"email": in.Email, "mobile": in.Mobile, "language": in.Language, "document_shown": in.DocumentShown,
		"document_checked": b(in.DocumentChecked), "appointment": in.Appointment}
}

// validate turns the input into a citizen and the in-person check, or one
// problem naming every field at fault, in form order, so the officer fixes
// everything at once (registration.Service would stop at the first kind
// of problem).
func (d *Desk) validate(in citizenInput) (*identity.Citizen, registration.DocumentCheck, error) {
	var fields []problem.Field
	c := &identity.Citizen{Document: identity.Document{Number: in.Document}, DocPermanent: in.DocPermanent,
		SupportNumber: in.SupportNumber, GivenName: in.GivenName, FirstSurname: in.FirstSurname,
		SecondSurname: in.SecondSurname, Nationality: in.Nationality, Email: in.Email, Mobile: in.Mobile,
		Language: in.Language}
	badDate := map[string]bool{}
	if s := strings.TrimSpace(in.DocValidity); s != "" {
		var err error
		if c.DocValidity, err = identity.ParseDate(s); err != nil {
			fields = append(fields, problem.Field{Name: "doc_validity", MsgID: "doc_validity.invalid"})
			badDate["doc_validity"] = true
		}
	}
	if s := strings.TrimSpace(in.BirthDate); s != "" {
		var err error
		if c.BirthDate, err = identity.ParseDate(s); err != nil {
			fields = append(fields, problem.Field{Name: "birth_date", MsgID: "birth_date.invalid"})
			badDate["birth_date"] = true
		}
	}
	// Check a copy as Register will, so its errors show with ours.
	probe := *c
	probe.Level, probe.Channel, probe.Status, probe.OfficeID = identity.LevelAdvanced, identity.ChannelOffice, identity.StatusPending, "-"
	if p, ok := problem.As(probe.Normalise(d.now().In(d.loc))); ok {
		for _, f := range p.Fields {
			if !badDate[f.Name] {
				fields = append(fields, f)
			}
		}
	}
	check := registration.DocumentCheck{Shown: strings.TrimSpace(in.DocumentShown), Checked: in.DocumentChecked}
	if !slices.Contains(documentsShown, check.Shown) {
		fields = append(fields, problem.Field{Name: "document_shown", MsgID: "desk.document_shown_required"})
	}
	if !check.Checked {
		fields = append(fields, problem.Field{Name: "document_checked", MsgID: "desk.document_not_checked"})
	}
	if len(fields) > 0 {
		order := fieldOrder(registerFields())
		slices.SortStableFunc(fields, func(a, b problem.Field) int { return order[a.Name] - order[b.Name] })
		return nil, check, problem.Invalid(fields...)
	}
	return c, check, nil
}

func (d *Desk) renderRegister(w http.ResponseWriter, r *http.Request, s *signedIn, status int, form *web.Form, existing string) {
	lang := d.lang(r)
	d.render(w, r, status, "desk_register.html", "desk.register.title", &view{Lang: lang, Me: d.me(lang, s),
		Form: d.buildForm(lang, form, registerFields()), Existing: existing})
}

func (d *Desk) registerForm(w http.ResponseWriter, r *http.Request, s *signedIn) {
	// A search that found nobody offers to register that document.
	form := web.NewForm(map[string]string{"document": r.URL.Query().Get("document"), "language": d.lang(r)})
	// The day view offers to register a citizen from their appointment.
	if id := r.URL.Query().Get("appointment"); id != "" {
		a, err := d.registrationAppointment(r.Context(), r, s, id)
		if err != nil {
			d.fail(w, r, "/desk/appointments", err)
			return
		}
		form = web.NewForm(fromAppointment(a))
	}
	d.renderRegister(w, r, s, http.StatusOK, form, "")
}

func (d *Desk) registerSubmit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	in := inputFromForm(r.PostForm)
	form := web.NewForm(in.values())
	c, check, err := d.validate(in)
	if err == nil && in.Appointment != "" {
		_, err = d.registrationAppointment(ctx, r, s, in.Appointment)
	}
	var issued *registration.Issued
	if err == nil {
		issued, err = d.register(ctx, s, r, c, check)
	}
	if err != nil {
		if _, ok := problem.As(err); !ok {
			d.fail(w, r, "/desk/register", err)
			return
		}
		d.failForm(lang, form, err, registerFields())
		// A second submit of the same form, or a citizen registered
		// before: point at the record rather than leave the officer
		// guessing.
		existing := ""
		if p, _ := problem.As(err); hasField(p, "document", "duplicate.document") {
			if doc, err := identity.ParseDocument(in.Document); err == nil {
				if ex, err := d.d.Store.CitizenByDocument(ctx, doc.Number); err == nil {
					existing = ex.ID
				}
			}
		}
		d.renderRegister(w, r, s, problem.Status(err), form, existing)
		return
	}
	if in.Appointment != "" {
		d.appointmentDone(ctx, r, s, in.Appointment, issued.Citizen.ID)
	}
	id, err := d.keepOnce(ctx, s, onceData{Kind: onceReceipt, Receipt: d.receiptOf(r, issued, false)})
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	seeOther(w, r, "/desk/once/"+id)
}

// register registers c. The store refuses a duplicate document or mobile
// by its unique constraints and names the first it hit; the desk then
// names every field already in use, so a double submit of the form reads
// "already registered" rather than only "mobile in use".
func (d *Desk) register(ctx context.Context, s *signedIn, r *http.Request, c *identity.Citizen,
	check registration.DocumentCheck) (*registration.Issued, error) {
	number, mobile := c.Document.Number, c.Mobile
	issued, err := d.d.Registration.Register(ctx, s.actor(r), c, check)
	p, ok := problem.As(err)
	if !ok || !(hasField(p, "document", "duplicate.document") || hasField(p, "mobile", "duplicate.mobile")) {
		return issued, err
	}
	var fields []problem.Field
	if doc, derr := identity.ParseDocument(number); derr == nil {
		if _, err := d.d.Store.CitizenByDocument(ctx, doc.Number); err == nil {
			fields = append(fields, problem.Field{Name: "document", MsgID: "duplicate.document"})
		}
	}
	if m, merr := identity.NormaliseMobile(mobile); merr == nil {
		if ex, err := d.d.Store.CitizenByMobile(ctx, m); err == nil && ex.Document.Number != c.Document.Number {
			fields = append(fields, problem.Field{Name: "mobile", MsgID: "duplicate.mobile"})
		}
	}
	if len(fields) == 0 {
		return nil, err
	}
	return nil, problem.Invalid(fields...)
}

func hasField(p *problem.Error, name, msgID string) bool {
	if p == nil {
		return false
	}
	for _, f := range p.Fields {
		if f.Name == name && f.MsgID == msgID {
			return true
		}
	}
	return false
}

// errNotFound is a missing page or record.
var errNotFound = problem.New(http.StatusNotFound, "not.found")
