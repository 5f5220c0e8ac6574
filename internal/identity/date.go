package identity

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Date is a civil date (a birth date, a document's validity) with no time
// of day and no time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ErrDate is returned (wrapped) by ParseDate for text that is not a real
// calendar date between the years 1900 and 9999. Callers turn it into a
// field problem.
var ErrDate = errors.New("identity: not a valid date")

// Years that ParseDate and Valid accept.
const (
	minYear = 1900
	maxYear = 9999
)

// ParseDate parses "YYYY-MM-DD" (ISO 8601, what HTML date inputs send) or
// "DD/MM/YYYY" (as Spanish forms write it; D/M/YYYY also accepted). The
// date must exist in the calendar (no 2023-02-29) and fall in the years
// 1900 to 9999.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	var d Date
	var ok bool
	if strings.Contains(s, "/") {
		d, ok = parseSpanishDate(s)
	} else {
		d, ok = parseISODate(s)
	}
	if !ok || !d.Valid() {
		return Date{}, fmt.Errorf("%w: %q", ErrDate, s)
	}
	return d, nil
}

// parseISODate parses exactly "YYYY-MM-DD".
func parseISODate(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	y, ok1 := atoi(s[0:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, false
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, true
}

// parseSpanishDate parses "DD/MM/YYYY", with one- or two-digit day and month.
func parseSpanishDate(s string) (Date, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 ||
		len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) != 4 {
		return Date{}, false
	}
	d, ok1 := atoi(parts[0])
	m, ok2 := atoi(parts[1])
	y, ok3 := atoi(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, false
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, true
}

// atoi parses a short run of ASCII digits (no sign, no spaces).
func atoi(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// DateOf returns the civil date of t in t's location. Pass a time in the
// location whose calendar matters (for Clau, usually Europe/Madrid).
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// Valid reports whether d is a real calendar date in the years 1900 to 9999.
func (d Date) Valid() bool {
	if d.Year < minYear || d.Year > maxYear || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(d.Year, d.Month)
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String returns "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// YearsAt returns how many whole years have passed from d to on (an age
// when d is a birth date); negative if on is before d. A birthday on
// 29 February is reached on 1 March in common years.
func (d Date) YearsAt(on Date) int {
	years := on.Year - d.Year
	if on.Month < d.Month || (on.Month == d.Month && on.Day < d.Day) {
		years--
	}
	return years
}

// MarshalText implements encoding.TextMarshaler ("YYYY-MM-DD", "" for zero).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDate; empty
// text gives the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(strings.TrimSpace(string(b))) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
