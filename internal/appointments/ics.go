package appointments

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

// ICS is an RFC 5545 calendar with one event, the appointment: UID,
// DTSTAMP, DTSTART and DTEND in UTC, SUMMARY, LOCATION and DESCRIPTION,
// CRLF line endings, lines folded at 75 octets without splitting a UTF-8
// character. host names the UID's domain (the public host).
func ICS(a *store.Appointment, o *identity.Office, summary, description, host string, now time.Time) []byte {
	const stamp = "20060102T150405Z"
	if host == "" {
		host = "clau"
	}
	var b bytes.Buffer
	line := func(name, value string) { fold(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Clau//Appointments//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", "appointment-"+a.ID+"@"+host)
	line("DTSTAMP", now.UTC().Format(stamp))
	line("DTSTART", a.StartsAt.UTC().Format(stamp))
	line("DTEND", a.EndsAt.UTC().Format(stamp))
	line("SUMMARY", icsText(summary))
	line("LOCATION", icsText(o.Name+", "+o.Address+", "+o.PostalCode+" "+o.Municipality))
	line("DESCRIPTION", icsText(description))
	line("STATUS", "CONFIRMED")
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return b.Bytes()
}

// icsText escapes a TEXT value (RFC 5545, 3.3.11).
func icsText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// fold writes a content line folded at 75 octets: continuation lines
// start with one space, which counts towards their 75.
func fold(b *bytes.Buffer, l string) {
	limit := 75
	for len(l) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		b.WriteString(l[:cut])
		b.WriteString("\r\n ")
		l = l[cut:]
		limit = 74
	}
	b.WriteString(l)
	b.WriteString("\r\n")
}
