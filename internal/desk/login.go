package desk

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Sign-in flow states (see doc.go).
const (
	statePasswordOK = "password_ok"
	stateDone       = "done"
	stateFailed     = "failed"
)

// loginData is what a desk_login flow keeps between the two steps.
type loginData struct {
	Source   string `json:"source"`
	Attempts int    `json:"attempts"` // wrong TOTP codes in this flow
}

var loginFields = []field{
	{Name: "username", Label: "desk.login.username", Type: "text", Required: true, Autocomplete: "username"},
	{Name: "password", Label: "desk.login.password", Type: "password", Required: true, Autocomplete: "current-password"},
}

var totpFields = []field{
	{Name: "code", Label: "desk.totp.code", Hint: "desk.totp.code_hint", Type: "text", Required: true,
		Autocomplete: "one-time-code", InputMode: "numeric", Size: "short"},
}

func (d *Desk) renderLogin(w http.ResponseWriter, r *http.Request, status int, form *web.Form, notice string) {
	lang := d.lang(r)
	form.Values["password"] = "" // never sent back
	d.render(w, at(r, "/desk/login"), status, "desk_login.html", "desk.login.title",
		&view{Lang: lang, Notice: notice, Form: d.buildForm(lang, form, loginFields)})
}

func (d *Desk) loginForm(w http.ResponseWriter, r *http.Request) {
	lang := d.lang(r)
	notice := ""
	switch {
	case r.URL.Query().Has("bye"):
		notice = d.t(lang, "desk.login.signed_out", nil)
	case r.URL.Query().Has("expired"):
		notice = d.t(lang, "desk.login.expired", nil)
	case r.URL.Query().Has("again"):
		notice = d.t(lang, "desk.login.again", nil)
	}
	d.renderLogin(w, r, http.StatusOK, web.NewForm(nil), notice)
}

// throttleKeys are the counters a sign-in from src as username spends.
func throttleKeys(username, src string) (user, source string) {
	if len(username) > 64 {
		username = username[:64]
	}
	return "desk:user:" + username, "desk:ip:" + src
}

func minutes(d time.Duration) int { return int(math.Ceil(d.Minutes())) }

