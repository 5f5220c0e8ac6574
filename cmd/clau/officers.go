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
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

func cmdOfficer(ctx context.Context, args []string, out io.Writer) error {
	name, rest, err := sub(args, "add", "list", "token", "enroll")
	if err != nil {
		return err
	}
	fs, cfgPath := flagSet("officer " + name)
	var (
		username, display, officeCode, role, qrFile, label string
		passwordStdin                                      bool
		ttl                                                time.Duration
	)
	switch name {
	case "add", "list":
		fs.StringVar(&officeCode, "office", "", "office code (add: required; list: filter)")
	}
	switch name {
	case "add":
		fs.StringVar(&username, "username", "", "sign-in name (required)")
		fs.StringVar(&display, "name", "", "full name (required)")
		fs.StringVar(&role, "role", "officer", "officer, supervisor or admin")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (default: generate one and print it once)")
		fs.StringVar(&qrFile, "qr", "", "also write the TOTP enrolment QR code to this PNG file")
	case "enroll":
		fs.StringVar(&username, "username", "", "the officer (required)")
		fs.StringVar(&qrFile, "qr", "", "also write the TOTP enrolment QR code to this PNG file")
	case "token":
		fs.StringVar(&username, "username", "", "the officer the token acts as (required)")
		fs.DurationVar(&ttl, "ttl", desk.DefaultTokenTTL, "how long the token works (at most 2160h)")
		fs.StringVar(&label, "name", "", "a label for the token, such as the script that uses it")
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
		o, secret, uri, err := a.addEnrolledOfficer(ctx, cliActor(), office, username, display, identity.Role(role), password)
		if err != nil {
			return a.explain(err)
		}
		fmt.Fprintf(out, "officer %s (%s) created at office %s\n", o.Username, o.Role, office.Code)
		if generated {
			fmt.Fprintf(out, "password (shown once): %s\n", password)
		}
		return printEnrolment(out, secret, uri, qrFile)
	case "enroll":
		o, err := a.officerNamed(ctx, username)
		if err != nil {
			return err
		}
		secret, uri, err := a.enrollOfficer(ctx, cliActor(), o)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "officer %s has a new TOTP seed; the old one no longer works\n", o.Username)
		return printEnrolment(out, secret, uri, qrFile)
	case "token":
		o, err := a.officerNamed(ctx, username)
		if err != nil {
			return err
		}
		if ttl < time.Minute || ttl > desk.MaxTokenTTL {
			return usagef("--ttl must be between 1m and %s", desk.MaxTokenTTL)
		}
		now := a.now()
		token, err := desk.NewAPIToken(ctx, a.store, o, desk.TokenSpec{Name: label, TTL: ttl, Actor: cliActor(), Source: "cli"}, now)
		if err != nil {
			return usagef("%v", err)
		}
		// Only the token on standard output, so scripts can capture it.
		fmt.Fprintln(out, token)
		fmt.Fprintf(os.Stderr, "desk API token for %s, valid until %s; shown once\n", o.Username,
			now.Add(ttl).UTC().Format(time.RFC3339))
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

// officerNamed finds an officer by --username.
func (a *app) officerNamed(ctx context.Context, username string) (*identity.Officer, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" {
		return nil, usagef("--username is required")
	}
	o, err := a.store.OfficerByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, usagef("no officer with username %q (see `clau officer list`)", username)
	}
	return o, err
}

// printEnrolment shows a TOTP seed once: as text, as the otpauth:// URI
// and, with --qr, as a PNG to scan.
func printEnrolment(out io.Writer, secret, uri, qrFile string) error {
	fmt.Fprintf(out, "TOTP secret (shown once): %s\n", secret)
	fmt.Fprintf(out, "TOTP URI (shown once): %s\n", uri)
	if qrFile == "" {
		return nil
	}
	png, err := secure.TOTPQRCode(uri, 320)
	if err != nil {
		return err
	}
	// 0600 and never over an existing file: it is a secret.
	f, err := os.OpenFile(qrFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the QR code: %w", err)
	}
	if _, err := f.Write(png); err != nil {
		f.Close()
		return fmt.Errorf("writing the QR code: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the QR code: %w", err)
	}
	fmt.Fprintf(out, "TOTP QR code written to %s; delete it once scanned\n", qrFile)
	return nil
}

// addOfficer validates, hashes the password, enrolls a TOTP seed (staff
// cannot sign in without one) and stores the officer with its audit event
// in one transaction. The seed can be read back with desk.OpenTOTP.
func (a *app) addOfficer(ctx context.Context, actor string, office *identity.Office, username, display string,
	role identity.Role, password string) (*identity.Officer, error) {
	o, _, _, err := a.addEnrolledOfficer(ctx, actor, office, username, display, role, password)
	return o, err
}

// addEnrolledOfficer is addOfficer returning the TOTP seed and its
// otpauth:// URI, to show once.
func (a *app) addEnrolledOfficer(ctx context.Context, actor string, office *identity.Office, username, display string,
	role identity.Role, password string) (o *identity.Officer, secret, uri string, err error) {
	o = &identity.Officer{ID: store.NewID(), Username: username, DisplayName: display, OfficeID: office.ID,
		Role: role, Status: identity.OfficerActive}
	if err := o.Normalise(); err != nil {
		return nil, "", "", err
	}
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return nil, "", "", err
	}
	o.PasswordHash = hash
	if secret, uri, err = desk.SealNewTOTP(a.keyring, o); err != nil {
		return nil, "", "", err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		c := *o
		if err := tx.CreateOfficer(ctx, &c); err != nil {
			return store.DuplicateProblem(err)
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: actor, Action: "officer.create",
			Subject: "officer:" + o.Username, Office: office.Code, Source: "cli",
			Details: map[string]string{"role": string(o.Role), "totp": "enrolled"}})
	})
	if err != nil {
		return nil, "", "", err
	}
	return o, secret, uri, nil
}

// enrollOfficer gives an officer a new TOTP seed, audited.
func (a *app) enrollOfficer(ctx context.Context, actor string, o *identity.Officer) (secret, uri string, err error) {
	officeCode := ""
	if off, err := a.store.OfficeByID(ctx, o.OfficeID); err == nil {
		officeCode = off.Code
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		c := *o
		var err error
		if secret, uri, err = desk.EnrollTOTP(ctx, tx, a.keyring, &c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: actor, Action: "officer.totp_enroll",
			Subject: "officer:" + o.Username, Office: officeCode, Source: "cli"})
	})
	return secret, uri, err
}

// generatePassword makes a 128-bit random password (crypto/rand.Text:
// 26 base32 characters), grouped for reading aloud.
func generatePassword() string {
	t := rand.Text()
	return t[:7] + "-" + t[7:13] + "-" + t[13:19] + "-" + t[19:]
}
