package secure

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrSealed is wrapped by every error of Open: unknown key, malformed text or
// failed authentication (wrong associated data, wrong key, tampering).
var ErrSealed = errors.New("sealed value cannot be opened")

const (
	secretLen     = 32
	sealVersion   = "v1"
	sealInfo      = "clau seal v1"
	hashInfo      = "clau hash v1 "
	maxKeyIDLen   = 64
	keyIDRandLen  = 4 // "k" + 8 hex characters
	maxIDAttempts = 8
)

// Key is one secret of a Keyring. Secret is 32 bytes (base64 in JSON).
type Key struct {
	ID      string    `json:"id"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

// Keyring holds the keys that seal secret columns (AES-256-GCM) and key the
// hashes of one-time codes (HMAC-SHA256). New data uses Primary; older keys
// stay so data made with them can still be opened or verified, until it is
// rewrapped and the key retired.
//
// Each use gets its own subkey, derived with HKDF-SHA256 from the key secret,
// and cached. A Keyring is safe for concurrent use through its methods; do not
// change its fields once it is in use.
type Keyring struct {
	Primary string `json:"primary"`
	Keys    []Key  `json:"keys"`

	mu      sync.RWMutex
	aeads   map[string]cipher.AEAD // by key ID
	macKeys map[macCacheKey][]byte // by key ID and purpose
}

type macCacheKey struct{ id, purpose string }

// keyringFile is what Save writes, without the caches and lock.
type keyringFile struct {
	Primary string `json:"primary"`
	Keys    []Key  `json:"keys"`
}

// NewKeyring returns a keyring with one fresh key drawn from r
// (crypto/rand.Reader if nil), created at now.
func NewKeyring(r io.Reader, now time.Time) (*Keyring, error) {
	k := &Keyring{}
	if _, err := k.Rotate(r, now); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a fresh key and makes it primary. Older keys stay for opening
// and verifying what they made.
func (k *Keyring) Rotate(r io.Reader, now time.Time) (Key, error) {
	r = randOrDefault(r)
	k.mu.Lock()
	defer k.mu.Unlock()
	var id string
	for attempt := 0; ; attempt++ {
		if attempt == maxIDAttempts {
			return Key{}, errors.New("secure: random source keeps repeating key IDs")
		}
		b := make([]byte, keyIDRandLen)
		if _, err := io.ReadFull(r, b); err != nil {
			return Key{}, fmt.Errorf("secure: reading randomness: %w", err)
		}
		id = "k" + hex.EncodeToString(b)
		if _, taken := k.findLocked(id); !taken {
			break
		}
	}
	secret := make([]byte, secretLen)
	if _, err := io.ReadFull(r, secret); err != nil {
		return Key{}, fmt.Errorf("secure: reading randomness: %w", err)
	}
	key := Key{ID: id, Secret: secret, Created: now.UTC().Truncate(time.Second)}
	k.Keys = append(k.Keys, key)
	k.Primary = id
	return key, nil
}

// Retire removes a key that is not primary. Anything still sealed or hashed
// with it can no longer be opened or verified.
func (k *Keyring) Retire(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if id == k.Primary {
		return fmt.Errorf("secure: key %q is primary; rotate before retiring it", id)
	}
	for i, key := range k.Keys {
		if key.ID == id {
			k.Keys = append(k.Keys[:i:i], k.Keys[i+1:]...)
			delete(k.aeads, id)
			for ck := range k.macKeys {
				if ck.id == id {
					delete(k.macKeys, ck)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("secure: no key %q in keyring", id)
}

// Validate reports every problem: no keys, a missing primary, secrets not 32
// bytes, duplicate or badly formed IDs.
func (k *Keyring) Validate() error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.validateLocked()
}

func (k *Keyring) validateLocked() error {
	var errs []error
	if len(k.Keys) == 0 {
		errs = append(errs, errors.New("keyring has no keys"))
	}
	seen := make(map[string]bool, len(k.Keys))
	for i, key := range k.Keys {
		if !validKeyID(key.ID) {
			errs = append(errs, fmt.Errorf("key %d: id %q must be 1..%d of A-Z a-z 0-9 _ -", i, key.ID, maxKeyIDLen))
		}
		if seen[key.ID] {
			errs = append(errs, fmt.Errorf("key %d: duplicate id %q", i, key.ID))
		}
		seen[key.ID] = true
		if len(key.Secret) != secretLen {
			errs = append(errs, fmt.Errorf("key %q: secret is %d bytes, want %d", key.ID, len(key.Secret), secretLen))
		}
	}
	if k.Primary == "" {
		errs = append(errs, errors.New("keyring has no primary key"))
	} else if !seen[k.Primary] {
		errs = append(errs, fmt.Errorf("primary key %q is not in the keyring", k.Primary))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("secure: invalid keyring: %w", err)
	}
	return nil
}

// validKeyID keeps IDs free of the "." that separates fields of sealed
// values and hashes.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseKeyring decodes a keyring from JSON, refusing unknown fields, and
// validates it.
func ParseKeyring(data []byte) (*Keyring, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f keyringFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("secure: parsing keyring: %w", err)
	}
	if dec.More() {
		return nil, errors.New("secure: parsing keyring: trailing data after JSON object")
	}
	k := &Keyring{Primary: f.Primary, Keys: f.Keys}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// LoadKeyring reads and validates the keyring at path. A missing file gives
// an error that matches fs.ErrNotExist.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secure: reading keyring: %w", err)
	}
	k, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Save writes the keyring as JSON to path atomically (a temporary file
// renamed over it), readable by the owner only (0600), creating the parent
// directory with 0700 if needed.
func (k *Keyring) Save(path string) error {
	data, err := k.marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data, false)
}

// LoadOrCreateKeyring loads the keyring at path, or when there is no file
// creates one with a fresh key and saves it. If another process creates the
// file first, its keyring wins and is returned, so two processes starting
// together never end up with different keys.
func LoadOrCreateKeyring(path string, r io.Reader, now time.Time) (kr *Keyring, created bool, err error) {
	kr, err = LoadKeyring(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kr, false, err
	}
	kr, err = NewKeyring(r, now)
	if err != nil {
		return nil, false, err
	}
	data, err := kr.marshal()
	if err != nil {
		return nil, false, err
	}
	err = writeFileAtomic(path, data, true)
	if errors.Is(err, fs.ErrExist) {
		kr, err = LoadKeyring(path)
		return kr, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return kr, true, nil
}

func (k *Keyring) marshal() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.validateLocked(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(keyringFile{Primary: k.Primary, Keys: k.Keys}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("secure: encoding keyring: %w", err)
	}
	return append(data, '\n'), nil
}

// writeFileAtomic writes data to a 0600 temporary file beside path and moves
// it into place. With exclusive it fails with fs.ErrExist rather than replace
// an existing file.
func writeFileAtomic(path string, data []byte, exclusive bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secure: creating keyring directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("secure: writing keyring: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			_ = tmp.Close()
		}
		_ = os.Remove(tmpName) // after a rename or link this removes nothing we need
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("secure: writing keyring: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("secure: writing keyring: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("secure: writing keyring: %w", err)
	}
	closeErr := tmp.Close()
	tmp = nil
	if closeErr != nil {
		return fmt.Errorf("secure: writing keyring: %w", closeErr)
	}
	if exclusive {
		// A hard link publishes the complete file, or fails if one exists.
		if err = os.Link(tmpName, path); err != nil && !errors.Is(err, fs.ErrExist) {
			// No hard links on this file system: exclusive, but not atomic.
			err = writeFileExclusive(path, data)
		}
	} else {
		err = os.Rename(tmpName, path)
	}
	if err != nil {
		return fmt.Errorf("secure: writing keyring: %w", err) // keeps fs.ErrExist visible
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new name durable; not all systems support it
		_ = d.Close()
	}
	return nil
}

func writeFileExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// Seal encrypts plaintext with the primary key, binding it to aad (say, the
// table, column and row it belongs to), and returns
// "v1.<key id>.<base64url(nonce || ciphertext)>".
func (k *Keyring) Seal(plaintext, aad []byte) (string, error) {
	id := k.primary()
	aead, err := k.aead(id)
	if err != nil {
		return "", fmt.Errorf("secure: sealing: %w", err)
	}
	// The AEAD draws a random 96-bit nonce and puts it in front.
	ct := aead.Seal(nil, nil, plaintext, aad)
	return sealVersion + "." + id + "." + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open reverses Seal with whichever key the value names. Every failure wraps
// ErrSealed.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, payload, err := splitSealed(sealed)
	if err != nil {
		return nil, err
	}
	aead, err := k.aead(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	ct, err := decodeB64(base64.RawURLEncoding, payload)
	if err != nil || len(ct) < aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed ciphertext", ErrSealed)
	}
	pt, err := aead.Open(nil, nil, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong associated data or tampered value)", ErrSealed)
	}
	return pt, nil
}

// NeedsRewrap reports whether sealed was made with a key other than the
// primary, so it should be opened and sealed again before that key is
// retired. Malformed input reports false: there is nothing to rewrap.
func (k *Keyring) NeedsRewrap(sealed string) bool {
	id, _, err := splitSealed(sealed)
	return err == nil && id != k.primary()
}

func splitSealed(sealed string) (id, payload string, err error) {
	version, rest, ok := strings.Cut(sealed, ".")
	if !ok {
		return "", "", fmt.Errorf("%w: malformed (want v1.<key id>.<data>)", ErrSealed)
	}
	if version != sealVersion {
		return "", "", fmt.Errorf("%w: unsupported format %q", ErrSealed, truncate(version, 8))
	}
	id, payload, ok = strings.Cut(rest, ".")
	if !ok || !validKeyID(id) {
		return "", "", fmt.Errorf("%w: malformed (want v1.<key id>.<data>)", ErrSealed)
	}
	return id, payload, nil
}

// Hash returns a keyed hash of value for purpose (say "activation" or "otp"),
// as "<key id>.<base64url(HMAC-SHA256)>", made with the primary key. Purposes
// are separate keys: a hash for one never verifies for another. It panics if
// the keyring has no valid primary key (a keyring from NewKeyring or
// LoadKeyring always has one).
func (k *Keyring) Hash(purpose string, value []byte) string {
	id := k.primary()
	sub, err := k.macKey(id, purpose)
	if err != nil {
		panic("secure: Keyring.Hash: " + err.Error())
	}
	return id + "." + base64.RawURLEncoding.EncodeToString(mac(sub, value))
}

// VerifyHash reports, in constant time, whether stored is Hash(purpose,
// value) under any key of the keyring. Unknown keys and malformed input give
// false.
func (k *Keyring) VerifyHash(purpose string, value []byte, stored string) bool {
	id, enc, ok := strings.Cut(stored, ".")
	if !ok || !validKeyID(id) {
		return false
	}
	want, err := decodeB64(base64.RawURLEncoding, enc)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	sub, err := k.macKey(id, purpose)
	if err != nil {
		return false
	}
	return hmac.Equal(mac(sub, value), want)
}

func mac(key, value []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(value)
	return m.Sum(nil)
}

func (k *Keyring) primary() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.Primary
}

func (k *Keyring) findLocked(id string) (Key, bool) {
	for _, key := range k.Keys {
		if key.ID == id {
			return key, true
		}
	}
	return Key{}, false
}

// secretLocked returns the secret of key id, checked for length.
func (k *Keyring) secretLocked(id string) ([]byte, error) {
	key, ok := k.findLocked(id)
	if !ok {
		return nil, fmt.Errorf("unknown key %q", id)
	}
	if len(key.Secret) != secretLen {
		return nil, fmt.Errorf("key %q has a %d-byte secret, want %d", id, len(key.Secret), secretLen)
	}
	return key.Secret, nil
}

// aead returns the cached AES-256-GCM for key id, deriving it on first use.
func (k *Keyring) aead(id string) (cipher.AEAD, error) {
	k.mu.RLock()
	a, cached := k.aeads[id]
	secret, err := k.secretLocked(id)
	k.mu.RUnlock()
	if cached {
		return a, nil
	}
	if err != nil {
		return nil, err
	}
	sub, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, err
	}
	if a, err = cipher.NewGCMWithRandomNonce(block); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// Cache only if the key was not retired (or replaced) meanwhile.
	if now, err := k.secretLocked(id); err == nil && bytes.Equal(now, secret) {
		if k.aeads == nil {
			k.aeads = make(map[string]cipher.AEAD)
		}
		k.aeads[id] = a
	}
	return a, nil
}

// macKey returns the cached HMAC subkey for key id and purpose, deriving it
// on first use. Purposes are constants in code, so the cache stays small.
func (k *Keyring) macKey(id, purpose string) ([]byte, error) {
	ck := macCacheKey{id, purpose}
	k.mu.RLock()
	sub, cached := k.macKeys[ck]
	secret, err := k.secretLocked(id)
	k.mu.RUnlock()
	if cached {
		return sub, nil
	}
	if err != nil {
		return nil, err
	}
	if sub, err = hkdf.Key(sha256.New, secret, nil, hashInfo+purpose, 32); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now, err := k.secretLocked(id); err == nil && bytes.Equal(now, secret) {
		if k.macKeys == nil {
			k.macKeys = make(map[macCacheKey][]byte)
		}
		k.macKeys[ck] = sub
	}
	return sub, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
