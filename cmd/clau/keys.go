package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/store"
)

// cmdKeys manages the keyring that seals secret columns. Rotation adds a
// new primary key and re-seals every sealed value with it; the old key
// stays so that anything sealed meanwhile by another process still opens,
// and is retired once nothing uses it.
func cmdKeys(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "list", "rotate", "retire", "oidc-list", "oidc-rotate")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("keys " + name)
	var emergency *bool
	if name == "oidc-rotate" {
		emergency = fs.Bool("emergency", false, "the signing key is compromised: the new key signs at once and every other key leaves the JWKS now")
	}
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	kr := a.keyring
	switch name {
	case "list":
		tw := newTable(out, "ID", "CREATED", "PRIMARY")
		for _, k := range kr.Keys {
			tw.row(k.ID, k.Created.Format(time.RFC3339), fmt.Sprint(k.ID == kr.Primary))
		}
		tw.flush()
	case "rotate":
		k, err := kr.Rotate(nil, time.Now())
		if err != nil {
			return err
		}
		if err := kr.Save(a.cfg.Security.KeyringFile); err != nil {
			return err
		}
		n, err := a.store.ResealAll(ctx, func(v store.SealedValue) (string, error) {
			if !kr.NeedsRewrap(v.Value) {
				return v.Value, nil
			}
			aad := v.AAD()
			plain, err := kr.Open(v.Value, aad)
			if err != nil {
				return "", fmt.Errorf("%s.%s row %s: %w", v.Table, v.Column, v.RowID, err)
			}
			return kr.Seal(plain, aad)
		})
		if err != nil {
			return fmt.Errorf("re-sealing (the new key %s is saved; run rotate again to finish): %w", k.ID, err)
		}
		if err := a.trail.Record(ctx, audit.Event{Actor: cliActor(), Action: "keys.rotate", Source: "cli",
			Details: map[string]string{"new_key": k.ID, "resealed": fmt.Sprint(n)}}); err != nil {
			return err
		}
		fmt.Fprintf(out, "new primary key %s; %d sealed values re-sealed\n", k.ID, n)
		fmt.Fprintln(out, "copy the keyring file to every other clau process before retiring old keys")
	case "retire":
		if fs.NArg() != 1 {
			return usagef("usage: clau keys retire KEY-ID")
		}
		id := fs.Arg(0)
		inUse := 0
		if _, err := a.store.ResealAll(ctx, func(v store.SealedValue) (string, error) {
			if strings.HasPrefix(v.Value, "v1."+id+".") {
				inUse++
			}
			return v.Value, nil
		}); err != nil {
			return err
		}
		if inUse > 0 {
			return fmt.Errorf("key %s still seals %d values: run `clau keys rotate` first", id, inUse)
		}
		if err := kr.Retire(id); err != nil {
			return usagef("%v", err)
		}
		if err := kr.Save(a.cfg.Security.KeyringFile); err != nil {
			return err
		}
		if err := a.trail.Record(ctx, audit.Event{Actor: cliActor(), Action: "keys.retire", Source: "cli",
			Details: map[string]string{"key": id}}); err != nil {
			return err
		}
		fmt.Fprintf(out, "key %s retired\n", id)
	case "oidc-list", "oidc-rotate":
		return cmdOIDCKeys(ctx, a, name, emergency != nil && *emergency, out)
	}
	return nil
}
