package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

func cmdOfficer(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "add", "list")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("officer " + name)
	var (
		username, display, officeCode, role string
		passwordStdin                       bool
	)
	fs.StringVar(&officeCode, "office", "", "office code (add: required; list: filter)")
	if name == "add" {
		fs.StringVar(&username, "username", "", "sign-in name (required)")
		fs.StringVar(&display, "name", "", "full name (required)")
		fs.StringVar(&role, "role", "officer", "officer, supervisor or admin")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (default: generate one and print it once)")
	}
	a, err := openFromFlags(ctx, fs, cfgPath, rest)
	if err != nil {
		return err
	}
	defer a.close()
	var office *identity.Office
	if officeCode != "" {
		office, err = a.store.OfficeByCode(ctx, strings.ToUpper(strings.TrimSpace(officeCode)))
		if errors.Is(err, store.ErrNotFound) {
			return usagef("no office with code %q (see `clau office list`)", officeCode)
		} else if err != nil {
			return err
		}
	}
	switch name {
	case "add":
		if office == nil {
			return usagef("--office is required")
		}
		password, generated := "", false
		if passwordStdin {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return usagef("no password on standard input")
			}
			password = strings.TrimRight(line, "\r\n")
			if len(password) < 12 {
				return usagef("an officer's password needs at least 12 characters")
			}
		} else {
			password, generated = generatePassword(), true
		}
		o, err := a.addOfficer(ctx, cliActor(), office, username, display, identity.Role(role), password)
		if err != nil {
			return a.explain(err)
		}
		fmt.Fprintf(out, "officer %s (%s) created at office %s\n", o.Username, o.Role, office.Code)
		if generated {
			fmt.Fprintf(out, "password (shown once): %s\n", password)
		}
	case "list":
		id := ""
		if office != nil {
			id = office.ID
		}
		officers, err := a.store.ListOfficers(ctx, id)
		if err != nil {
			return err
		}
		codes := map[string]string{}
		offices, _ := a.store.ListOffices(ctx, false)
		for _, o := range offices {
			codes[o.ID] = o.Code
		}
		tw := newTable(out, "USERNAME", "NAME", "OFFICE", "ROLE", "STATUS", "TOTP")
		for _, o := range officers {
			totp := "not enrolled"
			if o.TOTPSecretSealed != "" {
				totp = "enrolled"
			}
			tw.row(o.Username, o.DisplayName, codes[o.OfficeID], string(o.Role), string(o.Status), totp)
		}
		tw.flush()
	}
	return nil
}

// addOfficer validates, hashes the password and stores the officer with
// its audit event in one transaction.
func (a *app) addOfficer(ctx context.Context, actor string, office *identity.Office, username, display string,
	role identity.Role, password string) (*identity.Officer, error) {
	o := &identity.Officer{ID: store.NewID(), Username: username, DisplayName: display, OfficeID: office.ID,
		Role: role, Status: identity.OfficerActive}
	if err := o.Normalise(); err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	o.PasswordHash = hash
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateOfficer(ctx, o); err != nil {
			return duplicateProblem(err)
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: actor, Action: "officer.create",
			Subject: "officer:" + o.Username, Office: office.Code, Source: "cli",
			Details: map[string]string{"role": string(o.Role)}})
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// generatePassword makes a 128-bit random password (crypto/rand.Text:
// 26 base32 characters), grouped for reading aloud.
func generatePassword() string {
	t := rand.Text()
	return t[:7] + "-" + t[7:13] + "-" + t[13:19] + "-" + t[19:]
}
