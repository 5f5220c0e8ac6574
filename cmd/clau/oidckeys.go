package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/oidc"
)

// cmdOIDCKeys lists or rotates the OpenID provider's signing keys, which
// live sealed in the store: every running process picks a rotation up at
// its next reload (oidc.key_reload).
func cmdOIDCKeys(ctx context.Context, a *app, name string, emergency bool, out io.Writer) error {
	now := a.now().UTC()
	if name == "oidc-rotate" {
		ks, err := oidc.RotateKeys(ctx, a.store, a.keyring, now, oidcKeyOptions(a), emergency)
		if oidc.IsRotationPending(err) {
			return usagef("%v: it signs from its signs_from time (see `clau keys oidc-list`); use --emergency to replace it now", err)
		}
		if err != nil {
			return err
		}
		for _, k := range ks { // one new key of each kind (ES256, RS256)
			d := map[string]string{"kid": k.ID, "alg": k.Algorithm(), "signs_from": k.SignsFrom.Format(time.RFC3339)}
			if emergency {
				d["emergency"] = "true"
			}
			if err := a.trail.Record(ctx, audit.Event{Actor: cliActor(), Action: "oidc.key_rotate", Source: "cli",
				Details: d}); err != nil {
				return err
			}
			if emergency {
				fmt.Fprintf(out, "new OIDC %s signing key %s signs now; every other %s key is withdrawn (running processes follow within %s)\n",
					k.Algorithm(), k.ID, k.Algorithm(), a.cfg.OIDC.KeyReload)
			} else {
				fmt.Fprintf(out, "new OIDC %s signing key %s published; it signs from %s\n", k.Algorithm(), k.ID, k.SignsFrom.Format(time.RFC3339))
			}
		}
	}
	keys, err := oidc.ListKeys(ctx, a.store)
	if err != nil {
		return err
	}
	tw := newTable(out, "KID", "ALG", "STATE", "SIGNS FROM", "RETIRES AT")
	for _, k := range keys {
		retire := "-"
		if !k.RetireAt.IsZero() {
			retire = k.RetireAt.Format(time.RFC3339)
		}
		state := k.State(now, keys)
		if !k.RetireAt.IsZero() && !now.Before(k.RetireAt) {
			state = "removed at next reload"
		}
		tw.row(k.ID, k.Algorithm(), state, k.SignsFrom.Format(time.RFC3339), retire)
	}
	tw.flush()
	return nil
}
