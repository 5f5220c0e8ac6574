package offices_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/offices"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

// bookingWorld is the booking pages on SQLite with a settable clock and
// one office with three one-place slots tomorrow at 9:00, 9:15, 9:30.
type bookingWorld struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	clock *fakeclock.Clock
	svc   *appointments.Service
	url   string
	slots []string
}

func newBookingWorld(t *testing.T) *bookingWorld {
	t.Helper()
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	clk := fakeclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	o := &identity.Office{ID: store.NewID(), Code: "BCN-01", Name: "OAC Ciutat Vella", Address: "Plaça Sant Jaume 1, baixos",
		PostalCode: "08002", Municipality: "Barcelona", Province: "Barcelona", Active: true}
	if err := s.CreateOffice(ctx, o); err != nil {
		t.Fatal(err)
	}
	kr, _ := secure.NewKeyring(nil, clk.Now())
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, clk.Now)
	loc, _ := time.LoadLocation("Europe/Madrid")
	svc := appointments.New(s, kr, n, loc, clk.Now)
	svc.BaseURL = "https://clau.example.org"
	if _, err := svc.AddSlots(ctx, o.ID, clk.Now().AddDate(0, 0, 1), 1, appointments.Week{
		Days: []time.Weekday{time.Tuesday}, Open: "09:00", Close: "09:45", Every: 15 * time.Minute, Desks: 1}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _ := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), s)
	r, _ := web.NewRenderer(srv, log)
	d, err := offices.New(s, srv, r)
	if err != nil {
		t.Fatal(err)
	}
	d.Booking = svc
	d.Mount()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	w := &bookingWorld{t: t, ctx: ctx, store: s, clock: clk, svc: svc, url: ts.URL}
	_, page := get(t, ts.URL+"/offices/BCN-01/book", "ca")
	for _, m := range slotRE.FindAllStringSubmatch(page, -1) {
		w.slots = append(w.slots, m[1])
	}
	if len(w.slots) != 3 {
		t.Fatalf("slots = %v", w.slots)
	}
	return w
}

var refRE = regexp.MustCompile(`id="reference">([2-9A-Z]{8})<`)

func (w *bookingWorld) book(slot, doc, name, mobile string) string {
	w.t.Helper()
	st, body := post(w.t, w.url+"/offices/BCN-01/book", "ca", "slot", slot, "document", doc, "name", name, "mobile", mobile)
	m := refRE.FindStringSubmatch(body)
	if st != 200 || m == nil {
		w.t.Fatalf("booking: %d\n%s", st, body)
	}
	return m[1]
}

func (w *bookingWorld) booked() []int {
	w.t.Helper()
	o, _ := w.store.OfficeByCode(w.ctx, "BCN-01")
	all, err := w.store.ListSlots(w.ctx, o.ID, w.clock.Now(), w.clock.Now().AddDate(0, 0, 3))
	if err != nil {
		w.t.Fatal(err)
	}
	var out []int
	for _, s := range all {
		out = append(out, s.Booked)
	}
	return out
}

func (w *bookingWorld) audited(action, outcome string) bool {
	found := false
	_ = w.store.ScanAudit(w.ctx, 1, func(e store.AuditEvent) error {
		found = found || (e.Action == action && e.Outcome == outcome)
		return nil
	})
	return found
}

// unfold undoes RFC 5545 line folding.
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

