package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/reference"
	"github.com/clau-eid/clau/internal/store"
)

// maxImportBytes bounds the CSV file read into memory.
const maxImportBytes = 512 << 20

func cmdRegistry(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "import", "show", "count")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("registry " + name)
	existing := fs.String("existing", string(reference.ExistingReject),
		"documents already in the registry: reject (refuse the file) or update (replace the records)")
	dryRun := fs.Bool("dry-run", false, "check the file and report, write nothing")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	var data []byte
	switch name {
	case "import":
		if fs.NArg() != 1 {
			return usagef("usage: clau registry import [--existing reject|update] [--dry-run] FILE.csv")
		}
		if e := reference.Existing(*existing); e != reference.ExistingReject && e != reference.ExistingUpdate {
			return usagef("--existing must be reject or update, not %q", *existing)
		}
		data, err = readLimited(fs.Arg(0))
		if err != nil {
			return usagef("%v", err)
		}
	case "show":
		if fs.NArg() != 1 {
			return usagef("usage: clau registry show DNI-OR-NIE")
		}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, modeFor(cfg))
	if err != nil {
		return err
	}
	defer a.close()
	switch name {
	case "import":
		return a.importRegistry(ctx, out, fs.Arg(0), data, reference.Existing(*existing), *dryRun)
	case "show":
		d, err := identity.ParseDocument(fs.Arg(0))
		if err != nil {
			return a.explain(err)
		}
		r, err := a.store.ReferenceByDocument(ctx, d.Number)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no reference record with document %s", d.Masked())
		} else if err != nil {
			return err
		}
		tw := newTable(out, "FIELD", "VALUE")
		for _, row := range [][2]string{
			{"document", string(r.Document.Type) + " " + r.Document.Number}, {"validity", r.DocValidity.String()},
			{"support number", r.SupportNumber}, {"given name", r.GivenName}, {"first surname", r.FirstSurname},
			{"second surname", r.SecondSurname}, {"birth date", r.BirthDate.String()}, {"address", r.AddressLine1},
			{"", r.AddressLine2}, {"postal code", r.PostalCode}, {"municipality", r.Municipality}, {"province", r.Province},
			{"import", r.ImportID}, {"version", fmt.Sprint(r.Version)},
		} {
			if row[1] != "" && row[1] != "0000-00-00" {
				tw.row(row[0], row[1])
			}
		}
		tw.flush()
	case "count":
		n, err := a.store.CountReferences(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, n)
	}
	return nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB: split it", path, maxImportBytes>>20)
	}
	return data, nil
}

// importRegistry imports a reference file and prints its report: every
// rejected row with its line and reasons, then a summary line.
func (a *app) importRegistry(ctx context.Context, out io.Writer, path string, data []byte, existing reference.Existing, dryRun bool) error {
	file := filepath.Base(path)
	rep, err := reference.Import(ctx, a.store, data, reference.Options{Existing: existing, DryRun: dryRun,
		ImportID: store.NewID(), Actor: cliActor(), Source: "cli", File: file, Now: a.now()})
	var fe *reference.FileError
	if errors.As(err, &fe) {
		return usagef("%s: %s; nothing imported", file, fe.Msg)
	} else if err != nil {
		return fmt.Errorf("%s: %w; nothing imported", file, err)
	}
	for _, r := range rep.Rejected {
		doc := ""
		if r.Document != "" {
			doc = " (" + r.Document + ")"
		}
		for _, f := range r.Fields {
			fmt.Fprintf(out, "line %d%s: %s: %s\n", r.Line, doc, f.Name, a.catalog.T("en", f.MsgID, f.Args))
		}
	}
	switch {
	case len(rep.Rejected) > 0:
		return usagef("%s: %d rows, %d rejected: nothing imported (fix the rows above and import the whole file again)",
			file, rep.Rows, len(rep.Rejected))
	case dryRun:
		fmt.Fprintf(out, "%s: %d rows, all valid: %d would be added, %d updated (dry run: nothing imported)\n",
			file, rep.Rows, rep.Inserted, rep.Updated)
	default:
		fmt.Fprintf(out, "%s: %d rows imported: %d added, %d updated (import %s)\n",
			file, rep.Rows, rep.Inserted, rep.Updated, rep.ImportID)
	}
	return nil
}
