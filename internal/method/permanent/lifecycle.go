package permanent

import (
	"context"
	"errors"
	"fmt"
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

// Lifecycle is what the method knows of a password's life beyond checking
// it: the policy new passwords meet, how long one lasts, when the citizen
// is warned, and where notices send people.
type Lifecycle struct {
	Policy   secure.PasswordPolicy
	Lifetime time.Duration // 0: passwords never expire
	Warning  time.Duration // warn this long before expiry (after sign-in, and by a notice)
	BaseURL  string        // public_url, for links in notices
}

// SetLifecycle configures the password's life; call it while wiring.
func (m *Method) SetLifecycle(l Lifecycle) {
	if l.Policy.MinLength == 0 {
		l.Policy = secure.DefaultPasswordPolicy()
	}
	if l.Warning > l.Lifetime {
		l.Warning = l.Lifetime
	}
	l.BaseURL = strings.TrimRight(l.BaseURL, "/")
	m.life = l
}

// Policy is the policy new passwords meet.
func (m *Method) Policy() secure.PasswordPolicy {
	if m.life.Policy.MinLength == 0 {
		return secure.DefaultPasswordPolicy()
	}
	return m.life.Policy
}

// CheckNewPassword checks a new password typed twice against the policy
// and the citizen's own data: nil, or one problem naming every rule broken
// by field ("password", "password_again"). Activation, a reset and the
// renewal of an expired password all use it.
func CheckNewPassword(p secure.PasswordPolicy, c *identity.Citizen, password, again string) error {
	if password != again {
		return problem.Invalid(problem.Field{Name: "password_again", MsgID: secure.MsgPasswordMismatch})
	}
	if broken := p.Check(password, []string{c.GivenName, c.FirstSurname, c.SecondSurname,
		c.Document.Number, c.Email}); len(broken) > 0 {
		fields := make([]problem.Field, len(broken))
		for i, id := range broken {
			fields[i] = problem.Field{Name: "password", MsgID: id, Args: p.MessageArgs()}
		}
		return problem.Invalid(fields...)
	}
	return nil
}

// Expiry is where a citizen's password stands in its life.
type Expiry struct {
	ExpiresAt time.Time // zero when passwords do not expire
	Expired   bool
	Warn      bool // within the warning window, not yet expired
}

// ExpiryOf tells where the citizen's password stands.
func (m *Method) ExpiryOf(ctx context.Context, citizenID string) (Expiry, error) {
	if m.life.Lifetime <= 0 {
		return Expiry{}, nil
	}
	pw, err := m.store.PasswordOf(ctx, citizenID)
	if errors.Is(err, store.ErrNotFound) {
		return Expiry{}, nil
	} else if err != nil {
		return Expiry{}, err
	}
	return m.expiry(pw), nil
}

func (m *Method) expiry(pw *store.Password) Expiry {
	e := Expiry{ExpiresAt: pw.SetAt.Add(m.life.Lifetime)}
	now := m.now()
	e.Expired = !now.Before(e.ExpiresAt)
	e.Warn = !e.Expired && m.life.Warning > 0 && !now.Before(e.ExpiresAt.Add(-m.life.Warning))
	return e
}

// A sign-in whose password is expired (or about to) waits, in the
// transaction's Pending, for the citizen to set a new one (or, when only
// about to expire, to go on): "permanent renew <citizen> <expired|expiring>".
const renewPrefix = "permanent renew "

// HoldForRenewal is called after CheckPassword succeeded: when c's
// password is expired or within the warning window, the sign-in waits
// for a new password (or, within the window, the citizen's choice to go
// on) and it returns the state; otherwise it identifies c in t at once.
// The caller saves t.
func (m *Method) HoldForRenewal(ctx context.Context, t *broker.Transaction, c *identity.Citizen) (Expiry, error) {
	e, err := m.ExpiryOf(ctx, c.ID)
	if err != nil {
		return e, err
	}
	switch {
	case e.Expired:
		t.Pending = renewPrefix + c.ID + " expired"
	case e.Warn:
		t.Pending = renewPrefix + c.ID + " expiring"
	default:
		m.identify(t, c.ID)
	}
	return e, nil
}

// Renewal returns the citizen whose sign-in in t waits for a new
// password, and whether the old one has expired (not just expiring).
func Renewal(t *broker.Transaction) (citizenID string, expired, ok bool) {
	rest, ok := strings.CutPrefix(t.Pending, renewPrefix)
	if !ok || t.State != broker.StateStarted {
		return "", false, false
	}
	id, state, _ := strings.Cut(rest, " ")
	return id, state == "expired", id != ""
}

// ErrRenewalRequired: an expired password cannot be kept.
var ErrRenewalRequired = problem.Invalid(problem.Field{Name: "password", MsgID: "password.expired_must_change"})

// KeepPassword goes on with a password that is only about to expire.
func (m *Method) KeepPassword(t *broker.Transaction) error {
	id, expired, ok := Renewal(t)
	if !ok {
		return broker.ErrTxStale
	}
	if expired {
		return ErrRenewalRequired
	}
	t.Pending = ""
	m.identify(t, id)
	return nil
}

// Renew sets the new password of a sign-in waiting in t (the old one was
// checked moments ago) and identifies the citizen. The caller saves t.
func (m *Method) Renew(ctx context.Context, t *broker.Transaction, password, again, source string) error {
	id, expired, ok := Renewal(t)
	if !ok {
		return broker.ErrTxStale
	}
	c, err := m.store.CitizenByID(ctx, id)
	if err != nil {
		return err
	}
	reason := "expiring"
	if expired {
		reason = "expired"
	}
	if err := m.SetNewPassword(ctx, c, password, again, source, "password.renew", reason); err != nil {
		return err
	}
	t.Pending = ""
	m.identify(t, id)
	return nil
}

func (m *Method) identify(t *broker.Transaction, citizenID string) {
	t.Identified(citizenID, Name, PasswordLoA, []string{"pwd"}, m.now().UTC())
}

// SetNewPassword replaces c's password with one typed twice, after the
// policy: hashed, stored with a fresh set time, any lockout lifted, the
// citizen told by email and SMS, audited as action (with reason), all in
// one transaction. Whoever calls it has already proved who c is.
func (m *Method) SetNewPassword(ctx context.Context, c *identity.Citizen, password, again, source, action, reason string) error {
	if err := CheckNewPassword(m.Policy(), c, password, again); err != nil {
		_ = audit.New(m.store, m.now).Record(ctx, audit.Event{Actor: "citizen:" + c.ID, Action: action,
			Subject: "citizen:" + c.ID, Source: source, Outcome: audit.Denied,
			Details: map[string]string{"reason": "policy", "via": reason}})
		return err
	}
	hash, err := m.hasher.Hash(ctx, password)
	if err != nil {
		if busy, ok := secure.BusyProblem(err); ok {
			return busy
		}
		return err
	}
	now := m.now().UTC()
	return m.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SetPassword(ctx, &store.Password{CitizenID: c.ID, Hash: hash, SetAt: now}); err != nil {
			return err
		}
		if err := tx.DeleteCounter(ctx, ThrottleKey(c.Document.Number)); err != nil {
			return err
		}
		if err := m.notice(ctx, tx, c, "security.password_reset", fmt.Sprintf("password_set:%s:%d", c.ID, now.UnixMicro()),
			map[string]any{"Date": now.In(madrid).Format("02/01/2006 15:04"), "URL": m.life.BaseURL + "/recover"}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "citizen:" + c.ID, Action: action,
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"via": reason}})
	})
}

