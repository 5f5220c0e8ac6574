// Package permanent is the Cl@ve Permanente method: DNI/NIE and the
// permanent password reach level low; a one-time code sent by SMS to the
// registered mobile adds what level substantial needs.
//
// It owns checking passwords (with per-document and per-source throttling
// kept in the store, the same answer and similar time for an unknown
// document as for a wrong password, and rehashing when the configured
// argon2id cost rose) and the SMS second factor of a login transaction.
// It knows nothing of protocols or pages: the broker's transaction is its
// only contract with them.
package permanent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
const Name = "permanent"

// Levels reached (DESIGN.md defaults).
const (
	PasswordLoA = broker.Low
	WithSMSLoA  = broker.Substantial
)

// SMSCode is the spec of the login SMS code: 6 digits, 5 minutes, 3 tries.
var SMSCode = secure.CodeSpec{Purpose: "login_sms", Kind: secure.Numeric, Digits: 6, TTL: 5 * time.Minute, MaxAttempts: 3}

// Errors shown to the citizen.
var (
	// ErrFailed is the one answer for an unknown document, a citizen
	// without an active password and a wrong password.
	ErrFailed = problem.New(http.StatusUnauthorized, "login.failed")
	// ErrResendTooSoon limits SMS resends.
	ErrResendTooSoon = problem.New(http.StatusTooManyRequests, "sms.resend_wait")
)

// Locked says the password is locked for a while.
func Locked(d time.Duration) *problem.Error {
	return problem.LockedFor("account.locked", "document", d)
}

// Method is the permanent-password method.
type Method struct {
	store    store.Store
	hasher   *secure.Hasher
	codes    *secure.OneTimeCodes
	notifier *notify.Notifier
	perDoc   *secure.Throttle
	perIP    *secure.Throttle
	now      func() time.Time
	life     Lifecycle // lifecycle.go
}

// New returns the method.
func New(s store.Store, h *secure.Hasher, codes *secure.OneTimeCodes, n *notify.Notifier, now func() time.Time) *Method {
	if now == nil {
		now = time.Now
	}
	perIP := secure.ThrottlePolicy{MaxFailures: 50, Window: 15 * time.Minute, BaseLockout: 15 * time.Minute,
		MaxLockout: 24 * time.Hour, ForgetAfter: 24 * time.Hour}
	return &Method{store: s, hasher: h, codes: codes, notifier: n, now: now,
		perDoc: secure.NewThrottle(s, secure.DefaultThrottlePolicy(), now),
		perIP:  secure.NewThrottle(s, perIP, now)}
}

// ThrottleKey is the per-document lockout key; a new activation code
// clears it.
func ThrottleKey(docNumber string) string { return "pwd:doc:" + docNumber }

