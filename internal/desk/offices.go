package desk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Offices: admins add registration offices and deactivate or reactivate
// them. An inactive office's staff cannot sign in (sign-in and every
// session check refuse them), and deactivating also revokes their
// sessions and API tokens, so reactivating does not bring those back.
// Offices are never deleted: citizens and the audit trail point at them.

var (
	errNotAdmin  = problem.New(http.StatusForbidden, "desk.offices.forbidden")
	errOwnOffice = problem.New(http.StatusConflict, "desk.offices.own_refused")
)

// The form's statuses; the store keeps a boolean.
const (
	officeActive   = "active"
	officeInactive = "inactive"
)

type officeView struct {
	ID, Code, Name, Municipality, Province string
	Active, Own                            bool
	Version                                int64
	// Button labels naming the office, for screen readers.
	DeactivateLabel, ActivateLabel string
}

var officeFields = []field{
	{Name: "code", Label: "desk.field.office_code", Hint: "desk.hint.office_code", Type: "text", Required: true, Autocomplete: "off", Size: "short"},
	{Name: "name", Label: "desk.field.office_name", Type: "text", Required: true, Autocomplete: "off"},
	{Name: "address", Label: "desk.field.address", Type: "text", Required: true, Autocomplete: "off"},
	{Name: "postal_code", Label: "desk.field.postal_code", Hint: "desk.hint.postal_code", Type: "text", Required: true, Autocomplete: "off", InputMode: "numeric", Size: "short"},
	{Name: "municipality", Label: "desk.field.municipality", Type: "text", Required: true, Autocomplete: "off"},
	{Name: "province", Label: "desk.field.province", Type: "text", Required: true, Autocomplete: "off"},
	{Name: "phone", Label: "desk.field.phone", Hint: "desk.hint.phone", Type: "tel", Autocomplete: "off", Size: "short"},
	{Name: "email", Label: "desk.field.email", Type: "email", Autocomplete: "off"},
	{Name: "opening_hours", Label: "desk.field.opening_hours", Hint: "desk.hint.opening_hours", Type: "text", Autocomplete: "off"},
	{Name: "services", Label: "desk.field.services", Hint: "desk.hint.public_text", Type: "textarea"},
	{Name: "accessibility", Label: "desk.field.accessibility", Hint: "desk.hint.public_text", Type: "textarea"},
}

func (d *Desk) renderOffices(w http.ResponseWriter, r *http.Request, s *signedIn, status int, form *web.Form, notice string, pageErr error) {
	ctx, lang := r.Context(), d.lang(r)
	list, err := d.d.Store.ListOffices(ctx, false)
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	v := &view{Lang: lang, Me: d.me(lang, s)}
	for _, o := range list {
		args := map[string]any{"Code": o.Code, "Name": o.Name}
		v.Offices = append(v.Offices, officeView{ID: o.ID, Code: o.Code, Name: o.Name, Municipality: o.Municipality,
			Province: o.Province, Active: o.Active, Own: o.ID == s.Office.ID, Version: o.Version,
			DeactivateLabel: d.t(lang, "desk.offices.deactivate_label", args),
			ActivateLabel:   d.t(lang, "desk.offices.activate_label", args)})
	}
	v.Form = d.buildForm(lang, form, officeFields)
	d.setMessages(v, lang, notice, pageErr)
	d.render(w, at(r, "/desk/offices"), status, "desk_offices.html", "desk.offices.title", v)
}

// refuseNonAdmin answers 403 to anyone but an admin, and records the
// attempt in the audit trail. It reports whether it answered.
func (d *Desk) refuseNonAdmin(w http.ResponseWriter, r *http.Request, s *signedIn, action, subject string) bool {
	if s.admin() {
		return false
	}
	err := d.trail.Record(r.Context(), audit.Event{Actor: "officer:" + s.Officer.Username, Action: action, Subject: subject,
		Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied, Details: map[string]string{"reason": "not an admin"}})
	if err == nil {
		err = errNotAdmin
	}
	d.fail(w, r, "/desk", err)
	return true
}