func (d *Desk) loginSubmit(w http.ResponseWriter, r *http.Request) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	password := r.PostFormValue("password")
	src := httpserver.ClientIP(ctx)
	form := web.NewForm(map[string]string{"username": username})
	if username == "" {
		form.Errors["username"] = []string{d.t(lang, "desk.login.username_required", nil)}
	}
	if password == "" {
		form.Errors["password"] = []string{d.t(lang, "desk.login.password_required", nil)}
	}
	if form.HasErrors() {
		form.Summary = d.t(lang, "input.invalid", nil)
		d.renderLogin(w, r, http.StatusUnprocessableEntity, form, "")
		return
	}
	userKey, srcKey := throttleKeys(username, src)
	if wait, err := d.lockedFor(ctx, userKey, srcKey); err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	} else if wait > 0 {
		d.audit(ctx, "desk.login", username, "", src, audit.Denied, map[string]string{"reason": "locked"})
		form.Summary = d.t(lang, "account.locked", map[string]any{"Minutes": minutes(wait)})
		d.renderLogin(w, r, http.StatusTooManyRequests, form, "")
		return
	}

	o, err := d.d.Store.OfficerByUsername(ctx, username)
	ok, rehash := false, false
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = d.d.Hasher.VerifyDummy(ctx, password) // same time as a known username
		o = nil
	case err != nil:
		d.fail(w, r, "/desk/login", err)
		return
	default:
		ok, rehash, err = d.d.Hasher.Verify(ctx, password, o.PasswordHash)
		if err != nil && !errors.Is(err, secure.ErrBusy) {
			d.d.Log.Error("desk: officer password hash unusable", "request_id", httpserver.RequestID(ctx),
				"officer", o.Username, "error", err.Error())
			ok = false
		}
	}
	if busy, isBusy := secure.BusyProblem(err); isBusy {
		problem.SetRetryAfter(w.Header(), busy)
		form.Summary = d.t(lang, busy.MsgID, busy.Args)
		d.renderLogin(w, r, busy.Status, form, "")
		return
	}
	if !ok {
		reason := "wrong password"
		if o == nil {
			reason = "unknown username"
		}
		d.loginFailed(ctx, w, r, form, username, src, reason)
		return
	}

	// The password is right: from here on, say what stops the officer.
	office, err := d.d.Store.OfficeByID(ctx, o.OfficeID)
	if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	}
	refuse := func(msgID, reason string) {
		d.audit(ctx, "desk.login", o.Username, office.Code, src, audit.Denied, map[string]string{"reason": reason})
		form.Summary = d.t(lang, msgID, nil)
		d.renderLogin(w, r, http.StatusForbidden, form, "")
	}
	switch {
	case o.Status != identity.OfficerActive:
		refuse("desk.login.disabled", "officer disabled")
		return
	case !office.Active:
		refuse("desk.login.office_inactive", "office inactive")
		return
	case o.TOTPSecretSealed == "":
		refuse("desk.login.no_totp", "no second factor enrolled")
		return
	}
	if rehash {
		if h, err := d.d.Hasher.Hash(ctx, password); err == nil {
			c := *o
			c.PasswordHash = h
			if err := d.d.Store.UpdateOfficer(ctx, &c); err != nil && !errors.Is(err, store.ErrStale) {
				d.d.Log.Warn("desk: raising an officer's password hash", "officer", o.Username, "error", err.Error())
			}
		}
	}
	token := newToken()
	data, _ := json.Marshal(loginData{Source: src})
	now := d.now()
	f := &store.Flow{ID: hashToken(token), Kind: flowLogin, State: statePasswordOK, Subject: o.ID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(loginFlowTTL)}
	if err := d.d.Store.CreateFlow(ctx, f); err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	}
	d.setCookie(w, loginCookie, token, "/desk/login", loginFlowTTL)
	seeOther(w, r, "/desk/login/totp")
}

// lockedFor is the longer wait of the two counters.
func (d *Desk) lockedFor(ctx context.Context, userKey, srcKey string) (time.Duration, error) {
	u, err := d.users.Locked(ctx, userKey)
	if err != nil {
		return 0, err
	}
	s, err := d.sources.Locked(ctx, srcKey)
	if err != nil {
		return 0, err
	}
	return max(u, s), nil
}

// countFailure counts a failure on both counters, audits it and any lockout it
// caused, and returns the wait (0 when not locked).
func (d *Desk) countFailure(ctx context.Context, username, officeCode, src, reason string) time.Duration {
	userKey, srcKey := throttleKeys(username, src)
	u, err := d.users.Fail(ctx, userKey)
	if err != nil {
		d.d.Log.Error("desk: counting a sign-in failure", "error", err.Error())
	}
	s, err := d.sources.Fail(ctx, srcKey)
	if err != nil {
		d.d.Log.Error("desk: counting a sign-in failure", "error", err.Error())
	}
	d.audit(ctx, "desk.login", username, officeCode, src, audit.Denied, map[string]string{"reason": reason})
	if u > 0 {
		d.audit(ctx, "desk.lockout", username, officeCode, src, audit.Denied,
			map[string]string{"counter": "username", "minutes": strconv.Itoa(minutes(u))})
	}
	if s > 0 {
		d.audit(ctx, "desk.lockout", username, officeCode, src, audit.Denied,
			map[string]string{"counter": "source", "minutes": strconv.Itoa(minutes(s))})
	}
	return max(u, s)
}

// loginFailed answers a wrong password and an unknown username alike.
func (d *Desk) loginFailed(ctx context.Context, w http.ResponseWriter, r *http.Request, form *web.Form, username, src, reason string) {
	lang := d.lang(r)
	if wait := d.countFailure(ctx, username, "", src, reason); wait > 0 {
		form.Summary = d.t(lang, "account.locked", map[string]any{"Minutes": minutes(wait)})
		d.renderLogin(w, r, http.StatusTooManyRequests, form, "")
		return
	}
	form.Summary = d.t(lang, "desk.login.failed", nil)
	d.renderLogin(w, r, http.StatusUnprocessableEntity, form, "")
}