// The confirmation page and message link an RFC 5545 calendar file of
// the appointment.
func TestCalendarFile(t *testing.T) {
	w := newBookingWorld(t)
	ref := w.book(w.slots[1], "12345678Z", "Núria Puig", "612345678")
	msgs, _ := w.store.ListMessages(w.ctx, 5)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "https://clau.example.org/appointments/calendar.ics?ref="+ref) ||
		!strings.Contains(msgs[0].Body, "https://clau.example.org/appointments/change?ref="+ref) {
		t.Fatalf("confirmation lacks the links: %+v", msgs)
	}
	res, err := http.Get(w.url + "/appointments/calendar.ics?ref=" + strings.ToLower(ref))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), ".ics") {
		t.Fatalf("calendar: %d %v", res.StatusCode, res.Header)
	}
	for i, l := range bytes.Split(raw, []byte("\r\n")) {
		if len(l) > 75 || bytes.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d is %d octets or has a bare line break: %q", i, len(l), l)
		}
	}
	if !bytes.HasSuffix(raw, []byte("END:VCALENDAR\r\n")) {
		t.Fatalf("calendar does not end with CRLF: %q", raw)
	}
	ics := unfold(string(raw))
	// 9:15 in Madrid on 3 March 2026 is 8:15 UTC.
	for _, want := range []string{"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:", "BEGIN:VEVENT\r\n", "\r\nUID:appointment-",
		"\r\nDTSTAMP:20260302T090000Z\r\n", "\r\nDTSTART:20260303T081500Z\r\n", "\r\nDTEND:20260303T083000Z\r\n",
		"\r\nSUMMARY:Cita a OAC Ciutat Vella\r\n",
		"\r\nLOCATION:OAC Ciutat Vella\\, Plaça Sant Jaume 1\\, baixos\\, 08002 Barcelona\r\n",
		"\r\nDESCRIPTION:Cita de Clau\\, referència " + ref + ". Porteu el DNI o NIE.\r\n", "END:VEVENT\r\n"} {
		if !strings.Contains(ics, want) {
			t.Fatalf("calendar lacks %q:\n%s", want, ics)
		}
	}
	if res, _ := http.Get(w.url + "/appointments/calendar.ics?ref=ZZZZZZZZ"); res.StatusCode != 404 {
		t.Fatalf("wrong reference: %d", res.StatusCode)
	}
}

// A long value folds without splitting a character.
func TestICSFolding(t *testing.T) {
	a := &store.Appointment{ID: "x", StartsAt: time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 3, 3, 8, 15, 0, 0, time.UTC)}
	o := &identity.Office{Name: strings.Repeat("Oficina d'Atenció Ciutadana ", 6), Address: "Carrer, 1; 2\\3", Municipality: "L'Hospitalet"}
	raw := appointments.ICS(a, o, strings.Repeat("àèìòù", 40), "línia 1\nlínia 2", "clau.example.org", a.StartsAt)
	for _, l := range bytes.Split(raw, []byte("\r\n")) {
		if len(l) > 75 || !bytes.Equal(bytes.ToValidUTF8(l, []byte("?")), l) {
			t.Fatalf("bad line %q", l)
		}
	}
	ics := unfold(string(raw))
	if !strings.Contains(ics, "SUMMARY:"+strings.Repeat("àèìòù", 40)+"\r\n") || !strings.Contains(ics, `Carrer\, 1\; 2\\3`) ||
		!strings.Contains(ics, `DESCRIPTION:línia 1\nlínia 2`) {
		t.Fatalf("unfolded:\n%s", ics)
	}
}

