package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/config"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/secure"
)

// pinMethod builds the PIN method from config (nil when pin.enabled is off).
func (a *app) pinMethod(codes *secure.OneTimeCodes) *pin.Method {
	if !a.cfg.PIN.Enabled {
		return nil
	}
	loa, _ := broker.ParseLoA(a.cfg.PIN.LoA)
	return pin.New(a.store, a.keyring, codes, a.notifier, pin.Options{Validity: a.cfg.PIN.Validity,
		NoticeBefore: a.cfg.PIN.NoticeBefore, LoA: loa, Now: a.now})
}

// passkeyMethod builds the passkey method from config: nil when
// passkey.enabled is off, or when the relying party ID would be an IP
// address, which WebAuthn does not accept (public_url must name a host,
// e.g. http://localhost:8080 on a workstation).
func (a *app) passkeyMethod() (*passkey.Method, error) {
	if !a.cfg.Passkey.Enabled {
		return nil, nil
	}
	u, err := url.Parse(a.cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	rpID := a.cfg.Passkey.RPID
	if rpID == "" {
		rpID = u.Hostname()
	}
	if net.ParseIP(rpID) != nil {
		return nil, nil
	}
	loa, _ := broker.ParseLoA(a.cfg.Passkey.LoA)
	levels, err := passkeyLevels(a.cfg.Passkey.Levels)
	if err != nil {
		return nil, err
	}
	return passkey.New(a.store, passkey.Options{RPID: rpID, Origins: []string{u.Scheme + "://" + u.Host}, LoA: loa,
		Attestation: protocol.ConveyancePreference(a.cfg.Passkey.Attestation), Levels: levels, Now: a.now})
}

// passkeyLevels reads the level rules' PEM files (config has checked the
// rest).
func passkeyLevels(ls []config.PasskeyLevel) ([]passkey.LevelRule, error) {
	var out []passkey.LevelRule
	var ps []config.Problem
	for i, l := range ls {
		loa, _ := broker.ParseLoA(l.LoA)
		r := passkey.LevelRule{LoA: loa}
		for _, a := range l.AAGUIDs {
			id, err := uuid.Parse(a)
			if err != nil {
				return nil, err
			}
			r.AAGUIDs = append(r.AAGUIDs, id)
		}
		for _, f := range l.Roots {
			certs, err := certificate.LoadPEM(f)
			if err != nil {
				ps = append(ps, config.Problem{Key: fmt.Sprintf("passkey.levels[%d].roots", i), Message: err.Error()})
			}
			r.Roots = append(r.Roots, certs...)
		}
		out = append(out, r)
	}
	if len(ps) > 0 {
		return nil, &config.Error{Problems: ps}
	}
	return out, nil
}

// methodRegistry is what the sign-in chooser may offer on this deployment.
func methodRegistry(a *app, sv *services) *broker.Registry {
	ms := []broker.MethodInfo{{Name: permanent.Name, MaxLoA: permanent.WithSMSLoA, Enabled: true}}
	if cc := a.cfg.Certificate; cc.Enabled {
		// As high as the best profile reaches: the chooser links to
		// /login/{id}/certificate, which hands over to the TLS listener.
		best := broker.LoA("")
		for _, p := range cc.Profiles {
			if l, ok := broker.ParseLoA(p.LoA); ok && (best == "" || l.AtLeast(best)) {
				best = l
			}
		}
		if best != "" {
			ms = append(ms, broker.MethodInfo{Name: broker.MethodCertificate, MaxLoA: best, Enabled: true})
		}
	}
	if sv.pin != nil {
		ms = append(ms, broker.MethodInfo{Name: pin.Name, MaxLoA: sv.pin.LoA(), Enabled: true})
	}
	if sv.passkey != nil {
		ms = append(ms, broker.MethodInfo{Name: passkey.Name, MaxLoA: sv.passkey.LoA(), Enabled: true})
	}
	return broker.NewRegistry(ms...)
}

// pinNotices announces PIN services about to expire, now and then. Any
// process may run it: each notice is marked in the store once.
func pinNotices(ctx context.Context, a *app, m *pin.Method) {
	if m == nil {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := m.NotifyExpiring(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: PIN expiry notices", "error", err.Error())
		} else if n > 0 {
			a.log.Info("housekeeping: PIN expiry notices sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// demoPIN turns the PIN service on for the second demo citizen (once) and
// says how to try it; "" when the PIN is off.
func demoPIN(ctx context.Context, a *app, citizens []identity.Citizen, base string) (string, error) {
	m := a.services().pin
	if m == nil || len(citizens) < 2 {
		return "", nil
	}
	c := citizens[1]
	st, err := m.StatusOf(ctx, c.ID)
	if err != nil {
		return "", err
	}
	if !st.Enabled {
		if _, err := m.EnableKeepingCode(ctx, &c, "demo", "demo"); err != nil {
			return "", err
		}
	}
	check := c.SupportNumber
	if c.Document.Type != identity.NIE {
		check = fmt.Sprintf("%02d/%02d/%04d", c.DocValidity.Day, int(c.DocValidity.Month), c.DocValidity.Year)
	}
	return fmt.Sprintf("\nClau PIN: %s/login?continue=/me, choose Clau PIN and enter\n    %s %s, check value %s (no personal code)\n  then read the PIN at %s/dev/outbox.\n",
		base, c.Document.Type, c.Document.Number, check, base), nil
}
