package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// Name is the method's name in SP policies and transactions.
const Name = broker.MethodPasskey

// FlowKind is the store.Flow kind of a registration ceremony.
const FlowKind = "passkey_register"

// ceremonyTTL bounds how long the browser may take to answer a challenge.
const ceremonyTTL = 5 * time.Minute

// Errors shown to the citizen.
var (
	// ErrFailed is the one answer for an assertion that does not verify:
	// unknown or removed passkey, wrong origin, RP ID, challenge or
	// signature, no user verification.
	ErrFailed = problem.New(http.StatusUnauthorized, "passkey.failed")
	// ErrCounter: the signature counter did not move forward, which a copy
	// of the authenticator would cause. The passkey stays as it was.
	ErrCounter = problem.New(http.StatusUnauthorized, "passkey.counter")
	// ErrLevel: the passkey verified, but its authenticator model does not
	// reach the level the service asks for (see Options.Levels).
	ErrLevel = problem.New(http.StatusForbidden, "passkey.level_low")
	// ErrRegisterFailed: the browser's answer to a registration did not verify.
	ErrRegisterFailed = problem.New(http.StatusBadRequest, "passkey.register_failed")
	// ErrCeremony: the registration expired, was used, or is someone else's.
	ErrCeremony = problem.New(http.StatusBadRequest, "passkey.ceremony")
	// ErrNotFound: no passkey of this citizen has that ID.
	ErrNotFound = problem.New(http.StatusNotFound, "passkey.not_found")
)

// Options configure the relying party.
type Options struct {
	RPID    string     // the public URL's host, or a registrable suffix of it
	RPName  string     // shown by the authenticator; default "Clau"
	Origins []string   // allowed origins, e.g. the public URL
	LoA     broker.LoA // reached by a verified sign-in; default substantial
	// Attestation is the conveyance asked at registration: "none" (the
	// default), "indirect" or "direct". Level rules above LoA need the
	// authenticator's attestation, so "direct" goes with them.
	Attestation protocol.ConveyancePreference
	// Levels set the level of passkeys by authenticator model (AAGUID).
	Levels []LevelRule
	Now    func() time.Time
}

// Method is the passkey method.
type Method struct {
	store      store.Store
	wa         *webauthn.WebAuthn
	opts       Options
	levels     *levels
	onRegister []RegisterHook
}

// RegisterHook runs inside the transaction that stores a new passkey (the
// security notice to its owner); its error rolls the registration back.
type RegisterHook func(ctx context.Context, tx store.Tx, c *identity.Citizen, k *store.Passkey) error

// OnRegister adds h; call it while wiring, before serving.
func (m *Method) OnRegister(h RegisterHook) { m.onRegister = append(m.onRegister, h) }

// New checks the options and returns the method.
func New(s store.Store, o Options) (*Method, error) {
	if o.RPName == "" {
		o.RPName = "Clau"
	}
	if !o.LoA.Valid() {
		o.LoA = broker.Substantial
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch o.Attestation {
	case "":
		o.Attestation = protocol.PreferNoAttestation
	case protocol.PreferNoAttestation, protocol.PreferIndirectAttestation, protocol.PreferDirectAttestation:
	default:
		return nil, fmt.Errorf("passkey: attestation %q: want none, indirect or direct", o.Attestation)
	}
	lv, err := compileLevels(o.LoA, o.Levels)
	if err != nil {
		return nil, err
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: o.RPID, RPDisplayName: o.RPName, RPOrigins: o.Origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired}})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Method{store: s, wa: wa, opts: o, levels: lv}, nil
}

// LoA is the best level a passkey sign-in can reach here (the default, or
// a level rule above it), for the sign-in chooser; each passkey's own
// level is Level.
func (m *Method) LoA() broker.LoA { return m.levels.max() }

// DefaultLoA is the level of a passkey no level rule raises or lowers.
func (m *Method) DefaultLoA() broker.LoA { return m.opts.LoA }

// user is a citizen as the WebAuthn library sees them. The user handle is
// the citizen's random record ID: no personal data in it.
type user struct {
	c     *identity.Citizen
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte   { return []byte(u.c.ID) }
func (u *user) WebAuthnName() string { return u.c.Document.Masked() }
func (u *user) WebAuthnDisplayName() string {
	return strings.TrimSpace(u.c.GivenName + " " + u.c.FirstSurname)
}
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userOf loads a citizen's passkeys as library credentials.
func (m *Method) userOf(ctx context.Context, s store.Passkeys, c *identity.Citizen) (*user, []store.Passkey, error) {
	keys, err := s.PasskeysOf(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	u := &user{c: c}
	for _, k := range keys {
		var cred webauthn.Credential
		if err := json.Unmarshal(k.Credential, &cred); err != nil {
			return nil, nil, fmt.Errorf("passkey %s: %w", k.ID, err)
		}
		u.creds = append(u.creds, cred)
	}
	return u, keys, nil
}

// List returns a citizen's passkeys, oldest first.
func (m *Method) List(ctx context.Context, citizenID string) ([]store.Passkey, error) {
	return m.store.PasskeysOf(ctx, citizenID)
}

// Ceremony is what the page needs to start a registration: the options to
// hand to navigator.credentials.create and the ceremony's ID.
type Ceremony struct {
	ID      string
	Options string // JSON
}

// BeginRegistration starts registering a new passkey for c: a discoverable
// credential with user verification, excluding the ones c already has.
func (m *Method) BeginRegistration(ctx context.Context, c *identity.Citizen) (*Ceremony, error) {
	u, _, err := m.userOf(ctx, m.store, c)
	if err != nil {
		return nil, err
	}
	creation, sess, err := m.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired}),
		webauthn.WithConveyancePreference(m.opts.Attestation),
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	opts, err := json.Marshal(creation)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return nil, err
	}
	f := &store.Flow{ID: store.NewID(), Kind: FlowKind, State: "started", Subject: c.ID, Data: data,
		ExpiresAt: m.opts.Now().Add(ceremonyTTL)}
	if err := m.store.CreateFlow(ctx, f); err != nil {
		return nil, err
	}
	return &Ceremony{ID: f.ID, Options: string(opts)}, nil
}

