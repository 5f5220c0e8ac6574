package identity

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/clau-eid/clau/internal/problem"
)

// Limits on what people type.
const (
	maxNameRunes         = 80  // each of given name, first and second surname
	maxEmailLen          = 254 // RFC 5321 path limit
	maxEmailLocalLen     = 64  // RFC 5321 local-part limit
	maxOfficeNameRunes   = 120
	maxOfficeTextRunes   = 200 // address, municipality, province
	maxOpeningHoursRunes = 200
	maxDisplayNameRunes  = 120
	maxAgeYears          = 150
)

// Languages a citizen may choose; the first is the default.
var citizenLanguages = []string{"ca", "es", "en"}

// fieldErrors collects the fields at fault, in the order they are checked.
type fieldErrors []problem.Field

func (fe *fieldErrors) add(name, msgID string) {
	*fe = append(*fe, problem.Field{Name: name, MsgID: msgID})
}

// err returns one problem for every field at fault, or a nil error.
func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return problem.Invalid(fe...)
}

// ---- mobile ----------------------------------------------------------

// NormaliseMobile returns a mobile phone number in E.164 ("+34612345678").
// It drops spaces, dashes, dots and parentheses, turns a "00" prefix into
// "+", and reads nine digits starting with 6 or 7 as a Spanish mobile. A
// Spanish (+34) number must be a mobile (it receives SMS). Errors are a
// *problem.Error for field "mobile" with message ID mobile.format.
func NormaliseMobile(s string) (string, error) {
	m, ok := normaliseMobile(s)
	if !ok {
		return "", problem.Invalid(problem.Field{Name: "mobile", MsgID: "mobile.format"})
	}
	return m, nil
}

func normaliseMobile(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s) + 3)
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '-', r == '.', r == '(', r == ')':
		case r == '+' || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case len(n) == 9 && (n[0] == '6' || n[0] == '7'):
		n = "+34" + n
	default:
		return "", false
	}
	digits := n[1:]
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return "", false
		}
	}
	if national, ok := strings.CutPrefix(digits, "34"); ok {
		if len(national) != 9 || (national[0] != '6' && national[0] != '7') {
			return "", false
		}
	}
	return n, true
}

// ---- email -----------------------------------------------------------

// NormaliseEmail returns a plain email address ("ana@example.org") with its
// domain in lower case. Display names, comments and angle brackets are
// refused, as are addresses over 254 characters and domains without a dot.
// Errors are a *problem.Error for field "email" with message ID
// email.format.
func NormaliseEmail(s string) (string, error) {
	e, ok := normaliseEmail(s)
	if !ok {
		return "", problem.Invalid(problem.Field{Name: "email", MsgID: "email.format"})
	}
	return e, nil
}

func normaliseEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEmailLen || !utf8.ValidString(s) {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > maxEmailLocalLen {
		return "", false
	}
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if !validDomain(domain) {
		return "", false
	}
	out := local + "@" + domain
	if len(out) > maxEmailLen {
		return "", false
	}
	return out, true
}

// validDomain accepts host names with at least two labels of letters
// (any script), digits and inner hyphens; no IP literals.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mark, r) {
				return false
			}
		}
	}
	return true
}

// ---- text helpers ----------------------------------------------------

// cleanText trims s, collapses runs of whitespace into one space and puts
// it in Unicode NFC, so "Jose\u0301" and "José" are the same name.
func cleanText(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// hasControl reports whether s holds control or invalid characters.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// checkName cleans a personal name and returns it, or the message ID of
// what is wrong. Names may hold letters of any script (with their combining
// marks), spaces, apostrophes (' and ’), hyphens, dots and the Catalan
// middle dot (l·l, as in "Marcel·lí").
func checkName(s string, required bool) (string, string) {
	c := cleanText(s)
	if c == "" {
		if required {
			return "", "name.required"
		}
		return "", ""
	}
	if utf8.RuneCountInString(c) > maxNameRunes {
		return "", "name.invalid"
	}
	letters := 0
	for _, r := range c {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.Is(unicode.Mark, r), r == ' ', r == '\'', r == '’', r == '-', r == '.', r == '·':
		default:
			return "", "name.invalid"
		}
	}
	if letters == 0 {
		return "", "name.invalid"
	}
	return c, ""
}

// checkCountry returns an ISO 3166-1 alpha-2 code in upper case, or false.
func checkCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return "", false
	}
	r, err := language.ParseRegion(s)
	if err != nil || !r.IsCountry() {
		return "", false
	}
	return s, true
}

// ---- citizen ---------------------------------------------------------

