package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// The provider's keys live in one flow of kind keyKind, sealed by the
// keyring: every process loads the same keys, and a database reader gets
// nothing usable. The flow's data holds the list of signing keys (their
// public schedule) in "keys", and each key's sealed PKCS#8 in a top-level
// member of its own ("key_<kid>"; the first key of a version-1 flow keeps
// "signing"), because `clau keys rotate` re-seals top-level members only.
//
// There are two kinds of key, each with its own schedule: ES256 (ECDSA
// P-256, what ID tokens are signed with unless a client asks otherwise)
// and RS256 (RSA-2048, for clients registered with
// id_token_signed_response_alg RS256). A rotation replaces both; a flow
// missing one kind (one written before ES256 existed) gets it on load.
//
// A key's life, by its times:
//
//	published (in JWKS, not signing) ──signs_from──► signing
//	signing ──(a newer key reaches signs_from)──► retiring (in JWKS, not signing)
//	retiring ──retire_at──► removed (its member and record deleted)
//
// retire_at is set when a newer key is added: the newer key's signs_from
// plus the longest token lifetime plus the reload interval (a process that
// has not reloaded yet may sign with the old key that long), so every
// token the old key signed has expired before it leaves the JWKS. An
// emergency rotation (a compromised key) sets it to now.
const (
	keyKind   = "oidc_key"
	keyFlowID = "oidc-signing-v1"
	keyTTL    = 100 * 365 * 24 * time.Hour

	legacyMember = "signing"
)

// KeyOptions schedule the signing keys.
type KeyOptions struct {
	// Prepublish is how long a new key is in the JWKS before it signs.
	Prepublish time.Duration
	// RotateAfter rotates automatically once the signing key is that old;
	// 0 rotates only on `clau keys oidc-rotate`.
	RotateAfter time.Duration
	// Reload is how often a process rereads the key set from the store.
	Reload time.Duration
}

func (o KeyOptions) withDefaults() KeyOptions {
	if o.Reload <= 0 {
		o.Reload = time.Minute
	}
	if o.Prepublish < 0 {
		o.Prepublish = 0
	}
	return o
}

// tokenLifetime is the longest a token the provider signs stays valid.
var tokenLifetime = max(idTokenLifetime, accessTokenLifetime)

// Signing algorithms of ID tokens (and JWT access and logout tokens).
const (
	AlgES256 = string(jose.ES256)
	AlgRS256 = string(jose.RS256)
	// DefaultAlg signs for clients that do not ask for another: an ECDSA
	// P-256 signature costs tens of microseconds, an RSA-2048 one about a
	// millisecond.
	DefaultAlg = AlgES256
)

// keyAlgs are the kinds of key the provider keeps, each signing for the
// clients that ask for it.
var keyAlgs = []string{AlgES256, AlgRS256}

// KeyInfo is one signing key's public schedule.
type KeyInfo struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg,omitempty"` // empty: RS256 (flows written before ES256)
	Member    string    `json:"member"`
	Created   time.Time `json:"created"`
	SignsFrom time.Time `json:"signs_from"`
	RetireAt  time.Time `json:"retire_at,omitzero"`
}

// Algorithm is the key's JWS algorithm, ES256 or RS256.
func (k KeyInfo) Algorithm() string {
	if k.Alg == "" {
		return AlgRS256
	}
	return k.Alg
}

// State names the key's phase at t: published, signing, retiring.
func (k KeyInfo) State(t time.Time, all []KeyInfo) string {
	switch {
	case t.Before(k.SignsFrom):
		return "published"
	case signerAt(all, t, k.Algorithm()) == k.ID:
		return "signing"
	default:
		return "retiring"
	}
}

