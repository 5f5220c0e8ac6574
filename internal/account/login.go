package account

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// loginStart is the local front-end: Clau's own pages send the citizen to
// /login?continue=/me&loa=substantial to sign in for themselves (service
// broker.LocalSP). Query: continue (a path on this site; anything else
// goes to /me), loa, prompt=login, methods=a,b (the methods allowed),
// method=x (the one to open at once) and login_hint. The protocol
// front-ends never come here: they start a transaction for their own
// service and hand it to Begin, so nothing in this URL can speak for them.
func (p *Pages) loginStart(w http.ResponseWriter, r *http.Request) {
	loa, ok := broker.ParseLoA(r.URL.Query().Get("loa"))
	if !ok {
		loa = broker.Low
	}
	q := r.URL.Query()
	t := p.Broker.Prepare(broker.Request{SP: broker.LocalSP, MinLoA: loa, ForceAuthn: q.Get("prompt") == "login",
		ContinueURL: localURL(q.Get("continue")), Methods: methodsParam(q.Get("methods")), Preselect: q.Get("method"),
		LoginHint: loginHint(q.Get("login_hint"))})
	p.begin(w, r, t, false)
}

// Begin takes a transaction a protocol front-end started for its service
// (broker.SignIn): it completes it from the SSO session when that is
// enough, steps the session up when it is below the level asked, and
// otherwise sends the browser to the sign-in pages of the transaction.
func (p *Pages) Begin(w http.ResponseWriter, r *http.Request, t *broker.Transaction) {
	p.begin(w, r, t, true)
}

var _ broker.SignIn = (*Pages)(nil)

// begin is the one way into a sign-in, for both front-ends. SSO first;
// then the transaction is bound to this browser (a cookie scoped to
// /login/{id}); then step-up of a password session by SMS; then the
// first page: in this answer for the local front-end (the password form
// without a round trip), after a redirect for the others, whose own URL
// must not stand for the sign-in page (a reload or a language switch
// there would start over).
func (p *Pages) begin(w http.ResponseWriter, r *http.Request, t *broker.Transaction, redirect bool) {
	ctx := r.Context()
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
	if l := t.Request.Lang; l != "" && p.cat.Match(l, "") == l {
		// The language the service asked for, kept as ?lang= would keep
		// it, for every page of the sign-in.
		http.SetCookie(w, &http.Cookie{Name: httpserver.LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: p.SecureCookies})
	}
	if p.Methods.Offers(t, permanent.Name) && p.Broker.StepUpFrom(t, se, permanent.Name) {
		if err := p.toSMS(ctx, w, r, t, nil); err != nil {
			p.Server.WriteError(w, r, err)
		}
		return
	}
	if err := p.hold(ctx, w, t); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if redirect {
		next := "/login/" + t.ID
		if m := t.Request.Preselect; m != "" && p.Methods.Offers(t, m) {
			next += "/" + m
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.toMethod(w, r, t, true)
}

// toSMS moves the transaction to second_factor and sends the SMS code,
// in one store transaction; c is the citizen when already read (nil: read
// it here).
func (p *Pages) toSMS(ctx context.Context, w http.ResponseWriter, r *http.Request, t *broker.Transaction, c *identity.Citizen) error {
	if c == nil || c.ID != t.CitizenID {
		var err error
		if c, err = p.Store.CitizenByID(ctx, t.CitizenID); err != nil {
			return err
		}
	}
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		if err := p.Broker.Save(ctx, tx, t); err != nil {
			return err
		}
		err := p.Permanent.SendSMSCodeIn(ctx, tx, t, c, httpserver.ClientIP(ctx))
		if errors.Is(err, permanent.ErrResendTooSoon) {
			return nil // the code sent a moment ago stands
		}
		return err
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/login/"+t.ID+"/sms", http.StatusSeeOther)
	return nil
}

// finish completes a done transaction (with also's writes, in the same
// store transaction): a fresh session cookie, then on to where the
// service wanted the citizen.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request, t *broker.Transaction, also ...func(store.Tx) error) {
	se, err := p.Broker.Complete(r.Context(), t, sessionToken(r), p.meta(r), also...)
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
	held := Held(r)
	t, err := p.Broker.Resume(r.Context(), r.PathValue("id"), held)
	if errors.Is(err, broker.ErrTxUnknown) && held != "" {
		p.heldRefused(r)
	}
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
	// Identified now, or held while an expired (or expiring) password
	// waits for a new one (renew.go).
	if _, err := p.Permanent.HoldForRenewal(ctx, t, c); err != nil {
		p.loginError(w, r, "login_password.html", t, f, err)
		return
	}
	p.passwordChecked(w, r, t, f, c)
}

func (p *Pages) loginSMS(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateSecondFactor)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		p.showSMS(w, r, t, http.StatusOK, web.NewForm(nil), nil)
		return
	}
	// The code's check and the sign-in it allows commit once: the attempt,
	// the code used up, the session and the audit events. A wrong code
	// commits its attempt and its audit event, and nothing else.
	ctx := r.Context()
	var (
		se    *broker.Session
		wrong error
		done  *broker.Transaction
	)
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		se, wrong = nil, nil
		tt := *t // t as loaded, whatever a retried attempt did to its copy
		tt.AMR = slices.Clone(t.AMR)
		done = &tt
		err := p.Permanent.CheckSMSCodeIn(ctx, tx, done, r.PostFormValue("code"), httpserver.ClientIP(ctx))
		if _, ok := problem.As(err); ok && !errors.Is(err, broker.ErrTxStale) {
			wrong = err
			return nil
		} else if err != nil {
			return err
		}
		se, err = p.Broker.CompleteIn(ctx, tx, done, sessionToken(r), p.meta(r))
		return err
	})
	switch {
	case err != nil:
		p.loginError(w, r, "login_password.html", t, web.NewForm(nil), err)
	case wrong != nil:
		p.showSMS(w, r, t, 0, web.NewForm(nil), wrong)
	default:
		p.setSession(w, se.Token)
		http.Redirect(w, r, done.Request.ContinueURL, http.StatusSeeOther)
	}
}

// showSMS renders the SMS code page; with err, the form again with err's
// messages (its status from err).
func (p *Pages) showSMS(w http.ResponseWriter, r *http.Request, t *broker.Transaction, status int, f *web.Form, err error) {
	c, cerr := p.Store.CitizenByID(r.Context(), t.CitizenID)
	if cerr != nil {
		p.Server.WriteError(w, r, cerr)
		return
	}
	data := page{Form: f, Any: struct {
		T      *broker.Transaction
		Mobile string
	}{t, maskedMobile(c)}}
	if err != nil {
		p.fail(w, r, "login_sms.html", "login.sms_title", f, err, data)
		return
	}
	p.render(w, r, "login_sms.html", "login.sms_title", status, data)
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
