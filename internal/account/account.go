package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/selfservice"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html templates/*.tmpl
var templates embed.FS

// SessionCookie holds the citizen's SSO session token.
const SessionCookie = "clau_session"

// Deps are what the pages need.
type Deps struct {
	Store         store.Store
	Broker        *broker.Broker
	Permanent     *permanent.Method
	Methods       *broker.Registry // the deployment's sign-in methods; nil: DefaultMethods()
	PIN           *pin.Method      // nil: no PIN pages
	Passkey       *passkey.Method  // nil: no passkey pages
	Registration  *registration.Service
	SelfService   *selfservice.Service // nil: no change of email, mobile or password
	Server        *httpserver.Server
	Renderer      *web.Renderer
	Policy        secure.PasswordPolicy
	Log           *slog.Logger
	SecureCookies bool // public URL is https
}

// Pages serves the citizen pages.
type Pages struct {
	Deps
	cat *i18n.Catalog
}

// New parses the templates.
func New(d Deps) (*Pages, error) {
	if err := d.Renderer.AddPages(templates, "templates/*.html", "templates/partials.tmpl", "templates/security.tmpl"); err != nil {
		return nil, err
	}
	if d.Methods == nil {
		d.Methods = DefaultMethods()
	}
	return &Pages{Deps: d, cat: d.Server.Catalog()}, nil
}

// Mount registers the routes.
func (p *Pages) Mount() {
	s := p.Server
	s.HandleFunc("GET /activate", p.activateStart)
	s.HandleFunc("POST /activate", p.activateStart)
	s.HandleFunc("GET /activate/{id}/sms", p.activateSMS)
	s.HandleFunc("POST /activate/{id}/sms", p.activateSMS)
	s.HandleFunc("POST /activate/{id}/sms/resend", p.activateResend)
	s.HandleFunc("GET /activate/{id}/password", p.activatePassword)
	s.HandleFunc("POST /activate/{id}/password", p.activatePassword)
	s.HandleFunc("GET /activate/{id}/done", p.activateDone)

	s.HandleFunc("GET /login", p.loginStart)
	s.HandleFunc("GET /login/{id}", p.loginChoose)
	s.HandleFunc("POST /login/{id}", p.loginPassword)
	s.HandleFunc("GET /login/{id}/permanent", p.loginPassword)
	s.HandleFunc("POST /login/{id}/permanent", p.loginPassword)
	s.HandleFunc("GET /login/{id}/sms", p.loginSMS)
	s.HandleFunc("POST /login/{id}/sms", p.loginSMS)
	s.HandleFunc("POST /login/{id}/sms/resend", p.loginResend)
	if p.PIN != nil {
		s.HandleFunc("GET /login/{id}/pin", p.loginPIN)
		s.HandleFunc("POST /login/{id}/pin", p.loginPIN)
		s.HandleFunc("GET /login/{id}/pin/code", p.loginPINCode)
		s.HandleFunc("POST /login/{id}/pin/code", p.loginPINCode)
		s.HandleFunc("GET /me/pin", p.mePIN)
		s.HandleFunc("POST /me/pin", p.mePIN)
	}
	if p.Passkey != nil {
		s.HandleFunc("GET /login/{id}/passkey", p.loginPasskey)
		s.HandleFunc("POST /login/{id}/passkey", p.loginPasskey)
		s.HandleFunc("GET /me/passkeys", p.mePasskeys)
		s.HandleFunc("POST /me/passkeys", p.mePasskeys)
		s.HandleFunc("POST /me/passkeys/{pk}/remove", p.mePasskeyRemove)
	}
	if p.SelfService != nil {
		p.mountChanges()
	}
	s.HandleFunc("GET /me", p.me)
	s.HandleFunc("POST /logout", p.logout)
	p.mountSecurity() // security.go
}

func (p *Pages) lang(r *http.Request) string { return p.Server.Lang(r) }

// page is the data every template gets.
type page struct {
	Form *web.Form
	Step int
	Any  any
}

