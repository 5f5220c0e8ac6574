package registration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

type notifier interface {
	Queue(ctx context.Context, s store.Outbox, r notify.Request) (string, bool, error)
	QueueBoth(ctx context.Context, s store.Outbox, email, mobile string, r notify.Request) error
}

// Activation flow.
const (
	ActivationFlow = "activation"
	StateSMSSent   = "sms_sent"
	StateSMSOK     = "sms_ok"
	StateDone      = "done"
)

// ActivationSMS is the SMS code of activation: 6 digits, 5 minutes, 3 tries.
var ActivationSMS = secure.CodeSpec{Purpose: "activation_sms", Kind: secure.Numeric, Digits: 6, TTL: 5 * time.Minute, MaxAttempts: 3}

// activationTTL bounds one activation: the citizen has this long to
// finish once the code was accepted.
const activationTTL = 30 * time.Minute

// Errors citizens see.
var (
	// ErrMismatch is the one answer for an unknown document, an email that
	// does not match and a citizen with nothing to activate.
	ErrMismatch    = problem.New(http.StatusBadRequest, "activation.mismatch")
	ErrFlowUnknown = problem.New(http.StatusNotFound, "activation.unknown")
	ErrFlowExpired = problem.New(http.StatusGone, "activation.expired")
	ErrFlowStep    = problem.New(http.StatusConflict, "activation.wrong_step")
	ErrCodeChanged = problem.New(http.StatusConflict, "activation.code_changed")
	ErrResendWait  = problem.New(http.StatusTooManyRequests, "sms.resend_wait")
)

// Activation is one citizen's activation in progress.
type Activation struct {
	ID        string
	State     string
	CitizenID string
	CodeID    string // the activation code accepted at the first step
	Mobile    string // masked, to show where the SMS went
	Resends   int
	Version   int64
	ExpiresAt time.Time
}

type activationData struct {
	CodeID  string `json:"code_id"`
	Mobile  string `json:"mobile"`
	Resends int    `json:"resends"`
}

func (s *Service) loadActivation(ctx context.Context, fl store.Flows, id string) (*Activation, error) {
	f, err := fl.FlowByID(ctx, ActivationFlow, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrFlowUnknown
	} else if err != nil {
		return nil, err
	}
	var d activationData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return nil, err
	}
	a := &Activation{ID: f.ID, State: f.State, CitizenID: f.Subject, CodeID: d.CodeID, Mobile: d.Mobile,
		Resends: d.Resends, Version: f.Version, ExpiresAt: f.ExpiresAt}
	if a.State != StateDone && !s.opts.Now().Before(a.ExpiresAt) {
		return a, ErrFlowExpired
	}
	return a, nil
}

func (s *Service) saveActivation(ctx context.Context, fl store.Flows, a *Activation) error {
	data, _ := json.Marshal(activationData{CodeID: a.CodeID, Mobile: a.Mobile, Resends: a.Resends})
	f := &store.Flow{ID: a.ID, Kind: ActivationFlow, State: a.State, Subject: a.CitizenID, Data: data,
		Version: a.Version, ExpiresAt: a.ExpiresAt}
	if err := fl.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
		return ErrFlowStep
	} else if err != nil {
		return err
	}
	a.Version = f.Version
	return nil
}

// Activation returns the flow, for pages that show its step.
func (s *Service) Activation(ctx context.Context, id string) (*Activation, error) {
	return s.loadActivation(ctx, s.store, id)
}

// StartActivation checks document, email and activation code, then sends
// an SMS code to the registered mobile. The code is not consumed here.
func (s *Service) StartActivation(ctx context.Context, docInput, email, code, source string) (*Activation, error) {
	doc, err := identity.ParseDocument(docInput)
	if err != nil {
		return nil, err
	}
	record := func(c *identity.Citizen, action, outcome string) {
		ev := audit.Event{Actor: "anonymous", Action: action, Source: source, Outcome: outcome,
			Details: map[string]string{"document": doc.Masked()}}
		if c != nil {
			ev.Actor, ev.Subject = "citizen:"+c.ID, "citizen:"+c.ID
		}
		_ = audit.New(s.store, s.opts.Now).Record(ctx, ev)
	}
	c, err := s.store.CitizenByDocument(ctx, doc.Number)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !strings.EqualFold(strings.TrimSpace(email), c.Email)) {
		record(nil, "activation.start", audit.Denied)
		return nil, ErrMismatch
	} else if err != nil {
		return nil, err
	}
	spec := s.ActivationSpec()
	r, err := s.codes.Verify(ctx, s.store, spec, c.ID, code)
	if err != nil {
		return nil, err
	}
	if r.Err != nil {
		record(c, "activation.start", audit.Denied)
		p, _ := problem.As(r.Err)
		return nil, &problem.Error{Status: p.Status, MsgID: p.MsgID, Fields: []problem.Field{{Name: "code",
			MsgID: p.MsgID, Args: map[string]any{"Remaining": r.Remaining}}}}
	}
	now := s.opts.Now().UTC()
	a := &Activation{ID: store.NewID(), State: StateSMSSent, CitizenID: c.ID, CodeID: r.CodeID,
		Mobile: secure.MaskPhone(c.Mobile), ExpiresAt: now.Add(activationTTL)}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		data, _ := json.Marshal(activationData{CodeID: a.CodeID, Mobile: a.Mobile})
		f := &store.Flow{ID: a.ID, Kind: ActivationFlow, State: a.State, Subject: c.ID, Data: data, ExpiresAt: a.ExpiresAt}
		if err := tx.CreateFlow(ctx, f); err != nil {
			return err
		}
		a.Version = f.Version
		if err := s.sendSMS(ctx, tx, a, c); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: "activation.start",
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"to": a.Mobile}})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Service) sendSMS(ctx context.Context, tx store.Tx, a *Activation, c *identity.Citizen) error {
	code, _, err := s.codes.Issue(ctx, tx, ActivationSMS, a.ID)
	if err != nil {
		return err
	}
	live, err := tx.LiveCode(ctx, ActivationSMS.Purpose, a.ID)
	if err != nil {
		return err
	}
	_, _, err = s.notify.Queue(ctx, tx, notify.Request{Channel: notify.SMS, To: c.Mobile, Template: "sms.code",
		Language: c.Language, Data: map[string]any{"Code": code, "Minutes": int(ActivationSMS.TTL.Minutes())},
		EventKey: "activation_sms:" + live.ID})
	return err
}

