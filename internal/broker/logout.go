package broker

import (
	"context"
	"errors"

	"github.com/clau-eid/clau/internal/audit"
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