// usernameShape is what a username can look like (identity's rule); any
// other typed text is kept out of the audit trail, since people type
// their DNI or password into the wrong field.
var usernameShape = regexp.MustCompile(`^[a-z][a-z0-9._-]{2,39}$`)

// audit records a sign-in event; the trail never blocks a sign-in, but a
// failure to record is logged.
func (d *Desk) audit(ctx context.Context, action, username, officeCode, src, outcome string, details map[string]string) {
	if !usernameShape.MatchString(username) {
		username = "(not a username)"
	}
	err := d.trail.Record(ctx, audit.Event{Actor: "officer:" + username, Action: action, Subject: "officer:" + username,
		Office: officeCode, Source: src, Outcome: outcome, Details: details})
	if err != nil {
		d.d.Log.Error("desk: audit", "action", action, "error", err.Error())
	}
}

// loginFlow returns the browser's sign-in flow in state password_ok, or
// nil when there is none (no cookie, unknown, expired, finished).
func (d *Desk) loginFlow(r *http.Request) (*store.Flow, *loginData, error) {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, nil, nil
	}
	f, err := d.d.Store.FlowByID(r.Context(), flowLogin, hashToken(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	if f.State != statePasswordOK || !d.now().Before(f.ExpiresAt) {
		return nil, nil, nil
	}
	var data loginData
	if err := json.Unmarshal(f.Data, &data); err != nil {
		return nil, nil, err
	}
	return f, &data, nil
}

func (d *Desk) renderTOTP(w http.ResponseWriter, r *http.Request, status int, form *web.Form) {
	lang := d.lang(r)
	form.Values["code"] = ""
	d.render(w, r, status, "desk_totp.html", "desk.totp.title", &view{Lang: lang, Form: d.buildForm(lang, form, totpFields)})
}

func (d *Desk) totpForm(w http.ResponseWriter, r *http.Request) {
	f, _, err := d.loginFlow(r)
	if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	} else if f == nil {
		seeOther(w, r, "/desk/login?again=1")
		return
	}
	d.renderTOTP(w, r, http.StatusOK, web.NewForm(nil))
}

// errReplay is a TOTP step taken by another request first: the same code
// sent twice, or two sign-ins racing.
var errReplay = errors.New("desk: TOTP step or sign-in flow already used")