// ResendSMS sends a new SMS code (the old one dies): at most 3 resends,
// at least a minute apart.
func (s *Service) ResendSMS(ctx context.Context, id, source string) (*Activation, error) {
	var out *Activation
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		a, err := s.loadActivation(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.State != StateSMSSent {
			return ErrFlowStep
		}
		if live, err := tx.LiveCode(ctx, ActivationSMS.Purpose, a.ID); err == nil &&
			(s.opts.Now().Sub(live.CreatedAt) < time.Minute || a.Resends >= 3) {
			return ErrResendWait
		}
		c, err := tx.CitizenByID(ctx, a.CitizenID)
		if err != nil {
			return err
		}
		a.Resends++
		if err := s.saveActivation(ctx, tx, a); err != nil {
			return err
		}
		if err := s.sendSMS(ctx, tx, a, c); err != nil {
			return err
		}
		out = a
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: "code.issue", Subject: "citizen:" + c.ID,
			Source: source, Details: map[string]string{"purpose": ActivationSMS.Purpose, "resend": "true"}})
	})
	return out, err
}

// ConfirmSMS checks the SMS code.
func (s *Service) ConfirmSMS(ctx context.Context, id, code, source string) (*Activation, error) {
	a, err := s.loadActivation(ctx, s.store, id)
	if err != nil {
		return nil, err
	}
	if a.State != StateSMSSent {
		if a.State == StateSMSOK {
			return a, nil // a double submit or the back button: already confirmed
		}
		return nil, ErrFlowStep
	}
	r, err := s.codes.Check(ctx, s.store, ActivationSMS, a.ID, code)
	if err != nil {
		return nil, err
	}
	if r.Err != nil {
		_ = audit.New(s.store, s.opts.Now).Record(ctx, audit.Event{Actor: "citizen:" + a.CitizenID,
			Action: "activation.sms", Subject: "citizen:" + a.CitizenID, Source: source, Outcome: audit.Denied})
		p, _ := problem.As(r.Err)
		return nil, &problem.Error{Status: p.Status, MsgID: p.MsgID, Fields: []problem.Field{{Name: "code",
			MsgID: p.MsgID, Args: map[string]any{"Remaining": r.Remaining}}}}
	}
	a.State = StateSMSOK
	if err := s.saveActivation(ctx, s.store, a); err != nil {
		return nil, err
	}
	return a, nil
}

// SetPassword finishes the activation: the two passwords must match and
// meet the policy; then, in one transaction, the password is stored, the
// activation code consumed, the citizen activated and any lockout lifted.
func (s *Service) SetPassword(ctx context.Context, id, password, again, source string) (*identity.Citizen, error) {
	a, err := s.loadActivation(ctx, s.store, id)
	if err != nil {
		return nil, err
	}
	if a.State != StateSMSOK {
		return nil, ErrFlowStep
	}
	c, err := s.store.CitizenByID(ctx, a.CitizenID)
	if err != nil {
		return nil, err
	}
	if err := permanent.CheckNewPassword(s.opts.Policy, c, password, again); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	var activated *identity.Citizen
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		a, err := s.loadActivation(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.State != StateSMSOK {
			return ErrFlowStep
		}
		live, err := tx.LiveCode(ctx, s.ActivationSpec().Purpose, a.CitizenID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && live.ID != a.CodeID) {
			return ErrCodeChanged // reissued or used meanwhile: start again with the new code
		} else if err != nil {
			return err
		}
		if err := tx.ConsumeCode(ctx, live.ID, now); err != nil {
			return ErrCodeChanged
		}
		c, err := tx.CitizenByID(ctx, a.CitizenID)
		if err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, &store.Password{CitizenID: c.ID, Hash: hash, SetAt: now}); err != nil {
			return err
		}
		if c.Status == identity.StatusActive {
			// A new code for an active citizen (a reset letter, the
			// office's reissue): a password reset, and they hear of it.
			if err := s.notifyCitizen(ctx, tx, c, "security.password_reset", "password_set:"+c.ID+":"+a.ID,
				map[string]any{"Date": now.In(madrid).Format("02/01/2006 15:04"),
					"URL": strings.TrimRight(s.opts.BaseURL, "/") + "/recover"}); err != nil {
				return err
			}
			if err := audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: "password.reset",
				Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"via": "activation code"}}); err != nil {
				return err
			}
		}
		if c.Status == identity.StatusPending {
			c.Status = identity.StatusActive
			if err := tx.UpdateCitizen(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.DeleteCounter(ctx, "pwd:doc:"+c.Document.Number); err != nil {
			return err
		}
		a.State = StateDone
		if err := s.saveActivation(ctx, tx, a); err != nil {
			return err
		}
		activated = c
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: "citizen.activate",
			Subject: "citizen:" + c.ID, Source: source})
	})
	if err != nil {
		return nil, err
	}
	return activated, nil
}
