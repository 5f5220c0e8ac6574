package certlogin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Flow kinds this package keeps in the store.
const (
	KindHandoff      = "cert_handoff"      // main site → listener
	KindReturn       = "cert_return"       // listener → main site
	KindRegistration = "cert_registration" // first sign-in registration
)

// TokenTTL is how long a handoff or return token lives.
const TokenTTL = 2 * time.Minute

// HandoffPath is the listener's entry.
const HandoffPath = "/certificate/handoff"

// Errors the citizen sees.
var (
	ErrHandoff         = problem.New(http.StatusBadRequest, "cert.handoff_invalid")
	ErrNotThisBrowser  = problem.New(http.StatusForbidden, "flow.other_browser")
	ErrMethodForbidden = problem.New(http.StatusForbidden, "cert.method_not_allowed")
	ErrRegistration    = problem.New(http.StatusNotFound, "cert.register_unknown")
	// ErrRegistrationNotOffered: a valid certificate of someone not
	// registered, at the sign-in of a service registration_services
	// does not list.
	ErrRegistrationNotOffered = problem.New(http.StatusForbidden, "cert.register_not_offered")
)

// Deps are what the handlers need.
type Deps struct {
	Store    store.Store
	Broker   *broker.Broker
	Method   *certificate.Method
	Codes    *secure.OneTimeCodes
	Notifier *notify.Notifier
	// Main is the main site and its renderer; Listener the certificate
	// listener's server and renderer.
	Main      *httpserver.Server
	MainR     *web.Renderer
	Listener  *httpserver.Server
	ListenerR *web.Renderer
	// MainURL and CertURL are the two public base URLs.
	MainURL, CertURL string
	// RegistrationServices may register citizens at their first
	// certificate sign-in: the services' IDs as their front-ends start
	// the transaction (OIDC client IDs, SAML SP entity IDs), "local" for
	// Clau's own pages, "*" for all.
	RegistrationServices []string
	SecureCookies        bool
	Log                  *slog.Logger
	Now                  func() time.Time
}

// Handlers serves both sides.
type Handlers struct {
	Deps
	cat *i18n.Catalog
}

// New parses the templates into both renderers.
func New(d Deps) (*Handlers, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if err := d.MainR.AddPages(templates, "templates/*.html"); err != nil {
		return nil, err
	}
	if err := d.ListenerR.AddPages(templates, "templates/cert_refused.html"); err != nil {
		return nil, err
	}
	return &Handlers{Deps: d, cat: d.Main.Catalog()}, nil
}

// Mount registers the routes on both servers.
func (h *Handlers) Mount() {
	h.Main.HandleFunc("GET /login/{id}/certificate", h.start)
	h.Main.HandleFunc("GET /login/{id}/certificate/done", h.done)
	h.Main.HandleFunc("GET /login/{id}/certificate/register/{rid}", h.register)
	h.Main.HandleFunc("POST /login/{id}/certificate/register/{rid}", h.register)
	h.Main.HandleFunc("GET /login/{id}/certificate/register/{rid}/confirm", h.confirm)
	h.Main.HandleFunc("POST /login/{id}/certificate/register/{rid}/confirm", h.confirm)
	h.Listener.HandleFunc("GET "+HandoffPath, h.handoff)
}

// start hands the transaction to the listener.
func (h *Handlers) start(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.Broker.Resume(ctx, r.PathValue("id"), account.Held(r))
	if err == nil && !account.Bound(r) {
		err = ErrNotThisBrowser
	}
	if err == nil && !t.Allows(certificate.Name) {
		err = ErrMethodForbidden
	}
	if err != nil {
		h.record(ctx, "login.cert.start", r.PathValue("id"), err)
		h.refusedFor(w, r, h.MainR, t, err, "/")
		return
	}
	// The listener finds the transaction by its ID alone, without the
	// browser's copy: store it with the handoff if it never was.
	version := t.Version
	var tok string
	err = h.Store.InTx(ctx, func(tx store.Tx) error {
		t.Version = version // a retried transaction saves from the same start
		if !t.Stored() {
			if err := h.Broker.Save(ctx, tx, t); err != nil {
				return err
			}
		}
		var err error
		tok, err = h.issue(ctx, tx, KindHandoff, t.ID, nil)
		return err
	})
	if err != nil {
		h.refused(w, r, h.MainR, err, "/login/"+t.ID)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.CertURL+HandoffPath+"?h="+url.QueryEscape(tok), http.StatusSeeOther)
}

// returnData is what the listener tells the main site.
type returnData struct {
	Register string `json:"register,omitempty"` // registration flow ID
}

