package account

import (
	"net/http"
	"strings"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/web"
)

// pinPage is the data of the PIN sign-in pages.
type pinPage struct {
	T      *broker.Transaction
	Mobile string
}

// loginPIN is /login/{id}/pin: the document data, then a PIN by SMS.
func (p *Pages) loginPIN(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateStarted)
	if !ok || !p.methodOffered(w, r, t, pin.Name) {
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, r, "login_pin.html", "pin.title", http.StatusOK, page{Form: web.NewForm(nil), Any: pinPage{T: t}})
		return
	}
	ctx := r.Context()
	f := web.NewForm(map[string]string{"document": r.PostFormValue("document"), "check": r.PostFormValue("check")})
	if _, err := p.PIN.Request(ctx, t, r.PostFormValue("document"), r.PostFormValue("check"),
		r.PostFormValue("personal_code"), httpserver.ClientIP(ctx)); err != nil {
		p.fail(w, r, "login_pin.html", "pin.title", f, err, page{Any: pinPage{T: t}})
		return
	}
	if err := p.Broker.Save(ctx, p.Store, t); err != nil {
		if isStale(err) {
			http.Redirect(w, r, "/login/"+t.ID+"/pin", http.StatusSeeOther)
			return
		}
		p.fail(w, r, "login_pin.html", "pin.title", f, err, page{Any: pinPage{T: t}})
		return
	}
	http.Redirect(w, r, "/login/"+t.ID+"/pin/code", http.StatusSeeOther)
}

// loginPINCode is /login/{id}/pin/code: the PIN sent by SMS.
func (p *Pages) loginPINCode(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateStarted)
	if !ok || !p.methodOffered(w, r, t, pin.Name) {
		return
	}
	ctx := r.Context()
	data := page{Any: pinPage{T: t, Mobile: p.pendingMobile(r, t)}}
	if r.Method == http.MethodGet {
		data.Form = web.NewForm(nil)
		p.render(w, r, "login_pin_code.html", "pin.code_title", http.StatusOK, data)
		return
	}
	if err := p.PIN.Check(ctx, t, r.PostFormValue("pin"), httpserver.ClientIP(ctx)); err != nil {
		p.fail(w, r, "login_pin_code.html", "pin.code_title", web.NewForm(nil), err, data)
		return
	}
	if t.State == broker.StateDone {
		p.finish(w, r, t)
		return
	}
	// A level the PIN does not reach is not offered, so this is a PIN set
	// above low by configuration for a service asking higher still.
	p.fail(w, r, "login_pin_code.html", "pin.code_title", web.NewForm(nil), ErrMethodNotOffered, data)
}

// pendingMobile is the masked mobile the pending PIN went to, for the page.
func (p *Pages) pendingMobile(r *http.Request, t *broker.Transaction) string {
	id, _, _ := strings.Cut(t.Pending, " ")
	if id == "" {
		return ""
	}
	c, err := p.Store.CitizenByID(r.Context(), id)
	if err != nil {
		return ""
	}
	return maskPhone(c.Mobile)
}

// mePIN is /me/pin: the citizen turns the PIN service on, renews it or
// turns it off. It needs a session at substantial: the PIN is a new way in.
func (p *Pages) mePIN(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	se, err := p.Broker.SessionFor(ctx, sessionToken(r))
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if se == nil || !broker.LoA(se.LoA).AtLeast(broker.Substantial) {
		http.Redirect(w, r, "/login?continue=/me/pin&loa=substantial", http.StatusSeeOther)
		return
	}
	c, err := p.Store.CitizenByID(ctx, se.Subject)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	show := func(f *web.Form, status int, err error) {
		st, serr := p.PIN.StatusOf(ctx, c.ID)
		if serr != nil {
			p.Server.WriteError(w, r, serr)
			return
		}
		data := page{Any: struct {
			Status   pin.Status
			Until    string
			NewUntil string
			Done     string
		}{st, st.ExpiresAt.In(madrid).Format("02/01/2006"),
			p.Broker.Now().Add(p.PIN.Validity()).In(madrid).Format("02/01/2006"), r.URL.Query().Get("done")}}
		if err != nil {
			p.fail(w, r, "me_pin.html", "me_pin.title", f, err, data)
			return
		}
		data.Form = f
		p.render(w, r, "me_pin.html", "me_pin.title", status, data)
	}
	if r.Method == http.MethodGet {
		show(web.NewForm(nil), http.StatusOK, nil)
		return
	}
	actor, src := "citizen:"+c.ID, httpserver.ClientIP(ctx)
	if r.PostFormValue("action") == "disable" {
		if err := p.PIN.Disable(ctx, c, actor, src); err != nil {
			show(web.NewForm(nil), 0, err)
			return
		}
		http.Redirect(w, r, "/me/pin?done=off", http.StatusSeeOther)
		return
	}
	if _, err := p.PIN.Enable(ctx, c, r.PostFormValue("personal_code"), actor, src); err != nil {
		show(web.NewForm(nil), 0, err)
		return
	}
	http.Redirect(w, r, "/me/pin?done=on", http.StatusSeeOther)
}
