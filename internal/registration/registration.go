package registration

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// Errors officers see.
var (
	ErrNotYourOffice = problem.New(http.StatusForbidden, "desk.not_your_office")
	ErrNotFound      = problem.New(http.StatusNotFound, "desk.citizen_not_found")
	ErrDeregistered  = problem.New(http.StatusConflict, "desk.deregistered")
	ErrStale         = problem.New(http.StatusConflict, "store.stale")
	ErrReason        = problem.Invalid(problem.Field{Name: "reason", MsgID: "desk.reason_required"})
	ErrDocNotChecked = problem.Invalid(problem.Field{Name: "document_checked", MsgID: "desk.document_not_checked"})
)

// Options tune the service.
type Options struct {
	ActivationTTL time.Duration // default 30 days
	Policy        secure.PasswordPolicy
	BaseURL       string // public_url, for links in notices
	Now           func() time.Time
	// EndSessions ends, inside tx, every live SSO session of a citizen
	// whose record ends, telling the services they signed in to (the
	// broker's EndSessions, which runs the front-ends' logout hooks). Nil:
	// the sessions are only revoked.
	EndSessions func(ctx context.Context, tx store.Tx, citizenID string) (int, error)
}

// Service registers and activates citizens.
type Service struct {
	store  store.Store
	codes  *secure.OneTimeCodes
	hasher *secure.Hasher
	opts   Options
	// Notify sends the SMS of activation; set by the caller.
	notify  notifier
	letters *letters // nil until EnableLetters
}

// New returns the service.
func New(s store.Store, codes *secure.OneTimeCodes, h *secure.Hasher, n notifier, o Options) *Service {
	if o.ActivationTTL == 0 {
		o.ActivationTTL = 30 * 24 * time.Hour
	}
	if o.Policy.MinLength == 0 {
		o.Policy = secure.DefaultPasswordPolicy()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: s, codes: codes, hasher: h, notify: n, opts: o}
}

// ActivationSpec is the activation code: 16 symbols, 5 tries.
func (s *Service) ActivationSpec() secure.CodeSpec {
	return secure.CodeSpec{Purpose: "activation", Kind: secure.Activation, TTL: s.opts.ActivationTTL, MaxAttempts: 5}
}

// Actor is the officer acting, for checks and the audit trail; or, with
// Citizen set instead, citizens acting on their own record (renounce.go).
type Actor struct {
	Officer *identity.Officer
	Office  *identity.Office
	Source  string
	Citizen *identity.Citizen
}

func (a Actor) event(action, subject string, details map[string]string) *audit.Event {
	if a.Citizen != nil {
		return &audit.Event{Actor: "citizen:" + a.Citizen.ID, Action: action, Subject: subject, Source: a.Source,
			Details: details}
	}
	return &audit.Event{Actor: "officer:" + a.Officer.Username, Action: action, Subject: subject,
		Office: a.Office.Code, Source: a.Source, Details: details}
}

// mayChange reports whether the actor may change c.
func (a Actor) mayChange(c *identity.Citizen) bool {
	if a.Citizen != nil {
		return a.Citizen.ID == c.ID
	}
	return a.Officer.Role == identity.RoleAdmin || c.OfficeID == a.Office.ID
}

// DocumentCheck records the in-person check: which document the citizen
// showed and that the officer checked it.
type DocumentCheck struct {
	Shown   string // "dni", "nie_card", "passport", ...
	Checked bool
}

// Issued is an activation code to show once.
type Issued struct {
	Citizen   *identity.Citizen
	Code      string // formatted XXXX-XXXX-XXXX-XXXX
	ExpiresAt time.Time
	Office    *identity.Office
	IssuedAt  time.Time
}