// handoff is the listener's side: the TLS handshake asked for a
// certificate; validate it and identify the citizen.
func (h *Handlers) handoff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := h.take(ctx, KindHandoff, r.URL.Query().Get("h"))
	if err != nil {
		h.record(ctx, "login.cert.handoff", "", err)
		h.refused(w, r, h.ListenerR, err, h.MainURL+"/")
		return
	}
	t, err := h.Broker.Load(ctx, f.Subject)
	if err != nil {
		h.refused(w, r, h.ListenerR, err, h.MainURL+"/")
		return
	}
	back := h.MainURL + "/login/" + t.ID
	var presented []*x509.Certificate
	if r.TLS != nil {
		presented = r.TLS.PeerCertificates
	}
	source := httpserver.ClientIP(ctx)
	res, c, err := h.Method.Identify(ctx, presented, source)
	var ref *certificate.Refused
	if errors.As(err, &ref) && ref.Reason == certificate.ReasonNotRegistered && res != nil && h.mayRegister(t) {
		var tok string
		rid, err := h.openRegistration(ctx, t, res, source)
		if err == nil {
			tok, err = h.issue(ctx, h.Store, KindReturn, t.ID, returnData{Register: rid})
		}
		if err != nil {
			h.refused(w, r, h.ListenerR, err, back)
			return
		}
		h.redirectBack(w, r, t, tok)
		return
	}
	if errors.As(err, &ref) && ref.Reason == certificate.ReasonNotRegistered && len(h.RegistrationServices) > 0 {
		// Registration is offered, but not to this service: say so.
		h.record(ctx, "login.cert.register_refused", t.ID, ErrRegistrationNotOffered, "sp", t.Request.SP)
		err = ErrRegistrationNotOffered
	}
	if err != nil {
		h.refusedFor(w, r, h.ListenerR, t, err, back)
		return
	}
	switch {
	case t.State == broker.StateSecondFactor && t.CitizenID != c.ID:
		ref = certificate.Refuse(res.Cert, certificate.ReasonDocumentChange, "certificate of another citizen than the session's")
	case !res.Profile.LoA.AtLeast(t.Request.MinLoA):
		ref = certificate.Refuse(res.Cert, certificate.ReasonLevel, "profile "+res.Profile.Name+" gives "+
			string(res.Profile.LoA)+", the service asks "+string(t.Request.MinLoA))
	}
	if ref != nil {
		h.Method.Refuse(ctx, c.ID, ref, res, source)
		h.refusedFor(w, r, h.ListenerR, t, ref, back)
		return
	}
	t.Identified(c.ID, certificate.Name, res.Profile.LoA, res.AMR(), h.Now().UTC())
	version := t.Version
	var tok string
	err = h.Store.InTx(ctx, func(tx store.Tx) error {
		t.Version = version // a retried transaction saves from the same start
		if err := h.Broker.Save(ctx, tx, t); err != nil {
			return err
		}
		if err := h.upgrade(ctx, tx, c.ID, res, source); err != nil {
			return err
		}
		if err := h.Method.Accepted(ctx, tx, c.ID, res, source, "login.cert.ok"); err != nil {
			return err
		}
		var err error
		tok, err = h.issue(ctx, tx, KindReturn, t.ID, returnData{})
		return err
	})
	if err != nil {
		h.refused(w, r, h.ListenerR, err, back)
		return
	}
	h.redirectBack(w, r, t, tok)
}

// upgrade raises a basic (letter) registration to advanced: the
// certificate proved the identity as an office would.
func (h *Handlers) upgrade(ctx context.Context, tx store.Tx, id string, res *certificate.Result, source string) error {
	c, err := tx.CitizenByID(ctx, id)
	if err != nil || c.Level != identity.LevelBasic {
		return err
	}
	c.Level = identity.LevelAdvanced
	if err := tx.UpdateCitizen(ctx, c); err != nil {
		return err
	}
	return audit.Append(ctx, tx, &audit.Event{At: h.Now().UTC(), Actor: "citizen:" + id, Action: "citizen.upgrade",
		Subject: "citizen:" + id, Source: source, Details: map[string]string{"from": string(identity.LevelBasic),
			"to": string(identity.LevelAdvanced), "method": certificate.Name, "profile": res.Profile.Name,
			"serial": res.Serial, "issuer": res.Issuer}})
}

// redirectBack sends the browser to the main site with the return token.
func (h *Handlers) redirectBack(w http.ResponseWriter, r *http.Request, t *broker.Transaction, tok string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.MainURL+"/login/"+t.ID+"/certificate/done?r="+url.QueryEscape(tok), http.StatusSeeOther)
}

