package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/store"
)

// storage implements op.Storage on Clau's store: auth requests, codes and
// access tokens are flows, so any process can serve any step.
type storage struct {
	p *Provider
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

var (
	errNotFound = errors.New("not found")
	errInactive = errors.New("token inactive")
)

func codeID(code string) string {
	sum := sha256.Sum256([]byte("clau oidc code\x00" + code))
	return hex.EncodeToString(sum[:])
}

func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.p.client(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	if c.public && r.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for this client")
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	ex := extrasFrom(ctx)
	if ex.err != nil {
		s.auditRefusal(ctx, c.id, "invalid_request", ex.err.Error())
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", ex.err.Error())
	}
	// Minimum semantics: the lowest level listed is what the service
	// accepts; unknown values are ignored (OIDC Core 3.1.2.1).
	minLoA, oerr := s.p.requestLoA(c, r.ACRValues, ex)
	if oerr != nil {
		s.auditRefusal(ctx, c.id, string(oerr.ErrorType), oerr.Description)
		return nil, oerr
	}
	// Only the scopes the client may ask for; others are ignored (RFC 6749
	// section 3.3: the server may grant fewer).
	scopes := slices.DeleteFunc(slices.Clone(r.Scopes), func(sc string) bool { return !c.scopeAllowed(sc) })
	now := s.p.now()
	a := &authRequest{ID: store.NewID(), State: statePending, ClientID: r.ClientID, RedirectURI: r.RedirectURI,
		OAuthState: r.State, Nonce: r.Nonce, Scopes: scopes, ResponseType: r.ResponseType, ResponseMode: r.ResponseMode,
		Challenge: r.CodeChallenge, ChallengeMeth: r.CodeChallengeMethod, Prompt: r.Prompt, MaxAge: r.MaxAge,
		LoginHint: r.LoginHint, MinLoA: minLoA, Methods: s.p.allowedMethods(c), CreatedAt: now}
	for _, t := range r.UILocales {
		a.UILocales = append(a.UILocales, t.String())
	}
	data, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	f := &store.Flow{ID: a.ID, Kind: authKind, State: a.State, Data: data, ExpiresAt: now.Add(authRequestTTL)}
	if err := s.p.Store.CreateFlow(ctx, f); err != nil {
		return nil, err
	}
	a.Version = f.Version
	return a, nil
}

// loadAuth returns the stored auth request, expired or not.
func (s *storage) loadAuth(ctx context.Context, id string) (*authRequest, *store.Flow, error) {
	f, err := s.p.Store.FlowByID(ctx, authKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("auth request %w", errNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	var a authRequest
	if err := json.Unmarshal(f.Data, &a); err != nil {
		return nil, nil, err
	}
	a.ID, a.State, a.Version = f.ID, f.State, f.Version
	return &a, f, nil
}

func (s *storage) saveAuth(ctx context.Context, tx store.Flows, a *authRequest, f *store.Flow) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	f.State, f.Subject, f.Data, f.Version = a.State, a.CitizenID, data, a.Version
	if err := tx.UpdateFlow(ctx, f); err != nil {
		return err
	}
	a.Version = f.Version
	return nil
}

// AuthRequestByID returns a live auth request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, f, err := s.loadAuth(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.p.now().Before(f.ExpiresAt) {
		return nil, errors.New("auth request expired")
	}
	return a, nil
}

// AuthRequestByCode finds the request of a code that was issued and not
// used. A code presented after its exchange revokes what that exchange
// issued. The code is spent by CreateAccessToken, after the library has
// checked the client and PKCE, so a failed attempt does not burn it.
//
// A code is the request's ID encrypted and authenticated by the
// library's key (op.BuildAuthRequestCode); the request keeps a hash of it
// and its expiry, so one read finds and checks it.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	id, err := s.p.op.Crypto().Decrypt(code)
	if err != nil {
		return nil, fmt.Errorf("code %w", errNotFound)
	}
	a, f, err := s.loadAuth(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("code %w", errNotFound)
	}
	expires := a.CodeExpires
	if a.CodeHash == "" && a.State != statePending && a.State != stateAuthenticated {
		// Issued before codes were kept on the request.
		cf, err := s.p.Store.FlowByID(ctx, codeKind, codeID(code))
		if err != nil {
			return nil, fmt.Errorf("code %w", errNotFound)
		}
		expires = cf.ExpiresAt
	} else if subtle.ConstantTimeCompare([]byte(a.CodeHash), []byte(codeID(code))) != 1 {
		return nil, fmt.Errorf("code %w", errNotFound)
	}
	switch {
	case a.State == stateUsed:
		a.State = stateRevoked
		_ = s.saveAuth(ctx, s.p.Store, a, f)
		s.audit(ctx, "oidc.code_reuse", a, "denied")
		return nil, errors.New("code already used: its tokens are revoked")
	case a.State != stateCodeIssued:
		return nil, errors.New("code not usable")
	case !s.p.now().Before(expires):
		return nil, errors.New("code expired")
	}
	a.flow = f
	return a, nil
}

