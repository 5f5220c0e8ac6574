package main

import (
	"time"

	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/letterpdf"
	"github.com/clau-eid/clau/internal/letters"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/web"
)

// enableLetters turns on registration by letter when the config says so.
func (a *app) enableLetters(reg *registration.Service) {
	if !a.cfg.Letters.Enabled {
		return
	}
	reg.EnableLetters(registration.LetterOptions{Keyring: a.keyring, ActivateURL: a.cfg.PublicURL + "/activate",
		CodeTTL: a.cfg.Letters.CodeTTL})
}

// letterPrinter lays out print batches, nil when letters are off.
func (a *app) letterPrinter() *letterpdf.Printer {
	if !a.cfg.Letters.Enabled {
		return nil
	}
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		loc = time.UTC
	}
	return &letterpdf.Printer{T: a.catalog.T, Location: loc}
}

// deskLetterPrinter is letterPrinter as the desk takes it: a nil
// interface, not a nil pointer in one, when letters are off.
func (a *app) deskLetterPrinter() desk.LetterPrinter {
	if p := a.letterPrinter(); p != nil {
		return p
	}
	return nil
}

// mountLetters adds /register/letter (which says "go to an office" when
// letters.enabled is off).
func mountLetters(a *app, srv *httpserver.Server, r *web.Renderer, sv *services) error {
	p, err := letters.New(sv.reg, srv, r)
	if err != nil {
		return err
	}
	p.Mount()
	return nil
}
