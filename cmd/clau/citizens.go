package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

func cmdCitizen(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "add", "show", "list", "count")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("citizen " + name)
	var (
		c                                         identity.Citizen
		doc, validity, birth, level, channel, off string
		after                                     string
		limit                                     int
	)
	switch name {
	case "add":
		fs.StringVar(&doc, "document", "", "DNI or NIE (required)")
		fs.StringVar(&validity, "validity", "", "DNI validity date YYYY-MM-DD (or issue date with --permanent)")
		fs.BoolVar(&c.DocPermanent, "permanent", false, "the DNI is valid indefinitely; --validity is its issue date")
		fs.StringVar(&c.SupportNumber, "support", "", "NIE support number")
		fs.StringVar(&c.GivenName, "given-name", "", "given name (required)")
		fs.StringVar(&c.FirstSurname, "first-surname", "", "first surname (required)")
		fs.StringVar(&c.SecondSurname, "second-surname", "", "second surname")
		fs.StringVar(&birth, "birth-date", "", "birth date YYYY-MM-DD (required)")
		fs.StringVar(&c.Nationality, "nationality", "", "ISO country code (default ES for a DNI)")
		fs.StringVar(&c.Email, "email", "", "email (required)")
		fs.StringVar(&c.Mobile, "mobile", "", "mobile phone (required)")
		fs.StringVar(&c.Language, "language", "ca", "ca, es or en")
		fs.StringVar(&level, "level", string(identity.LevelAdvanced), "basic or advanced")
		fs.StringVar(&channel, "channel", string(identity.ChannelOffice), "office, certificate or letter")
		fs.StringVar(&off, "office", "", "office code where the citizen was registered")
	case "list":
		fs.StringVar(&after, "after", "", "list citizens after this ID (paging)")
		fs.IntVar(&limit, "limit", 50, "at most this many")
	}
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	switch name {
	case "add":
		return a.cliAddCitizen(ctx, out, &c, doc, validity, birth, level, channel, off)
	case "show":
		if fs.NArg() != 1 {
			return usagef("usage: clau citizen show DNI-OR-NIE")
		}
		d, err := identity.ParseDocument(fs.Arg(0))
		if err != nil {
			return a.explain(err)
		}
		c, err := a.store.CitizenByDocument(ctx, d.Number)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no registered citizen with document %s", d.Masked())
		} else if err != nil {
			return err
		}
		printCitizen(out, c)
	case "list":
		cs, err := a.store.ListCitizens(ctx, store.Page{After: after, Limit: limit})
		if err != nil {
			return err
		}
		tw := newTable(out, "ID", "DOCUMENT", "NAME", "LEVEL", "STATUS")
		for _, c := range cs {
			tw.row(c.ID, c.Document.Number, c.GivenName+" "+c.FirstSurname, string(c.Level), string(c.Status))
		}
		tw.flush()
	case "count":
		n, err := a.store.CountCitizens(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, n)
	}
	return nil
}

func (a *app) cliAddCitizen(ctx context.Context, out io.Writer, c *identity.Citizen, doc, validity, birth, level, channel, officeCode string) error {
	// Dates that do not parse are reported with every other problem, so the
	// operator fixes everything in one go.
	var dateProblems []problem.Field
	c.Document.Number = doc
	if validity != "" {
		d, err := identity.ParseDate(validity)
		if err != nil {
			dateProblems = append(dateProblems, problem.Field{Name: "doc_validity", MsgID: "doc_validity.invalid"})
		}
		c.DocValidity = d
	}
	if birth != "" {
		d, err := identity.ParseDate(birth)
		if err != nil {
			dateProblems = append(dateProblems, problem.Field{Name: "birth_date", MsgID: "birth_date.invalid"})
		}
		c.BirthDate = d
	}
	c.ID, c.Level, c.Channel, c.Status = store.NewID(), identity.Level(level), identity.Channel(channel), identity.StatusPending
	if officeCode != "" {
		if _, err := a.store.OfficeByCode(ctx, strings.ToUpper(officeCode)); err != nil {
			return usagef("no office with code %q", officeCode)
		}
	}
	err := a.registerCitizen(ctx, cliActor(), "cli", strings.ToUpper(officeCode), c)
	if len(dateProblems) > 0 {
		all := dateProblems
		if p, ok := problem.As(err); ok {
			for _, f := range p.Fields {
				if f.Name != "doc_validity" && f.Name != "birth_date" || !hasField(dateProblems, f.Name) {
					all = append(all, f)
				}
			}
		}
		err = problem.Invalid(all...)
	}
	if err != nil {
		return a.explain(err)
	}
	fmt.Fprintf(out, "citizen %s registered (level %s), id %s\n", c.Document.Number, c.Level, c.ID)
	return nil
}

func hasField(fs []problem.Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// registerCitizen validates c and stores it with its audit event in one
// transaction. A duplicate document or mobile is refused with the field
// named, audited as a refused registration, and nothing is changed.
func (a *app) registerCitizen(ctx context.Context, actor, source, officeCode string, c *identity.Citizen) error {
	if err := c.Normalise(a.now()); err != nil {
		return err
	}
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCitizen(ctx, c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: actor, Action: "citizen.register",
			Subject: "citizen:" + c.ID, Office: officeCode, Source: source,
			Details: map[string]string{"document": c.Document.Masked(), "level": string(c.Level), "channel": string(c.Channel)}})
	})
	if f, dup := store.IsDuplicate(err); dup {
		_ = a.trail.Record(ctx, audit.Event{Actor: actor, Action: "citizen.register", Office: officeCode, Source: source,
			Outcome: audit.Denied, Details: map[string]string{"document": c.Document.Masked(), "reason": "duplicate " + f}})
		return store.DuplicateProblem(err)
	}
	return err
}

func printCitizen(out io.Writer, c *identity.Citizen) {
	tw := newTable(out, "FIELD", "VALUE")
	validity := c.DocValidity.String()
	if c.DocPermanent {
		validity += " (issue date; permanent)"
	}
	rows := [][2]string{
		{"id", c.ID}, {"document", string(c.Document.Type) + " " + c.Document.Number}, {"validity", validity},
		{"support number", c.SupportNumber}, {"given name", c.GivenName}, {"first surname", c.FirstSurname},
		{"second surname", c.SecondSurname}, {"birth date", c.BirthDate.String()}, {"nationality", c.Nationality},
		{"email", c.Email}, {"mobile", c.Mobile}, {"language", c.Language}, {"level", string(c.Level)},
		{"channel", string(c.Channel)}, {"status", string(c.Status)},
		{"registered", c.CreatedAt.Format(time.RFC3339)}, {"updated", c.UpdatedAt.Format(time.RFC3339)},
		{"version", fmt.Sprint(c.Version)},
	}
	for _, r := range rows {
		if r[1] != "" {
			tw.row(r[0], r[1])
		}
	}
	tw.flush()
}
