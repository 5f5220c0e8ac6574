package pin

import (
	"context"
	"errors"
	"strings"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// Sent is what the page tells the citizen after a request.
type Sent struct {
	Mobile string // masked
}

// Request checks the document data for transaction t and, when they match
// a live PIN service, sends a new one-time PIN by SMS (killing any earlier
// one) and records it in t.Pending. The caller saves t. A malformed
// document gets its own field error; every other failure is
// ErrRequestFailed, audited with the real reason.
func (m *Method) Request(ctx context.Context, t *broker.Transaction, docInput, check, personal, source string) (*Sent, error) {
	doc, err := identity.ParseDocument(docInput)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(check) == "" {
		return nil, problem.Invalid(problem.Field{Name: "check", MsgID: "pin.check_required"})
	}
	docKey, ipKey := "pin:req:doc:"+doc.Number, "pin:req:ip:"+source
	for _, k := range []struct {
		th  *secure.Throttle
		key string
	}{{m.perDoc, docKey}, {m.perIP, ipKey}} {
		d, err := k.th.Locked(ctx, k.key)
		if err == nil && d == 0 {
			d, err = k.th.Fail(ctx, k.key) // every request counts
		}
		if err != nil {
			return nil, err
		}
		if d > 0 {
			m.record(ctx, "anonymous", "", "pin.request_throttled", source, audit.Denied,
				map[string]string{"document": doc.Masked(), "key": strings.SplitN(k.key, ":", 4)[2]})
			return nil, TooMany(d)
		}
	}

	c, err := m.store.CitizenByDocument(ctx, doc.Number)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var svc *store.PINService
	if c != nil {
		svc, err = m.store.PINServiceOf(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	// The same work on every path: one check-value comparison and one
	// keyed hash of the personal code.
	reason := ""
	checkOK := checkValueMatches(c, check)
	pc, pcOK := NormalisePersonalCode(personal)
	pcMatch := false
	if svc != nil && svc.PersonalCodeHash != "" {
		pcMatch = pcOK && m.keyring.VerifyHash("pin:personal", []byte(svc.CitizenID+"\x00"+pc), svc.PersonalCodeHash)
	} else {
		_ = m.personalHash("none", pc)
		pcMatch = pcOK && pc == ""
	}
	now := m.opts.Now()
	switch {
	case c == nil:
		reason = "unknown document"
	case c.Status == identity.StatusDeregistered || c.Status == identity.StatusSuspended:
		reason = "status " + string(c.Status)
	case svc == nil:
		reason = "no PIN service"
	case !now.Before(svc.ExpiresAt):
		reason = "PIN service expired"
	case !checkOK:
		reason = "wrong check value"
	case !pcMatch:
		reason = "wrong personal code"
	}
	if reason != "" {
		who := ""
		if c != nil {
			who = c.ID
		}
		m.record(ctx, "anonymous", who, "pin.request_fail", source, audit.Denied,
			map[string]string{"document": doc.Masked(), "reason": reason, "tx": t.ID})
		return nil, ErrRequestFailed
	}

	err = m.store.InTx(ctx, func(tx store.Tx) error {
		code, _, err := m.codes.Issue(ctx, tx, PIN, c.ID)
		if err != nil {
			return err
		}
		live, err := tx.LiveCode(ctx, PIN.Purpose, c.ID)
		if err != nil {
			return err
		}
		t.Pending = c.ID + " " + live.ID
		if _, _, err := m.notifier.Queue(ctx, tx, notify.Request{Channel: notify.SMS, To: c.Mobile, Template: "sms.pin",
			Language: c.Language, Data: map[string]any{"Code": code, "Minutes": int(PIN.TTL.Minutes())},
			EventKey: "login_pin:" + live.ID}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now.UTC(), Actor: "anonymous", Action: "code.issue",
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"purpose": PIN.Purpose,
				"to": secure.MaskPhone(c.Mobile), "tx": t.ID}})
	})
	if err != nil {
		t.Pending = ""
		return nil, err
	}
	return &Sent{Mobile: secure.MaskPhone(c.Mobile)}, nil
}

// Check checks the PIN typed in transaction t. A right PIN consumes it and
// identifies the citizen at the method's level; the caller saves t (and
// completes it when done). Wrong, expired, exhausted, replaced, or never
// requested in this transaction: a problem for the "pin" field, audited.
func (m *Method) Check(ctx context.Context, t *broker.Transaction, input, source string) error {
	citizenID, codeID, _ := strings.Cut(t.Pending, " ")
	fail := func(err error, reason string, remaining int) error {
		m.record(ctx, "anonymous", citizenID, "pin.fail", source, audit.Denied, map[string]string{"reason": reason, "tx": t.ID})
		p, _ := problem.As(err)
		return &problem.Error{Status: p.Status, MsgID: p.MsgID,
			Fields: []problem.Field{{Name: "pin", MsgID: p.MsgID, Args: map[string]any{"Remaining": remaining}}}}
	}
	if citizenID == "" || codeID == "" {
		return fail(ErrNotRequested, "no PIN requested in this sign-in", 0)
	}
	live, err := m.store.LiveCode(ctx, PIN.Purpose, citizenID)
	if errors.Is(err, store.ErrNotFound) {
		return fail(secure.ErrCodeMissing, "no live PIN (used or service off)", 0)
	} else if err != nil {
		return err
	}
	if live.ID != codeID {
		return fail(ErrReplaced, "replaced by a newer request", 0)
	}
	r, err := m.codes.Check(ctx, m.store, PIN, citizenID, strings.TrimSpace(input))
	if err != nil {
		return err
	}
	if r.Err != nil {
		p, _ := problem.As(r.Err)
		return fail(r.Err, p.MsgID, r.Remaining)
	}
	c, err := m.store.CitizenByID(ctx, citizenID)
	if err != nil {
		return err
	}
	if svc, err := m.store.PINServiceOf(ctx, citizenID); err != nil || !m.opts.Now().Before(svc.ExpiresAt) ||
		c.Status == identity.StatusDeregistered || c.Status == identity.StatusSuspended {
		return fail(ErrRequestFailed, "service or record changed after the request", 0)
	}
	t.Pending = ""
	t.Identified(citizenID, Name, m.opts.LoA, []string{"otp", "sms"}, m.opts.Now().UTC())
	return nil
}

func (m *Method) record(ctx context.Context, actor, citizenID, action, source, outcome string, details map[string]string) {
	subject := ""
	if citizenID != "" {
		subject = "citizen:" + citizenID
	}
	if details == nil {
		details = map[string]string{}
	}
	details["method"] = Name
	_ = audit.New(m.store, m.opts.Now).Record(ctx, audit.Event{Actor: actor, Action: action, Subject: subject,
		Source: source, Outcome: outcome, Details: details})
}
