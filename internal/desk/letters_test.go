package desk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/store"
)

func (w *world) letterRequested(doc string) *identity.Citizen {
	w.t.Helper()
	d, err := identity.ParseDocument(doc)
	if err != nil {
		w.t.Fatal(err)
	}
	ref := &store.Reference{Document: d, DocValidity: identity.Date{Year: 2032, Month: 1, Day: 31}, GivenName: "Jordi",
		FirstSurname: "Roca", BirthDate: identity.Date{Year: 1985, Month: 5, Day: 17}, Nationality: "ES",
		AddressLine1: "Carrer Major 12", PostalCode: "17001", Municipality: "Girona", Province: "Girona"}
	if _, err := w.store.PutReference(w.ctx, ref); err != nil {
		w.t.Fatal(err)
	}
	if err := w.reg.RequestLetter(w.ctx, registration.LetterRequest{Document: doc, Check: "2032-01-31",
		Email: "jordi@example.org", Mobile: "655443322", Language: "es", Source: "192.0.2.1"}); err != nil {
		w.t.Fatal(err)
	}
	c, err := w.store.CitizenByDocument(w.ctx, d.Number)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func TestLettersPrintAndUpgrade(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	admin := w.officer(w.bcn, "admin1", identity.RoleAdmin, true)
	clerk := w.officer(w.gir, "clerk1", identity.RoleOfficer, true)
	c := w.letterRequested("23456789D")
	w.clock.Add(time.Minute)

	// Only the print role prints; a refusal is audited.
	if r := w.api(clerk, time.Hour).call("GET", "/api/desk/v1/letters", "", ""); r.status != 403 {
		t.Errorf("officer lists letters: %d %s", r.status, r.raw)
	}
	if p := w.signedIn(clerk, "ca").get("/desk/letters"); p.status != 403 {
		t.Errorf("officer opens the letters page: %d", p.status)
	}
	if !w.hasAudit("letter.print", "denied") {
		t.Errorf("refused print not audited")
	}

	// The page, then the API.
	page := w.signedIn(admin, "es").get("/desk/letters")
	if page.status != 200 || !strings.Contains(text(page.body), "Cartas pendientes de imprimir: 1.") {
		t.Fatalf("letters page: %d\n%s", page.status, text(page.body))
	}
	a := w.api(admin, time.Hour)
	r := a.call("GET", "/api/desk/v1/letters", "", "")
	until, _ := r.body["until"].(string)
	if r.status != 200 || r.body["queued"] != float64(1) || until == "" {
		t.Fatalf("letters: %d %s", r.status, r.raw)
	}
	pdf := a.call("GET", "/api/desk/v1/letters/batch.pdf?until="+until, "", "")
	if pdf.status != 200 || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.raw, "%PDF-") {
		t.Fatalf("batch: %d %s %.20q", pdf.status, pdf.header.Get("Content-Type"), pdf.raw)
	}
	if r := a.call("GET", "/api/desk/v1/letters/batch.pdf?until=yesterday", "", ""); r.status != 400 {
		t.Errorf("bad until: %d", r.status)
	}
	if r := a.json("POST", "/api/desk/v1/letters/sent", map[string]string{"until": until}); r.status != 200 || r.body["sent"] != float64(1) {
		t.Fatalf("sent: %d %s", r.status, r.raw)
	}
	if r := a.call("GET", "/api/desk/v1/letters/batch.pdf?until="+until, "", ""); r.status != 204 {
		t.Errorf("batch after sent: %d, want 204 (codes erased)", r.status)
	}
	if !w.hasAudit("letter.print", "ok") || !w.hasAudit("letter.sent", "ok") {
		t.Errorf("print and sent not audited: %v", w.auditActions())
	}

	// Upgrade at an office after the in-person check.
	if r := a.json("POST", "/api/desk/v1/citizens/"+c.ID+"/upgrade", map[string]any{"version": c.Version}); r.status != 422 {
		t.Errorf("upgrade without the check: %d %s", r.status, r.raw)
	}
	r = a.json("POST", "/api/desk/v1/citizens/"+c.ID+"/upgrade", map[string]any{"version": c.Version,
		"document_shown": "dni", "document_checked": true})
	if r.status != 200 || r.body["level"] != "advanced" || r.body["office"] != "BCN-01" {
		t.Fatalf("upgrade: %d %s", r.status, r.raw)
	}
	if r := a.json("POST", "/api/desk/v1/citizens/"+c.ID+"/upgrade", map[string]any{"version": r.body["version"],
		"document_shown": "dni", "document_checked": true}); r.status != 409 {
		t.Errorf("second upgrade: %d %s", r.status, r.raw)
	}
	if !w.hasAudit("citizen.upgrade", "ok") || !w.hasAudit("citizen.upgrade", "denied") {
		t.Errorf("upgrade not audited: %v", w.auditActions())
	}
}
