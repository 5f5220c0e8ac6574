package identity

import (
	"log/slog"
	"strings"
	"unicode"

	"github.com/clau-eid/clau/internal/problem"
)

// DocumentType is the kind of Spanish identity document.
type DocumentType string

const (
	DNI DocumentType = "DNI" // Documento Nacional de Identidad: 8 digits + letter
	NIE DocumentType = "NIE" // Número de Identidad de Extranjero: X/Y/Z + 7 digits + letter
)

// Document is a DNI or NIE. Number is normalised: upper case, no spaces or
// punctuation, always 9 characters ("12345678Z", "X1234567L").
//
// String returns the number in clear (for storage and protocol attributes);
// Masked and LogValue hide it, so a Document passed to slog never logs in
// clear.
type Document struct {
	Type   DocumentType
	Number string
}

// Message IDs of document problems (field "document").
const (
	msgDocumentEmpty  = "document.empty"
	msgDocumentFormat = "document.format"
	msgDocumentLetter = "document.letter"
)

// controlLetters maps number mod 23 to the DNI/NIE control letter.
const controlLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// ControlLetter returns the DNI/NIE control letter for number (for an NIE,
// the number with X/Y/Z replaced by 0/1/2).
func ControlLetter(number int) byte {
	m := number % 23
	if m < 0 {
		m += 23
	}
	return controlLetters[m]
}

// normaliseDocument upper-cases s and drops whitespace, dashes and dots.
func normaliseDocument(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '-', r == '.':
			continue
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// ParseDocument parses a DNI or NIE as people type it ("12.345.678-z",
// "x 1234567 l"). It returns a *problem.Error for field "document" with
// message ID document.empty, document.format or document.letter.
func ParseDocument(s string) (Document, error) {
	d, msg := parseDocument(s)
	if msg != "" {
		return Document{}, documentProblem(msg)
	}
	return d, nil
}

func documentProblem(msgID string) *problem.Error {
	return problem.Invalid(problem.Field{Name: "document", MsgID: msgID})
}

// parseDocument returns the document or the message ID of what is wrong.
func parseDocument(s string) (Document, string) {
	n := normaliseDocument(s)
	if n == "" {
		return Document{}, msgDocumentEmpty
	}
	typ := documentShape(n)
	if typ == "" {
		return Document{}, msgDocumentFormat
	}
	num := 0
	for i := 0; i < 8; i++ {
		c := n[i]
		switch c {
		case 'X':
			c = '0'
		case 'Y':
			c = '1'
		case 'Z':
			c = '2'
		}
		num = num*10 + int(c-'0')
	}
	if ControlLetter(num) != n[8] {
		return Document{}, msgDocumentLetter
	}
	return Document{Type: typ, Number: n}, ""
}

// documentShape reports which document n looks like (ignoring the control
// letter's value), or "" if neither. n is already normalised.
func documentShape(n string) DocumentType {
	if len(n) != 9 {
		return ""
	}
	if n[8] < 'A' || n[8] > 'Z' {
		return ""
	}
	for i := 1; i < 8; i++ {
		if !isDigit(n[i]) {
			return ""
		}
	}
	switch c := n[0]; {
	case isDigit(c):
		return DNI
	case c == 'X', c == 'Y', c == 'Z':
		return NIE
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// String returns the document number in clear.
func (d Document) String() string { return d.Number }

// IsZero reports whether d is unset.
func (d Document) IsZero() bool { return d.Type == "" && d.Number == "" }

// Masked returns the number with all but characters 4 to 7 hidden, as
// "***4567*" for 12345678Z. A number of any other length is fully hidden.
func (d Document) Masked() string {
	switch len(d.Number) {
	case 0:
		return ""
	case 9:
		return "***" + d.Number[3:7] + "*"
	default:
		return "*********"
	}
}

// LogValue implements slog.LogValuer: a Document logs masked.
func (d Document) LogValue() slog.Value { return slog.StringValue(d.Masked()) }
