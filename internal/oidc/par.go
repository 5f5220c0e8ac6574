package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/store"
)

// Pushed authorization requests (RFC 9126): the service posts its
// authorization request to parPath, authenticated as at the token
// endpoint, and gets a request_uri to send the browser with. The request
// is a flow of kind parKind, single-use and short-lived:
//
//	pushed ──(authorize with its request_uri)──► used
const (
	parPath      = prefix + "par"
	parKind      = "oidc_par"
	parURIPrefix = "urn:ietf:params:oauth:request_uri:"
	parTTL       = 90 * time.Second
)

// parParams are the form fields that authenticate the client, which are
// not part of the authorization request kept.
var parAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

func (p *Provider) par(w http.ResponseWriter, r *http.Request) {
	const action = "oidc.par"
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.writeOAuthError(w, r, "", action, oidc.ErrInvalidRequest().WithDescription("cannot parse the form"))
		return
	}
	c, e := p.checkClientAuth(ctx, r)
	if e == nil {
		e = p.checkSecret(ctx, c, r)
	}
	if e != nil {
		id := r.PostForm.Get("client_id")
		if c != nil {
			id = c.id
		}
		p.writeOAuthError(w, r, id, action, e)
		return
	}
	f := r.PostForm
	switch {
	case f.Has("request_uri"):
		e = oidc.ErrInvalidRequest().WithDescription("request_uri is not allowed in a pushed request")
	case f.Get("client_id") != "" && f.Get("client_id") != c.id:
		e = oidc.ErrInvalidRequest().WithDescription("client_id differs from the authenticated client")
	case !slices.Contains(c.redirectURIs, f.Get("redirect_uri")):
		e = oidc.ErrInvalidRequest().WithDescription("redirect_uri is not registered for this client")
	case f.Get("response_type") != string(oidc.ResponseTypeCode):
		e = oidc.ErrInvalidRequest().WithDescription("response_type must be code")
	case f.Has("request"):
		e = oidc.ErrRequestNotSupported()
	}
	if e != nil {
		p.writeOAuthError(w, r, c.id, action, e)
		return
	}
	kept := url.Values{}
	for k, v := range f {
		if !slices.Contains(parAuthParams, k) {
			kept[k] = v
		}
	}
	kept.Set("client_id", c.id)
	data, _ := json.Marshal(kept)
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	if err := p.Store.CreateFlow(ctx, &store.Flow{ID: id, Kind: parKind, State: "pushed", Subject: "", Data: data,
		ExpiresAt: p.now().Add(parTTL)}); err != nil {
		p.internal(w, r, err)
		return
	}
	p.auditClient(r, c.id, action, "ok", nil)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"request_uri": parURIPrefix + id, "expires_in": int(parTTL.Seconds())})
}

