package main

import (
	"context"
	"io"
)

// cmdSP manages the service providers registered at run time, beside those
// declared in config: `clau sp oidc …` for OpenID Connect relying parties,
// `clau sp saml …` for SAML service providers.
func cmdSP(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "oidc":
			return cmdSPOIDC(ctx, args[1:], out)
		case "saml":
			return cmdSPSAML(ctx, args[1:], out)
		}
	}
	return usagef("usage: clau sp oidc list|add|show|remove, or clau sp saml list|add|remove")
}
