package oidc

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Paths. Everything the library serves sits under /oidc/ (plus discovery
// at the issuer root), so its own /healthz and /ready never shadow Clau's.
const (
	prefix       = "/oidc/"
	loginPath    = "/oidc/login"    // the clients' LoginURL: into Clau's sign-in pages
	continuePath = "/oidc/continue" // back from the sign-in pages
	bindCookie   = "clau_oidc_req_" // + the auth request's ID: one per request, so two tabs do not unbind each other

	secretPurpose = "oidc_client_secret"
	subPurpose    = "oidc_sub:"
)

// extraScopes are the scopes beyond openid, profile, email and phone that
// clients may ask for.
var extraScopes = []string{ScopeDocument}

// ScopeDocument grants the document_number claim (the DNI or NIE), only
// to clients whose scopes setting lists it.
const ScopeDocument = "document_number"

// Citizens is what the provider reads about a citizen the broker
// identified, to fill the claims.
type Citizens interface {
	CitizenByID(ctx context.Context, id string) (*identity.Citizen, error)
}

// Deps are what the provider needs.
type Deps struct {
	Issuer        string // config public_url
	Store         store.Store
	Broker        *broker.Broker
	Keyring       *secure.Keyring
	Clients       []ClientConfig
	Server        *httpserver.Server
	Renderer      *web.Renderer // the error pages; nil answers plain text
	SessionCookie string        // the SSO session cookie the sign-in pages set
	SecureCookies bool
	Log           *slog.Logger
	Now           func() time.Time
	// Keys schedule the signing keys (pre-publication, automatic
	// rotation, reload from the store).
	Keys KeyOptions
	// SignIn is the sign-in pages: the provider starts a broker
	// transaction for the client and hands it over (required to serve).
	SignIn broker.SignIn
	// Methods are the sign-in methods this deployment offers, each with
	// the highest level it reaches; nil means permanent (password + SMS,
	// substantial).
	Methods map[string]broker.LoA
}

// Provider is Clau's OpenID provider.
type Provider struct {
	Deps
	keysMu  sync.Mutex
	keys    *keys              // replaced, never changed, on reload
	clients map[string]*client // from config
	stored  storedClients      // from the store (clau sp), cached
	op      *op.Provider
	kick    chan struct{} // wakes RunLogouts
}

// New loads (or on the first start creates) the signing key and builds the
// provider. Client secrets are kept only as keyed hashes.
func New(ctx context.Context, d Deps) (*Provider, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	p := &Provider{Deps: d, clients: map[string]*client{}, kick: make(chan struct{}, 1)}
	for _, c := range d.Clients {
		if _, dup := p.clients[c.ID]; dup || c.ID == "" {
			return nil, fmt.Errorf("oidc: client %q declared twice or without id", c.ID)
		}
		cl, err := newClient(c)
		if err != nil {
			return nil, fmt.Errorf("oidc: client %q: %w", c.ID, err)
		}
		if c.Secret != "" {
			cl.secretHash = d.Keyring.Hash(secretPurpose, []byte(c.Secret))
		}
		p.clients[c.ID] = cl
	}
	if d.Renderer != nil {
		if err := d.Renderer.AddPages(templates, "templates/*.html"); err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
	}
	p.Keys = p.Keys.withDefaults()
	if p.Methods == nil {
		p.Methods = map[string]broker.LoA{broker.MethodPermanent: broker.Substantial}
	}
	k, err := loadOrCreateKeys(ctx, d.Store, d.Keyring, d.Now().UTC(), p.Keys)
	if err != nil {
		return nil, err
	}
	p.keys = k
	cfg := &op.Config{
		CryptoKey:               k.crypto,
		CryptoKeyId:             "c1",
		CodeMethodS256:          true,
		AuthMethodPost:          true,
		AuthMethodPrivateKeyJWT: true,
		RequestObjectSupported:  false,
		SupportedUILocales:      []language.Tag{language.Catalan, language.Spanish, language.English},
		SupportedClaims: append(slices.Clone(op.DefaultSupportedClaims), "first_surname", "second_surname",
			"birthdate", "given_name", "family_name", "email", "phone_number", "document_number", "sid"),
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone, ScopeDocument},
	}
	opts := []op.Option{op.WithCustomEndpoints(
		op.NewEndpoint(prefix+"authorize"), op.NewEndpoint(prefix+"token"), op.NewEndpoint(prefix+"userinfo"),
		op.NewEndpoint(prefix+"revoke"), op.NewEndpoint(prefix+"end_session"), op.NewEndpoint(prefix+"keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(prefix + "introspect")),
	}
	seal, err := newTokenSeal(k.crypto, cfg.CryptoKeyId)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	opts = append(opts, op.WithCrypto(seal))
	if strings.HasPrefix(d.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure()) // development on localhost
	}
	p.op, err = op.NewProvider(cfg, &storage{p}, op.StaticIssuer(d.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	if d.Broker != nil { // services registered in the store count too
		d.Broker.OnLogout(p.sessionEnded)
	}
	return p, nil
}

// Mount registers the provider's routes.
func (p *Provider) Mount() {
	s := p.Server
	s.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	s.Handle(prefix, p.op)
	s.HandleFunc("POST "+prefix+"token", p.guardClientAuth("oidc.token", p.op))
	s.HandleFunc("POST "+prefix+"introspect", p.guardClientAuth("oidc.introspect", p.op))
	s.HandleFunc("POST "+prefix+"revoke", p.guardClientAuth("oidc.revoke", p.op))
	s.HandleFunc("POST "+parPath, p.par)
	s.HandleFunc("GET "+prefix+"authorize", p.authorize)
	s.HandleFunc("POST "+prefix+"authorize", p.authorize)
	s.HandleFunc("GET "+loginPath, p.login)
	s.HandleFunc("GET "+continuePath, p.continueLogin)
	s.HandleFunc(prefix+"end_session", p.endSession)
}

func (p *Provider) now() time.Time { return p.Now().UTC() }

// currentKeys returns the key set, reread from the store once it is older
// than Keys.Reload, so a rotation by another process or by `clau keys
// oidc-rotate` reaches this one. If the store cannot be read, the keys
// already loaded go on serving (and the failure is logged).
func (p *Provider) currentKeys(ctx context.Context) *keys {
	p.keysMu.Lock()
	defer p.keysMu.Unlock()
	now := p.now()
	if now.Sub(p.keys.loadedAt) < p.Keys.Reload && !now.Before(p.keys.loadedAt) {
		return p.keys
	}
	k, err := loadOrCreateKeys(ctx, p.Store, p.Keyring, now, p.Keys)
	if err != nil {
		p.Log.Error("oidc: reloading keys", "error", err.Error())
		return p.keys
	}
	p.keys = k
	return k
}

func (p *Provider) client(ctx context.Context, id string) (*client, error) {
	if c, ok := p.lookup(ctx, id); ok {
		return c, nil
	}
	return nil, fmt.Errorf("client %w", errNotFound)
}

func (p *Provider) storage() *storage { return &storage{p} }

// login is where the library sends the browser with a new auth request:
// it ties the request to this browser, answers prompt=none from the SSO
// session alone, and otherwise hands over to the sign-in pages, which
// come back to continueLogin.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, f, err := p.storage().loadAuth(ctx, r.URL.Query().Get("id"))
	if err != nil || a.State != statePending || !p.now().Before(f.ExpiresAt) {
		p.refuse(w, r, "", "oidc.login", http.StatusBadRequest, "expired", errors.New("auth request unknown, used or expired"))
		return
	}
	if slices.Contains(a.Prompt, oidc.PromptNone) {
		se, err := p.session(r)
		if err != nil {
			p.internal(w, r, err)
			return
		}
		if se == nil || !broker.LoA(se.LoA).AtLeast(a.MinLoA) || a.forceLogin(se.AuthTime, p.now()) || !a.methodAllowed(se.AMR) {
			op.AuthRequestError(w, r, a, oidc.ErrLoginRequired(), p.op)
			return
		}
		p.complete(w, r, a, f, se)
		return
	}
	p.toSignIn(w, r, a, f, false)
}

// toSignIn starts a broker transaction for the client, with what the
// request needs, and hands it to the sign-in pages (which do SSO and
// step-up themselves); they come back to continueLogin.
func (p *Provider) toSignIn(w http.ResponseWriter, r *http.Request, a *authRequest, f *store.Flow, force bool) {
	ctx := r.Context()
	if a.Rounds >= 3 { // a sign-in that never reaches what the request needs
		op.AuthRequestError(w, r, a, oidc.ErrInteractionRequired().WithDescription("the sign-in did not reach the level asked"), p.op)
		return
	}
	if p.SignIn == nil {
		p.internal(w, r, errors.New("oidc: no sign-in pages (Deps.SignIn)"))
		return
	}
	if slices.Contains(a.Prompt, oidc.PromptLogin) || a.MaxAge != nil && *a.MaxAge == 0 {
		force = true
	} else if a.MaxAge != nil {
		if se, _ := p.session(r); se != nil && a.forceLogin(se.AuthTime, p.now()) {
			force = true
		}
	}
	name := ""
	if c, ok := p.lookup(ctx, a.ClientID); ok {
		name = c.name
	}
	hint := ""
	if d, err := identity.ParseDocument(a.LoginHint); err == nil {
		hint = d.Number
	}
	t := p.Broker.Prepare(broker.Request{SP: a.ClientID, SPName: broker.DisplayName(name, a.ClientID),
		MinLoA: a.MinLoA, Methods: a.Methods, ForceAuthn: force, LoginHint: hint, Lang: pageLanguage(a.UILocales),
		ContinueURL: continuePath + "?id=" + url.QueryEscape(a.ID)})
	a.Rounds++
	a.TxID = t.ID
	if err := p.storage().saveAuth(ctx, p.Store, a, f); err != nil {
		if errors.Is(err, store.ErrStale) {
			p.refuse(w, r, a.ClientID, "oidc.login", http.StatusConflict, "completed", errors.New("auth request changed meanwhile"))
			return
		}
		p.internal(w, r, err)
		return
	}
	// Only a request that goes through the sign-in pages needs tying to
	// this browser; complete unties it, so cookies do not pile up.
	http.SetCookie(w, &http.Cookie{Name: bindCookie + a.ID, Value: bindValue(p.Keyring, a.ID), Path: prefix, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(authRequestTTL.Seconds())})
	p.SignIn.Begin(w, r, t)
}

// continueLogin takes the outcome of the transaction toSignIn started
// (done, for this client, for the citizen of the browser's session),
// checks the session meets the request, and lets the library issue the
// code.
func (p *Provider) continueLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, f, err := p.storage().loadAuth(ctx, r.URL.Query().Get("id"))
	if err != nil || a.State != statePending || !p.now().Before(f.ExpiresAt) {
		p.refuse(w, r, "", "oidc.continue", http.StatusBadRequest, "expired", errors.New("auth request unknown, finished or expired"))
		return
	}
	if c, err := r.Cookie(bindCookie + a.ID); err != nil ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(bindValue(p.Keyring, a.ID))) != 1 {
		p.refuse(w, r, a.ClientID, "oidc.continue", http.StatusForbidden, "other_browser", errors.New("auth request bound to another browser"))
		return
	}
	se, err := p.session(r)
	if err != nil {
		p.internal(w, r, err)
		return
	}
	t, err := p.Broker.Outcome(ctx, a.TxID, a.ClientID)
	if err != nil {
		if _, ok := problem.As(err); !ok && !errors.Is(err, broker.ErrTxPending) {
			p.internal(w, r, err)
			return
		}
	}
	if t == nil || se == nil || se.Subject != t.CitizenID || !broker.LoA(se.LoA).AtLeast(a.MinLoA) ||
		!broker.AllowsAMR(a.Methods, se.AMR) {
		// Not this request's sign-in (never finished, another tab's, or
		// the session changed since): a new round.
		p.toSignIn(w, r, a, f, false)
		return
	}
	if a.forceLogin(se.AuthTime, p.now()) || !a.methodAllowed(se.AMR) {
		p.toSignIn(w, r, a, f, true)
		return
	}
	p.complete(w, r, a, f, se)
}