// NormaliseName checks a passkey's label: 1 to 60 characters.
func NormaliseName(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || utf8.RuneCountInString(s) > 60 {
		return "", problem.Invalid(problem.Field{Name: "name", MsgID: "passkey.name_format"})
	}
	return s, nil
}

// FinishRegistration verifies the browser's answer to ceremony id and
// stores the new passkey under name. The ceremony is used up either way.
func (m *Method) FinishRegistration(ctx context.Context, c *identity.Citizen, id, name, response, source string) (*store.Passkey, error) {
	name, err := NormaliseName(name)
	if err != nil {
		return nil, err
	}
	fail := func(err error, reason string) error {
		m.record(ctx, c.ID, "passkey.register", source, audit.Denied, map[string]string{"reason": reason})
		return err
	}
	f, err := m.store.FlowByID(ctx, FlowKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(ErrCeremony, "unknown ceremony")
	} else if err != nil {
		return nil, err
	}
	if f.Subject != c.ID || f.State != "started" || !m.opts.Now().Before(f.ExpiresAt) {
		return nil, fail(ErrCeremony, "ceremony expired, used or another citizen's")
	}
	f.State = "used"
	if err := m.store.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
		return nil, fail(ErrCeremony, "ceremony used in parallel")
	} else if err != nil {
		return nil, err
	}
	var sess webauthn.SessionData
	if err := json.Unmarshal(f.Data, &sess); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(response))
	if err != nil {
		return nil, fail(ErrRegisterFailed, "unparsable response: "+devInfo(err))
	}
	u, _, err := m.userOf(ctx, m.store, c)
	if err != nil {
		return nil, err
	}
	cred, err := m.wa.CreateCredential(u, sess, parsed)
	if err != nil {
		return nil, fail(ErrRegisterFailed, devInfo(err))
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	k := &store.Passkey{ID: store.NewID(), CitizenID: c.ID, CredentialID: cred.ID, Name: name, Credential: data,
		SignCount: int64(cred.Authenticator.SignCount), CreatedAt: m.opts.Now().UTC()}
	loa, att := m.Level(k)
	err = m.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreatePasskey(ctx, k); err != nil {
			return err
		}
		for _, h := range m.onRegister {
			if err := h(ctx, tx, c, k); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, &audit.Event{At: k.CreatedAt, Actor: "citizen:" + c.ID, Action: "passkey.register",
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"passkey": k.ID, "name": k.Name,
				"attestation": att.Format, "attestation_type": att.Type, "aaguid": att.AAGUID,
				"attestation_verified": fmt.Sprint(att.Verified), "loa": string(loa)}})
	})
	if _, dup := store.IsDuplicate(err); dup {
		return nil, fail(ErrRegisterFailed, "credential already registered")
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Remove deletes one of c's passkeys; it no longer signs anyone in.
func (m *Method) Remove(ctx context.Context, c *identity.Citizen, id, source string) error {
	err := m.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeletePasskey(ctx, c.ID, id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: m.opts.Now().UTC(), Actor: "citizen:" + c.ID, Action: "passkey.remove",
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"passkey": id}})
	})
	if errors.Is(err, store.ErrNotFound) {
		m.record(ctx, c.ID, "passkey.remove", source, audit.Denied, map[string]string{"passkey": id, "reason": "not this citizen's"})
		return ErrNotFound
	}
	return err
}

func (m *Method) record(ctx context.Context, citizenID, action, source, outcome string, details map[string]string) {
	actor, subject := "anonymous", ""
	if citizenID != "" {
		actor, subject = "citizen:"+citizenID, "citizen:"+citizenID
	}
	if details == nil {
		details = map[string]string{}
	}
	details["method"] = Name
	_ = audit.New(m.store, m.opts.Now).Record(ctx, audit.Event{Actor: actor, Action: action, Subject: subject,
		Source: source, Outcome: outcome, Details: details})
}

// devInfo is the library's reason for a refusal, for the audit trail only.
func devInfo(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		s := pe.Details
		if pe.DevInfo != "" {
			s += ": " + pe.DevInfo
		}
		return truncate(s, 300)
	}
	return truncate(err.Error(), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
