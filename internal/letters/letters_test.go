package letters_test

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

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/letters"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

func post(t *testing.T, u, lang string, kv ...string) (int, http.Header, string) {
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
	return res.StatusCode, res.Header, string(b)
}

// requestIDs differ between answers; nothing else may.
var volatile = regexp.MustCompile(`(?i)(request[ _-]?id[^<]*|nonce="[^"]*")`)

func TestLetterRequestPage(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	kr, _ := secure.NewKeyring(nil, time.Now())
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, nil)
	reg := registration.New(s, secure.NewOneTimeCodes(kr, nil, nil), hasher, n, registration.Options{})
	reg.EnableLetters(registration.LetterOptions{Keyring: kr, ActivateURL: "https://clau.example/activate"})
	ref := &store.Reference{Document: identity.Document{Type: identity.DNI, Number: "23456789D"},
		DocValidity: identity.Date{Year: 2032, Month: 1, Day: 31}, GivenName: "Jordi", FirstSurname: "Roca",
		BirthDate: identity.Date{Year: 1985, Month: 5, Day: 17}, Nationality: "ES", AddressLine1: "Carrer Major 12",
		PostalCode: "17001", Municipality: "Girona", Province: "Girona"}
	if _, err := s.PutReference(ctx, ref); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _ := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), s)
	r, _ := web.NewRenderer(srv, log)
	p, err := letters.New(reg, srv, r)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	u := ts.URL + "/register/letter"

	// Malformed input: every field named in the reader's language, nothing saved.
	st, _, body := post(t, u, "es", "document", "23456789A", "check", "", "mobile", "912", "email", "x", "language", "fr")
	for _, id := range []string{"document-error", "check-error", "mobile-error", "email-error", "language-error"} {
		if !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("no %s in the answer to bad input", id)
		}
	}
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Introduzca el valor de control") {
		t.Errorf("bad input: status %d\n%s", st, body)
	}

	// A match and a miss get the same answer.
	ask := func(doc, check, mobile string) (int, string) {
		st, _, body := post(t, u, "ca", "document", doc, "check", check, "mobile", mobile, "email", "jordi@example.org", "language", "ca")
		return st, volatile.ReplaceAllString(body, "")
	}
	stMiss, miss := ask("00000000T", "31/01/2032", "655443322")
	stStale, stale := ask("23456789D", "31/01/2022", "655443322")
	stHit, hit := ask("23456789D", "31/01/2032", "655443322")
	if stMiss != 200 || stHit != 200 || stStale != 200 || miss != hit || stale != hit {
		t.Errorf("answers differ: %d/%d/%d\nmiss:\n%s\nhit:\n%s", stMiss, stStale, stHit, miss, hit)
	}
	if !strings.Contains(hit, "Sol·licitud rebuda") {
		t.Errorf("answer:\n%s", hit)
	}
	c, err := s.CitizenByDocument(ctx, "23456789D")
	if err != nil || c.Level != identity.LevelBasic {
		t.Fatalf("matched citizen = %+v, %v", c, err)
	}
	if _, err := s.CitizenByDocument(ctx, "00000000T"); err == nil {
		t.Errorf("a miss registered someone")
	}

	// Throttled: 429 with Retry-After, in the reader's language.
	post(t, u, "ca", "document", "23456789D", "check", "31/01/2032", "mobile", "655443322", "email", "jordi@example.org")
	st, h, body := post(t, u, "en", "document", "23456789D", "check", "31/01/2032", "mobile", "655443322", "email", "jordi@example.org")
	if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many letter requests") {
		t.Errorf("throttled: %d %q\n%s", st, h.Get("Retry-After"), body)
	}
}

func TestLetterPageWhenOff(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	kr, _ := secure.NewKeyring(nil, time.Now())
	tm, _ := notify.LoadTemplates()
	n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, nil)
	hasher := secure.NewHasher(secure.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, nil)
	reg := registration.New(s, secure.NewOneTimeCodes(kr, nil, nil), hasher, n, registration.Options{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _ := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), s)
	r, _ := web.NewRenderer(srv, log)
	p, err := letters.New(reg, srv, r)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	st, _, body := post(t, ts.URL+"/register/letter", "es", "document", "23456789D", "check", "31/01/2032")
	if st != http.StatusNotFound || !strings.Contains(body, "El registro por carta no está disponible aquí") {
		t.Errorf("letters off: %d\n%s", st, body)
	}
	if n, _ := s.CountCitizens(context.Background()); n != 0 {
		t.Errorf("registered %d citizens with letters off", n)
	}
}