// SaveAuthCode records the code (only its hash) on the request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.Store.InTx(ctx, func(tx store.Tx) error {
		a, f, err := s.loadAuthTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.State != stateAuthenticated {
			return errors.New("auth request not authenticated")
		}
		a.State, a.CodeHash, a.CodeExpires = stateCodeIssued, codeID(code), s.p.now().Add(codeTTL)
		return s.saveAuth(ctx, tx, a, f)
	})
}

func (s *storage) loadAuthTx(ctx context.Context, tx store.Flows, id string) (*authRequest, *store.Flow, error) {
	f, err := tx.FlowByID(ctx, authKind, id)
	if err != nil {
		return nil, nil, err
	}
	var a authRequest
	if err := json.Unmarshal(f.Data, &a); err != nil {
		return nil, nil, err
	}
	a.ID, a.State, a.Version = f.ID, f.State, f.Version
	return &a, f, nil
}

// DeleteAuthRequest is called after tokens are issued; CreateAccessToken
// already moved the request to used, which is what keeps it from being
// used again and lets a replay be detected.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// token is an access token's record (tokens issued before they were
// resolved from their auth request; see tokenKind).
type token struct {
	AuthRequestID string   `json:"auth_request_id"`
	ClientID      string   `json:"client_id"`
	CitizenID     string   `json:"citizen_id"`
	Subject       string   `json:"sub"`
	Scopes        []string `json:"scopes"`
}

// tokenPrefix marks the ID of an access token that names its auth
// request and expiry: "at1.<request ID>.<expiry, Unix seconds>". The
// library seals it into the token it hands out (AES-256-GCM for bearer
// tokens, a signed JWT's jti otherwise), so it cannot be forged; what a
// token may see, and whether it was revoked, is its request's.
const tokenPrefix = "at1."

