package desk

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

var searchFields = []field{
	{Name: "document", Label: "desk.field.document", Hint: "desk.hint.document", Type: "text", Required: true, Autocomplete: "off", Size: "short"},
}

func (d *Desk) home(w http.ResponseWriter, r *http.Request, s *signedIn) {
	lang := d.lang(r)
	d.render(w, r, http.StatusOK, "desk_home.html", "desk.home.title",
		&view{Lang: lang, Me: d.me(lang, s), Form: d.buildForm(lang, nil, searchFields)})
}

// search finds the live record of a document and opens it; the record
// page records the view in the audit trail.
func (d *Desk) search(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	q := r.URL.Query().Get("document")
	form := web.NewForm(map[string]string{"document": q})
	doc, err := identity.ParseDocument(q)
	if err == nil {
		var c *identity.Citizen
		c, err = d.d.Store.CitizenByDocument(ctx, doc.Number)
		if err == nil {
			seeOther(w, r, "/desk/citizens/"+c.ID)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			err = problem.Invalid(problem.Field{Name: "document", MsgID: "desk.citizen_not_found"})
		}
	}
	if _, ok := problem.As(err); !ok {
		d.fail(w, r, "/desk", err)
		return
	}
	d.failForm(lang, form, err, searchFields)
	status := http.StatusUnprocessableEntity
	v := &view{Lang: lang, Me: d.me(lang, s), Form: d.buildForm(lang, form, searchFields)}
	if hasField(problemOf(err), "document", "desk.citizen_not_found") {
		status, v.Search = http.StatusNotFound, doc.Number
	}
	d.render(w, at(r, "/desk"), status, "desk_home.html", "desk.home.title", v)
}

func problemOf(err error) *problem.Error {
	p, _ := problem.As(err)
	return p
}

// citizenView is a citizen's record as the desk shows it.
type citizenView struct {
	ID, Name, Document, DocumentType, Validity, SupportNumber string
	Permanent                                                 bool
	BirthDate, Nationality, Email, Mobile, Language           string
	Level, Status, Channel                                    string // message IDs
	Office, OfficeCode                                        string
	Registered, Updated                                       string
	Version                                                   int64
	Deregistered                                              bool
	MayChange                                                 bool
	CodeState                                                 string // translated
	Ticket                                                    string // one-use ticket of the reissue form
	Contact                                                   formView
	Deregister                                                formView
	PINState                                                  string    // translated; "" without a PIN service
	Upgrade                                                   *formView // level basic: raise to advanced after the in-person check
}

var contactFields = []field{
	{Name: "email", Label: "desk.field.email", Type: "email", Required: true, Autocomplete: "off"},
	{Name: "mobile", Label: "desk.field.mobile", Hint: "desk.hint.mobile", Type: "tel", Required: true, Autocomplete: "off"},
}

var deregisterFields = []field{
	{Name: "reason", Label: "desk.field.reason", Hint: "desk.hint.reason", Type: "textarea", Required: true},
}

// citizenOpts are the parts of a record page that depend on what was
// just tried.
type citizenOpts struct {
	status     int
	notice     string // message ID
	err        error  // a refusal for the whole page
	contact    *web.Form
	deregister *web.Form
	upgrade    *web.Form
}

func (d *Desk) citizenPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	id := r.PathValue("id")
	opts := citizenOpts{status: http.StatusOK}
	switch r.URL.Query().Get("done") {
	case "contact":
		opts.notice = "desk.citizen.contact_saved"
	case "deregistered":
		opts.notice = "desk.citizen.deregistered_done"
	case "pin":
		opts.notice = "desk.pin.done"
	case "upgraded":
		opts.notice = "desk.citizen.upgraded_done"
	}
	c, err := d.d.Registration.Get(ctx, id)
	if err == nil {
		err = d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "citizen.view",
			Subject: "citizen:" + c.ID, Office: s.Office.Code, Source: s.actor(r).Source})
	}
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	d.renderCitizen(w, r, s, c, opts)
}

