package account

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/selfservice"
	"github.com/clau-eid/clau/internal/web"
)

// The citizen's own changes: email and mobile (each confirmed by a code
// sent to the new address), and the permanent password. Forms post to
// the same site only (the server's cross-origin protection); the rules
// and the single transaction of each change are selfservice's.

func (p *Pages) mountChanges() {
	s := p.Server
	for _, k := range []selfservice.Kind{selfservice.Email, selfservice.Mobile} {
		base := "/me/" + string(k)
		s.HandleFunc("GET "+base, p.changeStart(k))
		s.HandleFunc("POST "+base, p.changeStart(k))
		s.HandleFunc("GET "+base+"/{id}", p.changeCode(k))
		s.HandleFunc("POST "+base+"/{id}", p.changeCode(k))
		s.HandleFunc("POST "+base+"/{id}/resend", p.changeResend(k))
	}
	s.HandleFunc("GET /me/password", p.mePassword)
	s.HandleFunc("POST /me/password", p.mePassword)
}

// mobileStepUp is where a citizen signs in again with a method that does
// not rely on the phone, to come back to path.
func mobileStepUp(path string) string {
	return "/login?continue=" + url.QueryEscape(path) + "&methods=certificate,passkey&loa=substantial"
}

// changer returns the signed-in citizen and session allowed to change k:
// a session at substantial for the email (else a step-up), and for the
// mobile one that MobileChangeAllowed accepts (else the page that says
// how). It writes the answer itself when it returns false.
func (p *Pages) changer(w http.ResponseWriter, r *http.Request, k selfservice.Kind, back string) (*identity.Citizen, *broker.Session, bool) {
	ctx := r.Context()
	se, err := p.Broker.SessionFor(ctx, sessionToken(r))
	if err != nil {
		p.Server.WriteError(w, r, err)
		return nil, nil, false
	}
	if se == nil {
		to := "/login?continue=" + url.QueryEscape(back) + "&loa=substantial"
		if k == selfservice.Mobile {
			to = mobileStepUp(back)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil, nil, false
	}
	if k != selfservice.Mobile && !broker.LoA(se.LoA).AtLeast(broker.Substantial) {
		http.Redirect(w, r, "/login?continue="+url.QueryEscape(back)+"&loa=substantial", http.StatusSeeOther)
		return nil, nil, false
	}
	c, err := p.Store.CitizenByID(ctx, se.Subject)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return nil, nil, false
	}
	return c, se, true
}

func signIn(se *broker.Session) selfservice.SignIn {
	return selfservice.SignIn{LoA: broker.LoA(se.LoA), AMR: se.AMR}
}

// changePage is the data of the change pages.
type changePage struct {
	Kind    string // email or mobile
	Current string // the address now, masked
	Change  *selfservice.Change
	StepUp  string // the weak sign-in page's link
	Resent  bool
}

func (p *Pages) weakSignIn(w http.ResponseWriter, r *http.Request, status int, err error) {
	data := page{Any: changePage{Kind: "mobile", StepUp: mobileStepUp("/me/mobile")}}
	if err != nil {
		p.fail(w, r, "me_mobile_weak.html", "me_mobile.weak_title", web.NewForm(nil), err, data)
		return
	}
	data.Form = web.NewForm(nil)
	p.render(w, r, "me_mobile_weak.html", "me_mobile.weak_title", status, data)
}

// changeStart is /me/email and /me/mobile: the new address.
func (p *Pages) changeStart(k selfservice.Kind) http.HandlerFunc {
	name, title := "me_"+string(k)+".html", "me_"+string(k)+".title"
	return func(w http.ResponseWriter, r *http.Request) {
		c, se, ok := p.changer(w, r, k, "/me/"+string(k))
		if !ok {
			return
		}
		current := secureMask(k, c)
		if r.Method == http.MethodGet {
			if k == selfservice.Mobile && !selfservice.MobileChangeAllowed(signIn(se)) {
				p.weakSignIn(w, r, http.StatusOK, nil)
				return
			}
			p.render(w, r, name, title, http.StatusOK, page{Form: web.NewForm(nil), Any: changePage{Kind: string(k), Current: current}})
			return
		}
		ctx := r.Context()
		value := r.PostFormValue(string(k))
		ch, err := p.SelfService.Start(ctx, c, k, value, signIn(se), httpserver.ClientIP(ctx))
		if errors.Is(err, selfservice.ErrWeakSignIn) {
			p.weakSignIn(w, r, 0, err)
			return
		}
		if err != nil {
			p.fail(w, r, name, title, web.NewForm(map[string]string{string(k): value}), err,
				page{Any: changePage{Kind: string(k), Current: current}})
			return
		}
		http.Redirect(w, r, "/me/"+string(k)+"/"+ch.ID, http.StatusSeeOther)
	}
}

