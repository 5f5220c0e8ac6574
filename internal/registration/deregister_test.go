package registration_test

import (
	"context"
	"errors"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
	"github.com/clau-eid/clau/internal/webauthntest"
)

// Deregistration, at the desk or asked by the citizen, leaves nothing that
// signs them in: the session they hold is revoked, the PIN service is off,
// the passkey they registered no longer verifies, and the audit trail says
// what was ended.
func TestDeregistrationEndsQuickSignIn(t *testing.T) {
	rp := virtualwebauthn.RelyingParty{Name: "Clau", ID: "clau.example.org", Origin: "https://clau.example.org"}
	sqltest.Run(t, func(t *testing.T, driver string) {
		for _, path := range []string{"desk", "renounce"} {
			t.Run(path, func(t *testing.T) {
				w := newWorld(t, driver)
				iss := w.register()
				c := w.activate(secure.FormatActivationCode(iss.Code), goodPassword)
				kr, _ := secure.NewKeyring(nil, w.clock.Now())
				tm, err := notify.LoadTemplates()
				if err != nil {
					t.Fatal(err)
				}
				n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, w.clock.Now)
				pins := pin.New(w.store, kr, secure.NewOneTimeCodes(kr, w.clock.Now, nil), n, pin.Options{Now: w.clock.Now})
				if _, err := pins.Enable(w.ctx, c, "", "citizen:"+c.ID, "203.0.113.5"); err != nil {
					t.Fatal(err)
				}
				keys, err := passkey.New(w.store, passkey.Options{RPID: rp.ID, Origins: []string{rp.Origin}, Now: w.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				cer, err := keys.BeginRegistration(w.ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				opts, _ := virtualwebauthn.ParseAttestationOptions(cer.Options)
				auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(c.ID)})
				cred := webauthntest.NewCredential()
				if _, err := keys.FinishRegistration(w.ctx, c, cer.ID, "Mòbil",
					virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *opts), "203.0.113.5"); err != nil {
					t.Fatal(err)
				}
				auth.AddCredential(cred)
				// The citizen signs in with the passkey: an SSO session.
				tr, err := w.broker.Start(w.ctx, broker.Request{MinLoA: broker.Substantial})
				if err != nil {
					t.Fatal(err)
				}
				cred.Counter = 1
				if err := keys.FinishLogin(w.ctx, tr, assertion(t, keys, tr, rp, auth, cred), "203.0.113.5"); err != nil {
					t.Fatalf("passkey sign-in before deregistration: %v", err)
				}
				sess, err := w.broker.Complete(w.ctx, tr, "", broker.Meta{Source: "203.0.113.5"})
				if err != nil {
					t.Fatal(err)
				}

				var told []string // what the front-ends' logout hooks heard
				w.broker.OnLogout(func(_ context.Context, _ store.Tx, se *store.Session) error {
					told = append(told, se.Subject)
					return nil
				})

				action := "citizen.deregister"
				if path == "desk" {
					_, err = w.reg.Deregister(w.ctx, w.desk, c.ID, 0, "asked at the desk")
				} else {
					action = "citizen.renounce"
					_, err = w.reg.Renounce(w.ctx, c.ID, c.Document.Number, "203.0.113.5")
				}
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}

				if st, err := pins.StatusOf(w.ctx, c.ID); err != nil || st.Enabled {
					t.Errorf("PIN service after deregistration: %+v %v", st, err)
				}
				if list, err := keys.List(w.ctx, c.ID); err != nil || len(list) != 0 {
					t.Errorf("passkeys after deregistration: %+v %v", list, err)
				}
				tr, err = w.broker.Start(w.ctx, broker.Request{MinLoA: broker.Substantial})
				if err != nil {
					t.Fatal(err)
				}
				cred.Counter = 2
				if err := keys.FinishLogin(w.ctx, tr, assertion(t, keys, tr, rp, auth, cred), "203.0.113.5"); !errors.Is(err, passkey.ErrFailed) {
					t.Errorf("sign-in with the deleted passkey: %v", err)
				}
				if got, err := w.broker.SessionFor(w.ctx, sess.Token); err != nil || got != nil {
					t.Errorf("session still live after deregistration: %+v %v", got, err)
				}
				if len(told) != 1 || told[0] != c.ID {
					t.Errorf("logout hooks heard %v, want the citizen's one session", told)
				}
				events, _ := w.store.ListAudit(w.ctx, store.AuditFilter{Limit: 100})
				found := false
				for _, e := range events {
					if e.Action == action && e.Outcome != "denied" {
						found = true
						if e.Details["passkeys_deleted"] != "1" || e.Details["pin_service"] != "turned off" || e.Details["sessions_revoked"] != "1" {
							t.Errorf("audit details %v", e.Details)
						}
					}
				}
				if !found {
					t.Errorf("no %s event", action)
				}
				if path == "renounce" {
					if _, err := w.reg.Renounce(w.ctx, c.ID, c.Document.Number, "203.0.113.5"); !errors.Is(err, registration.ErrRenounceNotActive) {
						t.Errorf("renounce twice: %v", err)
					}
				}
			})
		}
	})
}

// assertion answers a fresh passkey challenge for tr with cred.
func assertion(t *testing.T, m *passkey.Method, tr *broker.Transaction, rp virtualwebauthn.RelyingParty,
	auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) string {
	t.Helper()
	opts, err := m.BeginLogin(tr)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := virtualwebauthn.ParseAssertionOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	return virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *parsed)
}
