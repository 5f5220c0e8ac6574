package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// Back-channel logout (OpenID Back-Channel Logout 1.0). Each SSO session
// has an OP session ID, sid, kept across the session-token rotations of
// step-up and re-authentication:
//
//	flow oidc_sess/<broker session ID> ──► sid (one per broker session)
//	flow oidc_sid/<sid>: the services the session signed into, each with
//	   the citizen's sub there; state active ──(the session ends)──► ended
//	cookie clau_oidc_sid: the sid, so the session a sign-in rotates to
//	   (same citizen) joins the same sid
//
// When the broker ends the session (end_session or Clau's /logout), the
// hook queues, in the same transaction, one store.LogoutDelivery per
// service with a backchannel_logout_uri; DeliverLogouts posts a freshly
// signed logout_token to each, retrying with a growing delay.
const (
	sidKind      = "oidc_sid"
	sessKind     = "oidc_sess"
	sidCookie    = "clau_oidc_sid"
	logoutEvent  = "http://schemas.openid.net/event/backchannel-logout"
	logoutLease  = time.Minute
	logoutTries  = 8
	logoutFirst  = 10 * time.Second
	logoutMaxGap = time.Hour
)

// sidData is what an oidc_sid flow holds: client ID → the citizen's sub.
type sidData struct {
	Clients map[string]string `json:"clients"`
}

