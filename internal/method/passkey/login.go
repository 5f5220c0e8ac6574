package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

const pendingPrefix = "passkey "

// BeginLogin issues a fresh challenge for transaction t (any earlier one
// dies) and returns the options for navigator.credentials.get: no allowed
// credentials, so the browser offers the citizen's discoverable passkeys,
// and user verification required. The caller saves t.
func (m *Method) BeginLogin(t *broker.Transaction) (string, error) {
	assertion, sess, err := m.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return "", err
	}
	opts, err := json.Marshal(assertion)
	if err != nil {
		return "", err
	}
	t.Pending = pendingPrefix + string(data)
	return string(opts), nil
}

// FinishLogin verifies the browser's assertion for transaction t. On
// success the passkey's counter moves on and t identifies its citizen at
// the method's level. Whatever happens, the challenge is used up (the
// caller saves t and, to try again, begins again). Refusals are audited
// with the library's reason.
func (m *Method) FinishLogin(ctx context.Context, t *broker.Transaction, response, source string) error {
	pending, ok := strings.CutPrefix(t.Pending, pendingPrefix)
	t.Pending = ""
	var found *store.Passkey
	fail := func(err error, reason string) error {
		who, details := "", map[string]string{"reason": reason, "tx": t.ID}
		if found != nil {
			who, details["passkey"] = found.CitizenID, found.ID
		}
		m.record(ctx, who, "passkey.login_fail", source, audit.Denied, details)
		return err
	}
	if !ok {
		return fail(ErrFailed, "no challenge issued in this sign-in")
	}
	var sess webauthn.SessionData
	if err := json.Unmarshal([]byte(pending), &sess); err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	if err != nil {
		return fail(ErrFailed, "unparsable response: "+devInfo(err))
	}
	var (
		citizen *identity.Citizen
		prev    int64
	)
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		k, err := m.store.PasskeyByCredentialID(ctx, rawID)
		if err != nil {
			return nil, err // unknown or removed
		}
		found, prev = k, k.SignCount
		if !bytes.Equal(userHandle, []byte(k.CitizenID)) {
			return nil, errors.New("user handle is not the passkey's citizen")
		}
		c, err := m.store.CitizenByID(ctx, k.CitizenID)
		if err != nil {
			return nil, err
		}
		citizen = c
		u, _, err := m.userOf(ctx, m.store, c)
		return u, err
	}
	_, cred, err := m.wa.ValidatePasskeyLogin(handler, sess, parsed)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || found == nil {
			return fail(ErrFailed, "unknown or removed passkey: "+devInfo(err))
		}
		return fail(ErrFailed, devInfo(err))
	}
	if cred.Authenticator.CloneWarning {
		return fail(ErrCounter, "signature counter did not increase")
	}
	if citizen.Status != identity.StatusActive {
		return fail(ErrFailed, "citizen "+string(citizen.Status))
	}
	// The level comes from the passkey as registered, under today's rules.
	loa, _ := m.Level(found)
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	now := m.opts.Now().UTC()
	found.Credential, found.SignCount, found.LastUsedAt = data, int64(cred.Authenticator.SignCount), now
	if err := m.store.UsePasskey(ctx, found, prev); errors.Is(err, store.ErrStale) {
		return fail(ErrCounter, "passkey used in parallel")
	} else if err != nil {
		return err
	}
	if !loa.AtLeast(t.Request.MinLoA) {
		return fail(ErrLevel, "passkey reaches "+string(loa)+", the sign-in needs "+string(t.Request.MinLoA))
	}
	t.Identified(citizen.ID, Name, loa, []string{"hwk", "mfa"}, now)
	return nil
}
