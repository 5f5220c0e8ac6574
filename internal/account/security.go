package account

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// The citizen's security pages: sign-in history, sessions, renounce,
// password recovery and reset (this file), and the renewal of an expired
// password during sign-in (renew.go).
func (p *Pages) mountSecurity() {
	s := p.Server
	s.HandleFunc("GET /me/history", p.meHistory)
	s.HandleFunc("GET /me/sessions", p.meSessions)
	s.HandleFunc("POST /me/sessions/others/end", p.meSessionsEndOthers)
	s.HandleFunc("POST /me/sessions/{sid}/end", p.meSessionEnd)
	s.HandleFunc("GET /me/renounce", p.meRenounce)
	s.HandleFunc("POST /me/renounce", p.meRenounce)
	s.HandleFunc("GET /recover", p.recover)
	s.HandleFunc("GET /me/password/reset", p.mePasswordReset)
	s.HandleFunc("POST /me/password/reset", p.mePasswordReset)
	s.HandleFunc("GET /login/{id}/renew", p.loginRenew)
	s.HandleFunc("POST /login/{id}/renew", p.loginRenew)
}

// signedIn returns the browser's session and citizen, or sends the
// browser to sign in and come back (false).
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, back string) (*broker.Session, *identity.Citizen, bool) {
	ctx := r.Context()
	se, err := p.Broker.SessionFor(ctx, sessionToken(r))
	if err != nil {
		p.Server.WriteError(w, r, err)
		return nil, nil, false
	}
	if se == nil {
		http.Redirect(w, r, "/login?continue="+back, http.StatusSeeOther)
		return nil, nil, false
	}
	c, err := p.Store.CitizenByID(ctx, se.Subject)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return nil, nil, false
	}
	return se, c, true
}

// historyActions are the audit events a citizen's sign-in history shows:
// sign-ins and the refusals of sign-ins as this citizen.
var historyActions = []string{"login.ok", "login.fail", "login.lockout", "login.locked", "login.sms_fail", "login.cert.refused",
	"passkey.login_fail", "pin.fail", "pin.request_fail"}

const historyPage = 20

type historyRow struct {
	When, Service, Method, LoA, Source, Agent string
	OK                                        bool
	Outcome                                   string // message ID
}

func (p *Pages) meHistory(w http.ResponseWriter, r *http.Request) {
	_, c, ok := p.signedIn(w, r, "/me/history")
	if !ok {
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	events, err := p.Store.ListAudit(r.Context(), store.AuditFilter{Subject: "citizen:" + c.ID, Actions: historyActions,
		Before: max(before, 0), Limit: historyPage})
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	lang := p.lang(r)
	rows := make([]historyRow, 0, len(events))
	for _, e := range events {
		row := historyRow{When: e.At.In(madrid).Format("02/01/2006 15:04:05"), Source: e.Source,
			Agent: agentSummary(e.Details["ua"]), OK: e.Action == "login.ok", Outcome: "history.ok"}
		switch sp := e.Details["sp"]; {
		case e.Details["sp_name"] != "":
			row.Service = e.Details["sp_name"]
		case sp == "local":
			row.Service = p.cat.T(lang, "history.service_clau", nil)
		default:
			row.Service = sp
		}
		switch m := e.Details["method"]; {
		case m == "sso":
			row.Method = p.cat.T(lang, "history.method_sso", nil)
		case m != "":
			row.Method = p.cat.T(lang, "method."+m+".name", nil)
		case e.Action == "login.cert.refused":
			row.Method = p.cat.T(lang, "method.certificate.name", nil)
		case e.Action == "passkey.login_fail":
			row.Method = p.cat.T(lang, "method.passkey.name", nil)
		case e.Action == "pin.fail" || e.Action == "pin.request_fail":
			row.Method = p.cat.T(lang, "method.pin.name", nil)
		}
		if l := e.Details["loa"]; l != "" && row.OK {
			row.LoA = p.cat.T(lang, "loa."+l, nil)
		}
		if !row.OK {
			row.Outcome = "history.refused." + e.Action
		}
		rows = append(rows, row)
	}
	older := ""
	if len(events) == historyPage {
		older = "/me/history?before=" + strconv.FormatInt(events[len(events)-1].Seq, 10)
	}
	p.render(w, r, "me_history.html", "history.title", http.StatusOK, page{Any: struct {
		Rows         []historyRow
		Older, Newer bool
		OlderURL     string
	}{rows, older != "", before > 0, older}})
}

type sessionRow struct {
	ID, Started, LastSeen, Source, Agent, LoA string
	Methods                                   []string
	Current                                   bool
}

func (p *Pages) meSessions(w http.ResponseWriter, r *http.Request) {
	se, c, ok := p.signedIn(w, r, "/me/sessions")
	if !ok {
		return
	}
	p.showSessions(w, r, se, c, http.StatusOK, nil)
}

func (p *Pages) showSessions(w http.ResponseWriter, r *http.Request, se *broker.Session, c *identity.Citizen, status int, err error) {
	list, lerr := p.Broker.CitizenSessions(r.Context(), c.ID)
	if lerr != nil {
		p.Server.WriteError(w, r, lerr)
		return
	}
	rows := make([]sessionRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, sessionRow{ID: s.ID, Started: s.CreatedAt.In(madrid).Format("02/01/2006 15:04"),
			LastSeen: s.LastSeenAt.In(madrid).Format("02/01/2006 15:04"), Source: s.Source,
			Agent: agentSummary(s.UserAgent), LoA: "loa." + s.LoA, Methods: amrNames(s.AMR), Current: s.ID == se.ID})
	}
	f := web.NewForm(nil)
	if err != nil {
		f.Fail(p.cat, p.lang(r), err)
	}
	p.render(w, r, "me_sessions.html", "sessions.title", status, page{Form: f, Any: struct {
		Rows  []sessionRow
		Ended string
	}{rows, r.URL.Query().Get("ended")}})
}

