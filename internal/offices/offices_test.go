package offices_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/offices"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/web"
)

func site(t *testing.T) string {
	t.Helper()
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	for _, o := range []identity.Office{
		{Code: "BCN-01", Name: "OAC Ciutat Vella", Address: "Plaça Sant Jaume 1", PostalCode: "08002",
			Municipality: "Barcelona", Province: "Barcelona", OpeningHours: "Dl-dv 9-14", Services: "Registre Clau",
			Accessibility: "Accés sense graons", Active: true},
		{Code: "LLE-01", Name: "OAC Lleida", Address: "Plaça Paeria 1", PostalCode: "25007",
			Municipality: "Lleida", Province: "Lleida", Active: true},
		{Code: "MAL-01", Name: "Oficina Málaga", Address: "Calle Larios 1", PostalCode: "29005",
			Municipality: "Málaga", Province: "Málaga", Active: true},
		{Code: "OLD-01", Name: "Closed office", Address: "Nowhere 1", PostalCode: "08001",
			Municipality: "Barcelona", Province: "Barcelona", Active: false},
	} {
		o.ID = store.NewID()
		if err := o.Normalise(); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateOffice(ctx, &o); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _ := httpserver.New(httpserver.Options{MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second}, log, i18n.MustLoad(), s)
	r, _ := web.NewRenderer(srv, log)
	d, err := offices.New(s, srv, r)
	if err != nil {
		t.Fatal(err)
	}
	d.Mount()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func get(t *testing.T, url, lang string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Language", lang)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestDirectoryPages(t *testing.T) {
	base := site(t)
	res, body := get(t, base+"/offices", "ca")
	if res.StatusCode != 200 || !strings.Contains(body, "Oficines de registre") || !strings.Contains(body, "3 oficines trobades") {
		t.Fatalf("directory: %d\n%s", res.StatusCode, body)
	}
	if strings.Contains(body, "Closed office") {
		t.Fatal("an inactive office is published")
	}
	// Grouped by province, in order.
	if i, j := strings.Index(body, "<h2 id=\"province-0\">Barcelona"), strings.Index(body, ">Málaga</h2>"); i < 0 || j < i {
		t.Fatalf("groups out of order:\n%s", body)
	}
	// Search by municipality ignores case and accents.
	_, body = get(t, base+"/offices?municipality=malaga", "es")
	if !strings.Contains(body, "Oficina Málaga") || strings.Contains(body, "OAC Lleida") || !strings.Contains(body, "1 oficinas") {
		t.Fatalf("search:\n%s", body)
	}
	_, body = get(t, base+"/offices/bcn-01", "en")
	for _, want := range []string{"OAC Ciutat Vella", "Accessibility", "Accés sense graons", "Registre Clau", "Dl-dv 9-14"} {
		if !strings.Contains(body, want) {
			t.Fatalf("office page lacks %q", want)
		}
	}
	for _, code := range []string{"OLD-01", "NOPE", "%3Cscript%3E"} {
		if res, body := get(t, base+"/offices/"+code, "es"); res.StatusCode != 404 || !strings.Contains(body, "No hay ninguna oficina") {
			t.Fatalf("office %s: %d %s", code, res.StatusCode, body)
		}
	}
}

func TestOpenData(t *testing.T) {
	base := site(t)
	res, body := get(t, base+"/offices.json", "")
	var recs []offices.Record
	if err := json.Unmarshal([]byte(body), &recs); err != nil || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("json: %v", err)
	}
	if len(recs) != 3 || recs[0].Code != "BCN-01" || recs[0].Accessibility != "Accés sense graons" || recs[0].Updated.IsZero() {
		t.Fatalf("records = %+v", recs)
	}
	res, body = get(t, base+"/offices.csv", "")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %v", err)
	}
	if len(rows) != 4 || rows[0][0] != "code" || rows[2][4] != "Lleida" {
		t.Fatalf("csv rows = %v", rows)
	}
}
