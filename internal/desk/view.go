package desk

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/web"
)

// view is what every desk page template gets as .Data. Pages fill the
// parts they show.
type view struct {
	Lang   string
	Me     *meView // nil on the sign-in pages
	Notice string  // a translated confirmation ("Contact data saved.")
	Error  string  // a translated refusal for the whole page, announced
	Form   formView

	Search   string // the document searched for (home page)
	Existing string // ID of the record a duplicate document points to
	Citizen  *citizenView
	Receipt  *receiptView
	Secret   *secretView
	Officers []officerView
	Offices  []officeView
	Day      *dayView // the appointments day view
	Schedule *scheduleView
	Letters  *lettersView
	Back     string // where the "back" link of an error page goes
}

type meView struct {
	Who     string // "Marta Garcia, OAC Barcelona (BCN-01), supervisor", translated
	Manages bool
	Admin   bool // manages offices
	Prints  bool // prints registration letters
}

func (d *Desk) me(lang string, s *signedIn) *meView {
	return &meView{Manages: s.manages(), Admin: s.admin(), Prints: d.mayPrint(s), Who: d.t(lang, "desk.nav.who", map[string]any{"Name": s.Officer.DisplayName,
		"Office": s.Office.Name, "Code": s.Office.Code, "Role": d.t(lang, "desk.role."+string(s.Officer.Role), nil)})}
}

// field describes one form control: the template draws its label, hint,
// errors (tied with aria-describedby) and control from it.
type field struct {
	Lang         string
	Name         string
	Label        string // message ID
	Hint         string // message ID, optional
	Type         string // text, password, date, email, tel, checkbox, select, textarea, hidden
	Value        string
	Checked      bool
	Required     bool
	Autocomplete string
	InputMode    string
	Size         string // "short" for narrow inputs
	Options      []option
	Errors       []string // translated
}

type option struct {
	Value, Label string // Label is a message ID
	Text         string // shown as it is instead of Label (office names)
	Selected     bool
}

// ID is the control's id; labels and summary links point at it.
func (f field) ID() string { return "f-" + f.Name }

// DescribedBy lists the hint and the error, so screen readers read both
// when the control gets focus.
func (f field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID()+"-hint")
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ID()+"-error")
	}
	return strings.Join(ids, " ")
}

// formView is a form's fields and, after a failed submit, the summary.
type formView struct {
	Summary string
	Items   []summaryItem
	F       map[string]field
}

type summaryItem struct{ ID, Label, Message string }

// HasErrors reports whether the summary must be shown.
func (f formView) HasErrors() bool { return f.Summary != "" || len(f.Items) > 0 }

// buildForm lays out fields with the values typed and the errors of form,
// and the summary listing every error in form order with a link to its
// field. Options and checkboxes are marked from the values.
func (d *Desk) buildForm(lang string, form *web.Form, fields []field) formView {
	if form == nil {
		form = web.NewForm(nil)
	}
	fv := formView{Summary: form.Summary, F: make(map[string]field, len(fields))}
	for _, f := range fields {
		f.Lang = lang
		v, typed := form.Values[f.Name]
		if typed {
			f.Value = v
		}
		if f.Type == "checkbox" {
			f.Checked = typed && v != ""
		}
		for i := range f.Options {
			f.Options[i].Selected = f.Options[i].Value == f.Value
		}
		f.Errors = form.Errors[f.Name]
		for _, e := range f.Errors {
			fv.Items = append(fv.Items, summaryItem{ID: f.ID(), Label: d.t(lang, f.Label, nil), Message: e})
		}
		fv.F[f.Name] = f
	}
	return fv
}

// failForm fills form from err; errors on fields the page does not show
// go into the summary, so nothing is lost.
func (d *Desk) failForm(lang string, form *web.Form, err error, shown []field) {
	form.Fail(d.cat, lang, err)
	known := map[string]bool{}
	for _, f := range shown {
		known[f.Name] = true
	}
	for name, msgs := range form.Errors {
		if !known[name] {
			form.Summary = strings.TrimSpace(form.Summary + " " + strings.Join(msgs, " "))
			delete(form.Errors, name)
		}
	}
}

// at is r as if it had asked for path: a page drawn by a POST to an
// action URL gets language links to a page that exists for GET.
func at(r *http.Request, path string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL = &url.URL{Path: path, RawQuery: r.URL.RawQuery}
	return r2
}

// render draws a desk page in the reader's language.
func (d *Desk) render(w http.ResponseWriter, r *http.Request, status int, page, title string, v *view) {
	d.d.Renderer.Render(w, r, status, page, title, v)
}

// setMessages puts on v what a page says above its content: notice, a
// message ID for a confirmation, and pageErr, a refusal of the whole page
// by its problem's message; either may be missing.
func (d *Desk) setMessages(v *view, lang, notice string, pageErr error) {
	if notice != "" {
		v.Notice = d.t(lang, notice, nil)
	}
	if pageErr != nil {
		v.Error = d.t(lang, problemOf(pageErr).MsgID, nil)
	}
}

// lang is the reader's language.
func (d *Desk) lang(r *http.Request) string { return d.d.Server.Lang(r) }

// fail shows a refusal or an internal error as a desk page. Internal
// errors are logged with the request ID and shown only as "something went
// wrong".
func (d *Desk) fail(w http.ResponseWriter, r *http.Request, back string, err error) {
	lang := d.lang(r)
	p, ok := problem.As(err)
	if !ok {
		d.d.Log.Error("desk: internal error", "request_id", httpserver.RequestID(r.Context()), "route", r.Pattern,
			"error", err.Error())
		p = problem.New(http.StatusInternalServerError, "internal.error")
	}
	msg := d.t(lang, p.MsgID, nil)
	for _, f := range p.Fields {
		msg += " " + d.t(lang, f.MsgID, f.Args)
	}
	status := p.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if back == "" {
		back = "/desk"
	}
	d.render(w, at(r, back), status, "desk_error.html", "desk.error.title", &view{Lang: lang, Error: msg, Back: back})
}

// date formats a time as the desk shows dates: DD/MM/YYYY in the desk's
// time zone.
func (d *Desk) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.loc).Format("02/01/2006")
}

func (d *Desk) dateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.loc).Format("02/01/2006 15:04")
}
