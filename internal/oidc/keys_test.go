package oidc_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
)

func withClock(c *fakeclock.Clock, k oidc.KeyOptions) siteOption {
	return func(d *oidc.Deps) { d.Now, d.Keys = c.Now, k }
}

// jwks fetches the provider's published keys as a client would.
func (s *site) jwks() jose.JSONWebKeySet {
	s.t.Helper()
	res, err := http.Get(s.url + "/oidc/keys")
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		s.t.Fatal(err)
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// cachedVerifier verifies ID tokens with a JWKS fetched once and never
// refreshed: the strictest client cache.
func (s *site) cachedVerifier(set jose.JSONWebKeySet, clientID string) *gooidc.IDTokenVerifier {
	var pubs []crypto.PublicKey
	for _, k := range set.Keys {
		pubs = append(pubs, k.Key)
	}
	return gooidc.NewVerifier(s.url, &gooidc.StaticKeySet{PublicKeys: pubs}, &gooidc.Config{ClientID: clientID,
		SupportedSigningAlgs: []string{gooidc.ES256, gooidc.RS256}})
}

// kidFor is the ID of the set's only key for alg.
func kidFor(t *testing.T, set jose.JSONWebKeySet, alg string) string {
	t.Helper()
	var out []string
	for _, k := range set.Keys {
		if k.Algorithm == alg {
			out = append(out, k.KeyID)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s keys in the JWKS: %v", alg, out)
	}
	return out[0]
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		KID string `json:"kid"`
	}
	_ = json.Unmarshal(raw, &hdr)
	return hdr.KID
}

// idToken runs a sign-in (SSO after the first) and returns the raw ID token.
func idToken(t *testing.T, s *site, r *rp, b *browser) (string, *oauth2.Token) {
	t.Helper()
	st := r.start()
	tok, _, _ := r.exchange(t, code(t, b.authorize(s, st), st), st)
	raw, _ := tok.Extra("id_token").(string)
	return raw, tok
}

func TestKeyRotationWithCachedJWKS(t *testing.T) {
	clock := fakeclock.New(time.Now())
	ko := oidc.KeyOptions{Prepublish: time.Hour, Reload: time.Minute}
	s := newSite(t, withClock(clock, ko))
	r := newRP(t, s, "ajuntament", rpSecret)
	b := newBrowser(t)
	ctx := context.Background()

	set0 := s.jwks()
	if len(set0.Keys) != 2 {
		t.Fatalf("JWKS at the start: %v, want one ES256 and one RS256 key", kids(set0))
	}
	old := kidFor(t, set0, oidc.AlgES256) // the default client's tokens are ES256
	cached0 := s.cachedVerifier(set0, "ajuntament")
	raw, _ := idToken(t, s, r, b)
	if _, err := cached0.Verify(ctx, raw); err != nil || kidOf(t, raw) != old {
		t.Fatalf("before rotation: %v (kid %s)", err, kidOf(t, raw))
	}

	// Another process (here the CLI's function) rotates; a second
	// rotation while the new key waits is refused.
	rotated, err := oidc.RotateKeys(ctx, s.store, s.keyring, clock.Now(), ko, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 {
		t.Fatalf("rotation made %v, want a key of each kind", rotated)
	}
	k := rotated[slices.IndexFunc(rotated, func(k oidc.KeyInfo) bool { return k.Algorithm() == oidc.AlgES256 })]
	if _, err := oidc.RotateKeys(ctx, s.store, s.keyring, clock.Now(), ko, false); !oidc.IsRotationPending(err) {
		t.Fatalf("second rotation: %v", err)
	}
	// The serving process sees it once it reloads.
	clock.Add(ko.Reload + time.Second)
	set1 := s.jwks()
	if got := kids(set1); len(got) != 4 || !slices.Contains(got, k.ID) || !slices.Contains(got, old) {
		t.Fatalf("JWKS after rotation: %v", got)
	}
	cached1 := s.cachedVerifier(set1, "ajuntament")
	// Published, not yet signing.
	raw, _ = idToken(t, s, r, b)
	if kidOf(t, raw) != old {
		t.Fatalf("the new key signed before its time: %s", kidOf(t, raw))
	}
	if _, err := cached0.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}

	// It signs once the pre-publication is over; a client that cached the
	// JWKS after it was published verifies without refetching.
	clock.Add(ko.Prepublish)
	raw, _ = idToken(t, s, r, b)
	if kidOf(t, raw) != k.ID {
		t.Fatalf("after pre-publication the token is signed by %s, want %s", kidOf(t, raw), k.ID)
	}
	if _, err := cached1.Verify(ctx, raw); err != nil {
		t.Fatalf("a client that cached the JWKS with the new key: %v", err)
	}
	if _, err := cached0.Verify(ctx, raw); err == nil {
		t.Fatal("a JWKS without the new key verified its token")
	}
	// The go-oidc remote key set (refetching on an unknown kid) verifies too.
	if _, err := r.verifier.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	// The old key stays published until every token it signed has expired...
	if got := kids(s.jwks()); !slices.Contains(got, old) {
		t.Fatalf("the old key left too early: %v", got)
	}
	// ...and then goes.
	clock.Add(15 * time.Minute)
	if got := kids(s.jwks()); len(got) != 2 || !slices.Contains(got, rotated[0].ID) || !slices.Contains(got, rotated[1].ID) {
		t.Fatalf("JWKS once the old keys' tokens expired: %v, want %v", got, rotated)
	}
	infos, err := oidc.ListKeys(ctx, s.store)
	if err != nil || len(infos) != 2 {
		t.Fatalf("keys in the store: %v %v", infos, err)
	}
}

func TestAutomaticRotation(t *testing.T) {
	clock := fakeclock.New(time.Now())
	ko := oidc.KeyOptions{Prepublish: time.Hour, Reload: time.Minute, RotateAfter: 24 * time.Hour}
	s := newSite(t, withClock(clock, ko))
	old := kids(s.jwks())
	clock.Add(24*time.Hour + time.Minute)
	got := kids(s.jwks())
	if len(old) != 2 || len(got) != 4 || !slices.Equal(got[:2], old) {
		t.Fatalf("JWKS before %v and after the rotation age %v", old, got)
	}
	// One new key of each kind, however many reloads.
	clock.Add(2 * time.Minute)
	if got := kids(s.jwks()); len(got) != 4 {
		t.Fatalf("JWKS later: %v", got)
	}
}

func introspect(t *testing.T, s *site, clientID, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/oidc/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, rpSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("introspection: %d %s", res.StatusCode, body)
	}
	var v struct {
		Active bool `json:"active"`
	}
	_ = json.Unmarshal(body, &v)
	return v.Active
}