// complete records the outcome on the request and hands back to the
// library's callback, which issues the code.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, a *authRequest, f *store.Flow, se *broker.Session) {
	a.State, a.CitizenID, a.LoA, a.AMR, a.AuthTime = stateAuthenticated, se.Subject, broker.LoA(se.LoA), se.AMR, se.AuthTime
	a.Subject = p.subject(a.ClientID, se.Subject)
	sid, err := p.joinSession(w, r, se, a.ClientID, a.Subject)
	if err != nil {
		p.internal(w, r, err)
		return
	}
	a.SID = sid
	// The outcome and its audit event commit together.
	err = p.Store.InTx(r.Context(), func(tx store.Tx) error {
		if err := p.storage().saveAuth(r.Context(), tx, a, f); err != nil {
			return err
		}
		return audit.Append(r.Context(), tx, p.storage().event("oidc.authorize", a, "ok"))
	})
	if err != nil {
		if errors.Is(err, store.ErrStale) {
			p.refuse(w, r, a.ClientID, "oidc.continue", http.StatusConflict, "completed", errors.New("auth request already completed"))
			return
		}
		p.internal(w, r, err)
		return
	}
	if _, err := r.Cookie(bindCookie + a.ID); err == nil {
		http.SetCookie(w, &http.Cookie{Name: bindCookie + a.ID, Value: "", Path: prefix, MaxAge: -1, HttpOnly: true,
			Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, p.op.AuthorizationEndpoint().Relative()+"/callback?id="+url.QueryEscape(a.ID), http.StatusFound)
}

// endSession ends Clau's SSO session, then lets the library answer
// (id_token_hint checks, post_logout_redirect_uri).
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(p.SessionCookie); err == nil && c.Value != "" {
		if err := p.Broker.Logout(r.Context(), c.Value, broker.Meta{Source: httpserver.ClientIP(r.Context()),
			UserAgent: r.UserAgent()}); err != nil {
			p.internal(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: p.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
		p.kickLogouts()
	}
	p.op.ServeHTTP(w, r)
}

func (p *Provider) session(r *http.Request) (*broker.Session, error) {
	c, err := r.Cookie(p.SessionCookie)
	if err != nil {
		return nil, nil
	}
	return p.Broker.SessionFor(r.Context(), c.Value)
}

// subject is the citizen's sub for one client: a keyed hash, pairwise by
// default (per client, or per sector identifier) so services cannot link
// citizens, or public (one for all) when the client is set so.
func (p *Provider) subject(clientID, citizenID string) string {
	purpose := subPurpose + clientID
	if c, ok := p.lookup(context.Background(), clientID); ok && c.subPurpose != "" {
		purpose = c.subPurpose
	}
	h := p.Keyring.Hash(purpose, []byte(citizenID))
	_, mac, _ := strings.Cut(h, ".")
	return mac
}

func bindValue(kr *secure.Keyring, id string) string {
	_, mac, _ := strings.Cut(kr.Hash("oidc_bind", []byte(id)), ".")
	return mac
}

// errorPage shows a refusal in the reader's language (message
// oidc.error.<reason>), with the request ID as a reference; never a
// redirect, since the service's redirect URI is not trusted here.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, reason, detail string) {
	ref := httpserver.RequestID(r.Context())
	p.Log.Info("oidc: refused", "request_id", ref, "status", status, "reason", reason, "detail", detail)
	w.Header().Set("Cache-Control", "no-store")
	if p.Renderer == nil {
		http.Error(w, detail, status)
		return
	}
	p.Renderer.Render(w, r, status, "oidc_error.html", "oidc.error.title", struct{ Message, Reference string }{
		"oidc.error." + reason, ref})
}

func (p *Provider) internal(w http.ResponseWriter, r *http.Request, err error) {
	p.Log.Error("oidc", "request_id", httpserver.RequestID(r.Context()), "error", err.Error())
	p.Server.WriteError(w, r, err)
}

// claims fills u with what the scopes allow, for a citizen the broker
// identified.
func (p *Provider) claims(ctx context.Context, u *oidc.UserInfo, citizenID, sub string, scopes []string) error {
	u.Subject = sub
	var c *identity.Citizen
	need := slices.ContainsFunc(scopes, func(s string) bool {
		return s == oidc.ScopeProfile || s == oidc.ScopeEmail || s == oidc.ScopePhone || s == ScopeDocument
	})
	if need {
		var err error
		if c, err = p.Store.CitizenByID(ctx, citizenID); err != nil {
			return fmt.Errorf("claims: %w", err)
		}
	}
	for _, s := range scopes {
		switch s {
		case oidc.ScopeProfile:
			family := strings.TrimSpace(c.FirstSurname + " " + c.SecondSurname)
			u.GivenName, u.FamilyName = c.GivenName, family
			u.Name = strings.TrimSpace(c.GivenName + " " + family)
			if !c.BirthDate.IsZero() {
				u.Birthdate = c.BirthDate.String()
			}
			u.AppendClaims("first_surname", c.FirstSurname)
			if c.SecondSurname != "" {
				u.AppendClaims("second_surname", c.SecondSurname)
			}
		case oidc.ScopeEmail:
			if c.Email != "" {
				u.Email, u.EmailVerified = c.Email, true
			}
		case oidc.ScopePhone:
			if c.Mobile != "" {
				u.PhoneNumber, u.PhoneNumberVerified = c.Mobile, true
			}
		case ScopeDocument:
			u.AppendClaims("document_number", c.Document.Number)
		}
	}
	return nil
}

// pageLanguage is the first of the request's ui_locales the pages speak.
func pageLanguage(locales []string) string {
	for _, l := range locales {
		base, _, _ := strings.Cut(strings.ToLower(l), "-")
		if base == "ca" || base == "es" || base == "en" {
			return base
		}
	}
	return ""
}
