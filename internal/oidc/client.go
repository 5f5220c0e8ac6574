package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/clau-eid/clau/internal/broker"
)

// ClientConfig declares a relying party (from config's oidc_clients).
type ClientConfig struct {
	ID string `json:"id"`
	// Name is what the sign-in pages show the citizen ("Signing in to
	// …"); empty: the ID.
	Name         string     `json:"name,omitempty"`
	Secret       string     `json:"-"` // plain; hashed by New and then dropped
	RedirectURIs []string   `json:"redirect_uris,omitempty"`
	MinLoA       broker.LoA `json:"min_loa,omitempty"` // "" means low
	Methods      []string   `json:"methods,omitempty"`
	Public       bool       `json:"public,omitempty"`
	// JWTAccessTokens issues access tokens as JWTs signed like ID tokens
	// (RFC 9068 style) instead of opaque ones.
	JWTAccessTokens bool `json:"jwt_access_tokens,omitempty"`
	// AuthMethod is the token_endpoint_auth_method: client_secret_basic,
	// client_secret_post, private_key_jwt or none (public). Empty: none for
	// a public client, else either secret method.
	AuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// JWKS (a JSON JWK set of public keys) or JWKSURI (where the client
	// publishes it) verify private_key_jwt assertions.
	JWKS    string `json:"jwks,omitempty"`
	JWKSURI string `json:"jwks_uri,omitempty"`
	// RequirePAR refuses authorization requests not pushed first (RFC 9126).
	RequirePAR bool `json:"require_par,omitempty"`
	// BackchannelLogoutURI receives a logout token when an SSO session the
	// service signed into ends.
	BackchannelLogoutURI string `json:"backchannel_logout_uri,omitempty"`
	// Scopes the client may ask for beyond openid; empty: profile, email
	// and phone. document_number must be listed to be granted.
	Scopes []string `json:"scopes,omitempty"`
	// SubjectType is pairwise (the default: sub differs per service, or per
	// SectorIdentifier when set) or public (one sub for every service).
	SubjectType      string `json:"subject_type,omitempty"`
	SectorIdentifier string `json:"sector_identifier,omitempty"`
	// IDTokenAlg is the id_token_signed_response_alg: ES256 (the default,
	// when empty) or RS256 for a client whose library cannot verify ECDSA.
	// JWT access tokens and logout tokens for the client use it too.
	IDTokenAlg string `json:"id_token_signed_response_alg,omitempty"`
}

