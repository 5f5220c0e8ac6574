package broker

import (
	"context"

	"github.com/clau-eid/clau/internal/store"
)

// EndSessions ends, in tx, every live SSO session of a citizen except keep
// (a session's stored ID; "" ends them all), running the logout hooks of
// each as Logout does, so the services they signed in to hear of it. It
// returns how many it ended.
func (b *Broker) EndSessions(ctx context.Context, tx store.Tx, citizenID, keep string) (int, error) {
	now := b.opts.Now().UTC()
	sessions, err := tx.ListSessions(ctx, store.SessionCitizen, citizenID, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range sessions {
		se := &sessions[i]
		if se.ID == keep {
			continue
		}
		if err := tx.RevokeSession(ctx, se.ID, now); err != nil {
			return n, err
		}
		for _, h := range b.onLogout {
			if err := h(ctx, tx, se); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}
