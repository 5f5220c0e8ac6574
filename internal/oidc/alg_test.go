package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/oidc"
)

// headerOf is a JWT's header: its algorithm and key.
func headerOf(t *testing.T, jwt string) (alg, kid string) {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Alg, Kid string }
	_ = json.Unmarshal(raw, &hdr)
	return hdr.Alg, hdr.Kid
}

// Clients get ES256 ID tokens unless registered for RS256; a relying
// party on go-oidc that accepts only its own algorithm verifies them
// against the JWKS, which publishes both kinds of key; discovery lists
// both; JWT access tokens follow the client's algorithm and userinfo
// accepts them.
func TestIDTokenAlgorithmPerClient(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()

	res, err := http.Get(s.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	_ = json.NewDecoder(res.Body).Decode(&disc)
	res.Body.Close()
	if !slices.Equal(disc.Algs, []string{"ES256", "RS256"}) {
		t.Fatalf("discovery id_token_signing_alg_values_supported = %v, want [ES256 RS256]", disc.Algs)
	}
	set := s.jwks()
	for _, tc := range []struct {
		client, alg string
		jwtAccess   bool
	}{
		{"ajuntament", "ES256", false},
		{"ajuntament-rs256", "RS256", false},
		{"ajuntament-jwt", "ES256", true},
		{"ajuntament-jwt-rs256", "RS256", true},
	} {
		t.Run(tc.client, func(t *testing.T) {
			r := newRP(t, s, tc.client, rpSecret)
			// The relying party accepts only the algorithm it registered.
			r.verifier = r.provider.Verifier(&gooidc.Config{ClientID: tc.client, SupportedSigningAlgs: []string{tc.alg}})
			raw, tok := idToken(t, s, r, newBrowser(t)) // verifies with r.verifier
			alg, kid := headerOf(t, raw)
			if alg != tc.alg || kid != kidFor(t, set, tc.alg) {
				t.Fatalf("ID token signed %s with %s, want %s with %s", alg, kid, tc.alg, kidFor(t, set, tc.alg))
			}
			other := "RS256"
			if tc.alg == "RS256" {
				other = "ES256"
			}
			strict := r.provider.Verifier(&gooidc.Config{ClientID: tc.client, SupportedSigningAlgs: []string{other}})
			if _, err := strict.Verify(ctx, raw); err == nil {
				t.Fatalf("a verifier accepting only %s took a %s token", other, tc.alg)
			}
			if tc.jwtAccess {
				if alg, _ := headerOf(t, tok.AccessToken); alg != tc.alg {
					t.Fatalf("JWT access token signed %s, want %s", alg, tc.alg)
				}
			}
			if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
				t.Fatalf("userinfo: %v", err)
			}
		})
	}
}

// A client may register only ES256 or RS256.
func TestIDTokenAlgorithmValidated(t *testing.T) {
	for alg, ok := range map[string]bool{"": true, "ES256": true, "RS256": true, "HS256": false, "none": false, "es256": false} {
		err := oidc.ValidateClient(oidc.ClientConfig{ID: "x", Public: true, RedirectURIs: []string{rpRedirect}, IDTokenAlg: alg})
		if (err == nil) != ok {
			t.Errorf("id_token_signed_response_alg %q: %v", alg, err)
		}
	}
}