// Normalise cleans and checks every field of c in one pass, as a
// registration form submits them, and returns one *problem.Error naming
// every field at fault (in form order) or nil. Fields that pass are
// replaced by their normal form; fields at fault keep what was typed, so a
// form can show it again. now gives "today" in its own location.
//
// Field names: document, doc_validity, support_number, given_name,
// first_surname, second_surname, birth_date, nationality, email, mobile,
// language, level, channel, status.
func (c *Citizen) Normalise(now time.Time) error {
	var fe fieldErrors
	today := DateOf(now)

	// Document. When it does not parse, guess its type from its shape so
	// the type's own fields are still checked in this pass.
	typ := c.Document.Type
	if d, msg := parseDocument(c.Document.Number); msg != "" {
		fe.add("document", msg)
		if n := normaliseDocument(c.Document.Number); n != "" {
			switch {
			case n[0] == 'X' || n[0] == 'Y' || n[0] == 'Z':
				typ = NIE
			case isDigit(n[0]):
				typ = DNI
			}
		}
	} else {
		c.Document = d
		typ = d.Type
	}

	switch typ {
	case DNI:
		switch {
		case c.DocValidity.IsZero():
			fe.add("doc_validity", "doc_validity.required")
		case !c.DocValidity.Valid():
			fe.add("doc_validity", "doc_validity.invalid")
		case c.DocPermanent && c.DocValidity.After(today):
			fe.add("doc_validity", "doc_validity.future")
		case !c.DocPermanent && c.DocValidity.Before(today):
			fe.add("doc_validity", "doc_validity.expired")
		}
	case NIE:
		sn := strings.ToUpper(strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || r == '-' || r == '.' {
				return -1
			}
			return r
		}, c.SupportNumber))
		switch {
		case sn == "":
			fe.add("support_number", "support_number.required")
		case !validSupportNumber(sn):
			fe.add("support_number", "support_number.format")
		default:
			c.SupportNumber = sn
		}
	}

	for _, f := range []struct {
		name     string
		value    *string
		required bool
	}{
		{"given_name", &c.GivenName, true},
		{"first_surname", &c.FirstSurname, true},
		{"second_surname", &c.SecondSurname, false},
	} {
		if v, msg := checkName(*f.value, f.required); msg != "" {
			fe.add(f.name, msg)
		} else {
			*f.value = v
		}
	}

	switch b := c.BirthDate; {
	case b.IsZero():
		fe.add("birth_date", "birth_date.required")
	case !b.Valid():
		fe.add("birth_date", "birth_date.invalid")
	case b.After(today):
		fe.add("birth_date", "birth_date.future")
	case b.YearsAt(today) >= maxAgeYears:
		fe.add("birth_date", "birth_date.invalid")
	}

	switch nat := strings.TrimSpace(c.Nationality); {
	case nat == "" && typ == DNI:
		c.Nationality = "ES"
	case nat == "":
		fe.add("nationality", "nationality.required")
	default:
		if n, ok := checkCountry(nat); ok {
			c.Nationality = n
		} else {
			fe.add("nationality", "nationality.invalid")
		}
	}

	if strings.TrimSpace(c.Email) == "" {
		fe.add("email", "email.required")
	} else if e, ok := normaliseEmail(c.Email); ok {
		c.Email = e
	} else {
		fe.add("email", "email.format")
	}

	if strings.TrimSpace(c.Mobile) == "" {
		fe.add("mobile", "mobile.required")
	} else if m, ok := normaliseMobile(c.Mobile); ok {
		c.Mobile = m
	} else {
		fe.add("mobile", "mobile.format")
	}

	switch lang := strings.ToLower(strings.TrimSpace(c.Language)); {
	case lang == "":
		c.Language = citizenLanguages[0]
	case oneOf(lang, citizenLanguages...):
		c.Language = lang
	default:
		fe.add("language", "language.invalid")
	}

	if !oneOf(c.Level, LevelBasic, LevelAdvanced) {
		fe.add("level", "level.invalid")
	}
	if !oneOf(c.Channel, ChannelOffice, ChannelCertificate, ChannelLetter, ChannelSeed) {
		fe.add("channel", "channel.invalid")
	}
	switch {
	case c.Status == "":
		c.Status = StatusPending
	case !oneOf(c.Status, StatusPending, StatusActive, StatusSuspended, StatusDeregistered):
		fe.add("status", "status.invalid")
	}

	return fe.err()
}

// validSupportNumber accepts an NIE card's support number: a letter and
// 8 digits ("E12345678" on a TIE, "C12345678" on an EU citizen's
// registration certificate). sn is already upper case without spaces.
func validSupportNumber(sn string) bool {
	if len(sn) != 9 || sn[0] < 'A' || sn[0] > 'Z' {
		return false
	}
	for i := 1; i < 9; i++ {
		if !isDigit(sn[i]) {
			return false
		}
	}
	return true
}

func oneOf[T comparable](v T, set ...T) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// ---- office ----------------------------------------------------------

