package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/clau-eid/clau/internal/audit"
)

func cmdAudit(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "verify", "export")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("audit " + name)
	from := fs.Int64("from", 1, "export: first sequence number")
	file := fs.String("out", "", "export: write to this file instead of standard output")
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	switch name {
	case "verify":
		r, err := audit.Verify(ctx, a.store)
		if err != nil {
			return err
		}
		if !r.OK() {
			for _, f := range r.Findings {
				fmt.Fprintf(out, "event %d: %s: %s\n", f.Seq, f.Kind, f.Detail)
			}
			return fmt.Errorf("the audit trail has been tampered with: %d problem(s) in %d events", len(r.Findings), r.Events)
		}
		fmt.Fprintf(out, "audit trail intact: %d events, head %d %s\n", r.Events, r.HeadSeq, r.HeadHash)
	case "export":
		w := out
		if *file != "" {
			f, err := os.OpenFile(*file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			bw := bufio.NewWriter(f)
			defer bw.Flush()
			w = bw
		}
		n, err := audit.Export(ctx, a.store, w, *from)
		if err != nil {
			return err
		}
		if *file != "" {
			fmt.Fprintf(out, "%d events written to %s\n", n, *file)
		}
	}
	return nil
}
