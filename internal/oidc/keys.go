package oidc

import (
	"context"
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

// KeyInfo is one signing key's public schedule.
type KeyInfo struct {
	ID        string    `json:"kid"`
	Member    string    `json:"member"`
	Created   time.Time `json:"created"`
	SignsFrom time.Time `json:"signs_from"`
	RetireAt  time.Time `json:"retire_at,omitzero"`
}

// State names the key's phase at t: published, signing, retiring.
func (k KeyInfo) State(t time.Time, all []KeyInfo) string {
	switch {
	case t.Before(k.SignsFrom):
		return "published"
	case signerAt(all, t) == k.ID:
		return "signing"
	default:
		return "retiring"
	}
}

// signerAt is the ID of the key that signs at t: of the keys whose
// signs_from has come, the newest.
func signerAt(all []KeyInfo, t time.Time) string {
	best := -1
	for i, k := range all {
		if !t.Before(k.SignsFrom) && (best < 0 || k.SignsFrom.After(all[best].SignsFrom)) {
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

// addKey generates a key that signs from signsFrom and schedules the
// retirement of the keys it replaces.
func (d *keyDoc) addKey(kr *secure.Keyring, now, signsFrom time.Time, grace time.Duration, emergency bool) (KeyInfo, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return KeyInfo{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return KeyInfo{}, err
	}
	k := KeyInfo{ID: "rs" + store.NewID()[:12], Created: now, SignsFrom: signsFrom}
	k.Member = "key_" + k.ID
	sealed, err := kr.Seal(der, keyAAD(k.Member))
	if err != nil {
		return KeyInfo{}, err
	}
	d.members[k.Member], _ = json.Marshal(sealed)
	for i := range d.keys {
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
	rsa      map[string]*rsa.PrivateKey
	crypto   [32]byte
	loadedAt time.Time
}

// signer is the key that signs at t.
func (k *keys) signer(t time.Time) (string, *rsa.PrivateKey) {
	id := signerAt(k.infos, t)
	return id, k.rsa[id]
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
		if cur := signerAt(d.keys, now); o.RotateAfter > 0 && cur != "" && !pending(d.keys, now) {
			i := slices.IndexFunc(d.keys, func(k KeyInfo) bool { return k.ID == cur })
			if !now.Before(d.keys[i].SignsFrom.Add(o.RotateAfter)) {
				if _, err := d.addKey(kr, now, now.Add(o.Prepublish), tokenLifetime+o.Reload+time.Minute, false); err != nil {
					return nil, fmt.Errorf("oidc keys: %w", err)
				}
				changed = true
			}
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
	k := &keys{infos: d.keys, rsa: map[string]*rsa.PrivateKey{}, loadedAt: now}
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
		rk, ok := pk.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("oidc signing key %s: not RSA", i.ID)
		}
		k.rsa[i.ID] = rk
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
	if id, _ := k.signer(now); id == "" {
		return nil, errors.New("oidc keys: no key signs now")
	}
	return k, nil
}

func createKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time) error {
	d := &keyDoc{members: map[string]json.RawMessage{}}
	if _, err := d.addKey(kr, now, now, 0, false); err != nil {
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

// RotateKeys adds a new signing key. Normally it is published at once and
// signs from now+Prepublish, and the keys it replaces stay published until
// every token they signed has expired. An emergency rotation (a key
// believed compromised) signs at once and removes every other key now, so
// tokens they signed stop verifying. It refuses a normal rotation while a
// new key already waits to sign.
func RotateKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time, o KeyOptions, emergency bool) (KeyInfo, error) {
	o = o.withDefaults()
	if _, err := loadOrCreateKeys(ctx, s, kr, now, KeyOptions{Reload: o.Reload}); err != nil {
		return KeyInfo{}, err
	}
	for {
		f, err := s.FlowByID(ctx, keyKind, keyFlowID)
		if err != nil {
			return KeyInfo{}, fmt.Errorf("oidc keys: %w", err)
		}
		d, err := parseKeyDoc(f.Data, f.CreatedAt)
		if err != nil {
			return KeyInfo{}, fmt.Errorf("oidc keys: %w", err)
		}
		if !emergency && pending(d.keys, now) {
			return KeyInfo{}, errRotationPending
		}
		signsFrom := now.Add(o.Prepublish)
		if emergency {
			signsFrom = now
		}
		k, err := d.addKey(kr, now, signsFrom, tokenLifetime+o.Reload+time.Minute, emergency)
		if err != nil {
			return KeyInfo{}, err
		}
		d.prune(now)
		if f.Data, err = d.marshal(); err != nil {
			return KeyInfo{}, err
		}
		if err := s.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
			continue
		} else if err != nil {
			return KeyInfo{}, fmt.Errorf("oidc keys: %w", err)
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

// signingKey is the op.SigningKey of one RSA key.
type signingKey struct {
	id string
	k  *rsa.PrivateKey
}

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s signingKey) Key() any                                    { return s.k }
func (s signingKey) ID() string                                  { return s.id }

type publicKey struct {
	id string
	k  *rsa.PublicKey
}

func (p publicKey) ID() string                         { return p.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k }

// String is for logs: the schedule, no key material.
func (k KeyInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s signs_from=%s", k.ID, k.SignsFrom.Format(time.RFC3339))
	if !k.RetireAt.IsZero() {
		fmt.Fprintf(&b, " retire_at=%s", k.RetireAt.Format(time.RFC3339))
	}
	return b.String()
}