// client is a relying party as the provider sees it.
type client struct {
	id           string
	name         string // shown on the sign-in pages
	secretHash   string // keyring hash; "" for a public client
	redirectURIs []string
	minLoA       broker.LoA
	methods      []string
	public       bool
	jwtAccess    bool
	authMethods  []string // the first is the one it is registered with
	keys         *clientKeys
	requirePAR   bool
	loginPath    string

	backchannelURI string
	scopes         []string
	subPurpose     string // the keyring purpose sub is derived with
	idTokenAlg     string // ES256 or RS256
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

// AuthMethod tells the library which family of authentication the client
// uses; the exact method (basic or post) is enforced by checkClientAuth.
func (c *client) AuthMethod() oidc.AuthMethod {
	switch {
	case c.public:
		return oidc.AuthMethodNone
	case c.authMethods[0] == MethodPrivateKey:
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic // client_secret_post too (Config.AuthMethodPost)
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
// ones Clau knows and the client may ask for.
func (c *client) IsScopeAllowed(scope string) bool {
	return slices.Contains(extraScopes, scope) && c.scopeAllowed(scope)
}

// defaultScopes are what a client with no scopes setting may ask for.
var defaultScopes = []string{oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone}

// scopeAllowed: openid always; the rest as the client's scopes setting says.
func (c *client) scopeAllowed(scope string) bool {
	if scope == oidc.ScopeOpenID {
		return true
	}
	if len(c.scopes) == 0 {
		return slices.Contains(defaultScopes, scope)
	}
	return slices.Contains(c.scopes, scope)
}

// IDTokenUserinfoClaimsAssertion puts the scopes' claims in the ID token
// too: many services read only the ID token.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

// setAuth takes the client's authentication settings from its config.
func (c *client) setAuth(cc ClientConfig) error {
	c.requirePAR, c.backchannelURI = cc.RequirePAR, cc.BackchannelLogoutURI
	for _, sc := range cc.Scopes {
		if sc != oidc.ScopeOpenID && !slices.Contains(defaultScopes, sc) && !slices.Contains(extraScopes, sc) {
			return fmt.Errorf("unknown scope %q", sc)
		}
	}
	c.scopes = cc.Scopes
	switch cc.SubjectType {
	case "", "pairwise":
		c.subPurpose = subPurpose + cc.ID
		if cc.SectorIdentifier != "" {
			c.subPurpose = subPurpose + "sector:" + cc.SectorIdentifier
		}
	case "public":
		if cc.SectorIdentifier != "" {
			return errors.New("a sector_identifier only groups pairwise subjects")
		}
		c.subPurpose = "oidc_sub_public"
	default:
		return fmt.Errorf("subject_type %q is not pairwise or public", cc.SubjectType)
	}
	if u := cc.BackchannelLogoutURI; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.Fragment != "" {
			return fmt.Errorf("backchannel_logout_uri %q is not an absolute http(s) URL without fragment", u)
		}
	}
	switch m := cc.AuthMethod; {
	case cc.Public && (m == "" || m == MethodNone):
		c.authMethods = []string{MethodNone}
	case cc.Public:
		return fmt.Errorf("a public client authenticates with none, not %s", m)
	case m == "":
		c.authMethods = []string{MethodSecretBasic, MethodSecretPost}
	case m == MethodSecretBasic || m == MethodSecretPost:
		c.authMethods = []string{m}
	case m == MethodPrivateKey:
		c.authMethods = []string{m}
	default:
		return fmt.Errorf("unknown token_endpoint_auth_method %q", m)
	}
	secretless := c.authMethods[0] == MethodNone || c.authMethods[0] == MethodPrivateKey
	switch {
	case secretless && cc.Secret != "":
		return fmt.Errorf("a client authenticating with %s has no secret", c.authMethods[0])
	case !secretless && cc.Secret == "":
		return errors.New("needs a secret")
	}
	if c.authMethods[0] != MethodPrivateKey {
		if cc.JWKS != "" || cc.JWKSURI != "" {
			return errors.New("jwks and jwks_uri are only for private_key_jwt")
		}
		return nil
	}
	switch {
	case cc.JWKS != "" && cc.JWKSURI != "":
		return errors.New("give jwks or jwks_uri, not both")
	case cc.JWKS != "":
		set, err := parseJWKS([]byte(cc.JWKS))
		if err != nil {
			return err
		}
		c.keys = &clientKeys{inline: set}
	case cc.JWKSURI != "":
		u, err := url.Parse(cc.JWKSURI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("jwks_uri %q is not an http(s) URL", cc.JWKSURI)
		}
		c.keys = &clientKeys{uri: cc.JWKSURI, http: &http.Client{Timeout: 5 * time.Second}}
	default:
		return errors.New("private_key_jwt needs jwks or jwks_uri")
	}
	return nil
}

// redirectURIOK: absolute, no fragment, no wildcard; http(s) with a host;
// never a scheme a browser would run or read locally (javascript:, data:,
// vbscript:, file:). Other schemes are native apps' (RFC 8252).
func redirectURIOK(u string) bool {
	pu, err := url.Parse(u)
	if err != nil || !pu.IsAbs() || pu.Fragment != "" || strings.Contains(u, "*") {
		return false
	}
	switch strings.ToLower(pu.Scheme) {
	case "http", "https":
		return pu.Host != ""
	case "javascript", "data", "vbscript", "file":
		return false
	}
	return true
}

// newClient builds a client from its settings (secret aside).
func newClient(c ClientConfig) (*client, error) {
	cl := &client{id: c.ID, name: c.Name, redirectURIs: slices.Clone(c.RedirectURIs), minLoA: c.MinLoA, methods: c.Methods,
		public: c.Public, jwtAccess: c.JWTAccessTokens, loginPath: loginPath, idTokenAlg: c.IDTokenAlg}
	switch cl.idTokenAlg {
	case "":
		cl.idTokenAlg = DefaultAlg
	case AlgES256, AlgRS256:
	default:
		return nil, fmt.Errorf("id_token_signed_response_alg %q: use ES256 or RS256", c.IDTokenAlg)
	}
	if !cl.minLoA.Valid() {
		cl.minLoA = broker.Low
	}
	for _, m := range c.Methods {
		if !slices.Contains(broker.KnownMethods, m) {
			return nil, fmt.Errorf("unknown method %q", m)
		}
	}
	for _, u := range c.RedirectURIs {
		if !redirectURIOK(u) {
			return nil, fmt.Errorf("redirect URI %q must be absolute, without fragment or wildcard", u)
		}
	}
	if len(c.RedirectURIs) == 0 {
		return nil, errors.New("needs at least one redirect URI")
	}
	if err := cl.setAuth(c); err != nil {
		return nil, err
	}
	return cl, nil
}

// ValidateClient checks a service's settings as the provider would load
// them (for `clau sp oidc add`).
func ValidateClient(c ClientConfig) error {
	_, err := newClient(c)
	return err
}
