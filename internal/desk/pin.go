package desk

import (
	"net/http"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/registration"
)

// pinState is the record page's line about the PIN service, translated.
func (d *Desk) pinState(r *http.Request, c *identity.Citizen) string {
	if d.d.PIN == nil {
		return ""
	}
	lang := d.lang(r)
	st, err := d.d.PIN.StatusOf(r.Context(), c.ID)
	if err != nil || !st.Enabled {
		return d.t(lang, "desk.pin.off", nil)
	}
	return d.t(lang, "desk.pin.on", map[string]any{"Until": d.date(st.ExpiresAt)})
}

// enablePIN turns on (or renews) a citizen's PIN service at the desk,
// keeping any personal code the citizen chose. Only the registering office
// (or an admin) may, as for every other change to the record.
func (d *Desk) enablePIN(r *http.Request, s *signedIn, id string) (*identity.Citizen, error) {
	ctx := r.Context()
	c, err := d.d.Registration.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.admin() && c.OfficeID != s.Office.ID {
		_ = d.trail.Record(ctx, audit.Event{Actor: "officer:" + s.Officer.Username, Action: "pin.enable",
			Subject: "citizen:" + c.ID, Office: s.Office.Code, Source: httpserver.ClientIP(ctx), Outcome: audit.Denied,
			Details: map[string]string{"reason": "another office's record"}})
		return nil, registration.ErrNotYourOffice
	}
	if c.Status == identity.StatusDeregistered {
		return nil, registration.ErrDeregistered
	}
	if _, err := d.d.PIN.EnableKeepingCode(ctx, c, "officer:"+s.Officer.Username, httpserver.ClientIP(ctx)); err != nil {
		return nil, err
	}
	return c, nil
}

func (d *Desk) pinSubmit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if _, err := d.enablePIN(r, s, r.PathValue("id")); err != nil {
		d.afterAction(w, r, s, err, citizenOpts{err: err})
		return
	}
	seeOther(w, r, "/desk/citizens/"+r.PathValue("id")+"?done=pin")
}

// apiPIN is POST /api/desk/v1/citizens/{id}/pin-service: the same as the
// page's button; answers the service's new expiry.
func (d *Desk) apiPIN(w http.ResponseWriter, r *http.Request, s *signedIn) {
	c, err := d.enablePIN(r, s, r.PathValue("id"))
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	st, err := d.d.PIN.StatusOf(r.Context(), c.ID)
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"citizen_id": c.ID, "enabled": st.Enabled,
		"expires_at": st.ExpiresAt, "personal_code": st.PersonalCode})
}
