package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/saml"
	"github.com/clau-eid/clau/internal/store"
)

// cmdSPSAML manages the SAML service providers registered at run time (those
// in config's saml_sps are managed in the file). Every process serves a
// change within seconds, without a restart.
func cmdSPSAML(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "add", "list", "remove")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("sp saml " + name)
	var (
		file, mdURL, certFile, minLoA, methods, entityID string
		allowSHA1                                        bool
	)
	switch name {
	case "add":
		fs.StringVar(&file, "metadata", "", "the SP's metadata file (EntityDescriptor)")
		fs.StringVar(&mdURL, "metadata-url", "", "or the URL to fetch it from")
		fs.StringVar(&certFile, "metadata-signing-cert", "", "PEM certificate that must have signed the metadata (optional)")
		fs.StringVar(&minLoA, "min-loa", "low", "the least level the service accepts: low, substantial or high")
		fs.StringVar(&methods, "methods", "", "comma-separated methods the service allows (default: all)")
		fs.BoolVar(&allowSHA1, "allow-sha1", false, "accept RSA-SHA1 signed requests (legacy kits only)")
	case "remove":
		fs.StringVar(&entityID, "entity-id", "", "the SP's entity ID (required)")
	}
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	reg := &saml.Registry{Store: a.store, Now: a.now}
	switch name {
	case "add":
		if (file == "") == (mdURL == "") {
			return usagef("give --metadata FILE or --metadata-url URL")
		}
		r := saml.Registered{MetadataURL: mdURL}
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			r.Metadata = string(b)
		}
		if certFile != "" {
			b, err := os.ReadFile(certFile)
			if err != nil {
				return err
			}
			r.MetadataSigningCert = string(b)
		}
		loa, ok := broker.ParseLoA(minLoA)
		if !ok {
			return usagef("--min-loa %q is not low, substantial or high", minLoA)
		}
		r.MinLoA, r.AllowSHA1 = loa, allowSHA1
		for m := range strings.SplitSeq(methods, ",") {
			if m = strings.TrimSpace(m); m != "" {
				r.Methods = append(r.Methods, m)
			}
		}
		sp, err := reg.Add(ctx, r, cliActor())
		if err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(out, "registered %s (min level %s, signed requests %v, encrypted assertions %v)\n",
			sp.EntityID, sp.MinLoA, sp.AuthnRequestsSigned, sp.EncryptionCert != nil)
	case "list":
		list, err := reg.List(ctx)
		if err != nil {
			return err
		}
		for _, r := range list {
			m := strings.Join(r.Methods, ",")
			if m == "" {
				m = "all"
			}
			loa := r.MinLoA
			if loa == "" {
				loa = broker.Low
			}
			fmt.Fprintf(out, "%s\tmin_loa=%s\tmethods=%s\tallow_sha1=%v\tadded %s by %s\n", r.EntityID, loa, m, r.AllowSHA1,
				r.AddedAt.Format("2006-01-02 15:04"), r.AddedBy)
		}
		if len(list) == 0 {
			fmt.Fprintln(out, "no SAML service providers registered at run time (see also saml_sps in the config)")
		}
	case "remove":
		if entityID == "" {
			return usagef("--entity-id is required")
		}
		if err := reg.Remove(ctx, entityID, cliActor()); errors.Is(err, store.ErrNotFound) {
			return usagef("no registered SP %q (see `clau sp saml list`)", entityID)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", entityID)
	}
	return nil
}