// authorize runs before the library's authorization endpoint: it resolves
// a pushed request's request_uri (once), and refuses a client that must
// push its requests when it did not. Both refusals are error pages, never
// redirects: the redirect URI is not trusted yet.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.refuse(w, r, "", "oidc.authorize", http.StatusBadRequest, "bad_request", errors.New("cannot parse the request"))
		return
	}
	if reason, err := p.checkClientAndRedirect(r); err != nil {
		p.refuse(w, r, r.Form.Get("client_id"), "oidc.authorize", http.StatusBadRequest, reason, err)
		return
	}
	clientID, ru := r.Form.Get("client_id"), r.Form.Get("request_uri")
	c, _ := p.lookup(r.Context(), clientID)
	if ru == "" {
		if c != nil && c.requirePAR {
			p.refuse(w, r, clientID, "oidc.authorize", http.StatusBadRequest, "par_required",
				errors.New("this service must push its authorization requests (PAR)"))
			return
		}
		p.serveAuthorize(w, r)
		return
	}
	id, ok := strings.CutPrefix(ru, parURIPrefix)
	if !ok || c == nil {
		p.refuse(w, r, clientID, "oidc.authorize", http.StatusBadRequest, "request_uri",
			errors.New("request_uri is not one Clau issued, or the client is unknown"))
		return
	}
	ctx := r.Context()
	f, err := p.Store.FlowByID(ctx, parKind, id)
	var kept url.Values
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = errors.New("request_uri unknown")
	case err != nil:
		p.internal(w, r, err)
		return
	case f.State != "pushed":
		err = errors.New("request_uri already used")
	case !p.now().Before(f.ExpiresAt):
		err = errors.New("request_uri expired")
	case json.Unmarshal(f.Data, &kept) != nil || kept.Get("client_id") != clientID:
		err = errors.New("request_uri was pushed by another client")
	}
	if err == nil {
		f.State = "used"
		if uerr := p.Store.UpdateFlow(ctx, f); errors.Is(uerr, store.ErrStale) {
			err = errors.New("request_uri already used")
		} else if uerr != nil {
			p.internal(w, r, uerr)
			return
		}
	}
	if err != nil {
		p.refuse(w, r, clientID, "oidc.authorize", http.StatusBadRequest, "request_uri", err)
		return
	}
	r2 := r.Clone(ctx)
	r2.Method, r2.Body, r2.ContentLength = http.MethodGet, http.NoBody, 0
	r2.Header.Del("Content-Type")
	u := *r.URL
	u.RawQuery = kept.Encode()
	r2.URL, r2.Form, r2.PostForm = &u, nil, nil
	_ = r2.ParseForm()
	p.serveAuthorize(w, r2)
}

// serveAuthorize hands the request to the library with what Clau reads
// beyond it (the claims parameter) in its context.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	p.op.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), extrasKey{}, parseExtras(r))))
}

// discovery is the library's document plus what Clau adds (PAR).
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	var d map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &d) != nil {
		p.internal(w, r, errors.New("discovery document"))
		return
	}
	d["pushed_authorization_request_endpoint"] = p.Issuer + parPath
	d["require_pushed_authorization_requests"] = false
	d["request_uri_parameter_supported"] = true
	d["token_endpoint_auth_signing_alg_values_supported"] = assertionAlgs
	d["backchannel_logout_supported"] = true
	d["backchannel_logout_session_supported"] = true
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(d)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	_, _ = w.Write(buf.Bytes())
}

// refuse answers a browser request the provider will not serve with an
// error page, and audits it.
func (p *Provider) refuse(w http.ResponseWriter, r *http.Request, clientID, action string, status int, reason string, err error) {
	p.auditClient(r, clientID, action, "denied", map[string]string{"reason": reason, "detail": err.Error()})
	p.errorPage(w, r, status, reason, err.Error())
}

// checkClientAndRedirect refuses, before the library sees it, a request
// from an unknown client or with a redirect URI the client has not
// registered (matched exactly): both get an error page, never a redirect.
// A pushed request (request_uri) had its redirect URI checked at /oidc/par.
func (p *Provider) checkClientAndRedirect(r *http.Request) (string, error) {
	c, ok := p.lookup(r.Context(), r.Form.Get("client_id"))
	if !ok {
		return "unknown_client", errors.New("unknown client_id")
	}
	if r.Form.Get("request_uri") != "" {
		return "", nil
	}
	if ru := r.Form.Get("redirect_uri"); !slices.Contains(c.redirectURIs, ru) {
		return "redirect_uri", fmt.Errorf("redirect_uri %q not registered", ru)
	}
	return "", nil
}

func (p *Provider) auditClient(r *http.Request, clientID, action, outcome string, d map[string]string) {
	if clientID == "" {
		clientID = "unknown"
	}
	if err := audit.Append(r.Context(), p.Store, &audit.Event{At: p.now(), Actor: "client:" + clientID, Action: action,
		Subject: "client:" + clientID, Outcome: outcome, Source: httpserver.ClientIP(r.Context()), Details: d}); err != nil {
		p.Log.Error("oidc audit", "error", err.Error())
	}
}
