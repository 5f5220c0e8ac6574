package pin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// Name is the method's name in SP policies and transactions.
const Name = broker.MethodPIN

// PIN is the spec of the one-time PIN: 6 digits, 10 minutes, 3 tries.
var PIN = secure.CodeSpec{Purpose: "login_pin", Kind: secure.Numeric, Digits: 6, TTL: 10 * time.Minute, MaxAttempts: 3}

// Errors shown to the citizen.
var (
	// ErrRequestFailed is the one answer for an unknown document, a wrong
	// check value or personal code, and no live PIN service.
	ErrRequestFailed = problem.New(http.StatusUnauthorized, "pin.request_failed")
	// ErrNotRequested: a PIN typed in a sign-in that never asked for one.
	ErrNotRequested = problem.New(http.StatusBadRequest, "pin.not_requested")
	// ErrReplaced: a newer request (perhaps in another sign-in) killed the
	// PIN this sign-in asked for.
	ErrReplaced = problem.New(http.StatusBadRequest, "pin.replaced")
	// ErrCannotEnable: the citizen's record cannot hold a PIN service.
	ErrCannotEnable = problem.New(http.StatusConflict, "pin.cannot_enable")
)

// TooMany says requests are throttled for a while.
func TooMany(d time.Duration) *problem.Error {
	return problem.LockedFor("pin.too_many", "document", d)
}

// Options tune the method.
type Options struct {
	Validity     time.Duration // how long the service stays on once enabled; default 365 days
	NoticeBefore time.Duration // how long before expiry the notice goes; default 15 days
	LoA          broker.LoA    // the level a PIN sign-in reaches; default low
	Now          func() time.Time
}

// Method is the PIN method.
type Method struct {
	store    store.Store
	keyring  *secure.Keyring
	codes    *secure.OneTimeCodes
	notifier *notify.Notifier
	perDoc   *secure.Throttle
	perIP    *secure.Throttle
	opts     Options
}

// New returns the method.
func New(s store.Store, k *secure.Keyring, codes *secure.OneTimeCodes, n *notify.Notifier, o Options) *Method {
	if o.Validity <= 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	if o.NoticeBefore <= 0 {
		o.NoticeBefore = 15 * 24 * time.Hour
	}
	if !o.LoA.Valid() {
		o.LoA = broker.Low
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Every request counts, right or wrong: 5 an hour per document, 30 per
	// source; the sixth locks, longer each time.
	perDoc := secure.ThrottlePolicy{MaxFailures: 6, Window: time.Hour, BaseLockout: 15 * time.Minute,
		MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour}
	perIP := secure.ThrottlePolicy{MaxFailures: 31, Window: time.Hour, BaseLockout: 15 * time.Minute,
		MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour}
	return &Method{store: s, keyring: k, codes: codes, notifier: n, opts: o,
		perDoc: secure.NewThrottle(s, perDoc, o.Now), perIP: secure.NewThrottle(s, perIP, o.Now)}
}

// LoA is the level a PIN sign-in reaches.
func (m *Method) LoA() broker.LoA { return m.opts.LoA }

// Validity is how long an enabled service lasts.
func (m *Method) Validity() time.Duration { return m.opts.Validity }

// Status is a citizen's PIN service as pages show it.
type Status struct {
	Enabled      bool
	ExpiresAt    time.Time
	PersonalCode bool // a personal code is set
}

// StatusOf returns the citizen's service; an expired one counts as off.
func (m *Method) StatusOf(ctx context.Context, citizenID string) (Status, error) {
	p, err := m.store.PINServiceOf(ctx, citizenID)
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, err
	}
	if !m.opts.Now().Before(p.ExpiresAt) {
		return Status{ExpiresAt: p.ExpiresAt}, nil
	}
	return Status{Enabled: true, ExpiresAt: p.ExpiresAt, PersonalCode: p.PersonalCodeHash != ""}, nil
}

// NormalisePersonalCode checks the optional personal code: empty, or 4
// letters and digits (case does not matter).
func NormalisePersonalCode(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", true
	}
	if len(s) != 4 {
		return "", false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return "", false
		}
	}
	return s, true
}