// A citizen changes the time of their appointment by the link: a slot
// just taken keeps the old appointment, a free one moves it, and the
// confirmation of the change arrives.
func TestChangeAppointment(t *testing.T) {
	w := newBookingWorld(t)
	ref := w.book(w.slots[0], "12345678Z", "Núria Puig", "612345678")
	w.book(w.slots[1], "87654321X", "Pere Vila", "612345679")

	res, body := get(t, w.url+"/appointments/change?ref="+ref, "ca")
	if st := res.StatusCode; st != 200 || !strings.Contains(body, `value="`+ref+`"`) {
		t.Fatalf("change link: %d\n%s", res.StatusCode, body)
	}
	// Wrong document or reference: no such appointment, audited.
	if st, body := post(t, w.url+"/appointments/change", "es", "reference", ref, "document", "87654321X"); st != 404 ||
		!strings.Contains(body, "Ninguna cita coincide") {
		t.Fatalf("wrong document: %d\n%s", st, body)
	}
	if st, body := post(t, w.url+"/appointments/change", "en", "reference", ref, "document", "12345678A"); st != 422 ||
		!strings.Contains(body, `id="document-error"`) {
		t.Fatalf("malformed document: %d\n%s", st, body)
	}
	st, body := post(t, w.url+"/appointments/change", "ca", "reference", ref, "document", "12345678Z")
	if st != 200 || !strings.Contains(body, "03/03/2026 09:00") || len(slotRE.FindAllString(body, -1)) != 1 {
		t.Fatalf("pick step: %d\n%s", st, body)
	}
	// Slot 9:15 is Pere's: taken. Nothing changes.
	st, body = post(t, w.url+"/appointments/change", "ca", "reference", ref, "document", "12345678Z", "step", "pick", "slot", w.slots[1])
	if st != 409 || !strings.Contains(body, "Algú acaba de reservar") {
		t.Fatalf("taken slot: %d\n%s", st, body)
	}
	if got := w.booked(); got[0] != 1 || got[1] != 1 || got[2] != 0 {
		t.Fatalf("places after a refused change: %v", got)
	}
	// No slot chosen.
	if st, body := post(t, w.url+"/appointments/change", "en", "reference", ref, "document", "12345678Z", "step", "pick"); st != 422 ||
		!strings.Contains(body, "Choose a day and time") {
		t.Fatalf("no slot: %d\n%s", st, body)
	}
	st, body = post(t, w.url+"/appointments/change", "en", "reference", ref, "document", "12345678Z", "step", "pick", "slot", w.slots[2])
	if st != 200 || !strings.Contains(body, "03/03/2026 09:30") || !strings.Contains(body, "calendar.ics?ref="+ref) {
		t.Fatalf("change: %d\n%s", st, body)
	}
	if got := w.booked(); got[0] != 0 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("places after the change: %v", got)
	}
	msgs, _ := w.store.ListMessages(w.ctx, 5)
	changed := 0
	for _, m := range msgs {
		if strings.Contains(m.Body, "ara és el 03/03/2026 09:30") && m.Recipient == "+34612345678" {
			changed++
		}
	}
	if changed != 1 {
		t.Fatalf("change messages = %d: %+v", changed, msgs)
	}
	if !w.audited("appointment.change", "ok") || !w.audited("appointment.change", "denied") {
		t.Fatal("changes not audited")
	}
	// The reference stays and cancels the moved appointment.
	if st, _ := post(t, w.url+"/appointments/cancel", "ca", "reference", ref, "document", "12345678Z"); st != 200 {
		t.Fatalf("cancel after change: %d", st)
	}
	if got := w.booked(); got[2] != 0 {
		t.Fatalf("places after cancelling: %v", got)
	}
}

// One address cannot book without limit nor guess references.
func TestPerSourceLimits(t *testing.T) {
	w := newBookingWorld(t)
	l := appointments.DefaultLimits()
	l.Bookings.MaxFailures, l.WrongRefs.MaxFailures = 3, 3
	w.svc.SetLimits(l)
	docs := []string{"12345678Z", "87654321X", "11111111H"}
	for i, d := range docs {
		w.book(w.slots[i], d, "Citizen", "61234560"+string(rune('0'+i)))
	}
	st, body := post(t, w.url+"/offices/BCN-01/book", "es", "slot", w.slots[0], "document", "22222222J", "name", "Otro",
		"email", "o@example.org")
	if st != http.StatusTooManyRequests || !strings.Contains(body, "Demasiados intentos") {
		t.Fatalf("fourth booking from one address: %d\n%s", st, body)
	}
	if !w.audited("appointment.book", "denied") {
		t.Fatal("refusal not audited")
	}
	for range 3 {
		post(t, w.url+"/appointments/cancel", "ca", "reference", "ZZZZZZZZ", "document", "12345678Z")
	}
	st, body = post(t, w.url+"/appointments/cancel", "ca", "reference", "ZZZZZZZZ", "document", "12345678Z")
	if st != http.StatusTooManyRequests || !strings.Contains(body, "Massa intents") {
		t.Fatalf("guessing references: %d\n%s", st, body)
	}
	// After the pause the address may try again.
	w.clock.Add(16 * time.Minute)
	if st, _ := post(t, w.url+"/appointments/cancel", "ca", "reference", "ZZZZZZZZ", "document", "12345678Z"); st != 404 {
		t.Fatalf("after the pause: %d", st)
	}
}

