package offices

import (
	"context"
	"embed"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html templates/*.tmpl
var templates embed.FS

// Lister is what the directory reads.
type Lister interface {
	ListOffices(ctx context.Context, activeOnly bool) ([]identity.Office, error)
	OfficeByCode(ctx context.Context, code string) (*identity.Office, error)
}

// Directory serves the office pages and open data.
type Directory struct {
	store    Lister
	srv      *httpserver.Server
	renderer *web.Renderer
	// Booking, when set, lets citizens book appointments at offices.
	Booking *appointments.Service
}

// New parses the templates.
func New(s Lister, srv *httpserver.Server, r *web.Renderer) (*Directory, error) {
	if err := r.AddPages(templates, "templates/*.html", "templates/partials.tmpl"); err != nil {
		return nil, err
	}
	return &Directory{store: s, srv: srv, renderer: r}, nil
}

// Mount registers the routes.
func (d *Directory) Mount() {
	d.srv.HandleFunc("GET /offices", d.list)
	d.srv.HandleFunc("GET /offices/{code}", d.office)
	d.srv.HandleFunc("GET /offices.json", d.json)
	d.srv.HandleFunc("GET /offices.csv", d.csv)
	if d.Booking != nil {
		d.srv.HandleFunc("GET /offices/{code}/book", d.book)
		d.srv.HandleFunc("POST /offices/{code}/book", d.book)
		d.srv.HandleFunc("GET /appointments/cancel", d.cancel)
		d.srv.HandleFunc("POST /appointments/cancel", d.cancel)
		d.srv.HandleFunc("GET /appointments/change", d.change)
		d.srv.HandleFunc("POST /appointments/change", d.change)
		d.srv.HandleFunc("GET /appointments/calendar.ics", d.calendar)
		d.srv.HandleFunc("GET /offices/{code}/wait", d.wait)
		d.srv.HandleFunc("POST /offices/{code}/wait", d.wait)
	}
}

var errNoOffice = problem.New(http.StatusNotFound, "offices.not_found")

// Group is the offices of one province or island.
type Group struct {
	Province string
	Offices  []identity.Office
}

// fold lowers case and drops accents, so "Lleida" finds "LLEIDA" and
// "Málaga" finds "Malaga".
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

func (d *Directory) active(ctx context.Context) ([]identity.Office, error) {
	return d.store.ListOffices(ctx, true)
}

func (d *Directory) list(w http.ResponseWriter, r *http.Request) {
	all, err := d.active(r.Context())
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("municipality"))
	var shown []identity.Office
	for _, o := range all {
		if q == "" || strings.Contains(fold(o.Municipality), fold(q)) {
			shown = append(shown, o)
		}
	}
	byProvince := map[string][]identity.Office{}
	for _, o := range shown {
		byProvince[o.Province] = append(byProvince[o.Province], o)
	}
	var groups []Group
	for p, os := range byProvince {
		sort.Slice(os, func(i, j int) bool { return fold(os[i].Municipality+os[i].Name) < fold(os[j].Municipality+os[j].Name) })
		groups = append(groups, Group{Province: p, Offices: os})
	}
	sort.Slice(groups, func(i, j int) bool { return fold(groups[i].Province) < fold(groups[j].Province) })
	w.Header().Set("Cache-Control", "public, max-age=300")
	d.renderer.Render(w, r, http.StatusOK, "offices_list.html", "offices.title", struct {
		Query  string
		Groups []Group
		Count  int
	}{q, groups, len(shown)})
}

func (d *Directory) office(w http.ResponseWriter, r *http.Request) {
	o, err := d.store.OfficeByCode(r.Context(), strings.ToUpper(r.PathValue("code")))
	if err != nil || !o.Active {
		d.srv.WriteError(w, r, errNoOffice)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	d.renderer.Render(w, r, http.StatusOK, "offices_office.html", "offices.office_title", o)
}

// Record is one office as open data.
type Record struct {
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	Address       string    `json:"address"`
	PostalCode    string    `json:"postal_code"`
	Municipality  string    `json:"municipality"`
	Province      string    `json:"province"`
	Phone         string    `json:"phone,omitempty"`
	Email         string    `json:"email,omitempty"`
	OpeningHours  string    `json:"opening_hours,omitempty"`
	Services      string    `json:"services,omitempty"`
	Accessibility string    `json:"accessibility,omitempty"`
	Updated       time.Time `json:"updated"`
}

func record(o identity.Office) Record {
	return Record{o.Code, o.Name, o.Address, o.PostalCode, o.Municipality, o.Province, o.Phone, o.Email,
		o.OpeningHours, o.Services, o.Accessibility, o.UpdatedAt}
}

func (d *Directory) json(w http.ResponseWriter, r *http.Request) {
	all, err := d.active(r.Context())
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	out := make([]Record, 0, len(all))
	for _, o := range all {
		out = append(out, record(o))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*") // open data: any site may read it
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

var csvHeader = []string{"code", "name", "address", "postal_code", "municipality", "province", "phone", "email",
	"opening_hours", "services", "accessibility", "updated"}

func (d *Directory) csv(w http.ResponseWriter, r *http.Request) {
	all, err := d.active(r.Context())
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="offices.csv"`)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, o := range all {
		_ = cw.Write([]string{o.Code, o.Name, o.Address, o.PostalCode, o.Municipality, o.Province, o.Phone, o.Email,
			o.OpeningHours, o.Services, o.Accessibility, o.UpdatedAt.Format(time.RFC3339)})
	}
	cw.Flush()
}
