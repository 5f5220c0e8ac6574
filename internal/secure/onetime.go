package secure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// CodeKind is the shape of a one-time code.
type CodeKind int

const (
	Numeric    CodeKind = iota // digits, for SMS codes and PINs
	Activation                 // 16 symbols of ActivationAlphabet
)

// CodeSpec says how codes of one purpose are made and checked.
type CodeSpec struct {
	Purpose     string // "activation", "sms_otp", ...
	Kind        CodeKind
	Digits      int // for Numeric; 6 when 0
	TTL         time.Duration
	MaxAttempts int
}

// CodeCheck is why a check failed; the zero value means the code was right.
type CodeCheck struct {
	Err       error  // one of the Err* below, or nil
	Remaining int    // attempts left after a wrong code
	CodeID    string // the code checked, when it was right
}

// Check failures. Each is a *problem.Error with its own message ID, so a
// caller can show it as it is.
var (
	ErrCodeMissing   = problem.New(http.StatusBadRequest, "code.missing")
	ErrCodeWrong     = problem.New(http.StatusBadRequest, "code.wrong")
	ErrCodeExpired   = problem.New(http.StatusBadRequest, "code.expired")
	ErrCodeExhausted = problem.New(http.StatusBadRequest, "code.exhausted")
)

// OneTimeCodes issues and checks one-time codes. A code is stored only as a
// keyed hash bound to its purpose and subject, so a database reader learns
// nothing and a hash moved to another subject does not verify.
type OneTimeCodes struct {
	keyring *Keyring
	now     func() time.Time
	rand    io.Reader
}

// NewOneTimeCodes returns the service; nil now and rand mean the real ones.
func NewOneTimeCodes(k *Keyring, now func() time.Time, rand io.Reader) *OneTimeCodes {
	if now == nil {
		now = time.Now
	}
	return &OneTimeCodes{keyring: k, now: now, rand: rand}
}

func codeValue(subject, code string) []byte { return []byte(subject + "\x00" + code) }

// Issue makes a new code for subject, killing any earlier one of the same
// purpose, and returns it in clear (to send or show once) with its expiry.
// Pass a store.Tx to commit it with the change it belongs to.
func (o *OneTimeCodes) Issue(ctx context.Context, s store.Codes, spec CodeSpec, subject string) (string, time.Time, error) {
	code, c, err := o.IssueCode(ctx, s, spec, subject)
	if err != nil {
		return "", time.Time{}, err
	}
	return code, c.ExpiresAt, nil
}

// IssueCode is Issue returning the stored record too (its ID names the
// code, e.g. in the event key of the message that carries it), so a
// caller does not read back what it has just written.
func (o *OneTimeCodes) IssueCode(ctx context.Context, s store.Codes, spec CodeSpec, subject string) (string, *store.Code, error) {
	var (
		code string
		err  error
	)
	switch spec.Kind {
	case Activation:
		code, err = NewActivationCode(o.rand)
	default:
		digits := spec.Digits
		if digits == 0 {
			digits = 6
		}
		code, err = NewNumericCode(o.rand, digits)
	}
	if err != nil {
		return "", nil, err
	}
	now := o.now().UTC()
	c := &store.Code{
		ID: store.NewID(), Purpose: spec.Purpose, Subject: subject,
		Hash:      o.keyring.Hash("code:"+spec.Purpose, codeValue(subject, code)),
		ExpiresAt: now.Add(spec.TTL), MaxAttempts: spec.MaxAttempts, CreatedAt: now,
	}
	if err := s.ReplaceCode(ctx, c); err != nil {
		return "", nil, err
	}
	return code, c, nil
}

// Check compares input with the live code for purpose and subject. Every
// check of an existing code spends one attempt first (atomically, so
// parallel guesses cannot exceed the limit); a right code is consumed. It
// returns a CodeCheck whose Err is nil when the code was right, and an
// error only when the store failed.
func (o *OneTimeCodes) Check(ctx context.Context, s store.Codes, spec CodeSpec, subject, input string) (CodeCheck, error) {
	return o.check(ctx, s, spec, subject, input, consumeNow)
}

// Match is Check for a caller that consumes a right code itself, in the
// store transaction that acts on it (store.Codes.ConsumeCode with
// CodeCheck.CodeID), so the code and what it unlocks commit together.
// The attempt is spent at once, as in Check; a right code stays live
// until the caller consumes it, and a parallel request that consumed it
// first makes that ConsumeCode fail with store.ErrStale.
func (o *OneTimeCodes) Match(ctx context.Context, s store.Codes, spec CodeSpec, subject, input string) (CodeCheck, error) {
	return o.check(ctx, s, spec, subject, input, consumeLater)
}

// Verify is Check for the first step of a longer flow: a right code is
// neither consumed nor charged an attempt (the flow consumes it at its
// end, by CodeCheck.CodeID), so going back and forth does not use it up;
// wrong codes still count.
func (o *OneTimeCodes) Verify(ctx context.Context, s store.Codes, spec CodeSpec, subject, input string) (CodeCheck, error) {
	return o.check(ctx, s, spec, subject, input, refund)
}

// What check does with a right code.
type onRight int

const (
	consumeNow   onRight = iota // Check
	refund                      // Verify: give the attempt back, keep the code
	consumeLater                // Match: keep the attempt spent, the caller consumes
)

func (o *OneTimeCodes) check(ctx context.Context, s store.Codes, spec CodeSpec, subject, input string, right onRight) (CodeCheck, error) {
	c, err := s.LiveCode(ctx, spec.Purpose, subject)
	if errors.Is(err, store.ErrNotFound) {
		return CodeCheck{Err: ErrCodeMissing}, nil
	}
	if err != nil {
		return CodeCheck{}, err
	}
	now := o.now()
	if !now.Before(c.ExpiresAt) {
		return CodeCheck{Err: ErrCodeExpired}, nil
	}
	if c.Attempts >= c.MaxAttempts {
		return CodeCheck{Err: ErrCodeExhausted}, nil
	}
	attempts, err := s.SpendCodeAttempt(ctx, c.ID)
	if errors.Is(err, store.ErrStale) {
		return CodeCheck{Err: ErrCodeExhausted}, nil
	}
	if err != nil {
		return CodeCheck{}, err
	}
	normalised := input
	if spec.Kind == Activation {
		n, ok := NormaliseActivationCode(input)
		if !ok {
			n = "" // still compared, so a malformed input costs the same
		}
		normalised = n
	}
	if !o.keyring.VerifyHash("code:"+spec.Purpose, codeValue(subject, normalised), c.Hash) {
		left := c.MaxAttempts - attempts
		if left <= 0 {
			return CodeCheck{Err: ErrCodeExhausted}, nil
		}
		return CodeCheck{Err: ErrCodeWrong, Remaining: left}, nil
	}
	switch right {
	case refund:
		if err := s.RefundCodeAttempt(ctx, c.ID); err != nil && !errors.Is(err, store.ErrStale) {
			return CodeCheck{}, err
		}
		return CodeCheck{CodeID: c.ID}, nil
	case consumeLater:
		return CodeCheck{CodeID: c.ID}, nil
	}
	if err := s.ConsumeCode(ctx, c.ID, now.UTC()); errors.Is(err, store.ErrStale) {
		return CodeCheck{Err: ErrCodeMissing}, nil // used by a parallel request
	} else if err != nil {
		return CodeCheck{}, err
	}
	return CodeCheck{CodeID: c.ID}, nil
}
