package main

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/method/permanent"
)

// passwordNotices tells citizens whose password expires soon, now and
// then (password.lifetime and password.expiry_warning). Any process may
// run it: each password's notice is marked in the store once.
func passwordNotices(ctx context.Context, a *app, m *permanent.Method) {
	if a.cfg.Password.Lifetime <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := m.NotifyExpiring(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: password expiry notices", "error", err.Error())
		} else if n > 0 {
			a.log.Info("housekeeping: password expiry notices sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