// signerAt is the ID of the alg key that signs at t: of the keys whose
// signs_from has come, the newest.
func signerAt(all []KeyInfo, t time.Time, alg string) string {
	best := -1
	for i, k := range all {
		if k.Algorithm() == alg && !t.Before(k.SignsFrom) && (best < 0 || k.SignsFrom.After(all[best].SignsFrom)) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return all[best].ID
}

// keyDoc is the flow's data, with the sealed members kept as they are.
type keyDoc struct {
	members map[string]json.RawMessage
	keys    []KeyInfo
}

func parseKeyDoc(data []byte, created time.Time) (*keyDoc, error) {
	d := &keyDoc{members: map[string]json.RawMessage{}}
	if err := json.Unmarshal(data, &d.members); err != nil {
		return nil, err
	}
	if raw, ok := d.members["keys"]; ok {
		if err := json.Unmarshal(raw, &d.keys); err != nil {
			return nil, err
		}
	} else if raw, ok := d.members["kid"]; ok { // a version-1 flow: one key, signing since its creation
		var kid string
		if err := json.Unmarshal(raw, &kid); err != nil {
			return nil, err
		}
		d.keys = []KeyInfo{{ID: kid, Member: legacyMember, Created: created}}
	}
	return d, nil
}

func (d *keyDoc) marshal() ([]byte, error) {
	raw, err := json.Marshal(d.keys)
	if err != nil {
		return nil, err
	}
	d.members["keys"] = raw
	delete(d.members, "kid")
	return json.Marshal(d.members)
}

func (d *keyDoc) sealed(member string) (string, error) {
	var v string
	if err := json.Unmarshal(d.members[member], &v); err != nil || v == "" {
		return "", fmt.Errorf("member %s missing", member)
	}
	return v, nil
}

// addKeys adds one key of every kind (see addKey).
func (d *keyDoc) addKeys(kr *secure.Keyring, now, signsFrom time.Time, grace time.Duration, emergency bool) ([]KeyInfo, error) {
	var out []KeyInfo
	for _, alg := range keyAlgs {
		k, err := d.addKey(kr, alg, now, signsFrom, grace, emergency)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// addKey generates an alg key that signs from signsFrom and schedules the
// retirement of the keys of its kind it replaces.
func (d *keyDoc) addKey(kr *secure.Keyring, alg string, now, signsFrom time.Time, grace time.Duration, emergency bool) (KeyInfo, error) {
	var (
		priv   crypto.Signer
		prefix string
		err    error
	)
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		prefix = "es"
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		prefix = "rs"
	default:
		err = fmt.Errorf("unknown signing algorithm %q", alg)
	}
	if err != nil {
		return KeyInfo{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyInfo{}, err
	}
	k := KeyInfo{ID: prefix + store.NewID()[:12], Alg: alg, Created: now, SignsFrom: signsFrom}
	k.Member = "key_" + k.ID
	sealed, err := kr.Seal(der, keyAAD(k.Member))
	if err != nil {
		return KeyInfo{}, err
	}
	d.members[k.Member], _ = json.Marshal(sealed)
	for i := range d.keys {
		if d.keys[i].Algorithm() != alg {
			continue
		}
		retire := signsFrom.Add(grace)
		if emergency {
			retire = now
		}
		if d.keys[i].RetireAt.IsZero() || retire.Before(d.keys[i].RetireAt) {
			d.keys[i].RetireAt = retire
		}
	}
	d.keys = append(d.keys, k)
	return k, nil
}

// prune removes the keys whose retirement has come; it reports whether it
// removed any.
func (d *keyDoc) prune(now time.Time) bool {
	n := len(d.keys)
	d.keys = slices.DeleteFunc(d.keys, func(k KeyInfo) bool {
		if !k.RetireAt.IsZero() && !now.Before(k.RetireAt) {
			delete(d.members, k.Member)
			return true
		}
		return false
	})
	return len(d.keys) != n
}

// keys are the provider's loaded keys.
type keys struct {
	infos    []KeyInfo
	priv     map[string]crypto.Signer
	crypto   [32]byte
	loadedAt time.Time
}

// signer is the alg key that signs at t.
func (k *keys) signer(t time.Time, alg string) (string, crypto.Signer) {
	id := signerAt(k.infos, t, alg)
	return id, k.priv[id]
}

// published are the keys in the JWKS at t: every key not yet removed.
func (k *keys) published(t time.Time) []KeyInfo {
	var out []KeyInfo
	for _, i := range k.infos {
		if i.RetireAt.IsZero() || t.Before(i.RetireAt) {
			out = append(out, i)
		}
	}
	return out
}

func keyAAD(field string) []byte {
	return store.SealedValue{Table: "flows", Column: "data." + field, RowID: keyFlowID}.AAD()
}

// errRotationPending refuses a second rotation while a new key waits to sign.
var errRotationPending = errors.New("a new OIDC signing key is already published and waiting to sign")

// loadOrCreateKeys reads the keys, generating them on the first start. If
// two processes start together, the first write wins and the other reads
// it. It also does the scheduled work any process may do: removing keys
// whose retirement has come, and rotating a key older than RotateAfter.
// Two processes doing it at once conflict on the flow's version; the loser
// reads what the winner wrote.
func loadOrCreateKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time, o KeyOptions) (*keys, error) {
	o = o.withDefaults()
	for attempt := 0; ; attempt++ {
		f, err := s.FlowByID(ctx, keyKind, keyFlowID)
		if errors.Is(err, store.ErrNotFound) {
			// If another process won the race to create them, read its keys.
			cerr := createKeys(ctx, s, kr, now)
			if f, err = s.FlowByID(ctx, keyKind, keyFlowID); err != nil && cerr != nil {
				err = cerr
			}
		}
		if err != nil {
			return nil, fmt.Errorf("oidc keys: %w", err)
		}
		d, err := parseKeyDoc(f.Data, f.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("oidc keys: %w", err)
		}
		changed := d.prune(now)
		// A kind of key the flow lacks (a flow from before ES256) signs
		// from now: no token was ever signed with it, so nothing waits.
		for _, alg := range keyAlgs {
			if !slices.ContainsFunc(d.keys, func(k KeyInfo) bool { return k.Algorithm() == alg }) {
				if _, err := d.addKey(kr, alg, now, now, 0, false); err != nil {
					return nil, fmt.Errorf("oidc keys: %w", err)
				}
				changed = true
			}
		}
		if o.RotateAfter > 0 && !pending(d.keys, now) && slices.ContainsFunc(keyAlgs, func(alg string) bool {
			i := slices.IndexFunc(d.keys, func(k KeyInfo) bool { return k.ID == signerAt(d.keys, now, alg) })
			return i >= 0 && !now.Before(d.keys[i].SignsFrom.Add(o.RotateAfter))
		}) {
			if _, err := d.addKeys(kr, now, now.Add(o.Prepublish), tokenLifetime+o.Reload+time.Minute, false); err != nil {
				return nil, fmt.Errorf("oidc keys: %w", err)
			}
			changed = true
		}
		if changed && attempt < 3 {
			if f.Data, err = d.marshal(); err != nil {
				return nil, err
			}
			if err := s.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("oidc keys: %w", err)
			}
		}
		return openKeys(d, kr, now)
	}
}

func pending(all []KeyInfo, now time.Time) bool {
	return slices.ContainsFunc(all, func(k KeyInfo) bool { return now.Before(k.SignsFrom) })
}

func openKeys(d *keyDoc, kr *secure.Keyring, now time.Time) (*keys, error) {
	k := &keys{infos: d.keys, priv: map[string]crypto.Signer{}, loadedAt: now}
	for _, i := range d.keys {
		v, err := d.sealed(i.Member)
		if err != nil {
			return nil, fmt.Errorf("oidc signing key %s: %w", i.ID, err)
		}
		der, err := kr.Open(v, keyAAD(i.Member))
		if err != nil {
			return nil, fmt.Errorf("oidc signing key %s: %w", i.ID, err)
		}
		pk, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("oidc signing key %s: %w", i.ID, err)
		}
		switch pk := pk.(type) {
		case *rsa.PrivateKey:
			if i.Algorithm() != AlgRS256 {
				return nil, fmt.Errorf("oidc signing key %s: an RSA key for %s", i.ID, i.Algorithm())
			}
			k.priv[i.ID] = pk
		case *ecdsa.PrivateKey:
			if i.Algorithm() != AlgES256 || pk.Curve != elliptic.P256() {
				return nil, fmt.Errorf("oidc signing key %s: an ECDSA key for %s", i.ID, i.Algorithm())
			}
			k.priv[i.ID] = pk
		default:
			return nil, fmt.Errorf("oidc signing key %s: not RSA or ECDSA P-256", i.ID)
		}
	}
	v, err := d.sealed("crypto_key")
	if err != nil {
		return nil, fmt.Errorf("oidc crypto key: %w", err)
	}
	ck, err := kr.Open(v, keyAAD("crypto_key"))
	if err != nil || len(ck) != 32 {
		return nil, fmt.Errorf("oidc crypto key: %v", err)
	}
	copy(k.crypto[:], ck)
	for _, alg := range keyAlgs {
		if id, _ := k.signer(now, alg); id == "" {
			return nil, fmt.Errorf("oidc keys: no %s key signs now", alg)
		}
	}
	return k, nil
}

func createKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time) error {
	d := &keyDoc{members: map[string]json.RawMessage{}}
	if _, err := d.addKeys(kr, now, now, 0, false); err != nil {
		return err
	}
	var ck [32]byte
	_, _ = rand.Read(ck[:])
	sealedCK, err := kr.Seal(ck[:], keyAAD("crypto_key"))
	if err != nil {
		return err
	}
	d.members["crypto_key"], _ = json.Marshal(sealedCK)
	data, err := d.marshal()
	if err != nil {
		return err
	}
	return s.CreateFlow(ctx, &store.Flow{ID: keyFlowID, Kind: keyKind, State: "active", Data: data,
		ExpiresAt: now.Add(keyTTL)})
}

// RotateKeys adds a new signing key of each kind (ES256 and RS256).
// Normally they are published at once and sign from now+Prepublish, and
// the keys they replace stay published until every token they signed has
// expired. An emergency rotation (a key believed compromised) signs at
// once and removes every other key now, so tokens they signed stop
// verifying. It refuses a normal rotation while new keys already wait to
// sign.
func RotateKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time, o KeyOptions, emergency bool) ([]KeyInfo, error) {
	o = o.withDefaults()
	if _, err := loadOrCreateKeys(ctx, s, kr, now, KeyOptions{Reload: o.Reload}); err != nil {
		return nil, err
	}
	for {
		f, err := s.FlowByID(ctx, keyKind, keyFlowID)
		if err != nil {
			return nil, fmt.Errorf("oidc keys: %w", err)
		}
		d, err := parseKeyDoc(f.Data, f.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("oidc keys: %w", err)
		}
		if !emergency && pending(d.keys, now) {
			return nil, errRotationPending
		}
		signsFrom := now.Add(o.Prepublish)
		if emergency {
			signsFrom = now
		}
		k, err := d.addKeys(kr, now, signsFrom, tokenLifetime+o.Reload+time.Minute, emergency)
		if err != nil {
			return nil, err
		}
		d.prune(now)
		if f.Data, err = d.marshal(); err != nil {
			return nil, err
		}
		if err := s.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("oidc keys: %w", err)
		}
		return k, nil
	}
}

