package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/config"
	"github.com/clau-eid/clau/internal/demosaml"
	"github.com/clau-eid/clau/internal/demosp"
	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Demo accounts. They exist only in demo data folders.
const (
	demoOfficeCode = "DEMO-01"
	demoOfficer    = "demo.admin"
	demoPassword   = "Demo-Clau-2026!"
	demoCitizens   = 3
)

func cmdDemo(ctx context.Context, args []string, out io.Writer) error {
	fs, cfgPath := flagSet("demo")
	listen := fs.String("listen", "", "address to listen on (overrides listen)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	derivedURL := cfg.PublicURL == "http://"+cfg.Listen
	if *listen != "" {
		cfg.Listen = *listen
	}
	cfg.Dev.OutboxAPI = true
	// Listen first, so the public URL (the OIDC issuer the demo service
	// trusts) names the port actually bound when --listen asks for :0.
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (listen): %w", cfg.Listen, err)
	}
	if derivedURL {
		cfg.PublicURL = "http://" + l.Addr().String()
	}
	secret := rand.Text()
	cfg.OIDCClients = append(cfg.OIDCClients, config.OIDCClient{ID: demosp.ClientID, Name: "Ajuntament de Demo", Secret: secret,
		RedirectURIs: []string{demosp.RedirectURI(cfg.PublicURL)}, MinLoA: "low"})
	// The SAML demo service: a fresh key each start, its metadata in the
	// data folder for saml_sps.
	samlSP, err := demosaml.New(cfg.PublicURL)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	mdFile := filepath.Join(cfg.DataDir, "demo-saml-sp.xml")
	if err := os.WriteFile(mdFile, samlSP.Metadata(), 0o600); err != nil {
		return err
	}
	cfg.SAMLSPs = append(cfg.SAMLSPs, config.SAMLSP{MetadataFile: mdFile, MinLoA: "low"})
	mount := func(a *app, srv *httpserver.Server, r *web.Renderer) error {
		sp, err := demosp.New(cfg.PublicURL, secret, srv, r)
		if err != nil {
			return err
		}
		sp.Mount()
		return samlSP.Mount(srv, r)
	}
	return serve(ctx, cfg, out, serveOptions{listener: l, mount: mount, tuneGC: true, ready: func(a *app, addr string) error {
		citizens, activation, err := ensureDemoData(ctx, a)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		base := cfg.PublicURL
		fmt.Fprintf(out, `
Clau demo is running (storage: %s, data in %s).

  Home page:            %s/
  Office directory:     %s/offices
  Demo service (OIDC):  %s/demo-sp/  (Ajuntament de Demo)
  Demo service (SAML):  %s/demo-saml/  (Diputació de Demo)
  Sent SMS and email:   %s/dev/outbox
  Health and metrics:   %s/healthz  %s/readyz  %s/metrics

Demo accounts:
  Officer at office %s: username %s, password %s
  Citizens registered at %s:
`, cfg.Storage.Driver, cfg.DataDir, base, base, base, base, base, base, base, base, demoOfficeCode, demoOfficer, demoPassword, demoOfficeCode)
		for _, c := range citizens {
			fmt.Fprintf(out, "    %s  %s %s  mobile %s  email %s  (%s)\n", c.Document.Number, c.GivenName, c.FirstSurname,
				c.Mobile, c.Email, c.Status)
		}
		c := citizens[0]
		if activation != "" {
			fmt.Fprintf(out, `
Activate a citizen's Clau: open %s/activate and enter
    DNI %s, email %s, activation code %s
  then read the SMS code at %s/dev/outbox and choose a password.
`, base, c.Document.Number, c.Email, activation, base)
		}
		if o, err := a.store.OfficerByUsername(ctx, demoOfficer); err == nil {
			if secret, _, err := desk.OpenTOTP(a.keyring, o); err == nil {
				fmt.Fprintf(out, "\nRegistration desk: %s/desk  username %s, password %s, TOTP seed %s\n", base, demoOfficer, demoPassword, secret)
			}
		}
		if line, err := demoPIN(ctx, a, citizens, base); err != nil {
			return fmt.Errorf("demo PIN: %w", err)
		} else {
			fmt.Fprint(out, line)
		}
		fmt.Fprintf(out, "\nSign in: %s/login?continue=/me (add &loa=substantial for the SMS step)\n", base)
		fmt.Fprintf(out, "Try also: clau citizen show %s\nPress Ctrl+C to stop.\n", c.Document.Number)
		return nil
	}})
}

// ensureDemoData creates the demo office, officer and citizens once; a
// second run finds them and changes nothing, except that the first
// citizen, while not yet activated, gets a fresh activation code to print
// (the old one was shown once and is gone).
func ensureDemoData(ctx context.Context, a *app) ([]identity.Citizen, string, error) {
	office, err := a.store.OfficeByCode(ctx, demoOfficeCode)
	if errors.Is(err, store.ErrNotFound) {
		office = &identity.Office{ID: store.NewID(), Code: demoOfficeCode, Name: "Oficina d'Atenció Ciutadana de Demo",
			Address: "Plaça de la Vila 1", PostalCode: "08001", Municipality: "Barcelona", Province: "Barcelona",
			Phone: "+34 900 000 000", OpeningHours: "Dl-dv 9:00-14:00", Services: "Registre a Clau; activació i reinici de la contrasenya",
			Accessibility: "Accés sense graons; bucle magnètic al taulell 2", Active: true}
		if err := office.Normalise(); err != nil {
			return nil, "", err
		}
		err = a.store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateOffice(ctx, office); err != nil {
				return err
			}
			return audit.Append(ctx, tx, &audit.Event{Actor: "demo", Action: "office.create",
				Subject: "office:" + office.Code, Office: office.Code, Source: "demo"})
		})
	}
	if err != nil {
		return nil, "", err
	}
	if _, err := a.store.OfficerByUsername(ctx, demoOfficer); errors.Is(err, store.ErrNotFound) {
		if _, err := a.addOfficer(ctx, "demo", office, demoOfficer, "Demo Administrator", identity.RoleAdmin, demoPassword); err != nil {
			return nil, "", err
		}
	} else if err != nil {
		return nil, "", err
	}
	officer, err := a.store.OfficerByUsername(ctx, demoOfficer)
	if err != nil {
		return nil, "", err
	}
	// Two weeks of appointments, weekdays 9:00-14:00, two desks; the days
	// already there are kept as they are.
	if _, err := a.appointments().AddSlots(ctx, office.ID, a.now(), 14, appointments.Week{
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Open: "09:00", Close: "14:00", Every: 15 * time.Minute, Desks: 2}); err != nil {
		return nil, "", err
	}
	actor := registration.Actor{Officer: officer, Office: office, Source: "demo"}
	reg := a.services().reg
	var (
		out  []identity.Citizen
		code string
	)
	for i := range demoCitizens {
		c := seed.Citizen(i+1, "")
		existing, err := a.store.CitizenByDocument(ctx, c.Document.Number)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c.Level, c.Channel, c.Status = "", "", ""
			iss, err := reg.Register(ctx, actor, &c, registration.DocumentCheck{Shown: "dni", Checked: true})
			if err != nil {
				return nil, "", err
			}
			if i == 0 {
				code = iss.Code
			}
			out = append(out, *iss.Citizen)
		case err != nil:
			return nil, "", err
		default:
			if i == 0 && existing.Status == identity.StatusPending {
				iss, err := reg.Reissue(ctx, actor, existing.ID)
				if err != nil {
					return nil, "", err
				}
				code = iss.Code
			}
			out = append(out, *existing)
		}
	}
	return out, code, nil
}
