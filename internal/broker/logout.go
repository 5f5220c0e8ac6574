package broker

import (
	"context"
	"errors"
	"net/http"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// EndSession ends an SSO session named by its store ID rather than by the
// browser's token: a protocol's single logout (SAML's SessionIndex) names
// the session from another site, without the browser's cookie. Ending an
// unknown or already ended session is not an error.
func (b *Broker) EndSession(ctx context.Context, id string, m Meta, via string) error {
	se, err := b.store.SessionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if se.Kind != store.SessionCitizen || !se.RevokedAt.IsZero() {
		return nil
	}
	now := b.opts.Now().UTC()
	return b.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.RevokeSession(ctx, id, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: via, Action: "logout",
			Subject: "citizen:" + se.Subject, Source: m.Source, Details: map[string]string{"via": via}})
	})
}

// ErrSessionUnknown: the session to end is not one of the citizen's live
// sessions (ended already, expired, or someone else's).
var ErrSessionUnknown = problem.New(http.StatusNotFound, "sessions.unknown")

// EndCitizenSession ends one of a citizen's own SSO sessions by its store
// ID (the account page's "sign out there"), running the logout hooks as
// Logout does, so the services it signed into hear of it.
func (b *Broker) EndCitizenSession(ctx context.Context, citizenID, id string, m Meta) error {
	se, err := b.store.SessionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSessionUnknown
	} else if err != nil {
		return err
	}
	if se.Kind != store.SessionCitizen || se.Subject != citizenID || !se.RevokedAt.IsZero() ||
		!b.opts.Now().Before(se.ExpiresAt) {
		return ErrSessionUnknown
	}
	return b.end(ctx, se, m, map[string]string{"via": "account", "session": id[:min(12, len(id))]})
}

// CitizenSessions lists a citizen's live SSO sessions, newest first.
func (b *Broker) CitizenSessions(ctx context.Context, citizenID string) ([]store.Session, error) {
	now := b.opts.Now().UTC()
	all, err := b.store.ListSessions(ctx, store.SessionCitizen, citizenID, now)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, se := range all {
		if now.Sub(se.LastSeenAt) <= b.opts.SessionIdle {
			out = append(out, se)
		}
	}
	return out, nil
}
