package desk

import (
	"net/http"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
)

var errAdminOnly = problem.New(http.StatusForbidden, "desk.api.admin_only")

// AdminAPI guards an endpoint of another package's admin API (for
// example the SAML service providers): it runs only for a desk API
// bearer token of an officer with the admin role, and gets the actor to
// audit as ("officer:<username>"). Browser cookies are never accepted.
func (d *Desk) AdminAPI(h func(w http.ResponseWriter, r *http.Request, actor string)) http.Handler {
	return d.requireToken(func(w http.ResponseWriter, r *http.Request, s *signedIn) {
		if s.Officer.Role != identity.RoleAdmin {
			d.d.Server.WriteError(w, r, errAdminOnly)
			return
		}
		h(w, r, "officer:"+s.Officer.Username)
	})
}
