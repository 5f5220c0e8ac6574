package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/store"
)

// withClients declares more services.
func withClients(cs ...oidc.ClientConfig) siteOption {
	return func(d *oidc.Deps) { d.Clients = append(d.Clients, cs...) }
}

// clientKey is a private_key_jwt service's key pair; its public half is
// served at a jwks_uri as the service would publish it.
type clientKey struct {
	key *ecdsa.PrivateKey
	kid string
	uri string
}

func newClientKey(t *testing.T) *clientKey {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ck := &clientKey{key: k, kid: "svc-2026"}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: ck.kid, Algorithm: "ES256", Use: "sig"}}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(ts.Close)
	ck.uri = ts.URL + "/jwks.json"
	return ck
}

// assertion is a client assertion as OIDC Core section 9 describes it.
func (k *clientKey) assertion(t *testing.T, clientID string, aud string, exp time.Duration, jti string) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(exp)), ID: jti}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func assertionOpts(a string) []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
		oauth2.SetAuthURLParam("client_assertion", a)}
}

func (s *site) deniedAudit(action string) int {
	n := 0
	_ = s.store.ScanAudit(context.Background(), 0, func(e store.AuditEvent) error {
		if e.Action == action && e.Outcome == "denied" {
			n++
		}
		return nil
	})
	return n
}

func TestPrivateKeyJWT(t *testing.T) {
	ck := newClientKey(t)
	s := newSite(t, withClients(
		oidc.ClientConfig{ID: "seu-electronica", AuthMethod: oidc.MethodPrivateKey, JWKSURI: ck.uri, RedirectURIs: []string{rpRedirect}},
		oidc.ClientConfig{ID: "only-post", AuthMethod: oidc.MethodSecretPost, Secret: rpSecret, RedirectURIs: []string{rpRedirect}},
	))
	r := newRP(t, s, "seu-electronica", "")
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	b := newBrowser(t)
	ctx := context.Background()

	signIn := func(r *rp) (string, start) {
		st := r.start()
		return code(t, b.authorize(s, st), st), st
	}
	exchange := func(r *rp, c string, st start, a string) error {
		_, err := r.conf.Exchange(ctx, c, append(assertionOpts(a), oauth2.VerifierOption(st.verifier))...)
		return err
	}

	// Discovery offers it.
	if !strings.Contains(asJSON(r.provider.Endpoint()), "token") {
		t.Fatal("no token endpoint")
	}
	var disc struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
		PAR     string   `json:"pushed_authorization_request_endpoint"`
	}
	_ = r.provider.Claims(&disc)
	if !strings.Contains(strings.Join(disc.Methods, " "), "private_key_jwt") || disc.PAR != s.url+"/oidc/par" {
		t.Fatalf("discovery: %+v", disc)
	}

	// Bad assertions fail with invalid_client, and do not burn the code.
	c, st := signIn(r)
	other := newClientKey(t) // same kid, another key
	for name, a := range map[string]string{
		"wrong key": other.assertion(t, "seu-electronica", s.url, time.Minute, random()),
		"wrong aud": ck.assertion(t, "seu-electronica", "https://elsewhere.example", time.Minute, random()),
		"expired":   ck.assertion(t, "seu-electronica", s.url, -time.Minute, random()),
		"too long":  ck.assertion(t, "seu-electronica", s.url, 3*time.Hour, random()),
		"no jti":    ck.assertion(t, "seu-electronica", s.url, time.Minute, ""),
		"other iss": ck.assertion(t, "ajuntament", s.url, time.Minute, random()),
		"not a JWT": "not-a-jwt",
	} {
		if err := exchange(r, c, st, a); !isOAuthError(err, "invalid_client") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A secret instead of the assertion is refused for this client.
	withSecret := r.conf
	withSecret.ClientSecret = rpSecret
	if _, err := withSecret.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); !isOAuthError(err, "invalid_client") {
		t.Errorf("a secret for a private_key_jwt client: %v", err)
	}
	good := ck.assertion(t, "seu-electronica", s.url, time.Minute, random())
	tok, err := r.conf.Exchange(ctx, c, append(assertionOpts(good), oauth2.VerifierOption(st.verifier))...)
	if err != nil {
		t.Fatalf("private_key_jwt: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := r.verifier.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	// The same assertion again (a replay) is refused.
	c, st = signIn(r)
	if err := exchange(r, c, st, good); !isOAuthError(err, "invalid_client") {
		t.Errorf("a replayed assertion: %v", err)
	}
	if err := exchange(r, c, st, ck.assertion(t, "seu-electronica", s.url, time.Minute, random())); err != nil {
		t.Errorf("a fresh assertion after a replay: %v", err)
	}
	if s.deniedAudit("oidc.token") < 8 {
		t.Errorf("refused client authentications audited: %d", s.deniedAudit("oidc.token"))
	}

	// A client registered for client_secret_post may not use basic.
	post := newRP(t, s, "only-post", rpSecret)
	post.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	c, st = signIn(post)
	if _, err := post.conf.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); !isOAuthError(err, "invalid_client") {
		t.Errorf("basic for a post client: %v", err)
	}
	post.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := post.conf.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); err != nil {
		t.Errorf("post for a post client: %v", err)
	}
}

