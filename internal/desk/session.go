package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/store"
)

// newToken returns 32 random bytes in base64url: what a client holds.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is what the store keeps of a token: a database reader cannot
// use it.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// signedIn is the officer a request acts for.
type signedIn struct {
	Officer *identity.Officer
	Office  *identity.Office
	Session *store.Session
}

// actor is the officer as registration.Service sees them.
func (s *signedIn) actor(r *http.Request) registration.Actor {
	return registration.Actor{Officer: s.Officer, Office: s.Office, Source: httpserver.ClientIP(r.Context())}
}

func (s *signedIn) manages() bool {
	return s.Officer.Role == identity.RoleSupervisor || s.Officer.Role == identity.RoleAdmin
}

func (s *signedIn) admin() bool { return s.Officer.Role == identity.RoleAdmin }

// errNoSession means no live session or token: sign in again.
var errNoSession = errors.New("desk: no live session")

// liveSession returns the officer of a live session of kind with the
// client's token. Expired, revoked, idle (browser sessions only) or
// unknown tokens, disabled officers and inactive offices all give
// errNoSession. It slides the idle timeout.
func (d *Desk) liveSession(ctx context.Context, kind, token string) (*signedIn, error) {
	if token == "" || len(token) > 128 {
		return nil, errNoSession
	}
	se, err := d.d.Store.SessionByID(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	} else if err != nil {
		return nil, err
	}
	now := d.now()
	if se.Kind != kind || !se.RevokedAt.IsZero() || !now.Before(se.ExpiresAt) ||
		(kind == store.SessionDesk && now.Sub(se.LastSeenAt) > SessionIdle) {
		return nil, errNoSession
	}
	o, err := d.d.Store.OfficerByID(ctx, se.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	} else if err != nil {
		return nil, err
	}
	office, err := d.d.Store.OfficeByID(ctx, o.OfficeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	} else if err != nil {
		return nil, err
	}
	if o.Status != identity.OfficerActive || !office.Active {
		return nil, errNoSession
	}
	if now.Sub(se.LastSeenAt) > touchEvery {
		se.LastSeenAt = now
		if err := d.d.Store.UpdateSession(ctx, se); err != nil && !errors.Is(err, store.ErrStale) {
			return nil, err
		}
	}
	return &signedIn{Officer: o, Office: office, Session: se}, nil
}

// officerHandler is a desk page for a signed-in officer.
type officerHandler func(w http.ResponseWriter, r *http.Request, s *signedIn)

// requireOfficer sends a browser without a live desk session to the
// sign-in page.
func (d *Desk) requireOfficer(h officerHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := ""
		if c, err := r.Cookie(SessionCookie); err == nil {
			token = c.Value
		}
		s, err := d.liveSession(r.Context(), store.SessionDesk, token)
		if errors.Is(err, errNoSession) {
			to := "/desk/login"
			if token != "" {
				d.clearCookie(w, SessionCookie, "/")
				to += "?expired=1"
			}
			seeOther(w, r, to)
			return
		} else if err != nil {
			d.fail(w, r, "", err)
			return
		}
		h(w, r, s)
	})
}

func (d *Desk) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: d.d.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (d *Desk) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: d.d.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// logout ends the browser's desk session.
func (d *Desk) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		ctx := r.Context()
		id := hashToken(c.Value)
		se, err := d.d.Store.SessionByID(ctx, id)
		if err == nil && se.Kind == store.SessionDesk && se.RevokedAt.IsZero() {
			username, officeCode := se.Subject, ""
			if o, err := d.d.Store.OfficerByID(ctx, se.Subject); err == nil {
				username = o.Username
				if off, err := d.d.Store.OfficeByID(ctx, o.OfficeID); err == nil {
					officeCode = off.Code
				}
			}
			err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
				if err := tx.RevokeSession(ctx, id, d.now()); err != nil {
					return err
				}
				return audit.Append(ctx, tx, &audit.Event{At: d.now(), Actor: "officer:" + username, Action: "desk.logout",
					Subject: "officer:" + username, Office: officeCode, Source: httpserver.ClientIP(ctx)})
			})
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			d.fail(w, r, "", err)
			return
		}
	}
	d.clearCookie(w, SessionCookie, "/")
	seeOther(w, r, "/desk/login?bye=1")
}

// revokeSessions ends an officer's live desk sessions and API tokens.
func revokeSessions(ctx context.Context, tx store.Tx, officerID string, now time.Time) error {
	for _, kind := range []string{store.SessionDesk, store.SessionDeskToken} {
		live, err := tx.ListSessions(ctx, kind, officerID, now)
		if err != nil {
			return err
		}
		for _, se := range live {
			if err := tx.RevokeSession(ctx, se.ID, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// revokeOfficeSessions ends the sessions and API tokens of every officer
// of an office.
func revokeOfficeSessions(ctx context.Context, tx store.Tx, officeID string, now time.Time) error {
	staff, err := tx.ListOfficers(ctx, officeID)
	if err != nil {
		return err
	}
	for _, o := range staff {
		if err := revokeSessions(ctx, tx, o.ID, now); err != nil {
			return err
		}
	}
	return nil
}
