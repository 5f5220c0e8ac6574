package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

func sub(args []string, cmds ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usagef("missing subcommand: one of %s", strings.Join(cmds, ", "))
	}
	for _, c := range cmds {
		if args[0] == c {
			return c, args[1:], nil
		}
	}
	return "", nil, usagef("unknown subcommand %q: want one of %s", args[0], strings.Join(cmds, ", "))
}

func cmdMigrate(ctx context.Context, args []string, out io.Writer) error {
	fs, cfgPath := flagSet("migrate")
	to := fs.Int64("to", 0, "migrate up to this version (default: the newest)")
	status := fs.Bool("status", false, "only show the database's version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, anySchema)
	if err != nil {
		return err
	}
	defer a.close()
	if !*status {
		if _, err := a.store.Migrate(ctx, *to); err != nil {
			return err
		}
	}
	cur, latest, err := a.store.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "database version %d (newest known %d)\n", cur, latest)
	return nil
}

func cmdOffice(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "add", "list")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("office " + name)
	var o identity.Office
	if name == "add" {
		fs.StringVar(&o.Code, "code", "", "short public code, e.g. BCN-01 (required)")
		fs.StringVar(&o.Name, "name", "", "office name (required)")
		fs.StringVar(&o.Address, "address", "", "street address (required)")
		fs.StringVar(&o.PostalCode, "postal-code", "", "postal code (required)")
		fs.StringVar(&o.Municipality, "municipality", "", "municipality (required)")
		fs.StringVar(&o.Province, "province", "", "province or island (required)")
		fs.StringVar(&o.Phone, "phone", "", "public phone")
		fs.StringVar(&o.Email, "email", "", "public email")
		fs.StringVar(&o.OpeningHours, "hours", "", "opening hours, free text")
		fs.StringVar(&o.Services, "services", "", "what the office does, free text (shown in the directory)")
		fs.StringVar(&o.Accessibility, "accessibility", "", "accessibility notes, free text (shown in the directory)")
	}
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	switch name {
	case "add":
		o.ID, o.Active = store.NewID(), true
		if err := o.Normalise(); err != nil {
			return a.explain(err)
		}
		err := a.store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateOffice(ctx, &o); err != nil {
				return store.DuplicateProblem(err)
			}
			return audit.Append(ctx, tx, &audit.Event{Actor: cliActor(), Action: "office.create",
				Subject: "office:" + o.Code, Office: o.Code, Source: "cli"})
		})
		if err != nil {
			return a.explain(err)
		}
		fmt.Fprintf(out, "office %s created (%s)\n", o.Code, o.Name)
	case "list":
		offices, err := a.store.ListOffices(ctx, false)
		if err != nil {
			return err
		}
		tw := newTable(out, "CODE", "NAME", "MUNICIPALITY", "PROVINCE", "ACTIVE")
		for _, o := range offices {
			tw.row(o.Code, o.Name, o.Municipality, o.Province, fmt.Sprint(o.Active))
		}
		tw.flush()
	}
	return nil
}
