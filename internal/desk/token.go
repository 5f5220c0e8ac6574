package desk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// TokenSpec describes an API token to make.
type TokenSpec struct {
	Name   string        // a label for the operator ("nightly import"); up to 80 characters
	TTL    time.Duration // 0 means DefaultTokenTTL; at most MaxTokenTTL
	Actor  string        // who made it, for the audit trail ("cli:alice")
	Source string        // from where ("cli")
}

// NewAPIToken makes a bearer token for the desk API bound to officer o:
// it acts as o, for o's office, until it expires, and stops working as
// soon as o is disabled or o's office closes. Only the token's SHA-256 is
// stored (a store.Session of kind SessionDeskToken), with an audit event;
// the token itself is returned once.
func NewAPIToken(ctx context.Context, st store.Store, o *identity.Officer, spec TokenSpec, now time.Time) (string, error) {
	if spec.TTL == 0 {
		spec.TTL = DefaultTokenTTL
	}
	if spec.TTL < time.Minute || spec.TTL > MaxTokenTTL {
		return "", fmt.Errorf("desk: token lifetime %s must be between 1m and %s", spec.TTL, MaxTokenTTL)
	}
	spec.Name = strings.TrimSpace(spec.Name)
	if len([]rune(spec.Name)) > 80 || strings.ContainsFunc(spec.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", errors.New("desk: a token name has at most 80 printable characters")
	}
	if o.Status != identity.OfficerActive {
		return "", fmt.Errorf("desk: officer %s is disabled", o.Username)
	}
	if spec.Actor == "" {
		spec.Actor = "officer:" + o.Username
	}
	now = now.UTC()
	token := newToken()
	se := &store.Session{ID: hashToken(token), Kind: store.SessionDeskToken, Subject: o.ID, Name: spec.Name,
		AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(spec.TTL), Source: spec.Source}
	err := st.InTx(ctx, func(tx store.Tx) error {
		office, err := tx.OfficeByID(ctx, o.OfficeID)
		if err != nil {
			return err
		}
		if !office.Active {
			return fmt.Errorf("desk: office %s is not active", office.Code)
		}
		c := *se
		if err := tx.CreateSession(ctx, &c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: spec.Actor, Action: "desk.token.create",
			Subject: "officer:" + o.Username, Office: office.Code, Source: spec.Source,
			Details: map[string]string{"name": spec.Name, "expires": se.ExpiresAt.Format(time.RFC3339)}})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// errUnauthorized is the API's answer to a missing, unknown, expired or
// revoked token, or one whose officer can no longer act.
var errUnauthorized = problem.New(http.StatusUnauthorized, "desk.api.unauthorized")

// apiHandler is a desk API endpoint for an authenticated officer.
type apiHandler func(w http.ResponseWriter, r *http.Request, s *signedIn)

// requireToken authenticates "Authorization: Bearer <token>". Browser
// session cookies are not accepted here: the API carries no ambient
// credentials, so cross-site requests cannot use it.
func (d *Desk) requireToken(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="clau-desk"`)
			d.d.Server.WriteError(w, r, errUnauthorized)
			return
		}
		s, err := d.liveSession(r.Context(), store.SessionDeskToken, strings.TrimSpace(token))
		if errors.Is(err, errNoSession) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="clau-desk", error="invalid_token"`)
			d.d.Server.WriteError(w, r, errUnauthorized)
			return
		} else if err != nil {
			d.d.Server.WriteError(w, r, err)
			return
		}
		h(w, r, s)
	})
}
