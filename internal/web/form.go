package web

import (
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/problem"
)

// Form is what a page needs to show a form again after an error: the
// values typed (never passwords or codes) and the translated messages,
// per field and for the whole form. Templates tie each message to its
// field with aria-describedby and announce the summary with role=alert.
type Form struct {
	Values  map[string]string
	Errors  map[string][]string // field name -> messages
	Summary string              // message for the whole form
}

// NewForm returns an empty form with values.
func NewForm(values map[string]string) *Form {
	if values == nil {
		values = map[string]string{}
	}
	return &Form{Values: values, Errors: map[string][]string{}}
}

// Fail fills the form's messages from err in lang. Errors that are not
// problems become the generic internal message; the caller logs them.
func (f *Form) Fail(cat *i18n.Catalog, lang string, err error) {
	p, ok := problem.As(err)
	if !ok {
		f.Summary = cat.T(lang, "internal.error", nil)
		return
	}
	for _, fe := range p.Fields {
		f.Errors[fe.Name] = append(f.Errors[fe.Name], cat.T(lang, fe.MsgID, fe.Args))
	}
	if len(p.Fields) == 0 {
		f.Summary = cat.T(lang, p.MsgID, p.Args)
	} else {
		f.Summary = cat.T(lang, "input.invalid", nil)
	}
}

// HasErrors reports whether the form failed.
func (f *Form) HasErrors() bool { return f.Summary != "" || len(f.Errors) > 0 }
