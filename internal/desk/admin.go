package desk

import (
	"net/http"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
)

var errAdminOnly = problem.New(http.StatusForbidden, "desk.api.admin_only")

// AdminAPI guards an endpoint of another package's admin API (for
// example the SAML service providers): it runs only for a desk API
// bearer token of an officer with the admin role, and gets the actor to
// audit as ("officer:<username>"). Browser cookies are never accepted.
// Refusals are audited as admin.api_denied: a missing or bad token as
// actor "anonymous", a non-admin officer as that officer.
func (d *Desk) AdminAPI(h func(w http.ResponseWriter, r *http.Request, actor string)) http.Handler {
	inner := d.requireToken(func(w http.ResponseWriter, r *http.Request, s *signedIn) {
		if s.Officer.Role != identity.RoleAdmin {
			if err := d.adminDenied(r, "officer:"+s.Officer.Username, "not_admin"); err != nil {
				d.d.Server.WriteError(w, r, err)
				return
			}
			d.d.Server.WriteError(w, r, errAdminOnly)
			return
		}
		h(w, r, "officer:"+s.Officer.Username)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		inner.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			if err := d.adminDenied(r, "anonymous", "token"); err != nil {
				d.d.Log.Error("desk: auditing a refused admin call", "error", err.Error())
			}
		}
	})
}

func (d *Desk) adminDenied(r *http.Request, actor, reason string) error {
	return d.trail.Record(r.Context(), audit.Event{Actor: actor, Action: "admin.api_denied",
		Subject: "api:" + r.Method + " " + r.URL.Path, Source: httpserver.ClientIP(r.Context()), Outcome: audit.Denied,
		Details: map[string]string{"reason": reason}})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}
