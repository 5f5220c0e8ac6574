package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/store"
)

// Client authentication methods (token_endpoint_auth_method values).
const (
	MethodSecretBasic = "client_secret_basic"
	MethodSecretPost  = "client_secret_post"
	MethodPrivateKey  = "private_key_jwt"
	MethodNone        = "none"

	jtiKind = "oidc_jti"
	// maxAssertionLife bounds how far ahead an assertion's exp may be, and
	// so how long its jti is remembered.
	maxAssertionLife = time.Hour
)

// assertionAlgs are the signature algorithms accepted on client assertions.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384,
	jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// authUsed says which client authentication a request used: exactly one
// of the methods, or an error if it mixes them (RFC 6749 section 2.3).
func authUsed(r *http.Request) (method, clientID string, err error) {
	var used []string
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil { // RFC 6749 section 2.3.1
			id = u
		}
		used, clientID = append(used, MethodSecretBasic), id
	}
	if r.PostForm.Get("client_assertion_type") != "" || r.PostForm.Get("client_assertion") != "" {
		used = append(used, MethodPrivateKey)
	}
	if r.PostForm.Get("client_secret") != "" {
		used = append(used, MethodSecretPost)
	}
	if len(used) > 1 {
		return "", "", errors.New("the request uses more than one client authentication method")
	}
	if clientID == "" {
		clientID = r.PostForm.Get("client_id")
	}
	if len(used) == 0 {
		return MethodNone, clientID, nil
	}
	return used[0], clientID, nil
}

// checkClientAuth runs before the library's token, introspection and
// revocation endpoints (and does all of PAR's client authentication): the
// method used must be one the client is registered for, and a
// private_key_jwt assertion is verified here in full, with its jti
// remembered so it is accepted once. Secrets are checked by the library
// (storage.AuthorizeClientIDSecret), or by checkSecret for PAR.
func (p *Provider) checkClientAuth(ctx context.Context, r *http.Request) (*client, *oidc.Error) {
	method, id, err := authUsed(r)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", err.Error())
	}
	if method == MethodPrivateKey {
		if r.PostForm.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion {
			return nil, oidc.ErrInvalidClient().WithDescription("client_assertion_type must be %s", oidc.ClientAssertionTypeJWTAssertion)
		}
		iss, err := unverifiedIssuer(r.PostForm.Get("client_assertion"))
		if err != nil {
			return nil, oidc.ErrInvalidClient().WithDescription("client_assertion is not a JWT")
		}
		if id != "" && id != iss {
			return nil, oidc.ErrInvalidClient().WithDescription("client_id and the assertion's issuer differ")
		}
		id = iss
	}
	c, ok := p.lookup(ctx, id)
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if !slices.Contains(c.authMethods, method) {
		return c, oidc.ErrInvalidClient().WithDescription("this client authenticates with %s", c.authMethods[0])
	}
	if method == MethodPrivateKey {
		if err := p.verifyAssertion(ctx, c, r.PostForm.Get("client_assertion")); err != nil {
			return c, oidc.ErrInvalidClient().WithDescription("client assertion refused: %s", err.Error())
		}
	}
	return c, nil
}

// checkSecret verifies a client secret for the endpoints the library does
// not serve (PAR).
func (p *Provider) checkSecret(ctx context.Context, c *client, r *http.Request) *oidc.Error {
	var secret string
	if _, s, ok := r.BasicAuth(); ok {
		secret = s
	} else {
		secret = r.PostForm.Get("client_secret")
	}
	switch {
	case c.authMethods[0] == MethodNone, slices.Contains(c.authMethods, MethodPrivateKey):
		return nil // public (PKCE does the rest) or already verified
	case (&storage{p}).AuthorizeClientIDSecret(ctx, c.id, secret) != nil:
		return oidc.ErrInvalidClient().WithDescription("invalid client credentials")
	}
	return nil
}

func unverifiedIssuer(assertion string) (string, error) {
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return "", err
	}
	var cl jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&cl); err != nil {
		return "", err
	}
	return cl.Issuer, nil
}

// verifyAssertion checks a private_key_jwt client assertion (OIDC Core
// section 9, RFC 7523): signed by one of the client's keys, iss = sub =
// client ID, aud naming the issuer, not expired nor valid for longer than
// maxAssertionLife, and a jti not seen before (remembered in the store
// until the assertion expires, so every process refuses a replay).
func (p *Provider) verifyAssertion(ctx context.Context, c *client, assertion string) error {
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return errors.New("not a signed JWT")
	}
	key, err := c.keys.find(ctx, tok.Headers[0].KeyID, p.now())
	if err != nil {
		return err
	}
	var cl jwt.Claims
	if err := tok.Claims(key.Key, &cl); err != nil {
		return errors.New("bad signature")
	}
	now := p.now()
	switch {
	case cl.Issuer != c.id || cl.Subject != c.id:
		return errors.New("iss and sub must be the client_id")
	case !cl.Audience.Contains(p.Issuer):
		return fmt.Errorf("aud must include the issuer %s", p.Issuer)
	case cl.Expiry == nil:
		return errors.New("exp is required")
	case !now.Before(cl.Expiry.Time().Add(time.Second)):
		return errors.New("expired")
	case cl.Expiry.Time().After(now.Add(maxAssertionLife)):
		return fmt.Errorf("exp is more than %s ahead", maxAssertionLife)
	case cl.NotBefore != nil && now.Add(time.Second).Before(cl.NotBefore.Time()):
		return errors.New("not valid yet")
	case cl.ID == "":
		return errors.New("jti is required")
	}
	sum := sha256.Sum256([]byte(c.id + "\x00" + cl.ID))
	err = p.Store.CreateFlow(ctx, &store.Flow{ID: "jti-" + hex.EncodeToString(sum[:]), Kind: jtiKind, State: "seen",
		ExpiresAt: cl.Expiry.Time().Add(time.Minute)})
	if _, dup := store.IsDuplicate(err); dup {
		return errors.New("jti already used (replay)")
	}
	return err
}

