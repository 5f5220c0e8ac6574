package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/store"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// cmdSPOIDC manages the OpenID Connect services (relying parties) registered
// in the database, beside those declared in config's oidc_clients. Running
// processes see a change within half a minute.
func cmdSPOIDC(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "list", "add", "show", "remove")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("sp oidc " + name)
	var (
		cc                           oidc.ClientConfig
		redirects, methods, scopes   list
		minLoA, accessFormat, idFlag string
	)
	if name == "add" {
		fs.StringVar(&idFlag, "id", "", "client_id (required)")
		fs.StringVar(&cc.Name, "name", "", "the service's name, shown on the sign-in pages (default: the ID)")
		fs.Var(&redirects, "redirect-uri", "a redirect URI, matched exactly (repeat for more)")
		fs.StringVar(&minLoA, "min-loa", "low", "least level the service accepts: low, substantial or high")
		fs.Var(&methods, "method", "a sign-in method the service allows (repeat; none: all)")
		fs.BoolVar(&cc.Public, "public", false, "an app that cannot keep a secret (PKCE required, no secret)")
		fs.StringVar(&cc.AuthMethod, "auth-method", "", "client_secret_basic, client_secret_post, private_key_jwt (default: either secret method)")
		fs.StringVar(&cc.JWKSURI, "jwks-uri", "", "where the service publishes its keys (private_key_jwt)")
		fs.StringVar(&cc.JWKS, "jwks", "", "the service's public JWK set as JSON (private_key_jwt)")
		fs.BoolVar(&cc.RequirePAR, "require-par", false, "accept only pushed authorization requests")
		fs.StringVar(&cc.BackchannelLogoutURI, "backchannel-logout-uri", "", "where logout tokens are posted")
		fs.Var(&scopes, "scope", "a scope the service may ask for (repeat; default profile, email, phone)")
		fs.StringVar(&cc.SubjectType, "subject-type", "pairwise", "pairwise or public")
		fs.StringVar(&cc.SectorIdentifier, "sector-identifier", "", "pairwise services sharing it get the same sub")
		fs.StringVar(&accessFormat, "access-token-format", "opaque", "opaque or jwt")
		fs.StringVar(&cc.IDTokenAlg, "id-token-alg", "ES256", "ID token signature: ES256, or RS256 for a library without ECDSA")
	}
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	var configIDs []string
	for _, c := range a.cfg.OIDCClients {
		configIDs = append(configIDs, c.ID)
	}
	switch name {
	case "list":
		tw := newTable(out, "ID", "SOURCE", "REDIRECT URIS")
		for _, c := range a.cfg.OIDCClients {
			tw.row(c.ID, "config", strings.Join(c.RedirectURIs, " "))
		}
		recs, err := a.store.ListOIDCClients(ctx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			cc, err := oidc.StoredClient(ctx, a.store, r.ID)
			if err != nil {
				return err
			}
			tw.row(r.ID, "database", strings.Join(cc.RedirectURIs, " "))
		}
		tw.flush()
	case "add":
		if idFlag == "" || len(redirects) == 0 {
			return usagef("usage: clau sp oidc add --id ID --redirect-uri URI [--redirect-uri URI…] [flags]")
		}
		loa, ok := broker.ParseLoA(minLoA)
		if !ok {
			return usagef("--min-loa %q is not low, substantial or high", minLoA)
		}
		if accessFormat != "opaque" && accessFormat != "jwt" {
			return usagef("--access-token-format %q is not opaque or jwt", accessFormat)
		}
		cc.ID, cc.RedirectURIs, cc.MinLoA, cc.Methods, cc.Scopes = idFlag, redirects, loa, methods, scopes
		cc.JWTAccessTokens = accessFormat == "jwt"
		if cc.SubjectType == "pairwise" {
			cc.SubjectType = ""
		}
		secret, err := oidc.RegisterClient(ctx, a.store, a.keyring, cc, configIDs)
		if err != nil {
			return usagef("%v", err)
		}
		if err := a.trail.Record(ctx, audit.Event{Actor: cliActor(), Action: "oidc.client_add", Source: "cli",
			Subject: "client:" + cc.ID}); err != nil {
			return err
		}
		fmt.Fprintf(out, "service %s registered\n", cc.ID)
		if secret != "" {
			fmt.Fprintf(out, "client_secret: %s\n(shown once: Clau keeps only a hash; give it to the service now)\n", secret)
		}
	case "show", "remove":
		if fs.NArg() != 1 {
			return usagef("usage: clau sp %s ID", name)
		}
		id := fs.Arg(0)
		for _, c := range configIDs {
			if c == id {
				return usagef("%s is declared in config (oidc_clients): change it there", id)
			}
		}
		cc, err := oidc.StoredClient(ctx, a.store, id)
		if errors.Is(err, store.ErrNotFound) {
			return usagef("no registered service %q", id)
		} else if err != nil {
			return err
		}
		if name == "show" {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(cc)
		}
		if err := a.store.DeleteOIDCClient(ctx, id); err != nil {
			return err
		}
		if err := a.trail.Record(ctx, audit.Event{Actor: cliActor(), Action: "oidc.client_remove", Source: "cli",
			Subject: "client:" + id}); err != nil {
			return err
		}
		fmt.Fprintf(out, "service %s removed (running processes stop accepting it within 30 seconds)\n", id)
	}
	return nil
}

var _ flag.Value = (*list)(nil)