func newSID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// joinSession returns the sid of the browser's SSO session and records
// that the client signed into it.
func (p *Provider) joinSession(w http.ResponseWriter, r *http.Request, se *broker.Session, clientID, sub string) (string, error) {
	ctx := r.Context()
	sid := ""
	if f, err := p.Store.FlowByID(ctx, sessKind, se.ID); err == nil {
		_ = json.Unmarshal(f.Data, &sid)
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if sid == "" {
		if c, err := r.Cookie(sidCookie); err == nil && c.Value != "" {
			if f, err := p.Store.FlowByID(ctx, sidKind, c.Value); err == nil && f.State == "active" && f.Subject == se.Subject {
				sid = c.Value
			}
		}
		if sid == "" {
			sid = newSID()
		}
		data, _ := json.Marshal(sid)
		err := p.Store.CreateFlow(ctx, &store.Flow{ID: se.ID, Kind: sessKind, State: "active", Subject: se.Subject,
			Data: data, ExpiresAt: se.ExpiresAt})
		if _, dup := store.IsDuplicate(err); err != nil && !dup {
			return "", err
		}
	}
	for try := 0; ; try++ {
		f, err := p.Store.FlowByID(ctx, sidKind, sid)
		if errors.Is(err, store.ErrNotFound) {
			data, _ := json.Marshal(sidData{Clients: map[string]string{clientID: sub}})
			err = p.Store.CreateFlow(ctx, &store.Flow{ID: sid, Kind: sidKind, State: "active", Subject: se.Subject,
				Data: data, ExpiresAt: se.ExpiresAt})
			if _, dup := store.IsDuplicate(err); dup && try < 3 {
				continue
			}
		} else if err == nil {
			var d sidData
			if json.Unmarshal(f.Data, &d) != nil || d.Clients == nil {
				d.Clients = map[string]string{}
			}
			if d.Clients[clientID] == sub && !se.ExpiresAt.After(f.ExpiresAt) {
				break
			}
			d.Clients[clientID] = sub
			f.Data, _ = json.Marshal(d)
			if se.ExpiresAt.After(f.ExpiresAt) {
				f.ExpiresAt = se.ExpiresAt
			}
			err = p.Store.UpdateFlow(ctx, f)
			if errors.Is(err, store.ErrStale) && try < 3 {
				continue
			}
		}
		if err != nil {
			return "", err
		}
		break
	}
	http.SetCookie(w, &http.Cookie{Name: sidCookie, Value: sid, Path: prefix, HttpOnly: true, Secure: p.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: se.ExpiresAt})
	return sid, nil
}

// sessionEnded is the broker's logout hook: it queues a back-channel
// logout for every service the session signed into that asked for them.
func (p *Provider) sessionEnded(ctx context.Context, tx store.Tx, se *store.Session) error {
	f, err := tx.FlowByID(ctx, sessKind, se.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // no service signed in through OIDC
	} else if err != nil {
		return err
	}
	var sid string
	_ = json.Unmarshal(f.Data, &sid)
	sf, err := tx.FlowByID(ctx, sidKind, sid)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if sf.State != "active" {
		return nil
	}
	var d sidData
	_ = json.Unmarshal(sf.Data, &d)
	now := p.now()
	for clientID, sub := range d.Clients {
		c, ok := p.lookup(ctx, clientID)
		if !ok || c.backchannelURI == "" {
			continue
		}
		if err := tx.EnqueueLogout(ctx, &store.LogoutDelivery{ID: store.NewID(), ClientID: clientID, URI: c.backchannelURI,
			Subject: sub, SID: sid, CreatedAt: now, NextAttemptAt: now}); err != nil {
			return err
		}
	}
	sf.State = "ended"
	return tx.UpdateFlow(ctx, sf)
}

// DeliverLogouts makes one pass over the due back-channel logouts and
// reports how many it delivered. Any number of processes may run it.
func (p *Provider) DeliverLogouts(ctx context.Context) (int, error) {
	ds, err := p.Store.ClaimLogouts(ctx, p.now(), logoutLease, 20)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range ds {
		d := &ds[i]
		err := p.postLogout(ctx, d)
		now := p.now()
		d.Attempts++
		outcome := "ok"
		switch {
		case err == nil:
			d.Status, d.SentAt, d.LastError = store.MsgSent, now, ""
			sent++
		case d.Attempts >= logoutTries:
			d.Status, d.LastError, outcome = store.MsgFailed, err.Error(), "failed"
		default:
			gap := min(logoutFirst<<(d.Attempts-1), logoutMaxGap)
			d.Status, d.LastError, d.NextAttemptAt, outcome = store.MsgPending, err.Error(), now.Add(gap), "retry"
		}
		if ferr := p.Store.FinishLogout(ctx, d); ferr != nil {
			return sent, ferr
		}
		det := map[string]string{"client_id": d.ClientID, "attempt": fmt.Sprint(d.Attempts)}
		if err != nil {
			det["error"] = err.Error()
		}
		if aerr := audit.Append(ctx, p.Store, &audit.Event{At: now, Actor: "system", Action: "oidc.backchannel_logout",
			Subject: "client:" + d.ClientID, Outcome: outcome, Details: det}); aerr != nil {
			p.Log.Error("oidc audit", "error", aerr.Error())
		}
	}
	return sent, nil
}

// RunLogouts delivers back-channel logouts every interval (and soon after
// a logout in this process) until ctx ends.
func (p *Provider) RunLogouts(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
		for {
			n, err := p.DeliverLogouts(ctx)
			if err != nil {
				if ctx.Err() == nil {
					p.Log.Error("oidc back-channel logout", "error", err.Error())
				}
				break
			}
			if n == 0 {
				break
			}
		}
	}
}

func (p *Provider) kickLogouts() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// logoutToken signs the token for one delivery, fresh at each attempt.
func (p *Provider) logoutToken(ctx context.Context, d *store.LogoutDelivery) (string, error) {
	now := p.now()
	alg := DefaultAlg
	if c, ok := p.lookup(ctx, d.ClientID); ok {
		alg = c.idTokenAlg
	}
	kid, key := p.currentKeys(ctx).signer(now, alg)
	if key == nil {
		return "", errors.New("no signing key")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", err
	}
	claims := map[string]any{"iss": p.Issuer, "aud": d.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": store.NewID(), "events": map[string]any{logoutEvent: map[string]any{}}, "sid": d.SID, "sub": d.Subject}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

var logoutHTTP = &http.Client{Timeout: 5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (p *Provider) postLogout(ctx context.Context, d *store.LogoutDelivery) error {
	tok, err := p.logoutToken(ctx, d)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URI,
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := logoutHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("posting the logout token: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the service answered %d", res.StatusCode)
	}
	return nil
}