// renderCitizen draws the record with its action forms.
func (d *Desk) renderCitizen(w http.ResponseWriter, r *http.Request, s *signedIn, c *identity.Citizen, o citizenOpts) {
	ctx, lang := r.Context(), d.lang(r)
	name := c.GivenName + " " + c.FirstSurname
	if c.SecondSurname != "" {
		name += " " + c.SecondSurname
	}
	cv := &citizenView{ID: c.ID, Name: name, Document: c.Document.Number, DocumentType: string(c.Document.Type),
		Validity: civilDate(c.DocValidity), Permanent: c.DocPermanent, SupportNumber: c.SupportNumber,
		BirthDate: civilDate(c.BirthDate), Nationality: c.Nationality, Email: c.Email, Mobile: c.Mobile,
		Language: "desk.lang." + c.Language, Level: "desk.level." + string(c.Level), Status: "desk.status." + string(c.Status),
		Channel: "desk.channel." + string(c.Channel), Registered: d.dateTime(c.CreatedAt), Updated: d.dateTime(c.UpdatedAt),
		Version: c.Version, Deregistered: c.Status == identity.StatusDeregistered,
		MayChange: s.admin() || c.OfficeID == s.Office.ID}
	if c.OfficeID != "" {
		if off, err := d.d.Store.OfficeByID(ctx, c.OfficeID); err == nil {
			cv.Office, cv.OfficeCode = off.Name, off.Code
		}
	}
	spec := d.d.Registration.ActivationSpec()
	cv.CodeState = d.t(lang, "desk.citizen.code_none", nil)
	if code, err := d.d.Store.LiveCode(ctx, spec.Purpose, c.ID); err == nil {
		if !d.now().Before(code.ExpiresAt) || code.Attempts >= code.MaxAttempts {
			cv.CodeState = d.t(lang, "desk.citizen.code_dead", nil)
		} else {
			cv.CodeState = d.t(lang, "desk.citizen.code_live", map[string]any{"Issued": d.dateTime(code.CreatedAt),
				"Expires": d.date(code.ExpiresAt)})
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		d.fail(w, r, "/desk", err)
		return
	}
	if cv.MayChange && !cv.Deregistered {
		t, err := d.newTicket(ctx, s, "reissue", c.ID)
		if err != nil {
			d.fail(w, r, "/desk", err)
			return
		}
		cv.Ticket = t
	}
	contact := o.contact
	if contact == nil {
		contact = web.NewForm(map[string]string{"email": c.Email, "mobile": c.Mobile})
	}
	cv.Contact = d.buildForm(lang, contact, contactFields)
	dereg := o.deregister
	if dereg == nil {
		dereg = web.NewForm(nil)
	}
	cv.Deregister = d.buildForm(lang, dereg, deregisterFields)
	cv.PINState = d.pinState(r, c)
	if c.Level == identity.LevelBasic && !cv.Deregistered {
		up := d.buildForm(lang, o.upgrade, upgradeFields())
		cv.Upgrade = &up
	}
	v := &view{Lang: lang, Me: d.me(lang, s), Citizen: cv}
	d.setMessages(v, lang, o.notice, o.err)
	// The failing form's summary goes at the top, announced.
	switch {
	case cv.Contact.HasErrors():
		v.Form = cv.Contact
	case cv.Deregister.HasErrors():
		v.Form = cv.Deregister
	case cv.Upgrade != nil && cv.Upgrade.HasErrors():
		v.Form = *cv.Upgrade
	}
	status := o.status
	if status == 0 {
		status = http.StatusOK
	}
	d.render(w, at(r, "/desk/citizens/"+c.ID), status, "desk_citizen.html", "desk.citizen.title", v)
}

// civilDate shows a date as people in Spain write it: DD/MM/YYYY.
func civilDate(dt identity.Date) string {
	if dt.IsZero() {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", dt.Day, int(dt.Month), dt.Year)
}

// dateString is a date as the API writes it: YYYY-MM-DD.
func dateString(dt identity.Date) string {
	if dt.IsZero() {
		return ""
	}
	return dt.String()
}

// afterAction shows the record again after a refused action. Refusals
// that are not problems are internal errors.
func (d *Desk) afterAction(w http.ResponseWriter, r *http.Request, s *signedIn, err error, o citizenOpts) {
	if _, ok := problem.As(err); !ok {
		d.fail(w, r, "/desk/citizens/"+r.PathValue("id"), err)
		return
	}
	c, gerr := d.d.Registration.Get(r.Context(), r.PathValue("id"))
	if gerr != nil {
		d.fail(w, r, "/desk", gerr)
		return
	}
	o.status = problem.Status(err)
	d.renderCitizen(w, r, s, c, o)
}

func (d *Desk) reissueSubmit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	id := r.PathValue("id")
	// The ticket guards against a double submit; another office's
	// officer has none and is refused (and audited) by the service.
	c, err := d.d.Registration.Get(ctx, id)
	if err == nil && (s.admin() || c.OfficeID == s.Office.ID) {
		err = d.spendTicket(ctx, s, r.PostFormValue("ticket"), "reissue", id)
	}
	var issued *registration.Issued
	if err == nil {
		issued, err = d.d.Registration.Reissue(ctx, s.actor(r), id)
	}
	if err != nil {
		d.afterAction(w, r, s, err, citizenOpts{err: err})
		return
	}
	oid, err := d.keepOnce(ctx, s, onceData{Kind: onceReceipt, Receipt: d.receiptOf(r, issued, true)})
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	seeOther(w, r, "/desk/once/"+oid)
}

func (d *Desk) contactSubmit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	id := r.PathValue("id")
	form := web.NewForm(map[string]string{"email": r.PostFormValue("email"), "mobile": r.PostFormValue("mobile")})
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version <= 0 {
		err = registration.ErrStale
	} else {
		_, err = d.d.Registration.CorrectContact(ctx, s.actor(r), id, version, r.PostFormValue("email"), r.PostFormValue("mobile"))
	}
	if err != nil {
		o := citizenOpts{contact: form}
		if p, ok := problem.As(err); ok && len(p.Fields) > 0 {
			d.failForm(lang, form, err, contactFields)
		} else {
			o.err = err
		}
		d.afterAction(w, r, s, err, o)
		return
	}
	seeOther(w, r, "/desk/citizens/"+id+"?done=contact")
}

func (d *Desk) deregisterSubmit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	id := r.PathValue("id")
	form := web.NewForm(map[string]string{"reason": r.PostFormValue("reason")})
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version <= 0 {
		err = registration.ErrStale
	} else {
		_, err = d.d.Registration.Deregister(ctx, s.actor(r), id, version, r.PostFormValue("reason"))
	}
	if err != nil {
		o := citizenOpts{deregister: form}
		if p, ok := problem.As(err); ok && len(p.Fields) > 0 {
			d.failForm(lang, form, err, deregisterFields)
		} else {
			o.err = err
		}
		d.afterAction(w, r, s, err, o)
		return
	}
	seeOther(w, r, "/desk/citizens/"+id+"?done=deregistered")
}
