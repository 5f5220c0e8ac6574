package oidc

import (
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/clau-eid/clau/internal/broker"
)

// ClientConfig declares a relying party (from config's oidc_clients).
type ClientConfig struct {
	ID           string
	Secret       string // plain; hashed by New and then dropped
	RedirectURIs []string
	MinLoA       broker.LoA // "" means low
	Methods      []string
	Public       bool
	// JWTAccessTokens issues access tokens as JWTs signed like ID tokens
	// (RFC 9068 style) instead of opaque ones.
	JWTAccessTokens bool
}

// client is a relying party as the provider sees it.
type client struct {
	id           string
	secretHash   string // keyring hash; "" for a public client
	redirectURIs []string
	minLoA       broker.LoA
	methods      []string
	public       bool
	jwtAccess    bool
	loginPath    string
}

var _ op.Client = (*client)(nil)

const (
	idTokenLifetime     = 10 * time.Minute
	accessTokenLifetime = 10 * time.Minute
)

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.redirectURIs }

// ApplicationType: a public client is "native", which lets it use loopback
// redirect URIs; every other client is a confidential web application.
func (c *client) ApplicationType() op.ApplicationType {
	if c.public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic // client_secret_post is accepted too (Config.AuthMethodPost)
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string    { return c.loginPath + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType {
	if c.jwtAccess {
		return op.AccessTokenTypeJWT
	}
	return op.AccessTokenTypeBearer
}
func (c *client) IDTokenLifetime() time.Duration { return idTokenLifetime }
func (c *client) DevMode() bool                  { return false }
func (c *client) ClockSkew() time.Duration       { return 0 }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed is asked for scopes beyond the standard ones: only the
// ones Clau knows.
func (c *client) IsScopeAllowed(scope string) bool { return slices.Contains(extraScopes, scope) }

// IDTokenUserinfoClaimsAssertion puts the scopes' claims in the ID token
// too: many services read only the ID token.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