// CreateAccessToken spends the code. Spending it and its audit event
// commit together, in one transaction; the request is written back under
// the version AuthRequestByCode read (state code issued), so of two
// concurrent exchanges of one code the second finds it stale and fails.
// The access token needs no record of its own: it names the request.
func (s *storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	a, ok := r.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	exp := s.p.now().Add(accessTokenLifetime).Truncate(time.Second)
	err := s.p.Store.InTx(ctx, func(tx store.Tx) error {
		f := a.flow
		if f == nil {
			var err error
			if f, err = tx.FlowByID(ctx, authKind, a.ID); err != nil {
				return err
			}
			if f.Version != a.Version || f.State != stateCodeIssued {
				return store.ErrStale
			}
		}
		used := *a
		used.State, used.flow = stateUsed, nil
		if f.ExpiresAt.Before(exp) {
			f.ExpiresAt = exp // the request answers for its token until the token expires
		}
		if err := s.saveAuth(ctx, tx, &used, f); err != nil {
			return err
		}
		return audit.Append(ctx, tx, s.event("oidc.token", a, "ok"))
	})
	if errors.Is(err, store.ErrStale) {
		return "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("code already used")
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return tokenPrefix + a.ID + "." + strconv.FormatInt(exp.Unix(), 10), exp, nil
}

// accessToken resolves a live access token by its ID: the request it was
// issued from (state used, not revoked by a replay or a revocation) and
// what the token may see. It returns nil for a token that is unknown,
// expired or revoked.
func (s *storage) accessToken(ctx context.Context, tokenID string) (*token, *authRequest, *store.Flow) {
	if rest, ok := strings.CutPrefix(tokenID, tokenPrefix); ok {
		id, expText, ok := strings.Cut(rest, ".")
		exp, err := strconv.ParseInt(expText, 10, 64)
		if !ok || err != nil || !s.p.now().Before(time.Unix(exp, 0)) {
			return nil, nil, nil
		}
		a, f, err := s.loadAuth(ctx, id)
		if err != nil || a.State != stateUsed {
			return nil, nil, nil
		}
		return &token{AuthRequestID: a.ID, ClientID: a.ClientID, CitizenID: a.CitizenID, Subject: a.Subject,
			Scopes: a.Scopes}, a, f
	}
	f, err := s.p.Store.FlowByID(ctx, tokenKind, tokenID)
	if err != nil || f.State != "active" || !s.p.now().Before(f.ExpiresAt) {
		return nil, nil, nil
	}
	var t token
	if err := json.Unmarshal(f.Data, &t); err != nil {
		return nil, nil, nil
	}
	a, af, err := s.loadAuth(ctx, t.AuthRequestID)
	if err != nil || a.State == stateRevoked {
		return nil, nil, nil
	}
	return &t, a, af
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes an access token (RFC 7009) by revoking the request
// it was issued from; an unknown, expired or already revoked token is not
// an error.
func (s *storage) RevokeToken(ctx context.Context, tokenID, _, clientID string) *oidc.Error {
	t, a, f := s.accessToken(ctx, tokenID)
	if t == nil {
		return nil
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	a.State = stateRevoked
	if err := s.saveAuth(ctx, s.p.Store, a, f); err != nil && !errors.Is(err, store.ErrStale) {
		return oidc.ErrServerError()
	}
	s.audit(ctx, "oidc.revoke", a, "ok")
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey is the key that signs now for the client the token endpoint
// authenticated (its id_token_signed_response_alg; ES256 unless it asked
// for RS256): of that kind, the newest whose signs_from has come.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := DefaultAlg
	if a, ok := ctx.Value(algKey{}).(string); ok {
		alg = a
	}
	id, k := s.p.currentKeys(ctx).signer(s.p.now(), alg)
	if k == nil {
		return nil, fmt.Errorf("no OIDC %s signing key signs now", alg)
	}
	return signingKey{id: id, alg: alg, k: k}, nil
}

// algKey carries, in a token request's context, the signing algorithm of
// the client it authenticated: the library asks SigningKey without
// saying for which client.
type algKey struct{}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, nil
}

// KeySet is the JWKS, and what tokens presented back are verified with:
// the key waiting to sign, the one signing, and the retiring ones until
// every token they signed has expired. A removed key's tokens fail.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	ks := s.p.currentKeys(ctx)
	var out []op.Key
	for _, i := range ks.published(s.p.now()) {
		out = append(out, publicKey{id: i.ID, alg: i.Algorithm(), k: ks.priv[i.ID].Public()})
	}
	return out, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	return s.p.client(ctx, id)
}

// AuthorizeClientIDSecret compares the secret with the keyed hash kept at
// start-up, in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.p.client(ctx, id)
	if err != nil || c.public || !s.p.Keyring.VerifyHash(secretPurpose, []byte(secret), c.secretHash) {
		_ = audit.Append(ctx, s.p.Store, &audit.Event{At: s.p.now(), Actor: "client:" + id, Action: "oidc.client_auth",
			Subject: "client:" + id, Outcome: "denied"})
		return errors.New("invalid client credentials")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, u *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	a, ok := r.(*authRequest)
	if !ok {
		return errors.New("unexpected token request")
	}
	if err := s.p.claims(ctx, u, a.CitizenID, a.Subject, scopes); err != nil {
		return err
	}
	if a.SID != "" {
		u.AppendClaims("sid", a.SID)
	}
	return nil
}

// SetUserinfoFromToken answers userinfo for a live access token whose code
// was not replayed.
func (s *storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, subject, _ string) error {
	t, _, _ := s.accessToken(ctx, tokenID)
	if t == nil || t.Subject != subject {
		return oidc.ErrAccessDenied().WithDescription("access token invalid")
	}
	return s.p.claims(ctx, u, t.CitizenID, t.Subject, t.Scopes)
}

// SetIntrospectionFromToken describes a live token to the client it was
// issued to. The library answers active whenever this returns no error,
// so an unknown, expired, revoked or another client's token is an error
// (answered as {"active": false}).
func (s *storage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, _, _ := s.accessToken(ctx, tokenID)
	if t == nil || t.Subject != subject || t.ClientID != clientID {
		return errInactive
	}
	r.Active, r.Subject, r.ClientID, r.Scope = true, t.Subject, t.ClientID, t.Scopes
	r.Audience = []string{t.ClientID}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID gives the library a private_key_jwt client's key
// (checkClientAuth has already verified the assertion and spent its jti).
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.p.client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return c.keys.find(ctx, keyID, s.p.now())
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (s *storage) Health(ctx context.Context) error { return s.p.Store.Ping(ctx) }

// auditRefusal records an authorization request refused before it was
// stored.
func (s *storage) auditRefusal(ctx context.Context, clientID, errType, reason string) {
	if err := audit.Append(ctx, s.p.Store, &audit.Event{At: s.p.now(), Actor: "client:" + clientID, Action: "oidc.authorize",
		Subject: "client:" + clientID, Outcome: "denied", Details: map[string]string{"error": errType, "reason": reason}}); err != nil {
		s.p.Log.Error("oidc audit", "error", err.Error())
	}
}

// audit records a protocol event; failures are logged, not fatal.
func (s *storage) audit(ctx context.Context, action string, a *authRequest, outcome string) {
	if err := audit.Append(ctx, s.p.Store, s.event(action, a, outcome)); err != nil {
		s.p.Log.Error("oidc audit", "error", err.Error())
	}
}

// event is the audit event of a protocol step on a.
func (s *storage) event(action string, a *authRequest, outcome string) *audit.Event {
	d := map[string]string{"client_id": a.ClientID, "auth_request": a.ID}
	if a.LoA != "" {
		d["loa"] = string(a.LoA)
	}
	subj := "client:" + a.ClientID
	if a.CitizenID != "" {
		subj = "citizen:" + a.CitizenID
	}
	return &audit.Event{At: s.p.now(), Actor: "client:" + a.ClientID, Action: action,
		Subject: subj, Outcome: outcome, Details: d}
}