// CheckPassword identifies a citizen by document and password. Malformed
// documents get their own field error; everything else that fails gets
// ErrFailed (or a lockout), audited, after similar work.
func (m *Method) CheckPassword(ctx context.Context, docInput, password, source string) (*identity.Citizen, error) {
	doc, err := identity.ParseDocument(docInput)
	if err != nil {
		return nil, err
	}
	// Under overload, refuse before any store work: the busy answer must
	// come at once, and the same for known and unknown documents.
	if busy, ok := secure.BusyProblem(m.hasher.Admit()); ok {
		return nil, busy
	}
	docKey, ipKey := ThrottleKey(doc.Number), "pwd:ip:"+source
	var docStatus secure.ThrottleStatus // what a success has to forget
	for _, k := range []struct {
		th  *secure.Throttle
		key string
	}{{m.perDoc, docKey}, {m.perIP, ipKey}} {
		st, err := k.th.Check(ctx, k.key)
		if err != nil {
			return nil, err
		}
		if k.th == m.perDoc {
			docStatus = st
		}
		if st.Locked > 0 {
			who := "" // named when known, so the citizen's history shows the attempt
			if c, err := m.store.CitizenByDocument(ctx, doc.Number); err == nil {
				who = c.ID
			}
			m.record(ctx, who, "login.locked", source, doc, audit.Denied)
			return nil, Locked(st.Locked)
		}
	}
	c, err := m.store.CitizenByDocument(ctx, doc.Number)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var pw *store.Password
	if c != nil && c.Status == identity.StatusActive {
		pw, err = m.store.PasswordOf(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	ok, rehash := false, false
	if pw == nil {
		err = m.hasher.VerifyDummy(ctx, password)
	} else {
		ok, rehash, err = m.hasher.Verify(ctx, password, pw.Hash)
	}
	if err != nil {
		// Busy (or the request gone) before the hash ran: the same answer
		// for known and unknown documents, and no attempt counted.
		if busy, ok := secure.BusyProblem(err); ok {
			return nil, busy
		}
		if pw == nil || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("password hash of citizen %s: %w", c.ID, err)
	}
	if !ok {
		who := ""
		if c != nil {
			who = c.ID
		}
		if _, err := m.perIP.Fail(ctx, ipKey); err != nil {
			return nil, err
		}
		locked, err := m.perDoc.Fail(ctx, docKey)
		if err != nil {
			return nil, err
		}
		m.record(ctx, who, "login.fail", source, doc, audit.Denied)
		if locked > 0 {
			m.record(ctx, who, "login.lockout", source, doc, audit.Denied)
			if c != nil {
				if err := m.noticeLockout(ctx, c); err != nil {
					return nil, err
				}
			}
			return nil, Locked(locked)
		}
		return nil, ErrFailed
	}
	if err := m.perDoc.ResetChecked(ctx, docKey, docStatus); err != nil {
		return nil, err
	}
	if rehash {
		if h, err := m.hasher.Hash(ctx, password); err == nil {
			pw.Hash = h
			_ = m.store.UpdatePasswordHash(ctx, pw) // a lost race means a newer password: fine
		}
	}
	return c, nil
}

func (m *Method) record(ctx context.Context, citizenID, action, source string, doc identity.Document, outcome string) {
	actor, subject := "anonymous", ""
	if citizenID != "" {
		actor, subject = "citizen:"+citizenID, "citizen:"+citizenID
	}
	_ = audit.New(m.store, m.now).Record(ctx, audit.Event{Actor: actor, Action: action, Subject: subject,
		Source: source, Outcome: outcome, Details: map[string]string{"document": doc.Masked(), "method": Name}})
}

// SendSMSCode sends the login SMS code for transaction t to the citizen's
// mobile. A resend within a minute of the last is refused.
func (m *Method) SendSMSCode(ctx context.Context, t *broker.Transaction, c *identity.Citizen, source string) error {
	if live, err := m.store.LiveCode(ctx, SMSCode.Purpose, t.ID); err == nil && m.now().Sub(live.CreatedAt) < time.Minute {
		return ErrResendTooSoon
	}
	return m.store.InTx(ctx, func(tx store.Tx) error { return m.issueSMSCode(ctx, tx, t, c, source) })
}

// SendSMSCodeIn is SendSMSCode inside the caller's transaction, so the
// code, its SMS and its audit event commit with what the caller writes
// (the transaction moving to second_factor): one write instead of two.
// It returns ErrResendTooSoon, having written nothing, when a code went
// out less than a minute ago.
func (m *Method) SendSMSCodeIn(ctx context.Context, tx store.Tx, t *broker.Transaction, c *identity.Citizen, source string) error {
	if live, err := tx.LiveCode(ctx, SMSCode.Purpose, t.ID); err == nil && m.now().Sub(live.CreatedAt) < time.Minute {
		return ErrResendTooSoon
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return m.issueSMSCode(ctx, tx, t, c, source)
}

func (m *Method) issueSMSCode(ctx context.Context, tx store.Tx, t *broker.Transaction, c *identity.Citizen, source string) error {
	code, live, err := m.codes.IssueCode(ctx, tx, SMSCode, t.ID)
	if err != nil {
		return err
	}
	if _, _, err := m.notifier.Queue(ctx, tx, notify.Request{Channel: notify.SMS, To: c.Mobile, Template: "sms.code",
		Language: c.Language, Data: map[string]any{"Code": code, "Minutes": int(SMSCode.TTL.Minutes())},
		EventKey: "login_sms:" + live.ID}); err != nil {
		return err
	}
	return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: "code.issue", Subject: "citizen:" + c.ID,
		Source: source, Details: map[string]string{"purpose": SMSCode.Purpose, "to": secure.MaskPhone(c.Mobile)}})
}

// CheckSMSCodeIn checks the code for transaction t inside the caller's
// store transaction, which then goes on to complete t (broker.CompleteIn):
// the attempt, the code's consumption and the session commit together, one
// write instead of two. A wrong, expired or spent code returns its
// *problem.Error after writing the attempt and a login.sms_fail audit
// event in tx, which the caller must commit without completing t. Parallel
// guesses still cannot pass the limit: the attempt is spent by one
// conditional update before the comparison (under SQLite's write lock, or
// PostgreSQL's row lock until commit), and never given back.
func (m *Method) CheckSMSCodeIn(ctx context.Context, tx store.Tx, t *broker.Transaction, code, source string) error {
	r, err := m.codes.Match(ctx, tx, SMSCode, t.ID, code)
	if err != nil {
		return err
	}
	if r.Err != nil {
		if err := audit.Append(ctx, tx, &audit.Event{At: m.now().UTC(), Actor: "citizen:" + t.CitizenID,
			Action: "login.sms_fail", Subject: "citizen:" + t.CitizenID, Source: source, Outcome: audit.Denied}); err != nil {
			return err
		}
		return codeProblem(r)
	}
	now := m.now().UTC()
	if err := tx.ConsumeCode(ctx, r.CodeID, now); errors.Is(err, store.ErrStale) {
		return broker.ErrTxStale // a parallel request used it, and so finished t
	} else if err != nil {
		return err
	}
	t.Identified(t.CitizenID, Name, WithSMSLoA, []string{"sms", "mfa"}, now)
	return nil
}

// codeProblem is a failed check as the citizen sees it, on the code field.
func codeProblem(r secure.CodeCheck) error {
	p, _ := problem.As(r.Err)
	return &problem.Error{Status: p.Status, MsgID: p.MsgID,
		Fields: []problem.Field{{Name: "code", MsgID: p.MsgID, Args: map[string]any{"Remaining": r.Remaining}}}}
}
