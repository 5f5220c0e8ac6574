package account

import (
	"net/http"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/web"
)

// passwordChecked goes on from a right password: to the renewal page
// when the password is expired or about to, else on as the method says.
func (p *Pages) passwordChecked(w http.ResponseWriter, r *http.Request, t *broker.Transaction, f *web.Form, c *identity.Citizen) {
	if _, _, waiting := permanent.Renewal(t); waiting {
		if err := p.Broker.Save(r.Context(), p.Store, t); err != nil {
			p.afterPasswordError(w, r, t, f, err)
			return
		}
		http.Redirect(w, r, "/login/"+t.ID+"/renew", http.StatusSeeOther)
		return
	}
	p.afterPassword(w, r, t, f, c)
}

// afterPassword completes t or asks for the SMS code, once the citizen
// is identified by password (c, when already read; nil otherwise).
func (p *Pages) afterPassword(w http.ResponseWriter, r *http.Request, t *broker.Transaction, f *web.Form, c *identity.Citizen) {
	if t.State == broker.StateDone {
		p.finish(w, r, t)
		return
	}
	if err := p.toSMS(r.Context(), w, r, t, c); err != nil {
		p.afterPasswordError(w, r, t, f, err)
	}
}

func (p *Pages) afterPasswordError(w http.ResponseWriter, r *http.Request, t *broker.Transaction, f *web.Form, err error) {
	if isStale(err) {
		http.Redirect(w, r, "/login/"+t.ID, http.StatusSeeOther)
		return
	}
	p.loginError(w, r, "login_password.html", t, f, err)
}

// loginRenew is /login/{id}/renew: the password was right but is expired
// (a new one is required) or about to expire (change it now, or go on).
func (p *Pages) loginRenew(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateStarted)
	if !ok {
		return
	}
	citizenID, expired, waiting := permanent.Renewal(t)
	if !waiting {
		http.Redirect(w, r, "/login/"+t.ID, http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	e, err := p.Permanent.ExpiryOf(ctx, citizenID)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	data := page{Any: struct {
		T       *broker.Transaction
		Expired bool
		Date    string
		Rules   map[string]any
	}{t, expired, e.ExpiresAt.In(madrid).Format("02/01/2006"), p.Permanent.Policy().MessageArgs()}}
	if r.Method == http.MethodGet {
		data.Form = web.NewForm(nil)
		p.render(w, r, "login_renew.html", "renew.title", http.StatusOK, data)
		return
	}
	if r.PostFormValue("action") == "keep" {
		err = p.Permanent.KeepPassword(t)
	} else {
		err = p.Permanent.Renew(ctx, t, r.PostFormValue("password"), r.PostFormValue("password_again"), httpserver.ClientIP(ctx))
	}
	if err != nil {
		p.fail(w, r, "login_renew.html", "renew.title", web.NewForm(nil), err, data)
		return
	}
	p.afterPassword(w, r, t, web.NewForm(nil), nil)
}
