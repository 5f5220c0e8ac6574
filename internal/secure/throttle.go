package secure

import (
	"context"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// ThrottlePolicy says how many failures a key may have and how long it is
// then locked. Each lockout doubles the previous one up to MaxLockout; a key
// quiet for ForgetAfter starts afresh.
type ThrottlePolicy struct {
	MaxFailures int           // failures within Window that lock the key
	Window      time.Duration // how long failures are remembered
	BaseLockout time.Duration // the first lockout
	MaxLockout  time.Duration // the longest lockout
	ForgetAfter time.Duration // quiet time after which lockouts are forgotten
}

// DefaultThrottlePolicy is DESIGN.md's five wrong passwords.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{MaxFailures: 5, Window: 15 * time.Minute, BaseLockout: 5 * time.Minute,
		MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour}
}

// Throttle counts failures per key (an account, a source address) in the
// store, so every process sees the same counts and lockouts.
type Throttle struct {
	store  store.Counters
	policy ThrottlePolicy
	now    func() time.Time
}

// NewThrottle returns a throttle over s; nil now means time.Now.
func NewThrottle(s store.Counters, p ThrottlePolicy, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{store: s, policy: p, now: now}
}

// Locked returns how long key stays locked (0 when it is not).
func (t *Throttle) Locked(ctx context.Context, key string) (time.Duration, error) {
	s, err := t.Check(ctx, key)
	return s.Locked, err
}

// ThrottleStatus is what Check read of a key.
type ThrottleStatus struct {
	Locked time.Duration // how long the key stays locked; 0 when it is not
	clean  bool          // no failures and no lockout: nothing for Reset to forget
}

// Check reads key's state: how long it stays locked and, for ResetChecked
// after a success, whether there was anything to forget.
func (t *Throttle) Check(ctx context.Context, key string) (ThrottleStatus, error) {
	c, err := t.store.Counter(ctx, key)
	if err != nil {
		return ThrottleStatus{}, err
	}
	return ThrottleStatus{Locked: remaining(c.LockedUntil, t.now()), clean: c.Count == 0 && c.LockedUntil.IsZero()}, nil
}

func remaining(until, now time.Time) time.Duration {
	if d := until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Fail records a failure for key and returns how long it is now locked
// (0 when this failure did not lock it).
func (t *Throttle) Fail(ctx context.Context, key string) (time.Duration, error) {
	now := t.now().UTC()
	c, err := t.store.UpdateCounter(ctx, key, func(c *store.Counter) error {
		if remaining(c.LockedUntil, now) > 0 {
			return nil // already locked: a failure while locked does not extend it
		}
		if !c.WindowStart.IsZero() && now.Sub(c.WindowStart) > t.policy.ForgetAfter {
			c.Lockouts = 0
		}
		if c.WindowStart.IsZero() || now.Sub(c.WindowStart) > t.policy.Window {
			c.Count, c.WindowStart = 0, now
		}
		c.Count++
		if c.Count >= t.policy.MaxFailures {
			c.Lockouts++
			d := t.policy.BaseLockout << min(c.Lockouts-1, 20)
			if d > t.policy.MaxLockout || d <= 0 {
				d = t.policy.MaxLockout
			}
			c.LockedUntil = now.Add(d)
			c.Count, c.WindowStart = 0, now
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return remaining(c.LockedUntil, now), nil
}

// Reset forgets key's failures after a success. Past lockouts are kept
// until ForgetAfter, so alternating success and failure cannot reset the
// growing delay.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	c, err := t.store.Counter(ctx, key)
	if err != nil || (c.Count == 0 && c.LockedUntil.IsZero()) {
		return err // nothing to forget: no write on the common path
	}
	_, err = t.store.UpdateCounter(ctx, key, func(c *store.Counter) error {
		c.Count, c.LockedUntil = 0, time.Time{}
		return nil
	})
	return err
}

// ResetChecked is Reset for a success that followed Check on the same
// key: a key that was clean then is left alone without reading it again
// (the common sign-in). A failure counted by a parallel attempt in
// between then stays counted, which errs on the strict side.
func (t *Throttle) ResetChecked(ctx context.Context, key string, s ThrottleStatus) error {
	if s.clean {
		return nil
	}
	return t.Reset(ctx, key)
}

// Unlock clears key entirely: an officer's or a reset's decision.
func (t *Throttle) Unlock(ctx context.Context, key string) error {
	return t.store.DeleteCounter(ctx, key)
}
