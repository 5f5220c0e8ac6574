package selfservice

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// PasswordChange asks for a new permanent password.
type PasswordChange struct {
	Current, New, Again string
	// EndOthers ends the citizen's other live sessions; Keep is the
	// session making the change (the store's session ID), which stays.
	EndOthers bool
	Keep      string
	Lang      string // the page's language, for notices when the citizen has none
	Source    string
}

// doubleSubmitWindow: a change repeated this soon with the same new
// password is the same change submitted twice.
const doubleSubmitWindow = 2 * time.Minute

// ChangePassword replaces c's permanent password after checking the
// current one (with the sign-in's throttling) and the new one against the
// policy, exactly as activation does. In one transaction it stores the
// new hash, ends the other sessions when asked, queues the notices and
// records the change. It returns how many other sessions it ended.
func (s *Service) ChangePassword(ctx context.Context, c *identity.Citizen, pc PasswordChange) (int, error) {
	const action = "password.change"
	var fields []problem.Field
	if pc.Current == "" {
		fields = append(fields, problem.Field{Name: "current_password", MsgID: "password_change.current_missing"})
	}
	if err := permanent.CheckNewPassword(s.opts.Policy, c, pc.New, pc.Again); err != nil {
		p, _ := problem.As(err)
		fields = append(fields, p.Fields...)
	} else if pc.New == pc.Current {
		fields = append(fields, problem.Field{Name: "password", MsgID: "password_change.same"})
	}
	if len(fields) > 0 {
		return 0, s.refuse(ctx, c, action, pc.Source, "new password refused", problem.Invalid(fields...))
	}
	// The version before the check: a parallel submit that changes it
	// first makes this one stale instead of a second change.
	before, err := s.store.PasswordOf(ctx, c.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	who, err := s.pw.CheckPassword(ctx, c.Document.Number, pc.Current, pc.Source)
	if err == nil && who.ID != c.ID {
		err = errCurrentWrong // a record replaced meanwhile
	}
	if err != nil {
		if p, ok := problem.As(err); ok {
			switch {
			case p.Status == http.StatusUnauthorized:
				if s.justSet(ctx, c, pc.New) {
					return 0, nil // a double submit: the first one changed it
				}
				err = errCurrentWrong
			case p.MsgID == "account.locked" && len(p.Fields) > 0:
				err = &problem.Error{Status: p.Status, MsgID: p.MsgID, Fields: []problem.Field{{Name: "current_password",
					MsgID: p.MsgID, Args: p.Fields[0].Args}}}
			}
			return 0, s.refuse(ctx, c, action, pc.Source, "current password not accepted", err)
		}
		return 0, err
	}
	hash, err := s.hasher.Hash(ctx, pc.New)
	if err != nil {
		if busy, ok := secure.BusyProblem(err); ok {
			return 0, busy
		}
		return 0, err
	}
	now := s.opts.Now().UTC()
	ended := 0
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		ended = 0
		if before != nil {
			if err := tx.UpdatePasswordHash(ctx, &store.Password{CitizenID: c.ID, Hash: hash, Version: before.Version}); err != nil {
				return err
			}
		}
		if err := tx.SetPassword(ctx, &store.Password{CitizenID: c.ID, Hash: hash, SetAt: now}); err != nil {
			return err
		}
		if pc.EndOthers {
			n, err := s.sessions.EndSessions(ctx, tx, c.ID, pc.Keep)
			if err != nil {
				return err
			}
			ended = n
		}
		key := c.ID + ":" + strconv.FormatInt(now.UnixMicro(), 10)
		if err := s.Notify(ctx, tx, c, NoticePasswordChanged, key, pc.Lang,
			Recipients{Email: []string{c.Email}, Mobile: []string{c.Mobile}}, nil); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{Actor: "citizen:" + c.ID, Action: action, Subject: "citizen:" + c.ID,
			Source: pc.Source, Details: map[string]string{"other_sessions_ended": strconv.Itoa(ended)}})
	})
	if errors.Is(err, store.ErrStale) {
		if s.justSet(ctx, c, pc.New) {
			return 0, nil // a parallel submit of the same change won
		}
		return 0, problem.New(http.StatusConflict, "store.stale")
	}
	return ended, err
}

var errCurrentWrong = problem.Invalid(problem.Field{Name: "current_password", MsgID: "password_change.current_wrong"})

// justSet reports whether password is the one set in the last moments:
// the "current" password of a repeated submit no longer matches. It runs
// only after a failed check, which the sign-in throttle counted.
func (s *Service) justSet(ctx context.Context, c *identity.Citizen, password string) bool {
	pw, err := s.store.PasswordOf(ctx, c.ID)
	if err != nil || s.opts.Now().Sub(pw.SetAt) >= doubleSubmitWindow {
		return false
	}
	ok, _, err := s.hasher.Verify(ctx, password, pw.Hash)
	return err == nil && ok
}
