package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/web"
)

// loginStart is the local front-end: it starts a transaction for Clau's
// own pages (?continue=/me&loa=substantial), completes it from the SSO
// session when that is enough, steps the session up when it is below the
// level asked, and otherwise shows the method chooser (or the only method).
// Query: continue, loa, prompt=login, methods=a,b (the service's allowed
// methods) and method=x (the one to open at once).
func (p *Pages) loginStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	loa, ok := broker.ParseLoA(r.URL.Query().Get("loa"))
	if !ok {
		loa = broker.Low
	}
	q := r.URL.Query()
	t, err := p.Broker.Start(ctx, broker.Request{SP: "local", MinLoA: loa, ForceAuthn: q.Get("prompt") == "login",
		ContinueURL: localURL(q.Get("continue")), Methods: methodsParam(q.Get("methods")), Preselect: q.Get("method"),
		LoginHint: loginHint(q.Get("login_hint"))})
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	se, err := p.Broker.SessionFor(ctx, sessionToken(r))
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if p.Broker.TrySSO(ctx, t, se) {
		p.finish(w, r, t)
		return
	}
	p.bind(w, "/login/"+t.ID)
	if p.Methods.Offers(t, permanent.Name) && p.Broker.StepUpFrom(t, se, permanent.Name) {
		if err := p.toSMS(ctx, w, r, t); err != nil {
			p.Server.WriteError(w, r, err)
		}
		return
	}
	p.toMethod(w, r, t, true)
}

// toSMS sends the SMS code and moves the transaction to its page.
func (p *Pages) toSMS(ctx context.Context, w http.ResponseWriter, r *http.Request, t *broker.Transaction) error {
	c, err := p.Store.CitizenByID(ctx, t.CitizenID)
	if err != nil {
		return err
	}
	if err := p.Broker.Save(ctx, p.Store, t); err != nil {
		return err
	}
	if err := p.Permanent.SendSMSCode(ctx, t, c, httpserver.ClientIP(ctx)); err != nil && !errors.Is(err, permanent.ErrResendTooSoon) {
		return err
	}
	http.Redirect(w, r, "/login/"+t.ID+"/sms", http.StatusSeeOther)
	return nil
}

// finish completes a done transaction: a fresh session cookie, then on to
// where the service wanted the citizen.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request, t *broker.Transaction) {
	se, err := p.Broker.Complete(r.Context(), t, sessionToken(r), p.meta(r))
	if err != nil {
		p.loginError(w, r, "login_password.html", t, web.NewForm(nil), err)
		return
	}
	p.setSession(w, se.Token)
	http.Redirect(w, r, t.Request.ContinueURL, http.StatusSeeOther)
}

// transaction loads the request's transaction bound to this browser, or
// shows why not.
func (p *Pages) transaction(w http.ResponseWriter, r *http.Request, want string) (*broker.Transaction, bool) {
	t, err := p.Broker.Load(r.Context(), r.PathValue("id"))
	if err == nil && !bound(r) {
		err = errNotThisBrowser
	}
	if err != nil {
		p.loginError(w, r, "login_password.html", nil, web.NewForm(nil), err)
		return nil, false
	}
	if t.State != want {
		next := map[string]string{broker.StateStarted: "", broker.StateSecondFactor: "/sms"}[t.State]
		http.Redirect(w, r, "/login/"+t.ID+next, http.StatusSeeOther)
		return nil, false
	}
	return t, true
}

func (p *Pages) loginError(w http.ResponseWriter, r *http.Request, name string, t *broker.Transaction, f *web.Form, err error) {
	title := "login.title"
	if name == "login_sms.html" {
		title = "login.sms_title"
	}
	p.fail(w, r, name, title, f, err, page{Any: t})
}