// push sends an authorization request to the PAR endpoint.
func push(t *testing.T, s *site, clientID, secret string, authURL string) (int, map[string]any) {
	t.Helper()
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Del("client_id")
	req, _ := http.NewRequest("POST", s.url+"/oidc/par", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return res.StatusCode, out
}

func TestPushedAuthorizationRequests(t *testing.T) {
	clock := fakeclock.New(time.Now())
	s := newSite(t, withClock(clock, oidc.KeyOptions{}), withClients(
		oidc.ClientConfig{ID: "par-only", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, RequirePAR: true}))
	r := newRP(t, s, "par-only", rpSecret)
	b := newBrowser(t)
	ctx := context.Background()
	authz := r.provider.Endpoint().AuthURL

	// A client that must push is refused a plain request: an error page.
	st := r.start()
	if a := b.do("GET", st.url, nil); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("plain request from a PAR-only client: %d %v", a.status, a.location)
	}

	st = r.start(oauth2.SetAuthURLParam("acr_values", "http://eidas.europa.eu/LoA/low"))
	status, out := push(t, s, "par-only", rpSecret, st.url)
	ru, _ := out["request_uri"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(ru, "urn:ietf:params:oauth:request_uri:") || out["expires_in"] == nil {
		t.Fatalf("PAR: %d %v", status, out)
	}
	front := authz + "?" + url.Values{"client_id": {"par-only"}, "request_uri": {ru}}.Encode()
	c := code(t, b.authorize(s, start{url: front, state: st.state, nonce: st.nonce, verifier: st.verifier}), st)
	r.exchange(t, c, st)

	// The request_uri is single-use: an error page, no redirect.
	if a := b.do("GET", front, nil); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("request_uri used twice: %d %v", a.status, a.location)
	}
	// It expires.
	st = r.start()
	_, out = push(t, s, "par-only", rpSecret, st.url)
	clock.Add(2 * time.Minute)
	front = authz + "?" + url.Values{"client_id": {"par-only"}, "request_uri": {out["request_uri"].(string)}}.Encode()
	if a := b.do("GET", front, nil); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("expired request_uri: %d %v", a.status, a.location)
	}
	// Another client cannot use it.
	st = r.start()
	_, out = push(t, s, "par-only", rpSecret, st.url)
	front = authz + "?" + url.Values{"client_id": {"ajuntament"}, "request_uri": {out["request_uri"].(string)}}.Encode()
	if a := b.do("GET", front, nil); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("request_uri of another client: %d %v", a.status, a.location)
	}

	// Bad pushes.
	if status, out := push(t, s, "par-only", "wrong-secret-0123456789", r.start().url); status != http.StatusUnauthorized ||
		out["error"] != "invalid_client" {
		t.Errorf("PAR with a wrong secret: %d %v", status, out)
	}
	evil := strings.Replace(r.start().url, url.QueryEscape(rpRedirect), url.QueryEscape("https://evil.example/cb"), 1)
	if status, out := push(t, s, "par-only", rpSecret, evil); status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("PAR with an unregistered redirect URI: %d %v", status, out)
	}
	if s.deniedAudit("oidc.par") < 2 || s.deniedAudit("oidc.authorize") < 4 {
		t.Errorf("refusals audited: par %d authorize %d", s.deniedAudit("oidc.par"), s.deniedAudit("oidc.authorize"))
	}
	_ = ctx
}