func secureMask(k selfservice.Kind, c *identity.Citizen) string {
	if k == selfservice.Email {
		return maskEmail(c.Email)
	}
	return maskPhone(c.Mobile)
}

// changeCode is /me/{email,mobile}/{id}: the code sent to the new address.
func (p *Pages) changeCode(k selfservice.Kind) http.HandlerFunc {
	title := "me_" + string(k) + ".code_title"
	return func(w http.ResponseWriter, r *http.Request) {
		back := "/me/" + string(k) + "/" + r.PathValue("id")
		c, se, ok := p.changer(w, r, k, back)
		if !ok {
			return
		}
		ctx := r.Context()
		ch, err := p.SelfService.Pending(ctx, c, k, r.PathValue("id"), httpserver.ClientIP(ctx))
		if err != nil {
			p.fail(w, r, "me_"+string(k)+".html", "me_"+string(k)+".title", web.NewForm(nil), err,
				page{Any: changePage{Kind: string(k), Current: secureMask(k, c)}})
			return
		}
		if ch.State == selfservice.StateDone {
			http.Redirect(w, r, "/me?done="+string(k), http.StatusSeeOther)
			return
		}
		data := page{Any: changePage{Kind: string(k), Change: ch, Resent: r.URL.Query().Get("resent") != ""}}
		if r.Method == http.MethodGet {
			data.Form = web.NewForm(nil)
			p.render(w, r, "me_change_code.html", title, http.StatusOK, data)
			return
		}
		_, err = p.SelfService.Confirm(ctx, c, k, ch.ID, r.PostFormValue("code"), signIn(se), p.lang(r), httpserver.ClientIP(ctx))
		if errors.Is(err, selfservice.ErrWeakSignIn) {
			p.weakSignIn(w, r, 0, err)
			return
		}
		if err != nil {
			p.fail(w, r, "me_change_code.html", title, web.NewForm(nil), err, data)
			return
		}
		http.Redirect(w, r, "/me?done="+string(k), http.StatusSeeOther)
	}
}

// changeResend is POST /me/{email,mobile}/{id}/resend.
func (p *Pages) changeResend(k selfservice.Kind) http.HandlerFunc {
	title := "me_" + string(k) + ".code_title"
	return func(w http.ResponseWriter, r *http.Request) {
		back := "/me/" + string(k) + "/" + r.PathValue("id")
		c, _, ok := p.changer(w, r, k, back)
		if !ok {
			return
		}
		ctx := r.Context()
		if err := p.SelfService.Resend(ctx, c, k, r.PathValue("id"), httpserver.ClientIP(ctx)); err != nil {
			ch, perr := p.SelfService.Pending(ctx, c, k, r.PathValue("id"), httpserver.ClientIP(ctx))
			if perr != nil {
				p.fail(w, r, "me_"+string(k)+".html", "me_"+string(k)+".title", web.NewForm(nil), perr,
					page{Any: changePage{Kind: string(k), Current: secureMask(k, c)}})
				return
			}
			p.fail(w, r, "me_change_code.html", title, web.NewForm(nil), err, page{Any: changePage{Kind: string(k), Change: ch}})
			return
		}
		http.Redirect(w, r, back+"?resent=1", http.StatusSeeOther)
	}
}

// passwordPage is the data of /me/password.
type passwordPage struct {
	Rules     map[string]any
	EndOthers bool
}

// mePassword is /me/password: the current password, the new one twice,
// and whether to sign out the citizen's other sessions (on by default).
func (p *Pages) mePassword(w http.ResponseWriter, r *http.Request) {
	const name, title = "me_password.html", "me_password.title"
	c, ok := p.substantialCitizen(w, r, "/me/password")
	if !ok {
		return
	}
	rules := p.SelfService.Policy().MessageArgs()
	if r.Method == http.MethodGet {
		p.render(w, r, name, title, http.StatusOK, page{Form: web.NewForm(nil), Any: passwordPage{Rules: rules, EndOthers: true}})
		return
	}
	ctx := r.Context()
	endOthers := r.PostFormValue("end_others") != ""
	keep := ""
	if se, err := p.Broker.SessionFor(ctx, sessionToken(r)); err == nil && se != nil {
		keep = se.ID
	}
	_, err := p.SelfService.ChangePassword(ctx, c, selfservice.PasswordChange{Current: r.PostFormValue("current_password"),
		New: r.PostFormValue("password"), Again: r.PostFormValue("password_again"), EndOthers: endOthers, Keep: keep,
		Lang: p.lang(r), Source: httpserver.ClientIP(ctx)})
	if err != nil {
		p.fail(w, r, name, title, web.NewForm(nil), err, page{Any: passwordPage{Rules: rules, EndOthers: endOthers}})
		return
	}
	http.Redirect(w, r, "/me?done=password", http.StatusSeeOther)
}