func (d *Desk) officesPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.refuseNonAdmin(w, r, s, "office.list", "") {
		return
	}
	notice := ""
	switch r.URL.Query().Get("done") {
	case "created":
		notice = "desk.offices.created_done"
	case officeInactive:
		notice = "desk.offices.deactivated_done"
	case officeActive:
		notice = "desk.offices.activated_done"
	}
	d.renderOffices(w, r, s, http.StatusOK, nil, notice, nil)
}

func (d *Desk) officeAdd(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	if d.refuseNonAdmin(w, r, s, "office.create", "") {
		return
	}
	values := map[string]string{}
	for _, f := range officeFields {
		values[f.Name] = r.PostFormValue(f.Name)
	}
	form := web.NewForm(values)
	o := &identity.Office{ID: store.NewID(), Code: values["code"], Name: values["name"], Address: values["address"],
		PostalCode: values["postal_code"], Municipality: values["municipality"], Province: values["province"],
		Phone: values["phone"], Email: values["email"], OpeningHours: values["opening_hours"],
		Services: values["services"], Accessibility: values["accessibility"], Active: true}
	err := o.Normalise()
	if err == nil {
		err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
			c := *o
			if err := tx.CreateOffice(ctx, &c); err != nil {
				return store.DuplicateProblem(err)
			}
			return audit.Append(ctx, tx, &audit.Event{At: d.now(), Actor: "officer:" + s.Officer.Username, Action: "office.create",
				Subject: "office:" + o.Code, Office: o.Code, Source: s.actor(r).Source,
				Details: map[string]string{"name": o.Name, "municipality": o.Municipality}})
		})
	}
	if err != nil {
		if _, ok := problem.As(err); !ok {
			d.fail(w, r, "/desk/offices", err)
			return
		}
		d.failForm(lang, form, err, officeFields)
		d.renderOffices(w, r, s, problem.Status(err), form, "", nil)
		return
	}
	seeOther(w, r, "/desk/offices?done=created")
}

func (d *Desk) officeStatus(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	status := r.PostFormValue("status")
	action := "office.activate"
	if status == officeInactive {
		action = "office.deactivate"
	}
	if d.refuseNonAdmin(w, r, s, action, "office:"+r.PathValue("id")) {
		return
	}
	o, err := d.d.Store.OfficeByID(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = errNotFound
	case err != nil:
	case status != officeActive && status != officeInactive:
		err = problem.Invalid(problem.Field{Name: "status", MsgID: "desk.offices.status_invalid"})
	case !sameVersion(r.PostFormValue("version"), o.Version):
		err = problem.New(http.StatusConflict, "store.stale")
	case status == officeInactive && o.ID == s.Office.ID:
		err = errOwnOffice // the admin would lock themselves out
	}
	if err == nil {
		now := d.now()
		err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
			c := *o
			c.Active = status == officeActive
			if err := tx.UpdateOffice(ctx, &c); err != nil {
				return err
			}
			if !c.Active {
				if err := revokeOfficeSessions(ctx, tx, o.ID, now); err != nil {
					return err
				}
			}
			return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "officer:" + s.Officer.Username, Action: action,
				Subject: "office:" + o.Code, Office: o.Code, Source: s.actor(r).Source})
		})
		if errors.Is(err, store.ErrStale) {
			err = problem.New(http.StatusConflict, "store.stale")
		}
	}
	if err != nil {
		if _, ok := problem.As(err); !ok {
			d.fail(w, r, "/desk/offices", err)
			return
		}
		d.renderOffices(w, r, s, problem.Status(err), nil, "", err)
		return
	}
	seeOther(w, r, "/desk/offices?done="+status)
}

// sameVersion reports whether a form's version field is v.
func sameVersion(field string, v int64) bool {
	n, err := strconv.ParseInt(field, 10, 64)
	return err == nil && n == v
}