// render shows a page; the status follows the error, if any.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, name, title string, status int, data page) {
	w.Header().Set("Cache-Control", "no-store")
	p.Renderer.Render(w, r, status, name, title, data)
}

// fail shows the form again with err's messages.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, name, title string, f *web.Form, err error, data page) {
	if _, ok := problem.As(err); !ok {
		p.Log.Error("page failed", "request_id", httpserver.RequestID(r.Context()), "page", name, "error", err.Error())
	}
	f.Fail(p.cat, p.lang(r), err)
	problem.SetRetryAfter(w.Header(), err)
	data.Form = f
	p.render(w, r, name, title, problem.Status(err), data)
}

// bind ties a multi-step flow to this browser: a random value in a cookie
// scoped to the flow's path, whose hash is checked on every step.
func (p *Pages) bind(w http.ResponseWriter, path string) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: "clau_flow", Value: v, Path: path, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 3600})
	http.SetCookie(w, &http.Cookie{Name: "clau_flow_check", Value: digest(v), Path: path, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 3600})
}

// heldCookie keeps a sign-in's transaction in the browser, sealed, until
// its first write stores it (broker.Hold); scoped like the binding.
const heldCookie = "clau_tx"

// hold gives the browser t to keep while t is not stored.
func (p *Pages) hold(ctx context.Context, w http.ResponseWriter, t *broker.Transaction) error {
	sealed, err := p.Broker.Hold(ctx, t)
	if err != nil || sealed == "" {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: heldCookie, Value: sealed, Path: "/login/" + t.ID, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(t.ExpiresAt.Sub(p.Broker.Now()).Seconds()) + 1})
	return nil
}

// heldRefused audits a sign-in page asked with a copy of its transaction
// that does not open for it (altered, another sign-in's, or sealed under a
// key since retired) while no transaction of that ID is stored.
func (p *Pages) heldRefused(r *http.Request) {
	ctx := r.Context()
	_ = audit.New(p.Store, p.Broker.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: "login.held_refused",
		Source: httpserver.ClientIP(ctx), Outcome: audit.Denied, Details: map[string]string{"tx": r.PathValue("id")}})
}

// Held is the browser's sealed copy of the transaction of the sign-in
// page r is for ("" when it has none), for broker.Resume; the pages of
// other sign-in methods under /login/{id}/ receive it too.
func Held(r *http.Request) string {
	if c, err := r.Cookie(heldCookie); err == nil {
		return c.Value
	}
	return ""
}

// bound reports whether r carries the binding set for its flow's path.
func bound(r *http.Request) bool {
	v, err1 := r.Cookie("clau_flow")
	c, err2 := r.Cookie("clau_flow_check")
	return err1 == nil && err2 == nil && subtle.ConstantTimeCompare([]byte(digest(v.Value)), []byte(c.Value)) == 1
}

// Bound is bound for the pages of other sign-in methods under
// /login/{id}/ (the binding cookie's path covers them).
func Bound(r *http.Request) bool { return bound(r) }

// SessionToken is the browser's SSO session token, "" without one.
func SessionToken(r *http.Request) string { return sessionToken(r) }

func digest(v string) string {
	sum := sha256.Sum256([]byte("clau flow binding\x00" + v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var errNotThisBrowser = problem.New(http.StatusForbidden, "flow.other_browser")

func (p *Pages) meta(r *http.Request) broker.Meta {
	return broker.Meta{Source: httpserver.ClientIP(r.Context()), UserAgent: r.UserAgent()}
}

func (p *Pages) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func sessionToken(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// localURL accepts only paths on this site, so "continue to" cannot send a
// citizen elsewhere (no open redirect).
func localURL(u string) string {
	if u == "" || !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.Contains(u, "\\") ||
		strings.ContainsAny(u, "\r\n") {
		return "/me"
	}
	return u
}

func isStale(err error) bool {
	return errors.Is(err, broker.ErrTxStale) || errors.Is(err, registration.ErrFlowStep)
}

var _ = time.Second
