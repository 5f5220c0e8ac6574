package selfservice

import (
	"context"
	"encoding/json"
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

// Kind is what a contact change changes.
type Kind string

const (
	Email  Kind = "email"
	Mobile Kind = "mobile"
)

// Change states.
const (
	StateCodeSent = "code_sent"
	StateDone     = "done"
)

// Codes of a contact change: 6 digits, 3 tries; 15 minutes by email (mail
// can be slow), 5 by SMS as at sign-in.
var (
	EmailCode  = secure.CodeSpec{Purpose: "email_change", Kind: secure.Numeric, Digits: 6, TTL: 15 * time.Minute, MaxAttempts: 3}
	MobileCode = secure.CodeSpec{Purpose: "mobile_change", Kind: secure.Numeric, Digits: 6, TTL: 5 * time.Minute, MaxAttempts: 3}
)

// changeTTL bounds one change: confirm within this or start again.
const changeTTL = 30 * time.Minute

type kindSpec struct {
	flow    string
	code    secure.CodeSpec
	channel notify.Channel
	tmpl    string // the code message
	action  string // audit action
	notice  string
}

var kinds = map[Kind]kindSpec{
	Email:  {flow: "email_change", code: EmailCode, channel: notify.Email, tmpl: "email.code", action: "email.change", notice: NoticeEmailChanged},
	Mobile: {flow: "mobile_change", code: MobileCode, channel: notify.SMS, tmpl: "sms.code", action: "mobile.change", notice: NoticeMobileChanged},
}

// Change is a pending change of email or mobile.
type Change struct {
	ID        string
	Kind      Kind
	State     string
	CitizenID string
	To        string // the new address
	Masked    string // the new address masked, to show where the code went
	Resends   int
	Version   int64
	ExpiresAt time.Time
}

type changeData struct {
	To      string `json:"to"`
	Resends int    `json:"resends"`
}

// SignIn is how the session asking for a change was reached.
type SignIn struct {
	LoA broker.LoA
	AMR []string // RFC 8176 values of the session
}

// MobileChangeAllowed reports whether a session may change the mobile: at
// substantial or above through a method that does not rely on the phone
// being changed (a certificate or a passkey; not the password with an SMS
// code, not the PIN). Otherwise only an office may change it.
func MobileChangeAllowed(si SignIn) bool {
	m := broker.MethodOfAMR(si.AMR)
	return si.LoA.AtLeast(broker.Substantial) && (m == broker.MethodCertificate || m == broker.MethodPasskey)
}

func mask(k Kind, v string) string {
	if k == Email {
		return secure.MaskEmail(v)
	}
	return secure.MaskPhone(v)
}

// normalise checks the new address: well formed, not the current one,
// and (mobile) not another live citizen's, as registration requires.
func (s *Service) normalise(ctx context.Context, c *identity.Citizen, k Kind, value string) (string, string, error) {
	var (
		v   string
		err error
	)
	if k == Email {
		if v, err = identity.NormaliseEmail(value); err != nil {
			return "", "format", problem.Invalid(problem.Field{Name: "email", MsgID: "email.format"})
		}
		if strings.EqualFold(v, c.Email) {
			return "", "same address", problem.Invalid(problem.Field{Name: "email", MsgID: "email_change.same"})
		}
		return v, "", nil
	}
	if v, err = identity.NormaliseMobile(value); err != nil {
		return "", "format", problem.Invalid(problem.Field{Name: "mobile", MsgID: "mobile.format"})
	}
	if v == c.Mobile {
		return "", "same number", problem.Invalid(problem.Field{Name: "mobile", MsgID: "mobile_change.same"})
	}
	other, err := s.store.CitizenByMobile(ctx, v)
	if err == nil && other.ID != c.ID {
		return "", "number held by another citizen", errMobileTaken
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", "", err
	}
	return v, "", nil
}

// errMobileTaken does not say whose: only that this number cannot be used.
var errMobileTaken = problem.Invalid(problem.Field{Name: "mobile", MsgID: "mobile_change.taken"})

// Start begins a change of c's email or mobile to value: it sends a
// 6-digit code to the new address and returns the pending change. A change
// of mobile needs a sign-in that MobileChangeAllowed accepts.
func (s *Service) Start(ctx context.Context, c *identity.Citizen, k Kind, value string, si SignIn, source string) (*Change, error) {
	ks := kinds[k]
	if k == Mobile && !MobileChangeAllowed(si) {
		return nil, s.refuse(ctx, c, ks.action+".start", source, "weak sign-in: "+broker.MethodOfAMR(si.AMR), ErrWeakSignIn)
	}
	v, reason, err := s.normalise(ctx, c, k, value)
	if err != nil {
		if reason != "" {
			s.record(ctx, c, ks.action+".start", source, audit.Denied, map[string]string{"reason": reason})
		}
		return nil, err
	}
	key := "change:" + c.ID
	if d, err := s.starts.Locked(ctx, key); err != nil {
		return nil, err
	} else if d > 0 {
		return nil, s.refuse(ctx, c, ks.action+".start", source, "too many changes started", ErrTooManyStarts)
	}
	if _, err := s.starts.Fail(ctx, key); err != nil { // every start that sends a message counts
		return nil, err
	}
	ch := &Change{ID: store.NewID(), Kind: k, State: StateCodeSent, CitizenID: c.ID, To: v, Masked: mask(k, v),
		ExpiresAt: s.opts.Now().UTC().Add(changeTTL)}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		data, _ := json.Marshal(changeData{To: ch.To})
		f := &store.Flow{ID: ch.ID, Kind: ks.flow, State: ch.State, Subject: c.ID, Data: data, ExpiresAt: ch.ExpiresAt}
		if err := tx.CreateFlow(ctx, f); err != nil {
			return err
		}
		ch.Version = f.Version
		if err := s.sendCode(ctx, tx, c, ch); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: ks.action + ".start",
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"to": ch.Masked}})
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func (s *Service) sendCode(ctx context.Context, tx store.Tx, c *identity.Citizen, ch *Change) error {
	ks := kinds[ch.Kind]
	code, _, err := s.codes.Issue(ctx, tx, ks.code, ch.ID)
	if err != nil {
		return err
	}
	live, err := tx.LiveCode(ctx, ks.code.Purpose, ch.ID)
	if err != nil {
		return err
	}
	_, _, err = s.notify.Queue(ctx, tx, notify.Request{Channel: ks.channel, To: ch.To, Template: ks.tmpl,
		Language: c.Language, Data: map[string]any{"Code": code, "Minutes": int(ks.code.TTL.Minutes())},
		EventKey: ks.code.Purpose + ":" + live.ID})
	return err
}