// Normalise cleans and checks an office, returning one *problem.Error
// naming every field at fault or nil. Field names: code, name, address,
// postal_code, municipality, province, phone, email, opening_hours.
func (o *Office) Normalise() error {
	var fe fieldErrors

	if code := strings.ToUpper(strings.TrimSpace(o.Code)); validOfficeCode(code) {
		o.Code = code
	} else {
		fe.add("code", "office.code")
	}

	requiredText := func(name, msgID string, v *string, max int) {
		c := cleanText(*v)
		if c == "" || utf8.RuneCountInString(c) > max || hasControl(c) {
			fe.add(name, msgID)
			return
		}
		*v = c
	}
	requiredText("name", "office.name", &o.Name, maxOfficeNameRunes)
	requiredText("address", "office.address", &o.Address, maxOfficeTextRunes)

	if pc := strings.TrimSpace(o.PostalCode); validPostalCode(pc) {
		o.PostalCode = pc
	} else {
		fe.add("postal_code", "office.postal_code")
	}

	requiredText("municipality", "office.municipality", &o.Municipality, maxOfficeTextRunes)
	requiredText("province", "office.province", &o.Province, maxOfficeTextRunes)

	if strings.TrimSpace(o.Phone) == "" {
		o.Phone = ""
	} else if p, ok := normalisePhone(o.Phone); ok {
		o.Phone = p
	} else {
		fe.add("phone", "office.phone")
	}

	if strings.TrimSpace(o.Email) == "" {
		o.Email = ""
	} else if e, ok := normaliseEmail(o.Email); ok {
		o.Email = e
	} else {
		fe.add("email", "email.format")
	}

	if h := cleanText(o.OpeningHours); utf8.RuneCountInString(h) <= maxOpeningHoursRunes && !hasControl(h) {
		o.OpeningHours = h
	} else {
		fe.add("opening_hours", "office.opening_hours")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"services", &o.Services}, {"accessibility", &o.Accessibility}} {
		if h := cleanText(*f.v); utf8.RuneCountInString(h) <= 500 && !hasControl(h) {
			*f.v = h
		} else {
			fe.add(f.name, "office.long_text")
		}
	}

	return fe.err()
}

// validOfficeCode accepts 2 to 20 of A-Z, 0-9 and '-'.
func validOfficeCode(c string) bool {
	if len(c) < 2 || len(c) > 20 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if x := c[i]; !(x >= 'A' && x <= 'Z') && !isDigit(x) && x != '-' {
			return false
		}
	}
	return true
}

// validPostalCode accepts a Spanish postal code: 5 digits whose first two
// are a province code, 01 to 52.
func validPostalCode(pc string) bool {
	p, ok := atoi(pc)
	return ok && len(pc) == 5 && p >= 1000 && p < 53000
}

// normalisePhone cleans a public contact phone number ("+34 93 123 45 67",
// "012"): digits and single spaces, with an optional leading '+'; dashes,
// dots and parentheses become spaces. It must hold 3 to 15 digits.
func normalisePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	if plus {
		s = s[1:]
	}
	digits := 0
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
			b.WriteRune(r)
		case unicode.IsSpace(r), r == '-', r == '.', r == '(', r == ')':
			b.WriteByte(' ')
		default:
			return "", false
		}
	}
	if digits < 3 || digits > 15 {
		return "", false
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	if plus {
		out = "+" + out
	}
	return out, true
}

// ---- officer ---------------------------------------------------------

// Normalise cleans and checks an officer, returning one *problem.Error
// naming every field at fault or nil. Field names: username, display_name,
// role, status, office_id.
func (o *Officer) Normalise() error {
	var fe fieldErrors

	if u := strings.ToLower(strings.TrimSpace(o.Username)); validUsername(u) {
		o.Username = u
	} else {
		fe.add("username", "officer.username")
	}

	if n := cleanText(o.DisplayName); n != "" && utf8.RuneCountInString(n) <= maxDisplayNameRunes && !hasControl(n) {
		o.DisplayName = n
	} else {
		fe.add("display_name", "officer.display_name")
	}

	if !oneOf(o.Role, RoleOfficer, RoleSupervisor, RoleAdmin) {
		fe.add("role", "officer.role")
	}

	switch {
	case o.Status == "":
		o.Status = OfficerActive
	case !oneOf(o.Status, OfficerActive, OfficerDisabled):
		fe.add("status", "officer.status")
	}

	if id := strings.TrimSpace(o.OfficeID); id != "" {
		o.OfficeID = id
	} else {
		fe.add("office_id", "officer.office")
	}

	return fe.err()
}

// validUsername accepts 3 to 40 of a-z, 0-9, '.', '_' and '-', starting
// with a letter.
func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 40 || u[0] < 'a' || u[0] > 'z' {
		return false
	}
	for i := 0; i < len(u); i++ {
		if x := u[i]; !(x >= 'a' && x <= 'z') && !isDigit(x) && x != '.' && x != '_' && x != '-' {
			return false
		}
	}
	return true
}