func (p *Pages) meSessionEnd(w http.ResponseWriter, r *http.Request) {
	se, c, ok := p.signedIn(w, r, "/me/sessions")
	if !ok {
		return
	}
	id := r.PathValue("sid")
	if err := p.Broker.EndCitizenSession(r.Context(), c.ID, id, p.meta(r)); err != nil {
		if errors.Is(err, broker.ErrSessionUnknown) {
			p.showSessions(w, r, se, c, http.StatusNotFound, err)
			return
		}
		p.Server.WriteError(w, r, err)
		return
	}
	if id == se.ID {
		p.clearSession(w)
		http.Redirect(w, r, "/?signed_out=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/me/sessions?ended=one", http.StatusSeeOther)
}

func (p *Pages) meSessionsEndOthers(w http.ResponseWriter, r *http.Request) {
	se, c, ok := p.signedIn(w, r, "/me/sessions")
	if !ok {
		return
	}
	list, err := p.Broker.CitizenSessions(r.Context(), c.ID)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	for _, s := range list {
		if s.ID == se.ID {
			continue
		}
		if err := p.Broker.EndCitizenSession(r.Context(), c.ID, s.ID, p.meta(r)); err != nil &&
			!errors.Is(err, broker.ErrSessionUnknown) { // ended meanwhile: fine
			p.Server.WriteError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/me/sessions?ended=others", http.StatusSeeOther)
}

func (p *Pages) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// meRenounce deregisters the signed-in citizen after they retype their
// document number or password.
func (p *Pages) meRenounce(w http.ResponseWriter, r *http.Request) {
	_, c, ok := p.signedIn(w, r, "/me/renounce")
	if !ok {
		return
	}
	data := page{Any: c}
	if r.Method == http.MethodGet {
		data.Form = web.NewForm(nil)
		p.render(w, r, "me_renounce.html", "renounce.title", http.StatusOK, data)
		return
	}
	if _, err := p.Registration.Renounce(r.Context(), c.ID, r.PostFormValue("confirm"), httpserver.ClientIP(r.Context())); err != nil {
		p.fail(w, r, "me_renounce.html", "renounce.title", web.NewForm(nil), err, data)
		return
	}
	p.clearSession(w)
	p.render(w, r, "me_renounced.html", "renounce.done_title", http.StatusOK, page{})
}

// recover explains the ways back in after a forgotten or locked password.
func (p *Pages) recover(w http.ResponseWriter, r *http.Request) {
	_, hasCert := p.Methods.Info(broker.MethodCertificate)
	p.render(w, r, "recover.html", "recover.title", http.StatusOK, page{Any: struct {
		Letter, Certificate bool
	}{p.Registration.LettersEnabled(), hasCert}})
}

// mePasswordReset sets a new password right away, but only in a session
// that a certificate signed in: it proves who the citizen is without the
// password they forgot.
func (p *Pages) mePasswordReset(w http.ResponseWriter, r *http.Request) {
	se, c, ok := p.signedIn(w, r, "/me/password/reset")
	if !ok {
		return
	}
	data := page{Any: p.Permanent.Policy().MessageArgs()}
	if broker.MethodOfAMR(se.AMR) != broker.MethodCertificate {
		p.audit(r, c, "password.reset", audit.Denied, map[string]string{"reason": "session not signed in by certificate"})
		p.render(w, r, "me_password_reset.html", "reset.title", http.StatusForbidden, page{Step: 0, Any: data.Any})
		return
	}
	data.Step = 1
	if r.Method == http.MethodGet {
		data.Form = web.NewForm(nil)
		if r.URL.Query().Get("done") == "1" {
			data.Step = 2
		}
		p.render(w, r, "me_password_reset.html", "reset.title", http.StatusOK, data)
		return
	}
	if err := p.Permanent.SetNewPassword(r.Context(), c, r.PostFormValue("password"), r.PostFormValue("password_again"),
		httpserver.ClientIP(r.Context()), "password.reset", "certificate"); err != nil {
		p.fail(w, r, "me_password_reset.html", "reset.title", web.NewForm(nil), err, data)
		return
	}
	http.Redirect(w, r, "/me/password/reset?done=1", http.StatusSeeOther)
}

// audit records a refusal the pages themselves decide.
func (p *Pages) audit(r *http.Request, c *identity.Citizen, action, outcome string, details map[string]string) {
	_ = audit.New(p.Store, p.Broker.Now).Record(r.Context(), audit.Event{Actor: "citizen:" + c.ID, Action: action,
		Subject: "citizen:" + c.ID, Source: httpserver.ClientIP(r.Context()), Outcome: outcome, Details: details})
}
