package passkey

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// LevelRule sets the level of the passkeys made by some authenticator
// models, named by their AAGUIDs. A rule above the method's default level
// counts only for a passkey whose attestation statement (a certificate
// chain, not self-attestation, not "none") verifies to one of the rule's
// Roots; a rule at or below the default always counts.
type LevelRule struct {
	AAGUIDs []uuid.UUID
	LoA     broker.LoA
	Roots   []*x509.Certificate // the vendors' attestation roots
}

// Attestation is what a passkey's registration says about its
// authenticator, as the account page shows it.
type Attestation struct {
	AAGUID   string // "" when the authenticator did not name its model
	Format   string // "packed", "tpm", "apple", "none", ...
	Type     string // "basic_full", "attca", "anonca", "basic_surrogate" (self), "none"
	Verified bool   // the statement verified to a root of the matching rule
}

// certified are the attestation types whose statement is a certificate
// chain from the vendor, which a configured root can anchor.
var certified = []string{string(metadata.BasicFull), string(metadata.AttCA), string(metadata.AnonCA)}

// levels is the compiled form of the rules: the rule of each AAGUID and,
// for rules above the default, a metadata provider that holds the rule's
// roots as the FIDO metadata would.
type levels struct {
	def   broker.LoA
	rules map[uuid.UUID]int
	list  []LevelRule
	mds   []metadata.Provider // per rule; nil when the rule needs no verification
}

func compileLevels(def broker.LoA, rules []LevelRule) (*levels, error) {
	l := &levels{def: def, rules: map[uuid.UUID]int{}, list: rules, mds: make([]metadata.Provider, len(rules))}
	for i, r := range rules {
		if !r.LoA.Valid() {
			return nil, fmt.Errorf("passkey: levels[%d]: unknown level %q", i, r.LoA)
		}
		if len(r.AAGUIDs) == 0 {
			return nil, fmt.Errorf("passkey: levels[%d]: no AAGUIDs", i)
		}
		for _, a := range r.AAGUIDs {
			if a == uuid.Nil {
				return nil, fmt.Errorf("passkey: levels[%d]: the zero AAGUID names no model", i)
			}
			if _, dup := l.rules[a]; dup {
				return nil, fmt.Errorf("passkey: levels[%d]: AAGUID %s is in an earlier rule", i, a)
			}
			l.rules[a] = i
		}
		if !above(r.LoA, def) {
			continue
		}
		if len(r.Roots) == 0 {
			return nil, fmt.Errorf("passkey: levels[%d]: a level above %s needs attestation roots", i, def)
		}
		entries := map[uuid.UUID]*metadata.Entry{}
		for _, a := range r.AAGUIDs {
			entries[a] = &metadata.Entry{AaGUID: a, MetadataStatement: metadata.Statement{AaGUID: a,
				AttestationTypes:            metadata.AuthenticatorAttestationTypes{metadata.BasicFull, metadata.AttCA, metadata.AnonCA},
				AttestationRootCertificates: r.Roots}}
		}
		p, err := memory.New(memory.WithMetadata(entries), memory.WithValidateEntry(true),
			memory.WithValidateTrustAnchor(true), memory.WithValidateAttestationTypes(true),
			memory.WithValidateStatus(false), memory.WithValidateAAGUID(true))
		if err != nil {
			return nil, fmt.Errorf("passkey: levels[%d]: %w", i, err)
		}
		l.mds[i] = p
	}
	return l, nil
}

func above(a, b broker.LoA) bool { return a.AtLeast(b) && a != b }

// max is the best level any passkey can reach here, for the chooser.
func (l *levels) max() broker.LoA {
	best := l.def
	for _, r := range l.list {
		if above(r.LoA, best) {
			best = r.LoA
		}
	}
	return best
}

// of computes the level of a stored credential under the current rules:
// a change of rules or roots applies to passkeys registered before it.
// Above the default, the stored attestation statement is verified again
// by the WebAuthn library against the rule's roots.
func (l *levels) of(cred *webauthn.Credential) (broker.LoA, Attestation) {
	a := Attestation{Format: cred.AttestationFormat, Type: cred.AttestationType}
	aaguid, err := uuid.FromBytes(cred.Authenticator.AAGUID)
	if err != nil || aaguid == uuid.Nil {
		return l.def, a
	}
	a.AAGUID = aaguid.String()
	i, ok := l.rules[aaguid]
	if !ok {
		return l.def, a
	}
	r := l.list[i]
	if !above(r.LoA, l.def) {
		return r.LoA, a
	}
	if cred.AttestationFormat == "" || protocol.AttestationFormat(cred.AttestationFormat) == protocol.AttestationFormatNone ||
		!slices.Contains(certified, cred.AttestationType) {
		return l.def, a
	}
	c := *cred // Verify may fill in the attestation type
	if err := c.Verify(l.mds[i], protocol.AttestationPolicy{}, protocol.SignaturePolicy{}); err != nil {
		return l.def, a
	}
	if !slices.Contains(certified, c.AttestationType) {
		return l.def, a
	}
	a.Verified = true
	return r.LoA, a
}

// Level returns the level a sign-in with k reaches now, and what its
// registration proved about the authenticator.
func (m *Method) Level(k *store.Passkey) (broker.LoA, Attestation) {
	var cred webauthn.Credential
	if err := json.Unmarshal(k.Credential, &cred); err != nil {
		return m.opts.LoA, Attestation{}
	}
	return m.levels.of(&cred)
}

// Listed is a passkey with the level it reaches, for the account page.
type Listed struct {
	store.Passkey
	LoA         broker.LoA
	Attestation Attestation
}

// ListWithLevels returns a citizen's passkeys, oldest first, each with
// the level a sign-in with it reaches under the current configuration.
func (m *Method) ListWithLevels(ctx context.Context, citizenID string) ([]Listed, error) {
	keys, err := m.store.PasskeysOf(ctx, citizenID)
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(keys))
	for i, k := range keys {
		loa, att := m.Level(&k)
		out[i] = Listed{Passkey: k, LoA: loa, Attestation: att}
	}
	return out, nil
}
