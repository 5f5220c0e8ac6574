package oidc

import (
	"log/slog"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// Auth request states (store.Flow kind authKind):
//
//	pending ──(/oidc/continue: the SSO session reaches the level)──► authenticated
//	authenticated ──(code issued)──► code_issued ──(token exchange)──► used
//	used ──(the code presented again)──► revoked (its access tokens stop working)
const (
	authKind = "oidc_auth"
	// Codes and access tokens issued before they were resolved from the
	// auth request alone had records of their own; these kinds are read
	// for them until they expire (a minute and ten), then never again.
	codeKind  = "oidc_code"
	tokenKind = "oidc_token"

	statePending       = "pending"
	stateAuthenticated = "authenticated"
	stateCodeIssued    = "code_issued"
	stateUsed          = "used"
	stateRevoked       = "revoked"

	authRequestTTL = 15 * time.Minute
	codeTTL        = time.Minute
)

// authRequest is an OIDC authorization request and, once the citizen is
// known, the login's outcome. It is stored as JSON.
type authRequest struct {
	ID            string                   `json:"-"`
	State         string                   `json:"-"`
	Version       int64                    `json:"-"`
	ClientID      string                   `json:"client_id"`
	RedirectURI   string                   `json:"redirect_uri"`
	OAuthState    string                   `json:"state,omitempty"`
	Nonce         string                   `json:"nonce,omitempty"`
	Scopes        []string                 `json:"scopes"`
	ResponseType  oidc.ResponseType        `json:"response_type"`
	ResponseMode  oidc.ResponseMode        `json:"response_mode,omitempty"`
	Challenge     string                   `json:"code_challenge,omitempty"`
	ChallengeMeth oidc.CodeChallengeMethod `json:"code_challenge_method,omitempty"`
	Prompt        []string                 `json:"prompt,omitempty"`
	MaxAge        *uint                    `json:"max_age,omitempty"`
	LoginHint     string                   `json:"login_hint,omitempty"`
	UILocales     []string                 `json:"ui_locales,omitempty"`
	MinLoA        broker.LoA               `json:"min_loa"`
	Methods       []string                 `json:"methods,omitempty"`
	CreatedAt     time.Time                `json:"created_at"`
	Rounds        int                      `json:"rounds,omitempty"` // trips to the sign-in pages
	TxID          string                   `json:"tx,omitempty"`     // the broker transaction of the last trip

	// The outcome, set by /oidc/continue.
	CitizenID string     `json:"citizen_id,omitempty"`
	Subject   string     `json:"sub,omitempty"` // pairwise
	LoA       broker.LoA `json:"loa,omitempty"`
	AMR       []string   `json:"amr,omitempty"`
	AuthTime  time.Time  `json:"auth_time,omitzero"`
	SID       string     `json:"sid,omitempty"` // the OP session, for back-channel logout

	// The code, once issued: a hash of it (the code itself is the
	// request ID, encrypted and authenticated by the library's key) and
	// until when it may be exchanged.
	CodeHash    string    `json:"code_hash,omitempty"`
	CodeExpires time.Time `json:"code_expires,omitzero"`

	// flow is the stored record it was read from, when read by code: the
	// exchange writes it back under its version without reading it again.
	flow *store.Flow
}

var (
	_ op.AuthRequest    = (*authRequest)(nil)
	_ op.LogAuthRequest = (*authRequest)(nil)
)

func (a *authRequest) GetID() string { return a.ID }
func (a *authRequest) GetACR() string {
	if a.LoA == "" {
		return ""
	}
	return a.LoA.URI()
}
func (a *authRequest) GetAMR() []string                   { return a.AMR }
func (a *authRequest) GetAudience() []string              { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.AuthTime }
func (a *authRequest) GetClientID() string                { return a.ClientID }
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.OAuthState }
func (a *authRequest) GetSubject() string                 { return a.Subject }
func (a *authRequest) Done() bool                         { return a.State == stateAuthenticated }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: a.ChallengeMeth}
}

// LogValue keeps personal data (the citizen) out of the library's logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("client_id", a.ClientID),
		slog.String("state", a.State), slog.String("min_loa", string(a.MinLoA)))
}

// forceLogin reports whether the request wants a fresh sign-in: prompt=login
// (the library turns it into max_age=0) or a max_age the session exceeds.
func (a *authRequest) forceLogin(authTime, now time.Time) bool {
	if a.MaxAge == nil {
		return false
	}
	if *a.MaxAge == 0 {
		// A sign-in after this request was made counts as fresh.
		return authTime.Before(a.CreatedAt.Add(-time.Second))
	}
	return now.Sub(authTime) > time.Duration(*a.MaxAge)*time.Second
}

// methodAllowed reports whether the method an SSO session shows is one
// the request allows (Methods lists the allowed ones offered).
func (a *authRequest) methodAllowed(amr []string) bool {
	return broker.AllowsAMR(a.Methods, amr)
}