// done is the main site's side of the return: a fresh session for the
// browser that started the transaction.
func (h *Handlers) done(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	f, err := h.take(ctx, KindReturn, r.URL.Query().Get("r")) // spent whatever follows
	if err == nil && f.Subject != id {
		err = ErrHandoff
	}
	if err == nil && !account.Bound(r) {
		err = ErrNotThisBrowser
	}
	var d returnData
	if err == nil {
		err = json.Unmarshal(f.Data, &d)
	}
	if err != nil {
		h.record(ctx, "login.cert.return", id, err)
		h.refused(w, r, h.MainR, err, "/login/"+id)
		return
	}
	if d.Register != "" {
		http.Redirect(w, r, "/login/"+id+"/certificate/register/"+d.Register, http.StatusSeeOther)
		return
	}
	t, err := h.Broker.Load(ctx, id)
	if errors.Is(err, broker.ErrTxDone) && t.State == broker.StateDone && t.Method == certificate.Name {
		err = nil
	} else if err == nil {
		err = ErrHandoff
	}
	if err != nil {
		h.refused(w, r, h.MainR, err, "/login/"+id)
		return
	}
	h.complete(w, r, t)
}

func (h *Handlers) complete(w http.ResponseWriter, r *http.Request, t *broker.Transaction) {
	se, err := h.Broker.Complete(r.Context(), t, account.SessionToken(r),
		broker.Meta{Source: httpserver.ClientIP(r.Context()), UserAgent: r.UserAgent()})
	if err != nil {
		h.refused(w, r, h.MainR, err, "/login/"+t.ID)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: account.SessionCookie, Value: se.Token, Path: "/", HttpOnly: true,
		Secure: h.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, t.Request.ContinueURL, http.StatusSeeOther)
}

func (h *Handlers) mayRegister(t *broker.Transaction) bool {
	return slices.Contains(h.RegistrationServices, "*") || slices.Contains(h.RegistrationServices, t.Request.SP)
}

// tokenID is the flow ID of a token: only its hash is stored.
func tokenID(tok string) string {
	sum := sha256.Sum256([]byte("clau certificate handoff\x00" + tok))
	return "t" + hex.EncodeToString(sum[:])
}

// issue stores a one-time token for transaction txID.
func (h *Handlers) issue(ctx context.Context, fl store.Flows, kind, txID string, data any) (string, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	raw := []byte("{}")
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return "", err
		}
	}
	return tok, fl.CreateFlow(ctx, &store.Flow{ID: tokenID(tok), Kind: kind, State: "issued", Subject: txID,
		Data: raw, ExpiresAt: h.Now().Add(TokenTTL)})
}

// take spends a token: unknown, used, expired or lost to a concurrent
// use all give ErrHandoff.
func (h *Handlers) take(ctx context.Context, kind, tok string) (*store.Flow, error) {
	if tok == "" || len(tok) > 100 {
		return nil, ErrHandoff
	}
	f, err := h.Store.FlowByID(ctx, kind, tokenID(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrHandoff
	} else if err != nil {
		return nil, err
	}
	if f.State != "issued" || !h.Now().Before(f.ExpiresAt) {
		return nil, ErrHandoff
	}
	f.State = "used"
	if err := h.Store.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
		return nil, ErrHandoff
	} else if err != nil {
		return nil, err
	}
	return f, nil
}

// record audits a refused step that the method did not see; extra are
// more details, as key, value pairs.
func (h *Handlers) record(ctx context.Context, action, txID string, err error, extra ...string) {
	p, ok := problem.As(err)
	if !ok {
		return
	}
	d := map[string]string{"reason": p.MsgID, "tx": txID, "method": certificate.Name}
	for i := 0; i+1 < len(extra); i += 2 {
		d[extra[i]] = extra[i+1]
	}
	_ = audit.New(h.Store, h.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: action,
		Source: httpserver.ClientIP(ctx), Outcome: audit.Denied, Details: d})
}

// refusedData is the refusal page's.
type refusedData struct {
	Message string
	Back    string
	Service string // the service the sign-in is for; "" for Clau's own pages
}

// refused shows why, in the citizen's language, with the way back.
func (h *Handlers) refused(w http.ResponseWriter, r *http.Request, rd *web.Renderer, err error, back string) {
	h.refusedFor(w, r, rd, nil, err, back)
}

// refusedFor is refused for a sign-in whose transaction is known, so the
// page names the service it is for.
func (h *Handlers) refusedFor(w http.ResponseWriter, r *http.Request, rd *web.Renderer, t *broker.Transaction, err error, back string) {
	msg := "internal.error"
	if p, ok := problem.As(err); ok {
		msg = p.MsgID
	} else {
		h.Log.Error("certificate sign-in failed", "request_id", httpserver.RequestID(r.Context()), "error", err.Error())
	}
	problem.SetRetryAfter(w.Header(), err)
	w.Header().Set("Cache-Control", "no-store")
	rd.Render(w, r, problem.Status(err), "cert_refused.html", "cert.refused_title",
		refusedData{Message: h.cat.T(h.Main.Lang(r), msg, nil), Back: back, Service: serviceName(t)})
}

// serviceName is the name the pages show for t's service.
func serviceName(t *broker.Transaction) string {
	if t == nil {
		return ""
	}
	return t.Request.SPName
}