// loginPassword is the permanent password form, /login/{id}/permanent
// (and POST /login/{id}, where the form posted before the chooser existed).
func (p *Pages) loginPassword(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateStarted)
	if !ok || !p.methodOffered(w, r, t, permanent.Name) {
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, r, "login_password.html", "login.title", http.StatusOK, page{Form: hintedForm(t), Any: t})
		return
	}
	ctx := r.Context()
	f := web.NewForm(map[string]string{"document": r.PostFormValue("document")})
	c, err := p.Permanent.CheckPassword(ctx, r.PostFormValue("document"), r.PostFormValue("password"), httpserver.ClientIP(ctx))
	if err != nil {
		p.loginError(w, r, "login_password.html", t, f, err)
		return
	}
	t.Identified(c.ID, permanent.Name, permanent.PasswordLoA, []string{"pwd"}, p.Broker.Now().UTC())
	if t.State == broker.StateDone {
		p.finish(w, r, t)
		return
	}
	if err := p.toSMS(ctx, w, r, t); err != nil {
		if isStale(err) {
			http.Redirect(w, r, "/login/"+t.ID, http.StatusSeeOther)
			return
		}
		p.loginError(w, r, "login_password.html", t, f, err)
	}
}

func (p *Pages) loginSMS(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateSecondFactor)
	if !ok {
		return
	}
	ctx := r.Context()
	c, err := p.Store.CitizenByID(ctx, t.CitizenID)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	data := page{Any: struct {
		T      *broker.Transaction
		Mobile string
	}{t, maskedMobile(c)}}
	if r.Method == http.MethodGet {
		data.Form = web.NewForm(nil)
		p.render(w, r, "login_sms.html", "login.sms_title", http.StatusOK, data)
		return
	}
	if err := p.Permanent.CheckSMSCode(ctx, t, r.PostFormValue("code"), httpserver.ClientIP(ctx)); err != nil {
		p.fail(w, r, "login_sms.html", "login.sms_title", web.NewForm(nil), err, data)
		return
	}
	p.finish(w, r, t)
}

func (p *Pages) loginResend(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateSecondFactor)
	if !ok {
		return
	}
	ctx := r.Context()
	c, err := p.Store.CitizenByID(ctx, t.CitizenID)
	if err == nil {
		err = p.Permanent.SendSMSCode(ctx, t, c, httpserver.ClientIP(ctx))
	}
	if err != nil {
		p.fail(w, r, "login_sms.html", "login.sms_title", web.NewForm(nil), err, page{Any: struct {
			T      *broker.Transaction
			Mobile string
		}{t, maskedMobile(c)}})
		return
	}
	http.Redirect(w, r, "/login/"+t.ID+"/sms?resent=1", http.StatusSeeOther)
}

func maskedMobile(c *identity.Citizen) string {
	if c == nil {
		return ""
	}
	return maskPhone(c.Mobile)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if err := p.Broker.Logout(r.Context(), sessionToken(r), p.meta(r)); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/?signed_out=1", http.StatusSeeOther)
}

// amrNames turns RFC 8176 values into message IDs.
func amrNames(amr []string) []string {
	var out []string
	for _, a := range amr {
		switch a {
		case "pwd":
			out = append(out, "amr.pwd")
		case "sms":
			out = append(out, "amr.sms")
		case "otp":
			out = append(out, "amr.otp")
		case "hwk", "swk": // a passkey or a key on a card; swk: a software certificate
			out = append(out, "amr."+a)
		}
	}
	return out
}

// loginHint keeps a service's login_hint when it is a DNI/NIE, normalised.
func loginHint(s string) string {
	if d, err := identity.ParseDocument(s); err == nil {
		return d.Number
	}
	return ""
}

// hintedForm is an empty sign-in form, with the document the service
// hinted at already filled in.
func hintedForm(t *broker.Transaction) *web.Form {
	if t.Request.LoginHint == "" {
		return web.NewForm(nil)
	}
	return web.NewForm(map[string]string{"document": t.Request.LoginHint})
}