// clientKeys are a private_key_jwt client's public keys: inline from
// config, or fetched from its jwks_uri and cached (refetched when an
// unknown kid shows up, at most every jwksMinRefetch).
type clientKeys struct {
	inline *jose.JSONWebKeySet
	uri    string
	http   *http.Client

	mu      sync.Mutex
	cached  *jose.JSONWebKeySet
	fetched time.Time
}

const (
	jwksCacheTTL   = 5 * time.Minute
	jwksMinRefetch = 30 * time.Second
)

// parseJWKS reads a JWK set and keeps only public signing keys.
func parseJWKS(raw []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var out jose.JSONWebKeySet
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("JWKS key %q is a private key: publish only public keys", k.KeyID)
		}
		if k.Use == "" || k.Use == "sig" {
			out.Keys = append(out.Keys, k)
		}
	}
	if len(out.Keys) == 0 {
		return nil, errors.New("JWKS has no signing key")
	}
	return &out, nil
}

func (k *clientKeys) find(ctx context.Context, kid string, now time.Time) (*jose.JSONWebKey, error) {
	if k == nil {
		return nil, errors.New("the client has no keys")
	}
	if k.inline != nil {
		return pick(k.inline, kid)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	stale := k.cached == nil || now.Sub(k.fetched) > jwksCacheTTL || now.Before(k.fetched)
	if !stale {
		if key, err := pick(k.cached, kid); err == nil || now.Sub(k.fetched) < jwksMinRefetch {
			return key, err
		}
	}
	set, err := k.fetch(ctx)
	if err != nil {
		if k.cached != nil {
			return pick(k.cached, kid)
		}
		return nil, err
	}
	k.cached, k.fetched = set, now
	return pick(set, kid)
}

func (k *clientKeys) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.uri, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the client's jwks_uri: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the client's jwks_uri answered %d", res.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, 256<<10))
	if err != nil {
		return nil, err
	}
	return parseJWKS(raw)
}

func pick(set *jose.JSONWebKeySet, kid string) (*jose.JSONWebKey, error) {
	if kid == "" {
		if len(set.Keys) == 1 {
			return &set.Keys[0], nil
		}
		return nil, errors.New("the assertion names no kid and the client has several keys")
	}
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid {
			return &set.Keys[i], nil
		}
	}
	return nil, fmt.Errorf("no client key with kid %q", kid)
}

// writeOAuthError answers an endpoint's error as JSON (RFC 6749 section
// 5.2) and audits it.
func (p *Provider) writeOAuthError(w http.ResponseWriter, r *http.Request, clientID, action string, e *oidc.Error) {
	status := http.StatusBadRequest
	if e.ErrorType == oidc.InvalidClient {
		status = http.StatusUnauthorized
		if _, _, ok := r.BasicAuth(); ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="clau"`)
		}
	}
	if err := audit.Append(r.Context(), p.Store, &audit.Event{At: p.now(), Actor: "client:" + clientID, Action: action,
		Subject: "client:" + clientID, Outcome: "denied", Details: map[string]string{"error": string(e.ErrorType),
			"reason": e.Description}}); err != nil {
		p.Log.Error("oidc audit", "error", err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": string(e.ErrorType), "error_description": e.Description})
}

// guardClientAuth wraps the library's endpoints that authenticate clients.
func (p *Provider) guardClientAuth(action string, next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			p.writeOAuthError(w, r, "", action, oidc.ErrInvalidRequest().WithDescription("cannot parse the form"))
			return
		}
		c, e := p.checkClientAuth(r.Context(), r)
		id := r.PostForm.Get("client_id")
		if c != nil {
			id = c.id
		}
		if e != nil {
			p.writeOAuthError(w, r, id, action, e)
			return
		}
		// The library's own refusals (a wrong PKCE verifier, an unknown or
		// expired code, …) are audited too, with the error it answered.
		rec := &errorRecorder{ResponseWriter: w}
		if c != nil {
			r = r.WithContext(context.WithValue(r.Context(), algKey{}, c.idTokenAlg))
		}
		next.ServeHTTP(rec, r)
		if rec.status >= 400 {
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			_ = json.Unmarshal(rec.body, &body)
			p.auditClient(r, id, action, "denied", map[string]string{"error": body.Error, "reason": body.Description,
				"status": fmt.Sprint(rec.status)})
		}
	}
}

// errorRecorder passes a response through, keeping its status and, for
// an error, the start of its body.
type errorRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (e *errorRecorder) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorRecorder) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	if e.status >= 400 && len(e.body) < 1024 {
		e.body = append(e.body, b[:min(len(b), 1024-len(e.body))]...)
	}
	return e.ResponseWriter.Write(b)
}
