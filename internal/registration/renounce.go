package registration

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// ErrRenounceConfirm: what the citizen typed to confirm is neither their
// document number nor their password.
var ErrRenounceConfirm = problem.Invalid(problem.Field{Name: "confirm", MsgID: "renounce.confirm_wrong"})

// ErrRenounceNotActive: only a live record can be renounced.
var ErrRenounceNotActive = problem.New(http.StatusConflict, "renounce.not_active")

// Renounce deregisters citizens at their own request, signed in: they
// confirm by typing their document number or their password again. It is
// the desk's ending (EndRecord: sessions, activation code, PIN service and
// passkeys), audited as citizen.renounce, with a notice by email and SMS in
// the same transaction. Afterwards they register again
// only at an office or with a certificate: a letter is refused
// (RequestLetter). Refusals are audited.
func (s *Service) Renounce(ctx context.Context, citizenID, confirm, source string) (*identity.Citizen, error) {
	c, err := s.store.CitizenByID(ctx, citizenID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	deny := func(reason string) {
		_ = audit.New(s.store, s.opts.Now).Record(ctx, audit.Event{Actor: "citizen:" + c.ID, Action: "citizen.renounce",
			Subject: "citizen:" + c.ID, Source: source, Outcome: audit.Denied, Details: map[string]string{"reason": reason}})
	}
	if c.Status == identity.StatusDeregistered {
		deny("already deregistered")
		return nil, ErrRenounceNotActive
	}
	ok, err := s.confirms(ctx, c, confirm)
	if err != nil {
		return nil, err
	}
	if !ok {
		deny("confirmation wrong")
		return nil, ErrRenounceConfirm
	}
	var out *identity.Citizen
	now := s.opts.Now().UTC()
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.CitizenByID(ctx, citizenID)
		if err != nil {
			return err
		}
		if c.Status == identity.StatusDeregistered { // a second tab got there first
			return ErrRenounceNotActive
		}
		ended, err := s.EndRecord(ctx, tx, c)
		if err != nil {
			return err
		}
		ended["reason"] = "renounced by the citizen"
		if err := audit.Append(ctx, tx, &audit.Event{At: now, Actor: "citizen:" + c.ID, Action: "citizen.renounce",
			Subject: "citizen:" + c.ID, Source: source, Details: ended}); err != nil {
			return err
		}
		out = c
		return s.notifyCitizen(ctx, tx, c, "security.renounced", "renounced:"+c.ID+":"+now.Format(time.RFC3339Nano),
			map[string]any{"Document": c.Document.Masked(), "Date": now.In(madrid).Format("02/01/2006")})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// confirms reports whether typed is c's document number or password.
func (s *Service) confirms(ctx context.Context, c *identity.Citizen, typed string) (bool, error) {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return false, nil
	}
	if d, err := identity.ParseDocument(typed); err == nil {
		return d.Number == c.Document.Number, nil
	}
	pw, err := s.store.PasswordOf(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, s.hasher.VerifyDummy(ctx, typed)
	} else if err != nil {
		return false, err
	}
	ok, _, err := s.hasher.Verify(ctx, typed, pw.Hash)
	return ok, err
}

// madrid is the time zone notices give dates in; UTC without the zone
// database.
var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()
