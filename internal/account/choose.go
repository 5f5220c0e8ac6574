package account

import (
	"net/http"
	"slices"
	"strings"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/web"
)

// LastMethodCookie remembers, on this browser, the method the citizen
// chose last; the chooser puts it first.
const LastMethodCookie = "clau_last_method"

// Errors of the chooser.
var (
	// ErrNoMethod: no method of this deployment both is allowed by the
	// service and reaches the level it asks for.
	ErrNoMethod = problem.New(http.StatusForbidden, "login.no_method")
	// ErrMethodNotOffered: a method page of a transaction whose service
	// does not allow that method, or that cannot reach its level.
	ErrMethodNotOffered = problem.New(http.StatusForbidden, "login.method_not_offered")
)

// DefaultMethods is the registry when Deps.Methods is nil: the permanent
// password (with the SMS code, it reaches substantial) and nothing else.
func DefaultMethods() *broker.Registry {
	return broker.NewRegistry(broker.MethodInfo{Name: permanent.Name, MaxLoA: permanent.WithSMSLoA, Enabled: true})
}

// choice is one method as the chooser shows it.
type choice struct {
	Name     string
	URL      string
	LastUsed bool
}

// choosePage is the chooser's data.
type choosePage struct {
	T       *broker.Transaction
	Choices []choice
}

// offered lists the transaction's methods, the one this browser used last
// first.
func (p *Pages) offered(r *http.Request, t *broker.Transaction) []choice {
	last := ""
	if c, err := r.Cookie(LastMethodCookie); err == nil {
		last = c.Value
	}
	var out []choice
	for _, m := range p.Methods.Offered(t) {
		c := choice{Name: m.Name, URL: "/login/" + t.ID + "/" + m.Name, LastUsed: m.Name == last}
		if c.LastUsed {
			out = slices.Insert(out, 0, c)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// toMethod shows the first page of a sign-in after SSO and step-up had
// their chance: the service's preselected method when it is offered, the
// only method when there is one, the chooser otherwise. The password form
// comes in this answer rather than after a redirect, which would cost the
// citizen a round trip.
func (p *Pages) toMethod(w http.ResponseWriter, r *http.Request, t *broker.Transaction, preselect bool) {
	cs := p.offered(r, t)
	name := ""
	switch {
	case len(cs) == 0:
		p.refuseMethod(w, r, t, "", ErrNoMethod)
		return
	case len(cs) == 1:
		name = cs[0].Name
	case preselect && t.Request.Preselect != "" && p.Methods.Offers(t, t.Request.Preselect):
		name = t.Request.Preselect
	default:
		p.render(w, r, "login_choose.html", "login.title", http.StatusOK, page{Any: choosePage{T: t, Choices: cs}})
		return
	}
	if name == permanent.Name {
		p.rememberMethod(w, name)
		p.render(w, r, "login_password.html", "login.title", http.StatusOK, page{Form: hintedForm(t), Any: t})
		return
	}
	http.Redirect(w, r, "/login/"+t.ID+"/"+name, http.StatusSeeOther)
}

// loginChoose is GET /login/{id}: the chooser (or the only method).
func (p *Pages) loginChoose(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateStarted)
	if !ok {
		return
	}
	p.toMethod(w, r, t, false)
}

// methodOffered guards every method page: a service that does not allow a
// method, or a level the method cannot reach, is refused and audited
// (someone typed the URL, or the page is stale).
func (p *Pages) methodOffered(w http.ResponseWriter, r *http.Request, t *broker.Transaction, name string) bool {
	if p.Methods.Offers(t, name) {
		if r.Method == http.MethodGet {
			p.rememberMethod(w, name)
		}
		return true
	}
	p.refuseMethod(w, r, t, name, ErrMethodNotOffered)
	return false
}

func (p *Pages) refuseMethod(w http.ResponseWriter, r *http.Request, t *broker.Transaction, name string, err error) {
	ctx := r.Context()
	_ = audit.New(p.Store, p.Broker.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: "login.method_refused",
		Source: httpserver.ClientIP(ctx), Outcome: audit.Denied, Details: map[string]string{
			"tx": t.ID, "sp": t.Request.SP, "method": name, "min_loa": string(t.Request.MinLoA),
			"allowed": strings.Join(t.Request.Methods, ",")}})
	p.fail(w, r, "login_choose.html", "login.title", web.NewForm(nil), err, page{Any: choosePage{T: t}})
}

func (p *Pages) rememberMethod(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: LastMethodCookie, Value: name, Path: "/login", MaxAge: 400 * 24 * 3600,
		HttpOnly: true, Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// methodsParam reads the local front-end's ?methods=a,b (the methods the
// service allows). Unknown names stay: they match no method, so a service
// that allows only those gets "no method" rather than every method.
func methodsParam(v string) []string {
	var out []string
	for m := range strings.SplitSeq(v, ",") {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