func (s *Service) load(ctx context.Context, fl store.Flows, c *identity.Citizen, k Kind, id string) (*Change, error) {
	ks, ok := kinds[k]
	if !ok {
		return nil, ErrChangeUnknown
	}
	f, err := fl.FlowByID(ctx, ks.flow, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrChangeUnknown
	} else if err != nil {
		return nil, err
	}
	if f.Subject != c.ID { // another citizen's change: as if it did not exist
		return nil, ErrChangeUnknown
	}
	var d changeData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return nil, fmt.Errorf("%s %s: %w", ks.flow, id, err)
	}
	ch := &Change{ID: f.ID, Kind: k, State: f.State, CitizenID: f.Subject, To: d.To, Masked: mask(k, d.To),
		Resends: d.Resends, Version: f.Version, ExpiresAt: f.ExpiresAt}
	if ch.State != StateDone && !s.opts.Now().Before(ch.ExpiresAt) {
		return ch, ErrChangeExpired
	}
	return ch, nil
}

func (s *Service) save(ctx context.Context, fl store.Flows, ch *Change) error {
	data, _ := json.Marshal(changeData{To: ch.To, Resends: ch.Resends})
	f := &store.Flow{ID: ch.ID, Kind: kinds[ch.Kind].flow, State: ch.State, Subject: ch.CitizenID, Data: data,
		Version: ch.Version, ExpiresAt: ch.ExpiresAt}
	if err := fl.UpdateFlow(ctx, f); err != nil {
		return err
	}
	ch.Version = f.Version
	return nil
}

// Pending returns c's change id, for the page that asks for its code.
func (s *Service) Pending(ctx context.Context, c *identity.Citizen, k Kind, id, source string) (*Change, error) {
	ch, err := s.load(ctx, s.store, c, k, id)
	if errors.Is(err, ErrChangeExpired) || errors.Is(err, ErrChangeUnknown) {
		s.record(ctx, c, kinds[k].action, source, audit.Denied, map[string]string{"reason": "change expired or unknown", "change": id})
	}
	return ch, err
}