func (m *Method) personalHash(citizenID, code string) string {
	return m.keyring.Hash("pin:personal", []byte(citizenID+"\x00"+code))
}

// Enable turns the citizen's PIN service on, or renews it, for the
// configured period from now, with an optional personal code. actor is
// "citizen:<id>" (signed in) or "officer:<id>" (at the desk). The citizen
// gets an SMS saying so, in case it was not them.
func (m *Method) Enable(ctx context.Context, c *identity.Citizen, personalCode, actor, source string) (*store.PINService, error) {
	code, ok := NormalisePersonalCode(personalCode)
	if !ok {
		return nil, problem.Invalid(problem.Field{Name: "personal_code", MsgID: "pin.personal_code_format"})
	}
	return m.enable(ctx, c, code, false, actor, source)
}

// EnableKeepingCode is Enable for an officer at the desk: the citizen's
// personal code, if any, stays as it was (the officer never learns it).
func (m *Method) EnableKeepingCode(ctx context.Context, c *identity.Citizen, actor, source string) (*store.PINService, error) {
	return m.enable(ctx, c, "", true, actor, source)
}

func (m *Method) enable(ctx context.Context, c *identity.Citizen, code string, keep bool, actor, source string) (*store.PINService, error) {
	if c.Status == identity.StatusDeregistered || c.Status == identity.StatusSuspended || c.Mobile == "" {
		m.record(ctx, actor, c.ID, "pin.enable", source, audit.Denied, map[string]string{"reason": "status " + string(c.Status)})
		return nil, ErrCannotEnable
	}
	now := m.opts.Now().UTC()
	p := &store.PINService{CitizenID: c.ID, EnabledAt: now, ExpiresAt: now.Add(m.opts.Validity), EnabledBy: actor}
	if code != "" {
		p.PersonalCodeHash = m.personalHash(c.ID, code)
	}
	err := m.store.InTx(ctx, func(tx store.Tx) error {
		old, err := tx.PINServiceOf(ctx, c.ID)
		action := "pin.enable"
		if err == nil && now.Before(old.ExpiresAt) {
			action = "pin.renew"
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if keep && old != nil {
			p.PersonalCodeHash = old.PersonalCodeHash
		}
		if err := tx.SetPINService(ctx, p); err != nil {
			return err
		}
		if _, _, err := m.notifier.Queue(ctx, tx, notify.Request{Channel: notify.SMS, To: c.Mobile, Template: "sms.pin_enabled",
			Language: c.Language, Data: map[string]any{"Until": dateOf(p.ExpiresAt)},
			EventKey: fmt.Sprintf("pin_enabled:%s:%d", c.ID, p.Version)}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: actor, Action: action, Subject: "citizen:" + c.ID,
			Source: source, Details: map[string]string{"expires": p.ExpiresAt.Format(time.RFC3339),
				"personal_code": fmt.Sprint(p.PersonalCodeHash != "")}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Disable turns the service off; a PIN already sent dies with it.
func (m *Method) Disable(ctx context.Context, c *identity.Citizen, actor, source string) error {
	now := m.opts.Now().UTC()
	return m.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeletePINService(ctx, c.ID); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if live, err := tx.LiveCode(ctx, PIN.Purpose, c.ID); err == nil {
			if err := tx.ConsumeCode(ctx, live.ID, now); err != nil && !errors.Is(err, store.ErrStale) {
				return err
			}
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: actor, Action: "pin.disable", Subject: "citizen:" + c.ID,
			Source: source})
	})
}

// dateOf is a day as notices write it, in Spain's peninsular time.
func dateOf(t time.Time) string { return t.In(madrid).Format("02/01/2006") }

var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()

// checkValueMatches compares the typed check value with the record: for a
// DNI its validity date (issue date when permanent), for an NIE its support
// number. Both sides are always compared, so the work is the same.
func checkValueMatches(c *identity.Citizen, input string) bool {
	if c == nil {
		return false
	}
	if c.Document.Type == identity.NIE {
		want := strings.ToUpper(strings.TrimSpace(c.SupportNumber))
		got := strings.ToUpper(strings.Join(strings.Fields(input), ""))
		return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
	}
	d, err := identity.ParseDate(input)
	return err == nil && !c.DocValidity.IsZero() && d == c.DocValidity
}