// notice queues a message to the citizen's email and mobile.
func (m *Method) notice(ctx context.Context, tx store.Tx, c *identity.Citizen, tmpl, key string, data map[string]any) error {
	return m.notifier.QueueBoth(ctx, tx, c.Email, c.Mobile, notify.Request{Template: tmpl, Language: c.Language,
		Data: data, EventKey: key})
}

// noticeLockout tells the citizen their password just locked.
func (m *Method) noticeLockout(ctx context.Context, c *identity.Citizen) error {
	now := m.now().UTC()
	return m.store.InTx(ctx, func(tx store.Tx) error {
		return m.notice(ctx, tx, c, "security.lockout", fmt.Sprintf("lockout:%s:%d", c.ID, now.UnixMicro()),
			map[string]any{"Date": now.In(madrid).Format("02/01/2006 15:04"), "URL": m.life.BaseURL + "/recover"})
	})
}

// NotifyExpiring tells, by email and SMS, every citizen whose password
// expires within the warning window and was not told yet for that
// password. Any process may run it: the store lets one of them mark each
// password. It returns how many citizens were told.
func (m *Method) NotifyExpiring(ctx context.Context) (int, error) {
	if m.life.Lifetime <= 0 || m.life.Warning <= 0 {
		return 0, nil
	}
	now := m.now().UTC()
	from := now.Add(-m.life.Lifetime)
	due, err := m.store.PasswordsToNotify(ctx, from, from.Add(m.life.Warning), 500)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range due {
		p := &due[i]
		told := false
		err := m.store.InTx(ctx, func(tx store.Tx) error {
			told = false
			c, err := tx.CitizenByID(ctx, p.CitizenID)
			if err != nil {
				return err
			}
			if err := tx.MarkPasswordNotice(ctx, p, now); err != nil {
				return err
			}
			if c.Status != identity.StatusActive {
				return nil // marked, so not looked at again; nobody to tell
			}
			until := p.SetAt.Add(m.life.Lifetime)
			if err := m.notice(ctx, tx, c, "security.password_expiring",
				fmt.Sprintf("password_expiring:%s:%d", c.ID, p.SetAt.UnixMicro()),
				map[string]any{"Until": until.In(madrid).Format("02/01/2006"), "URL": m.life.BaseURL + "/me"}); err != nil {
				return err
			}
			told = true
			return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "system", Action: "password.expiry_notice",
				Subject: "citizen:" + c.ID, Details: map[string]string{"expires": until.Format(time.DateOnly)}})
		})
		if errors.Is(err, store.ErrStale) {
			continue // a new password meanwhile, or another process told them
		}
		if err != nil {
			return sent, err
		}
		if told {
			sent++
		}
	}
	return sent, nil
}

// madrid is the time zone notices give times in; UTC without the zone
// database.
var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()