func TestRetiredKeyTokensRefused(t *testing.T) {
	clock := fakeclock.New(time.Now())
	ko := oidc.KeyOptions{Prepublish: time.Hour, Reload: time.Minute}
	s := newSite(t, withClock(clock, ko))
	r := newRP(t, s, "ajuntament-jwt", rpSecret)
	b := newBrowser(t)
	ctx := context.Background()

	_, tok := idToken(t, s, r, b)
	if strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("not a JWT access token: %q", tok.AccessToken)
	}
	clock.Add(ko.Reload + time.Second)
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo with a live JWT access token: %v", err)
	}
	if !introspect(t, s, "ajuntament-jwt", tok.AccessToken) {
		t.Fatal("a live token introspected inactive")
	}

	// A key believed compromised: the emergency rotation removes it now.
	if _, err := oidc.RotateKeys(ctx, s.store, s.keyring, clock.Now(), ko, true); err != nil {
		t.Fatal(err)
	}
	clock.Add(ko.Reload + time.Second)
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted a token signed by a retired key")
	}
	if introspect(t, s, "ajuntament-jwt", tok.AccessToken) {
		t.Fatal("introspection says a token signed by a retired key is active")
	}
	// New sign-ins go on with the new key.
	raw, _ := idToken(t, s, r, b)
	if got := kids(s.jwks()); len(got) != 2 || !slices.Contains(got, kidOf(t, raw)) {
		t.Fatalf("JWKS %v, token signed by %s", got, kidOf(t, raw))
	}
}