// Register stores a citizen registered at the actor's office (level
// advanced, channel office) and issues the activation code, all in one
// transaction with its audit events. A duplicate document or mobile is
// refused naming the field, audited, and changes nothing.
func (s *Service) Register(ctx context.Context, a Actor, c *identity.Citizen, check DocumentCheck) (*Issued, error) {
	if !check.Checked || strings.TrimSpace(check.Shown) == "" {
		ev := a.event("citizen.register", "", map[string]string{"reason": "document not checked"})
		ev.Outcome = audit.Denied
		_ = audit.New(s.store, s.opts.Now).Record(ctx, *ev)
		return nil, ErrDocNotChecked
	}
	now := s.opts.Now().UTC()
	c.ID, c.Level, c.Channel, c.Status, c.OfficeID = store.NewID(), identity.LevelAdvanced, identity.ChannelOffice,
		identity.StatusPending, a.Office.ID
	if err := c.Normalise(now); err != nil {
		return nil, err
	}
	var out *Issued
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCitizen(ctx, c); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, a.event("citizen.register", "citizen:"+c.ID, map[string]string{
			"document": c.Document.Masked(), "document_shown": check.Shown, "level": string(c.Level)})); err != nil {
			return err
		}
		var err error
		out, err = s.issue(ctx, tx, a, c, now)
		return err
	})
	if f, dup := store.IsDuplicate(err); dup {
		ev := a.event("citizen.register", "", map[string]string{"document": c.Document.Masked(), "reason": "duplicate " + f})
		ev.Outcome = audit.Denied
		_ = audit.New(s.store, s.opts.Now).Record(ctx, *ev)
		return nil, store.DuplicateProblem(err)
	}
	return out, err
}

func (s *Service) issue(ctx context.Context, tx store.Tx, a Actor, c *identity.Citizen, now time.Time) (*Issued, error) {
	code, exp, err := s.codes.Issue(ctx, tx, s.ActivationSpec(), c.ID)
	if err != nil {
		return nil, err
	}
	// A new code also lifts a password lockout (DESIGN.md).
	if err := tx.DeleteCounter(ctx, "pwd:doc:"+c.Document.Number); err != nil {
		return nil, err
	}
	if err := audit.Append(ctx, tx, a.event("code.issue", "citizen:"+c.ID, map[string]string{
		"purpose": "activation", "expires": exp.Format(time.DateOnly)})); err != nil {
		return nil, err
	}
	return &Issued{Citizen: c, Code: secure.FormatActivationCode(code), ExpiresAt: exp, Office: a.Office, IssuedAt: now}, nil
}

// Find returns the live citizen with a document, for any officer.
func (s *Service) Find(ctx context.Context, a Actor, docInput string) (*identity.Citizen, error) {
	doc, err := identity.ParseDocument(docInput)
	if err != nil {
		return nil, err
	}
	c, err := s.store.CitizenByDocument(ctx, doc.Number)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err == nil {
		_ = audit.New(s.store, s.opts.Now).Record(ctx, *a.event("citizen.view", "citizen:"+c.ID, nil))
	}
	return c, err
}

// Get returns a citizen by ID, for any officer.
func (s *Service) Get(ctx context.Context, id string) (*identity.Citizen, error) {
	c, err := s.store.CitizenByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return c, err
}

// change loads a citizen the actor may change, runs fn in a transaction
// with the loaded record, and maps races and refusals.
func (s *Service) change(ctx context.Context, a Actor, id string, version int64, action string,
	fn func(tx store.Tx, c *identity.Citizen) error) (*identity.Citizen, error) {
	var out *identity.Citizen
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.CitizenByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if !a.mayChange(c) {
			return ErrNotYourOffice
		}
		if c.Status == identity.StatusDeregistered {
			return ErrDeregistered
		}
		if version != 0 && c.Version != version {
			return ErrStale
		}
		if err := fn(tx, c); err != nil {
			return err
		}
		out = c
		return nil
	})
	if errors.Is(err, ErrNotYourOffice) {
		ev := a.event(action, "citizen:"+id, map[string]string{"reason": "another office's record"})
		ev.Outcome = audit.Denied
		_ = audit.New(s.store, s.opts.Now).Record(ctx, *ev)
	}
	if errors.Is(err, store.ErrStale) {
		return nil, ErrStale
	}
	return out, store.DuplicateProblem(err)
}

