package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// overview is the data of /me: who, how they signed in, their record and
// the ways in they have.
type overview struct {
	Citizen *identity.Citizen
	Session *broker.Session
	Methods []string // message IDs of the session's methods
	Since   string

	Document, Birth, Email, Mobile string // masked or formatted for display
	Level, Channel                 string // message ID suffixes: basic/advanced, office/letter/...

	PasswordSet string // when the permanent password was set; "" without one

	PIN      bool // the deployment offers the PIN service
	PINOn    bool
	PINUntil string

	Passkey  bool // the deployment offers passkeys
	Passkeys int

	Certificates []certSeen

	Changes bool   // email, mobile and password can be changed here
	Done    string // the change just made: email, mobile, password
}

// certSeen is a certificate that signed the citizen in, from the audit
// trail: its issuer, serial number and last use.
type certSeen struct {
	Issuer, Serial, LastUsed string
}

// me shows the account overview: who is signed in, how and at which
// level, the personal data, registration level, contact details, the ways
// in the citizen has, and links to every action.
func (p *Pages) me(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	se, err := p.Broker.SessionFor(ctx, sessionToken(r))
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if se == nil {
		http.Redirect(w, r, "/login?continue=/me", http.StatusSeeOther)
		return
	}
	c, err := p.Store.CitizenByID(ctx, se.Subject)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	o, err := p.overviewOf(ctx, c, se)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	switch d := r.URL.Query().Get("done"); d {
	case "email", "mobile", "password":
		o.Done = d
	}
	p.render(w, r, "me.html", "me.title", http.StatusOK, page{Any: o})
}

func (p *Pages) overviewOf(ctx context.Context, c *identity.Citizen, se *broker.Session) (*overview, error) {
	o := &overview{Citizen: c, Session: se, Methods: amrNames(se.AMR), Since: se.AuthTime.In(madrid).Format("02/01/2006 15:04"),
		Document: c.Document.Masked(), Email: secure.MaskEmail(c.Email), Mobile: maskPhone(c.Mobile),
		Level: string(c.Level), Channel: string(c.Channel), PIN: p.PIN != nil, Passkey: p.Passkey != nil,
		Changes: p.SelfService != nil}
	if !c.BirthDate.IsZero() {
		o.Birth = fmt.Sprintf("%02d/%02d/%04d", c.BirthDate.Day, int(c.BirthDate.Month), c.BirthDate.Year)
	}
	pw, err := p.Store.PasswordOf(ctx, c.ID)
	if err == nil {
		o.PasswordSet = pw.SetAt.In(madrid).Format("02/01/2006")
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if p.PIN != nil {
		st, err := p.PIN.StatusOf(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		o.PINOn, o.PINUntil = st.Enabled, st.ExpiresAt.In(madrid).Format("02/01/2006")
	}
	if p.Passkey != nil {
		keys, err := p.Passkey.List(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		o.Passkeys = len(keys)
	}
	o.Certificates, err = p.certificatesSeen(ctx, c.ID)
	return o, err
}

// certificatesSeen lists the certificates that signed the citizen in,
// newest use first, one row per issuer and serial number.
func (p *Pages) certificatesSeen(ctx context.Context, citizenID string) ([]certSeen, error) {
	events, err := p.Store.ListAudit(ctx, store.AuditFilter{Subject: "citizen:" + citizenID, Action: "login.cert.ok", Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []certSeen
	seen := map[string]bool{}
	for _, e := range events {
		key := e.Details["issuer"] + "\x00" + e.Details["serial"]
		if e.Details["serial"] == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, certSeen{Issuer: e.Details["issuer"], Serial: e.Details["serial"],
			LastUsed: e.At.In(madrid).Format("02/01/2006 15:04")})
	}
	return out, nil
}
