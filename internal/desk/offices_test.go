package desk_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

func officeForm(code, postal string) url.Values {
	return url.Values{"code": {code}, "name": {"OAC Tarragona"}, "address": {"Rambla Nova 59"}, "postal_code": {postal},
		"municipality": {"Tarragona"}, "province": {"Tarragona"}, "phone": {"977 000 000"}, "email": {"oac.tarragona@example.org"},
		"opening_hours": {"Mon-Fri 09:00-14:00"}}
}

// statusForm finds the version in an office's deactivate/reactivate form.
func statusForm(t *testing.T, body string, o *identity.Office) string {
	t.Helper()
	m := regexp.MustCompile(`action="/desk/offices/` + o.ID + `/status"[^>]*>\s*<input type="hidden" name="version" value="(\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no status form for %s:\n%s", o.Code, body)
	}
	return m[1]
}

// auditEvent finds the first event with action and outcome.
func (w *world) auditEvent(action, outcome string) *store.AuditEvent {
	var found *store.AuditEvent
	_ = w.store.ScanAudit(w.ctx, 1, func(e store.AuditEvent) error {
		if found == nil && e.Action == action && e.Outcome == outcome {
			found = &e
		}
		return nil
	})
	return found
}

func TestAdminManagesOffices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.officer(w.bcn, "root", identity.RoleAdmin, true)
	jordi := w.officer(w.gir, "jpuig", identity.RoleOfficer, true)
	jb := w.signedIn(jordi, "en")
	b := w.signedIn(root, "ca") // the admin works in Catalan

	p := b.get("/desk/offices")
	if p.status != 200 || !strings.Contains(p.body, `<a href="/desk/offices">Oficines</a>`) ||
		!strings.Contains(p.body, ">BCN-01<") || !strings.Contains(p.body, ">GIR-01<") {
		t.Fatalf("offices page: %d\n%s", p.status, text(p.body))
	}
	// The admin's own office has no deactivate button.
	if strings.Contains(p.body, `action="/desk/offices/`+w.bcn.ID+`/status"`) {
		t.Fatal("the admin is offered to deactivate their own office")
	}

	// Add an office; it appears in the list.
	p = b.post("/desk/offices", officeForm(" tar-01 ", "43001"))
	if p.url != "/desk/offices" || p.status != 200 || !strings.Contains(text(p.body), "S'ha afegit l'oficina") ||
		!strings.Contains(p.body, ">TAR-01<") || !strings.Contains(p.body, "<td>Tarragona</td>") {
		t.Fatalf("add office: %d %s\n%s", p.status, p.url, text(p.body))
	}
	tar, err := w.store.OfficeByCode(w.ctx, "TAR-01")
	if err != nil || !tar.Active || tar.Phone == "" || tar.OpeningHours != "Mon-Fri 09:00-14:00" {
		t.Fatalf("stored office: %+v %v", tar, err)
	}
	if e := w.auditEvent("office.create", "ok"); e == nil || e.Actor != "officer:root" || e.Subject != "office:TAR-01" {
		t.Fatalf("office.create audited as %+v", e)
	}

	// A duplicate code: the error sits beside the code field, in Catalan,
	// and the summary is announced and links to it.
	p = b.post("/desk/offices", officeForm("TAR-01", "43001"))
	if p.status != http.StatusUnprocessableEntity ||
		!regexp.MustCompile(`id="f-code-error">.*Ja existeix una oficina amb aquest codi\.`).MatchString(p.body) ||
		!strings.Contains(p.body, `role="alert"`) || !strings.Contains(p.body, `href="#f-code"`) ||
		!strings.Contains(p.body, `aria-invalid="true"`) {
		t.Fatalf("duplicate code: %d\n%s", p.status, p.body)
	}

	// A bad postal code, with everything typed kept.
	p = b.post("/desk/offices", officeForm("REU-01", "4300"))
	if p.status != http.StatusUnprocessableEntity ||
		!regexp.MustCompile(`id="f-postal_code-error">.*codi postal espanyol de 5 xifres`).MatchString(p.body) ||
		!strings.Contains(p.body, `value="REU-01"`) || strings.Contains(p.body, `id="f-code-error"`) {
		t.Fatalf("bad postal code: %d\n%s", p.status, text(p.body))
	}
	if _, err := w.store.OfficeByCode(w.ctx, "REU-01"); err == nil {
		t.Fatal("an invalid office was stored")
	}

	// Deactivate Girona: Jordi's session ends and he cannot sign in.
	p = b.get("/desk/offices")
	stale := statusForm(t, p.body, w.gir)
	p = b.post("/desk/offices/"+w.gir.ID+"/status", url.Values{"version": {stale}, "status": {"inactive"}})
	if p.url != "/desk/offices" || !strings.Contains(text(p.body), "S'ha desactivat l'oficina") {
		t.Fatalf("deactivate: %d %s\n%s", p.status, p.url, text(p.body))
	}
	if p := jb.get("/desk"); p.url != "/desk/login" {
		t.Fatal("an inactive office's officer still has a session")
	}
	p = w.browser("en").post("/desk/login", url.Values{"username": {jordi.Username}, "password": {jordi.password}})
	if p.status != http.StatusForbidden || !strings.Contains(text(p.body), "Your office is not active") {
		t.Fatalf("sign-in at an inactive office: %d %s\n%s", p.status, p.url, text(p.body))
	}

	// The form read before the change is stale now.
	p = b.post("/desk/offices/"+w.gir.ID+"/status", url.Values{"version": {stale}, "status": {"active"}})
	if p.status != http.StatusConflict || !strings.Contains(text(p.body), "Una altra persona ha modificat aquest registre") {
		t.Fatalf("stale version: %d\n%s", p.status, text(p.body))
	}

	// Reactivate: Jordi signs in again (his old session stays revoked).
	p = b.get("/desk/offices")
	p = b.post("/desk/offices/"+w.gir.ID+"/status", url.Values{"version": {statusForm(t, p.body, w.gir)}, "status": {"active"}})
	if p.url != "/desk/offices" || !strings.Contains(text(p.body), "S'ha reactivat l'oficina") {
		t.Fatalf("reactivate: %d %s\n%s", p.status, p.url, text(p.body))
	}
	if p := jb.get("/desk"); p.url != "/desk/login" {
		t.Fatal("a revoked session came back with its office")
	}
	w.signedIn(jordi, "en")

	// A forged form cannot deactivate the admin's own office either.
	if p := b.post("/desk/offices/"+w.bcn.ID+"/status", url.Values{"version": {"1"}, "status": {"inactive"}}); p.status != http.StatusConflict {
		t.Fatalf("own office deactivated: %d", p.status)
	}
	if o, _ := w.store.OfficeByID(w.ctx, w.bcn.ID); !o.Active {
		t.Fatal("the admin's own office was deactivated")
	}
	for _, action := range []string{"office.deactivate", "office.activate"} {
		if e := w.auditEvent(action, "ok"); e == nil || e.Actor != "officer:root" || e.Subject != "office:GIR-01" || e.Office != "GIR-01" {
			t.Errorf("%s audited as %+v", action, e)
		}
	}
}

func TestOnlyAdminsManageOffices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, role := range []identity.Role{identity.RoleSupervisor, identity.RoleOfficer} {
		s := w.officer(w.bcn, "x"+string(role), role, true)
		b := w.signedIn(s, "es")
		if p := b.get("/desk"); strings.Contains(p.body, `href="/desk/offices"`) {
			t.Errorf("%s: the offices link is shown", role)
		}
		for _, p := range []page{
			b.get("/desk/offices"),
			b.post("/desk/offices", officeForm("TAR-01", "43001")),
			b.post("/desk/offices/"+w.gir.ID+"/status", url.Values{"version": {"1"}, "status": {"inactive"}}),
		} {
			if p.status != http.StatusForbidden || !strings.Contains(text(p.body), "Solo las personas administradoras gestionan las oficinas") {
				t.Errorf("%s: %d\n%s", role, p.status, text(p.body))
			}
		}
	}
	if _, err := w.store.OfficeByCode(w.ctx, "TAR-01"); err == nil {
		t.Error("a non-admin added an office")
	}
	if o, _ := w.store.OfficeByID(w.ctx, w.gir.ID); !o.Active || o.Version != 1 {
		t.Error("a non-admin deactivated an office")
	}
	all := strings.Join(w.auditActions(), " ")
	for _, want := range []string{"office.list:denied", "office.create:denied", "office.deactivate:denied"} {
		if strings.Count(all, want) != 2 {
			t.Errorf("%s audited %d times: %s", want, strings.Count(all, want), all)
		}
	}
	if e := w.auditEvent("office.deactivate", "denied"); e == nil || e.Actor != "officer:xsupervisor" || e.Subject != "office:"+w.gir.ID {
		t.Errorf("denial audited as %+v", e)
	}
}
