package offices_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
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

func post(t *testing.T, u, lang string, kv ...string) (int, string) {
	t.Helper()
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", lang)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var slotRE = regexp.MustCompile(`name="slot" value="([a-z0-9]+)"`)

// A citizen books the one free place of a slot, gets the reference by
// SMS, a second citizen finds it taken, and cancelling frees it again.
func TestBookAndCancel(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	o := &identity.Office{ID: store.NewID(), Code: "BCN-01", Name: "OAC Ciutat Vella", Address: "Plaça Sant Jaume 1",
		PostalCode: "08002", Municipality: "Barcelona", Province: "Barcelona", Active: true}
	if err := s.CreateOffice(ctx, o); err != nil {
		t.Fatal(err)
	}
	kr, _ := secure.NewKeyring(nil, time.Now())
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	loc, _ := time.LoadLocation("Europe/Madrid")
	svc := appointments.New(s, kr, n, loc, nil)
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
	added, err := svc.AddSlots(ctx, o.ID, tomorrow, 1, appointments.Week{Days: []time.Weekday{tomorrow.Weekday()},
		Open: "09:00", Close: "09:30", Every: 15 * time.Minute, Desks: 1})
	if err != nil || added != 2 {
		t.Fatalf("slots added = %d %v", added, err)
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
	defer ts.Close()

	_, page := get(t, ts.URL+"/offices/BCN-01/book", "ca")
	slots := slotRE.FindAllStringSubmatch(page, -1)
	if len(slots) != 2 {
		t.Fatalf("free slots shown = %d\n%s", len(slots), page)
	}
	slot := slots[0][1]

	// Bad input first: every field named, nothing booked.
	st, body := post(t, ts.URL+"/offices/BCN-01/book", "es", "slot", slot, "document", "12345678A", "name", "")
	if st != 422 || !strings.Contains(body, `id="document-error"`) || !strings.Contains(body, `id="name-error"`) ||
		!strings.Contains(body, "Indique un móvil") {
		t.Fatalf("invalid booking: %d\n%s", st, body)
	}
	st, body = post(t, ts.URL+"/offices/BCN-01/book", "en", "slot", slot, "document", "12345678z", "name", "Núria Puig",
		"mobile", "612 345 678")
	ref := regexp.MustCompile(`id="reference">([2-9A-Z]{8})<`).FindStringSubmatch(body)
	if st != 200 || ref == nil {
		t.Fatalf("booking: %d\n%s", st, body)
	}
	msgs, _ := s.ListMessages(ctx, 5)
	if len(msgs) != 1 || msgs[0].Recipient != "+34612345678" || !strings.Contains(msgs[0].Body, ref[1]) {
		t.Fatalf("confirmation = %+v", msgs)
	}
	// The place is gone: another citizen gets a clear answer.
	st, body = post(t, ts.URL+"/offices/BCN-01/book", "ca", "slot", slot, "document", "87654321X", "name", "Pere",
		"email", "pere@example.org")
	if st != 409 || !strings.Contains(body, "Algú acaba de reservar") {
		t.Fatalf("taken slot: %d", st)
	}
	// One live appointment per document.
	st, body = post(t, ts.URL+"/offices/BCN-01/book", "en", "slot", slots[1][1], "document", "12345678Z", "name", "Núria",
		"email", "n@example.org")
	if st != 422 || !strings.Contains(body, "already an appointment for this DNI/NIE") {
		t.Fatalf("second appointment: %d", st)
	}
	// Cancel: a wrong reference is refused, the right one frees the place.
	if st, body := post(t, ts.URL+"/appointments/cancel", "ca", "reference", "ZZZZZZZZ", "document", "12345678Z"); st != 404 ||
		!strings.Contains(body, "Cap cita no coincideix") {
		t.Fatalf("wrong reference: %d", st)
	}
	if st, body := post(t, ts.URL+"/appointments/cancel", "en", "reference", strings.ToLower(ref[1]), "document", "12345678Z"); st != 200 ||
		!strings.Contains(body, "is cancelled") {
		t.Fatalf("cancel: %d %s", st, body)
	}
	_, page = get(t, ts.URL+"/offices/BCN-01/book", "ca")
	if len(slotRE.FindAllStringSubmatch(page, -1)) != 2 {
		t.Fatal("the cancelled place is not free again")
	}
}