// Resend sends a new code for a pending change (the old one dies): at
// most 3 resends, at least a minute apart.
func (s *Service) Resend(ctx context.Context, c *identity.Citizen, k Kind, id, source string) error {
	ks := kinds[k]
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		ch, err := s.load(ctx, tx, c, k, id)
		if err != nil {
			return err
		}
		if ch.State != StateCodeSent {
			return nil // confirmed meanwhile: nothing to resend
		}
		if live, err := tx.LiveCode(ctx, ks.code.Purpose, ch.ID); err == nil &&
			(s.opts.Now().Sub(live.CreatedAt) < time.Minute || ch.Resends >= 3) {
			return ErrResendWait
		}
		ch.Resends++
		if err := s.save(ctx, tx, ch); err != nil {
			return err
		}
		if err := s.sendCode(ctx, tx, c, ch); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: "code.issue", Subject: "citizen:" + c.ID,
			Source: source, Details: map[string]string{"purpose": ks.code.Purpose, "resend": "true", "to": ch.Masked}})
	})
	if errors.Is(err, ErrResendWait) {
		s.record(ctx, c, "code.issue", source, audit.Denied, map[string]string{"purpose": ks.code.Purpose, "reason": "resend too soon or too often"})
	}
	if errors.Is(err, store.ErrStale) {
		return ErrResendWait // a parallel resend won
	}
	return err
}

// Confirm checks the code of a pending change and, when right, makes the
// change in one transaction: the new address stored, the change done, its
// audit event and the notices to the old address and the other channel.
// A change already done returns as it is (a double submit).
func (s *Service) Confirm(ctx context.Context, c *identity.Citizen, k Kind, id, code string, si SignIn, lang, source string) (*Change, error) {
	ks := kinds[k]
	if k == Mobile && !MobileChangeAllowed(si) {
		return nil, s.refuse(ctx, c, ks.action, source, "weak sign-in: "+broker.MethodOfAMR(si.AMR), ErrWeakSignIn)
	}
	var (
		out   *Change
		wrong secure.CodeCheck
	)
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		out, wrong = nil, secure.CodeCheck{}
		ch, err := s.load(ctx, tx, c, k, id)
		if err != nil {
			return err
		}
		if ch.State == StateDone {
			out = ch
			return nil
		}
		r, err := s.codes.Check(ctx, tx, ks.code, ch.ID, code)
		if err != nil {
			return err
		}
		if r.Err != nil {
			wrong = r // commit the attempt spent, change nothing else
			return nil
		}
		cur, err := tx.CitizenByID(ctx, c.ID)
		if err != nil {
			return err
		}
		old := Recipients{Email: []string{cur.Email}, Mobile: []string{cur.Mobile}}
		if k == Email {
			cur.Email = ch.To
			old.Email = append(old.Email, ch.To) // the new address learns it worked
		} else {
			cur.Mobile = ch.To
			old.Mobile = append(old.Mobile, ch.To)
		}
		if err := tx.UpdateCitizen(ctx, cur); err != nil {
			return err
		}
		ch.State = StateDone
		if err := s.save(ctx, tx, ch); err != nil {
			return err
		}
		if err := s.Notify(ctx, tx, cur, ks.notice, ch.ID, lang, old, map[string]any{"New": ch.Masked}); err != nil {
			return err
		}
		*c = *cur
		out = ch
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: ks.action,
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"to": ch.Masked}})
	})
	if _, dup := store.IsDuplicate(err); dup {
		return nil, s.refuse(ctx, c, ks.action, source, "number held by another citizen", errMobileTaken)
	}
	if errors.Is(err, store.ErrStale) {
		return nil, problem.New(http.StatusConflict, "store.stale")
	}
	if errors.Is(err, ErrChangeExpired) || errors.Is(err, ErrChangeUnknown) {
		s.record(ctx, c, ks.action, source, audit.Denied, map[string]string{"reason": "change expired or unknown"})
	}
	if err != nil {
		return nil, err
	}
	if wrong.Err != nil {
		s.record(ctx, c, ks.action, source, audit.Denied, map[string]string{"reason": "wrong code"})
		p, _ := problem.As(wrong.Err)
		return nil, &problem.Error{Status: p.Status, MsgID: p.MsgID, Fields: []problem.Field{{Name: "code",
			MsgID: p.MsgID, Args: map[string]any{"Remaining": wrong.Remaining}}}}
	}
	return out, nil
}