// ListKeys returns the signing keys' schedule, oldest first.
func ListKeys(ctx context.Context, s store.Flows) ([]KeyInfo, error) {
	f, err := s.FlowByID(ctx, keyKind, keyFlowID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := parseKeyDoc(f.Data, f.CreatedAt)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(d.keys, func(i, j int) bool { return d.keys[i].SignsFrom.Before(d.keys[j].SignsFrom) })
	return d.keys, nil
}

// IsRotationPending reports whether err is RotateKeys refusing because a
// new key already waits to sign.
func IsRotationPending(err error) bool { return errors.Is(err, errRotationPending) }

// signingKey is the op.SigningKey of one key.
type signingKey struct {
	id  string
	alg string
	k   crypto.Signer
}

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(s.alg)
}
func (s signingKey) Key() any   { return s.k }
func (s signingKey) ID() string { return s.id }

type publicKey struct {
	id  string
	alg string
	k   crypto.PublicKey
}

func (p publicKey) ID() string                         { return p.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(p.alg) }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k }

// String is for logs: the schedule, no key material.
func (k KeyInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s signs_from=%s", k.ID, k.Algorithm(), k.SignsFrom.Format(time.RFC3339))
	if !k.RetireAt.IsZero() {
		fmt.Fprintf(&b, " retire_at=%s", k.RetireAt.Format(time.RFC3339))
	}
	return b.String()
}
