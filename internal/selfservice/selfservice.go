package selfservice

import (
	"context"
	"net/http"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// madrid is the time zone notices show times in; UTC if the zone database
// is missing.
var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()

type notifier interface {
	Queue(ctx context.Context, s store.Outbox, r notify.Request) (string, bool, error)
}

// PasswordChecker checks a citizen's current permanent password with the
// sign-in's throttling and audit (the permanent method).
type PasswordChecker interface {
	CheckPassword(ctx context.Context, docInput, password, source string) (*identity.Citizen, error)
}

// SessionEnder ends a citizen's other SSO sessions inside a transaction
// (the broker, which also tells the services they signed in to).
type SessionEnder interface {
	EndSessions(ctx context.Context, tx store.Tx, citizenID, keep string) (int, error)
}

// Options tune the service.
type Options struct {
	Policy secure.PasswordPolicy // zero: secure.DefaultPasswordPolicy()
	Now    func() time.Time
}

// Service makes a citizen's own changes.
type Service struct {
	store    store.Store
	codes    *secure.OneTimeCodes
	hasher   *secure.Hasher
	notify   notifier
	pw       PasswordChecker
	sessions SessionEnder
	starts   *secure.Throttle // codes sent to new addresses, per citizen
	opts     Options
}

// New returns the service.
func New(s store.Store, codes *secure.OneTimeCodes, h *secure.Hasher, n notifier, pw PasswordChecker, se SessionEnder,
	o Options) *Service {
	if o.Policy.MinLength == 0 {
		o.Policy = secure.DefaultPasswordPolicy()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// At most 5 changes started per hour per citizen: each sends a message
	// to an address nobody has proved yet.
	starts := secure.NewThrottle(s, secure.ThrottlePolicy{MaxFailures: 5, Window: time.Hour, BaseLockout: time.Hour,
		MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour}, o.Now)
	return &Service{store: s, codes: codes, hasher: h, notify: n, pw: pw, sessions: se, starts: starts, opts: o}
}

// Policy is the password policy, for the page that shows its rules.
func (s *Service) Policy() secure.PasswordPolicy { return s.opts.Policy }

// Errors citizens see.
var (
	ErrChangeUnknown = problem.New(http.StatusNotFound, "change.unknown")
	ErrChangeExpired = problem.New(http.StatusGone, "change.expired")
	ErrResendWait    = problem.New(http.StatusTooManyRequests, "sms.resend_wait")
	ErrTooManyStarts = problem.New(http.StatusTooManyRequests, "change.too_many")
	// ErrWeakSignIn refuses a change of mobile after a sign-in that relied
	// on the old phone.
	ErrWeakSignIn = problem.New(http.StatusForbidden, "mobile_change.weak_sign_in")
)

func (s *Service) record(ctx context.Context, c *identity.Citizen, action, source, outcome string, details map[string]string) {
	_ = audit.New(s.store, s.opts.Now).Record(ctx, audit.Event{Actor: "citizen:" + c.ID, Action: action,
		Subject: "citizen:" + c.ID, Source: source, Outcome: outcome, Details: details})
}

// refuse audits a refusal and returns err.
func (s *Service) refuse(ctx context.Context, c *identity.Citizen, action, source, reason string, err error) error {
	s.record(ctx, c, action, source, audit.Denied, map[string]string{"reason": reason})
	return err
}