// A full office keeps a waiting list: each freed place (cancelled or
// left by a change) is offered to the first citizen waiting.
func TestWaitingList(t *testing.T) {
	w := newBookingWorld(t)
	refs := []string{w.book(w.slots[0], "12345678Z", "Núria", "612345670"), w.book(w.slots[1], "87654321X", "Pere", "612345671"),
		w.book(w.slots[2], "11111111H", "Anna", "612345672")}
	if _, body := get(t, w.url+"/offices/BCN-01/book", "ca"); !strings.Contains(body, "/offices/BCN-01/wait") {
		t.Fatal("the full office does not offer its waiting list")
	}
	st, body := post(t, w.url+"/offices/BCN-01/wait", "es", "document", "22222222J", "name", "Joan Roca", "mobile", "612345673")
	if st != 200 || !strings.Contains(body, "Está en la lista de espera") {
		t.Fatalf("join: %d\n%s", st, body)
	}
	if st, body := post(t, w.url+"/offices/BCN-01/wait", "es", "document", "22222222j", "name", "Joan Roca", "mobile", "612345673"); st != 422 ||
		!strings.Contains(body, "ya está en la lista de espera") {
		t.Fatalf("join twice: %d\n%s", st, body)
	}
	if st, body := post(t, w.url+"/offices/BCN-01/wait", "en", "document", "2222", "name", ""); st != 422 ||
		!strings.Contains(body, `id="document-error"`) || !strings.Contains(body, `id="name-error"`) {
		t.Fatalf("bad join: %d\n%s", st, body)
	}
	w.clock.Add(time.Second) // Marta comes after Joan
	if st, _ := post(t, w.url+"/offices/BCN-01/wait", "ca", "document", "33333333P", "name", "Marta", "email", "marta@example.org"); st != 200 {
		t.Fatalf("second join: %d", st)
	}
	// Núria cancels: Joan, first in the queue, is told in Spanish.
	if st, _ := post(t, w.url+"/appointments/cancel", "ca", "reference", refs[0], "document", "12345678Z"); st != 200 {
		t.Fatalf("cancel: %d", st)
	}
	msgs, _ := w.store.ListMessages(w.ctx, 20)
	offers := 0
	for _, m := range msgs {
		if strings.Contains(m.Body, "ha quedado libre una plaza en OAC Ciutat Vella") {
			offers++
			if m.Recipient != "+34612345673" || !strings.Contains(m.Body, "https://clau.example.org/offices/BCN-01/book") {
				t.Fatalf("offer = %+v", m)
			}
		}
	}
	if offers != 1 {
		for _, m := range msgs {
			t.Log(m.Recipient, m.Body)
		}
		t.Fatalf("offers to Joan = %d", offers)
	}
	// Pere moves to the freed 9:00: his 9:15 goes to Marta, by email.
	if st, _ := post(t, w.url+"/appointments/change", "ca", "reference", refs[1], "document", "87654321X", "step", "pick", "slot", w.slots[0]); st != 200 {
		t.Fatalf("change: %d", st)
	}
	found := false
	msgs, _ = w.store.ListMessages(w.ctx, 20)
	for _, m := range msgs {
		found = found || (m.Recipient == "marta@example.org" && strings.Contains(m.Body, "Éreu la primera persona"))
	}
	if !found {
		t.Fatalf("no offer to Marta: %+v", msgs)
	}
	if !w.audited("appointment.waitlist_join", "ok") || !w.audited("appointment.waitlist_offer", "ok") {
		t.Fatal("waiting list not audited")
	}
	// Nobody waits any more: a cancellation offers nothing and still works.
	if st, _ := post(t, w.url+"/appointments/cancel", "ca", "reference", refs[2], "document", "11111111H"); st != 200 {
		t.Fatalf("cancel with an empty queue: %d", st)
	}
}