// Reissue issues a new activation code; the old one dies.
func (s *Service) Reissue(ctx context.Context, a Actor, id string) (*Issued, error) {
	var out *Issued
	_, err := s.change(ctx, a, id, 0, "code.issue", func(tx store.Tx, c *identity.Citizen) error {
		var err error
		out, err = s.issue(ctx, tx, a, c, s.opts.Now().UTC())
		return err
	})
	return out, err
}

// CorrectContact changes email and mobile (version: the record the officer
// saw, so two officers editing at once do not overwrite each other).
func (s *Service) CorrectContact(ctx context.Context, a Actor, id string, version int64, email, mobile string) (*identity.Citizen, error) {
	var fields []problem.Field
	e, err := identity.NormaliseEmail(email)
	if err != nil {
		fields = append(fields, problem.Field{Name: "email", MsgID: "email.format"})
	}
	m, err := identity.NormaliseMobile(mobile)
	if err != nil {
		fields = append(fields, problem.Field{Name: "mobile", MsgID: "mobile.format"})
	}
	if len(fields) > 0 {
		return nil, problem.Invalid(fields...)
	}
	return s.change(ctx, a, id, version, "citizen.correct", func(tx store.Tx, c *identity.Citizen) error {
		changed := map[string]string{}
		if c.Email != e {
			changed["email"] = secure.MaskEmail(e)
		}
		if c.Mobile != m {
			changed["mobile"] = secure.MaskPhone(m)
		}
		c.Email, c.Mobile = e, m
		if err := tx.UpdateCitizen(ctx, c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, a.event("citizen.correct", "citizen:"+c.ID, changed))
	})
}

// Deregister removes a citizen from the registry, keeping the history. In
// the same transaction it ends everything that could still sign them in
// (see EndRecord) and audits what it ended.
func (s *Service) Deregister(ctx context.Context, a Actor, id string, version int64, reason string) (*identity.Citizen, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, ErrReason
	}
	return s.change(ctx, a, id, version, "citizen.deregister", func(tx store.Tx, c *identity.Citizen) error {
		ended, err := s.EndRecord(ctx, tx, c)
		if err != nil {
			return err
		}
		ended["reason"] = reason
		return audit.Append(ctx, tx, a.event("citizen.deregister", "citizen:"+c.ID, ended))
	})
}

// EndRecord marks c deregistered inside tx and ends everything that could
// still sign them in: live SSO sessions revoked, the activation code
// consumed, the PIN service turned off and every passkey deleted. It does
// not audit; it returns what it ended, for the caller's audit event, so
// that the change and its record commit together or not at all.
func (s *Service) EndRecord(ctx context.Context, tx store.Tx, c *identity.Citizen) (map[string]string, error) {
	c.Status = identity.StatusDeregistered
	if err := tx.UpdateCitizen(ctx, c); err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	ended, err := s.endSessions(ctx, tx, c.ID, now)
	if err != nil {
		return nil, err
	}
	if live, err := tx.LiveCode(ctx, s.ActivationSpec().Purpose, c.ID); err == nil {
		if err := tx.ConsumeCode(ctx, live.ID, now); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	pinOff := "none"
	switch err := tx.DeletePINService(ctx, c.ID); {
	case err == nil:
		pinOff = "turned off"
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	passkeys, err := tx.DeletePasskeysOf(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"sessions_revoked": strconv.Itoa(ended), "pin_service": pinOff,
		"passkeys_deleted": strconv.Itoa(passkeys)}, nil
}

// endSessions ends a citizen's live SSO sessions through the broker when
// it is wired (logout hooks included), else just revokes them.
func (s *Service) endSessions(ctx context.Context, tx store.Tx, citizenID string, now time.Time) (int, error) {
	if s.opts.EndSessions != nil {
		return s.opts.EndSessions(ctx, tx, citizenID)
	}
	sessions, err := tx.ListSessions(ctx, store.SessionCitizen, citizenID, now)
	if err != nil {
		return 0, err
	}
	for _, se := range sessions {
		if err := tx.RevokeSession(ctx, se.ID, now); err != nil {
			return 0, err
		}
	}
	return len(sessions), nil
}