func (d *Desk) totpSubmit(w http.ResponseWriter, r *http.Request) {
	ctx, lang := r.Context(), d.lang(r)
	f, data, err := d.loginFlow(r)
	if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	} else if f == nil {
		seeOther(w, r, "/desk/login?again=1")
		return
	}
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	src := httpserver.ClientIP(ctx)
	o, err := d.d.Store.OfficerByID(ctx, f.Subject)
	if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	}
	office, err := d.d.Store.OfficeByID(ctx, o.OfficeID)
	if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	}
	form := web.NewForm(nil)
	endFlow := func() {
		c := *f
		c.State = stateFailed
		if err := d.d.Store.UpdateFlow(ctx, &c); err != nil && !errors.Is(err, store.ErrStale) {
			d.d.Log.Error("desk: ending a sign-in flow", "error", err.Error())
		}
		d.clearCookie(w, loginCookie, "/desk/login")
	}
	// The officer may have been disabled, or locked out from elsewhere,
	// since the password step.
	if o.Status != identity.OfficerActive || !office.Active || o.TOTPSecretSealed == "" {
		endFlow()
		d.audit(ctx, "desk.login", o.Username, office.Code, src, audit.Denied, map[string]string{"reason": "officer or office no longer active"})
		form.Summary = d.t(lang, "desk.login.disabled", nil)
		d.renderLogin(w, r, http.StatusForbidden, form, "")
		return
	}
	userKey, srcKey := throttleKeys(o.Username, src)
	if wait, err := d.lockedFor(ctx, userKey, srcKey); err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	} else if wait > 0 {
		endFlow()
		d.audit(ctx, "desk.login", o.Username, office.Code, src, audit.Denied, map[string]string{"reason": "locked"})
		form.Summary = d.t(lang, "account.locked", map[string]any{"Minutes": minutes(wait)})
		d.renderLogin(w, r, http.StatusTooManyRequests, form, "")
		return
	}
	secret, _, err := OpenTOTP(d.d.Keyring, o)
	if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	}
	now := d.now()
	code := r.PostFormValue("code")
	step, ok := secure.CheckTOTP(secret, code, o.TOTPLastStep, now)
	if !ok {
		reason := "wrong code"
		if _, used := secure.CheckTOTP(secret, code, -1, now); used {
			reason = "code already used"
		}
		wait := d.countFailure(ctx, o.Username, office.Code, src, reason)
		data.Attempts++
		if wait > 0 || data.Attempts >= maxTOTPAttempts {
			endFlow()
			if wait > 0 {
				form.Summary = d.t(lang, "account.locked", map[string]any{"Minutes": minutes(wait)})
				d.renderLogin(w, r, http.StatusTooManyRequests, form, "")
			} else {
				form.Summary = d.t(lang, "desk.totp.too_many", nil)
				d.renderLogin(w, r, http.StatusUnprocessableEntity, form, "")
			}
			return
		}
		c := *f
		c.Data, _ = json.Marshal(data)
		if err := d.d.Store.UpdateFlow(ctx, &c); err != nil && !errors.Is(err, store.ErrStale) {
			d.fail(w, r, "/desk/login", err)
			return
		}
		form.Errors["code"] = []string{d.t(lang, "desk.totp.wrong", nil)}
		form.Summary = d.t(lang, "input.invalid", nil)
		d.renderTOTP(w, r, http.StatusUnprocessableEntity, form)
		return
	}

	// Right code: take the step, finish the flow, rotate the session and
	// audit, all or nothing. A lost race on the officer's or the flow's
	// version means another request used this code or this flow first.
	token := newToken()
	old := ""
	if c, err := r.Cookie(SessionCookie); err == nil {
		old = c.Value
	}
	se := store.Session{ID: hashToken(token), Kind: store.SessionDesk, Subject: o.ID, AMR: []string{"pwd", "otp"},
		AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionTTL), Source: src,
		UserAgent: truncate(r.UserAgent(), 200)}
	err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
		oc := *o
		oc.TOTPLastStep = step
		if err := tx.UpdateOfficer(ctx, &oc); errors.Is(err, store.ErrStale) {
			return errReplay
		} else if err != nil {
			return err
		}
		fc := *f
		fc.State = stateDone
		if err := tx.UpdateFlow(ctx, &fc); errors.Is(err, store.ErrStale) {
			return errReplay
		} else if err != nil {
			return err
		}
		if old != "" {
			if err := tx.RevokeSession(ctx, hashToken(old), now); err != nil {
				return err
			}
		}
		sc := se
		if err := tx.CreateSession(ctx, &sc); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "officer:" + o.Username, Action: "desk.login",
			Subject: "officer:" + o.Username, Office: office.Code, Source: src, Details: map[string]string{"amr": "pwd otp"}})
	})
	if errors.Is(err, errReplay) {
		d.audit(ctx, "desk.login", o.Username, office.Code, src, audit.Denied, map[string]string{"reason": "code used concurrently"})
		form.Errors["code"] = []string{d.t(lang, "desk.totp.wrong", nil)}
		form.Summary = d.t(lang, "input.invalid", nil)
		d.renderTOTP(w, r, http.StatusConflict, form)
		return
	} else if err != nil {
		d.fail(w, r, "/desk/login", err)
		return
	}
	if err := d.users.Reset(ctx, userKey); err != nil {
		d.d.Log.Warn("desk: resetting a sign-in counter", "error", err.Error())
	}
	d.clearCookie(w, loginCookie, "/desk/login")
	d.setCookie(w, SessionCookie, token, "/", SessionTTL)
	seeOther(w, r, "/desk")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
