// Package problem carries errors that are safe to show to people: a stable
// message ID (translated by the i18n catalogues), an HTTP status, the fields
// at fault, and, kept apart, the internal cause that is only ever logged.
//
// It owns no translations and no HTTP writing; callers render a Problem in
// the reader's language. It must not import any other Clau package.
package problem

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Field is one input at fault, named by its external key (a form field, a
// JSON member or a config key) with the message ID that explains it.
type Field struct {
	Name  string         // e.g. "document", "storage.dsn"
	MsgID string         // e.g. "document.letter_mismatch"
	Args  map[string]any // template data for the message, if any
}

// Error is a user-facing error. Its Error() text is for logs and is in
// English; people see the translated MsgID instead.
type Error struct {
	Status int            // HTTP status that fits
	MsgID  string         // stable message ID for the whole problem
	Args   map[string]any // template data for MsgID, if any
	Fields []Field        // inputs at fault, in the order they were checked
	Cause  error          // internal cause; never shown

	// RetryAfter, when set, is sent as the Retry-After header (whole
	// seconds) with a 429 or 503.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.MsgID)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", f.Name, f.MsgID)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns a problem with a status and message ID.
func New(status int, msgID string) *Error { return &Error{Status: status, MsgID: msgID} }

// Invalid returns a 422 problem for the given fields.
func Invalid(fields ...Field) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, MsgID: "input.invalid", Fields: fields}
}

// LockedFor returns a 429 problem for a throttle that holds for d: msgID
// is the message of the whole problem and of the field at fault, and gets
// d as Minutes, rounded up to a whole minute.
func LockedFor(msgID, field string, d time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, MsgID: msgID,
		Fields: []Field{{Name: field, MsgID: msgID, Args: map[string]any{"Minutes": int(math.Ceil(d.Minutes()))}}}}
}

// Wrap attaches an internal cause to a copy of p.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// As finds a *Error in err's chain.
func As(err error) (*Error, bool) {
	var p *Error
	ok := errors.As(err, &p)
	return p, ok
}

// SetRetryAfter sets the Retry-After header when err is a problem that
// carries a RetryAfter.
func SetRetryAfter(h http.Header, err error) {
	if p, ok := As(err); ok && p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.RetryAfter+time.Second-1)/time.Second)))
	}
}

// Status returns the HTTP status for err: the problem's own, or 500.
func Status(err error) int {
	if p, ok := As(err); ok && p.Status != 0 {
		return p.Status
	}
	return http.StatusInternalServerError
}
