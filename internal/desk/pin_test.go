package desk_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/identity"
)

// An officer turns on a citizen's PIN service at the desk (page and API);
// an officer of another office is refused and audited, and the record is
// left as it was.
func TestDeskEnablesPIN(t *testing.T) {
	w := newWorld(t)
	marta := w.officer(w.bcn, "mgarcia", identity.RoleOfficer, true)
	other := w.officer(w.gir, "jpuig", identity.RoleOfficer, true)
	b := w.signedIn(marta, "ca")
	_, id := b.register(citizenForm("12345678Z", "612345678", "ca"))

	p := b.get("/desk/citizens/" + id)
	if !strings.Contains(text(p.body), "Servei PIN No actiu.") {
		t.Fatalf("record page:\n%s", text(p.body))
	}
	p = b.post("/desk/citizens/"+id+"/pin", nil)
	if p.status != http.StatusOK || !strings.Contains(text(p.body), "Fet: el servei PIN està actiu") ||
		!strings.Contains(text(p.body), "Actiu fins al 02/03/2027") {
		t.Fatalf("enable at the desk: %d\n%s", p.status, text(p.body))
	}
	msgs, _ := w.store.ListMessages(w.ctx, 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "servei PIN fins al 02/03/2027") || msgs[0].Recipient != "+34612345678" {
		t.Fatalf("SMS to the citizen: %+v", msgs)
	}
	if !w.hasAudit("pin.enable", "ok") {
		t.Fatalf("not audited: %v", w.auditActions())
	}

	// Another office: refused, audited, nothing changed.
	ob := w.signedIn(other, "es")
	p = ob.post("/desk/citizens/"+id+"/pin", nil)
	if p.status != http.StatusForbidden || !strings.Contains(text(p.body), "otra oficina") {
		t.Fatalf("another office: %d\n%s", p.status, text(p.body))
	}
	if !w.hasAudit("pin.enable", "denied") {
		t.Fatalf("refusal not audited: %v", w.auditActions())
	}
	before, _ := w.store.PINServiceOf(w.ctx, id)

	// The API renews it and answers the new expiry.
	w.clock.Add(24 * 3600 * 1e9)
	r := w.api(marta, 3600*1e9).json("POST", "/api/desk/v1/citizens/"+id+"/pin-service", map[string]any{})
	if r.status != http.StatusOK || r.body["enabled"] != true || !strings.HasPrefix(r.body["expires_at"].(string), "2027-03-03") {
		t.Fatalf("API: %d %s", r.status, r.raw)
	}
	after, _ := w.store.PINServiceOf(w.ctx, id)
	if !after.ExpiresAt.After(before.ExpiresAt) || !w.hasAudit("pin.renew", "ok") {
		t.Fatalf("renewal: %+v -> %+v", before, after)
	}
	if r := w.api(other, 3600*1e9).json("POST", "/api/desk/v1/citizens/"+id+"/pin-service", map[string]any{}); r.status != http.StatusForbidden {
		t.Fatalf("API from another office: %d %s", r.status, r.raw)
	}
}
