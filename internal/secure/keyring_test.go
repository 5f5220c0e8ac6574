package secure

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func newTestKeyring(t *testing.T) *Keyring {
	t.Helper()
	k, err := NewKeyring(nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeyring(t *testing.T) {
	k := newTestKeyring(t)
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(k.Keys) != 1 || k.Primary != k.Keys[0].ID {
		t.Fatalf("keyring = %+v, want one primary key", k)
	}
	key := k.Keys[0]
	if !regexp.MustCompile(`^k[0-9a-f]{8}$`).MatchString(key.ID) {
		t.Errorf("key id %q, want k and 8 hex characters", key.ID)
	}
	if len(key.Secret) != 32 || bytes.Equal(key.Secret, make([]byte, 32)) {
		t.Errorf("secret %x, want 32 random bytes", key.Secret)
	}
	if !key.Created.Equal(testNow) {
		t.Errorf("created %v, want %v", key.Created, testNow)
	}
	if _, err := NewKeyring(failingReader{}, testNow); err == nil {
		t.Error("NewKeyring with a broken random source succeeded")
	}
}

func TestSealOpen(t *testing.T) {
	k := newTestKeyring(t)
	aad := []byte("citizens.phone.42")
	sealed, err := k.Seal([]byte("+34612345678"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "v1."+k.Primary+".") {
		t.Fatalf("sealed %q, want prefix v1.%s.", sealed, k.Primary)
	}
	if again, _ := k.Seal([]byte("+34612345678"), aad); again == sealed {
		t.Fatal("sealing twice gave the same text: nonce is not random")
	}
	got, err := k.Open(sealed, aad)
	if err != nil || string(got) != "+34612345678" {
		t.Fatalf("Open = %q, %v", got, err)
	}

	empty, err := k.Seal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(empty, nil); err != nil || len(got) != 0 {
		t.Fatalf("Open(empty) = %q, %v", got, err)
	}
}

func TestOpenFailures(t *testing.T) {
	k := newTestKeyring(t)
	aad := []byte("citizens.phone.42")
	sealed, err := k.Seal([]byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestKeyring(t)
	fromOther, _ := other.Seal([]byte("secret"), aad)
	payload := sealed[strings.LastIndexByte(sealed, '.')+1:]
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return "v1." + k.Primary + "." + base64.RawURLEncoding.EncodeToString(b)
	}

	tests := []struct {
		name   string
		sealed string
		aad    []byte
	}{
		{"wrong associated data", sealed, []byte("citizens.phone.43")},
		{"missing associated data", sealed, nil},
		{"tampered nonce", flip(0), aad},
		{"tampered ciphertext", flip(13), aad},
		{"tampered tag", flip(len(raw) - 1), aad},
		{"truncated", "v1." + k.Primary + "." + payload[:20], aad},
		{"unknown key", fromOther, aad},
		{"key id swapped", "v1." + other.Primary + "." + payload, aad},
		{"empty", "", aad},
		{"no separators", "garbage", aad},
		{"wrong version", "v2." + sealed[3:], aad},
		{"missing payload separator", "v1." + k.Primary, aad},
		{"bad key id", "v1.k/../x." + payload, aad},
		{"not base64url", "v1." + k.Primary + ".+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/", aad},
		{"padded base64", sealed + "==", aad},
		{"line break in payload", "v1." + k.Primary + "." + payload[:10] + "\n" + payload[10:], aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(tt.sealed, tt.aad)
			if !errors.Is(err, ErrSealed) {
				t.Fatalf("Open = %q, %v; want ErrSealed", got, err)
			}
			if got != nil {
				t.Fatalf("Open returned %q with an error", got)
			}
		})
	}
}

func TestRotateKeepsOldDataReadable(t *testing.T) {
	k := newTestKeyring(t)
	oldID := k.Primary
	aad := []byte("row 1")
	old, _ := k.Seal([]byte("old"), aad)
	oldHash := k.Hash("activation", []byte("CODE"))

	key, err := k.Rotate(nil, testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if k.Primary != key.ID || key.ID == oldID || len(k.Keys) != 2 {
		t.Fatalf("after Rotate primary %q, new key %q, %d keys", k.Primary, key.ID, len(k.Keys))
	}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	fresh, _ := k.Seal([]byte("new"), aad)
	if !strings.HasPrefix(fresh, "v1."+key.ID+".") {
		t.Fatalf("new value %q not sealed with the new primary", fresh)
	}
	if got, err := k.Open(old, aad); err != nil || string(got) != "old" {
		t.Fatalf("Open(old) = %q, %v", got, err)
	}
	if !k.NeedsRewrap(old) {
		t.Error("NeedsRewrap(old) = false, want true")
	}
	if k.NeedsRewrap(fresh) {
		t.Error("NeedsRewrap(new) = true, want false")
	}
	if k.NeedsRewrap("garbage") {
		t.Error("NeedsRewrap(garbage) = true, want false")
	}
	if !k.VerifyHash("activation", []byte("CODE"), oldHash) {
		t.Error("hash made before rotation no longer verifies")
	}
	if newHash := k.Hash("activation", []byte("CODE")); !strings.HasPrefix(newHash, key.ID+".") {
		t.Errorf("hash %q not made with the new primary", newHash)
	}

	// Once the old key is retired, what it made is gone.
	if err := k.Retire(oldID); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(old, aad); !errors.Is(err, ErrSealed) {
		t.Errorf("Open after Retire = %v, want ErrSealed", err)
	}
	if k.VerifyHash("activation", []byte("CODE"), oldHash) {
		t.Error("hash verifies after its key was retired")
	}
	if got, err := k.Open(fresh, aad); err != nil || string(got) != "new" {
		t.Fatalf("Open(new) after Retire = %q, %v", got, err)
	}
}

func TestRetire(t *testing.T) {
	k := newTestKeyring(t)
	if err := k.Retire(k.Primary); err == nil {
		t.Error("Retire(primary) succeeded")
	}
	if err := k.Retire("knothere"); err == nil {
		t.Error("Retire(unknown) succeeded")
	}
	if len(k.Keys) != 1 {
		t.Fatalf("failed Retire changed the keyring: %d keys", len(k.Keys))
	}
}

func TestRotateRetriesKeyIDCollision(t *testing.T) {
	// All-zero randomness always yields id k00000000, so the second key can
	// never get a free id: Rotate must give up rather than loop.
	k, err := NewKeyring(repeating(0), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if k.Primary != "k00000000" {
		t.Fatalf("primary %q", k.Primary)
	}
	if _, err := k.Rotate(repeating(0), testNow); err == nil {
		t.Fatal("Rotate reused an existing key id")
	}
}

func TestSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "keyring.json")
	k := newTestKeyring(t)
	if _, err := k.Rotate(nil, testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	sealed, _ := k.Seal([]byte("secret"), nil)

	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700)

	loaded, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Primary != k.Primary || len(loaded.Keys) != len(k.Keys) {
		t.Fatalf("loaded %+v, want %+v", loaded, k)
	}
	for i, key := range loaded.Keys {
		want := k.Keys[i]
		if key.ID != want.ID || !bytes.Equal(key.Secret, want.Secret) || !key.Created.Equal(want.Created) {
			t.Fatalf("loaded key %d = %+v, want %+v", i, key, want)
		}
	}
	if got, err := loaded.Open(sealed, nil); err != nil || string(got) != "secret" {
		t.Fatalf("loaded keyring Open = %q, %v", got, err)
	}

	// Saving over a file that is too open leaves it owner-only.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := loaded.Save(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries after Save, want 1 (no temp files left)", len(entries))
	}
}

func TestSaveRefusesInvalidKeyring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := (&Keyring{}).Save(path); err == nil {
		t.Fatal("Save of an empty keyring succeeded")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed Save left a file: %v", err)
	}
}

func TestLoadKeyringMissing(t *testing.T) {
	_, err := LoadKeyring(filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKeyring(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadOrCreateKeyring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "keyring.json")
	first, created, err := LoadOrCreateKeyring(path, nil, testNow)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKeyring = created %v, %v", created, err)
	}
	assertMode(t, path, 0o600)
	second, created, err := LoadOrCreateKeyring(path, nil, testNow)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateKeyring = created %v, %v", created, err)
	}
	if second.Primary != first.Primary || !bytes.Equal(second.Keys[0].Secret, first.Keys[0].Secret) {
		t.Fatal("second LoadOrCreateKeyring returned a different keyring")
	}

	// A broken file is an error, never silently replaced by new keys.
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyring(path, nil, testNow); err == nil {
		t.Fatal("LoadOrCreateKeyring replaced or accepted a broken file")
	}
}

func TestLoadOrCreateKeyringConcurrentStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	const n = 8
	rings := make([]*Keyring, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, _, err := LoadOrCreateKeyring(path, nil, testNow)
			if err != nil {
				t.Error(err)
				return
			}
			rings[i] = k
		})
	}
	wg.Wait()
	for _, k := range rings {
		if k != nil && k.Primary != rings[0].Primary {
			t.Fatalf("processes starting together got different keys: %q and %q", k.Primary, rings[0].Primary)
		}
	}
}

func TestParseKeyring(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	key := func(id, secret string) string {
		return `{"id":"` + id + `","secret":"` + secret + `","created":"2025-03-01T10:00:00Z"}`
	}
	tests := []struct {
		name, json string
		ok         bool
	}{
		{"valid", `{"primary":"ka","keys":[` + key("ka", secret) + `]}`, true},
		{"two keys", `{"primary":"kb","keys":[` + key("ka", secret) + `,` + key("kb", secret) + `]}`, true},
		{"not JSON", `primary: ka`, false},
		{"truncated", `{"primary":"ka","keys":[`, false},
		{"empty", ``, false},
		{"trailing data", `{"primary":"ka","keys":[` + key("ka", secret) + `]} {}`, false},
		{"unknown field", `{"primary":"ka","keys":[` + key("ka", secret) + `],"extra":1}`, false},
		{"no keys", `{"primary":"ka","keys":[]}`, false},
		{"no primary", `{"keys":[` + key("ka", secret) + `]}`, false},
		{"primary not in keys", `{"primary":"kz","keys":[` + key("ka", secret) + `]}`, false},
		{"short secret", `{"primary":"ka","keys":[` + key("ka", short) + `]}`, false},
		{"secret not base64", `{"primary":"ka","keys":[` + key("ka", "!!") + `]}`, false},
		{"duplicate id", `{"primary":"ka","keys":[` + key("ka", secret) + `,` + key("ka", secret) + `]}`, false},
		{"id with a dot", `{"primary":"k.a","keys":[` + key("k.a", secret) + `]}`, false},
		{"empty id", `{"primary":"","keys":[` + key("", secret) + `]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyring([]byte(tt.json))
			if (err == nil) != tt.ok {
				t.Fatalf("ParseKeyring = %v, want ok %v", err, tt.ok)
			}
			if err == nil {
				if s, err := k.Seal([]byte("x"), nil); err != nil || !strings.HasPrefix(s, "v1."+k.Primary+".") {
					t.Fatalf("Seal with parsed keyring = %q, %v", s, err)
				}
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	k := &Keyring{Primary: "kz", Keys: []Key{{ID: "ka", Secret: []byte("short")}, {ID: "ka", Secret: make([]byte, 32)}}}
	err := k.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken keyring")
	}
	for _, want := range []string{"secret is 5 bytes", "duplicate id", `primary key "kz"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not mention %q", err, want)
		}
	}
}

func TestHashVerifyHash(t *testing.T) {
	k := newTestKeyring(t)
	h := k.Hash("activation", []byte("ABCDEFGHJKLMNPQR"))
	if !regexp.MustCompile(`^` + k.Primary + `\.[A-Za-z0-9_-]{43}$`).MatchString(h) {
		t.Fatalf("Hash = %q, want <key id>.<43 base64url characters>", h)
	}
	if h != k.Hash("activation", []byte("ABCDEFGHJKLMNPQR")) {
		t.Fatal("Hash is not deterministic")
	}
	payload := h[strings.IndexByte(h, '.')+1:]
	other := newTestKeyring(t)
	tests := []struct {
		name, purpose, value, stored string
		want                         bool
	}{
		{"same purpose and value", "activation", "ABCDEFGHJKLMNPQR", h, true},
		{"other value", "activation", "ABCDEFGHJKLMNPQS", h, false},
		{"other purpose", "otp", "ABCDEFGHJKLMNPQR", h, false},
		{"purpose is not a prefix trick", "activatio", "nABCDEFGHJKLMNPQR", h, false},
		{"other keyring's key", "activation", "ABCDEFGHJKLMNPQR", other.Hash("activation", []byte("ABCDEFGHJKLMNPQR")), false},
		{"unknown key id", "activation", "ABCDEFGHJKLMNPQR", "knothere." + payload, false},
		{"empty", "activation", "ABCDEFGHJKLMNPQR", "", false},
		{"no separator", "activation", "ABCDEFGHJKLMNPQR", k.Primary + payload, false},
		{"truncated mac", "activation", "ABCDEFGHJKLMNPQR", h[:len(h)-2], false},
		{"padded mac", "activation", "ABCDEFGHJKLMNPQR", h + "=", false},
		{"mac with line break", "activation", "ABCDEFGHJKLMNPQR", h[:20] + "\n" + h[20:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.VerifyHash(tt.purpose, []byte(tt.value), tt.stored); got != tt.want {
				t.Fatalf("VerifyHash(%q, %q, %q) = %v, want %v", tt.purpose, tt.value, tt.stored, got, tt.want)
			}
		})
	}
}

func TestHashPanicsWithoutPrimary(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Hash on an empty keyring did not panic")
		}
	}()
	(&Keyring{}).Hash("otp", []byte("1234"))
}

func TestSealWithoutPrimaryFails(t *testing.T) {
	if _, err := (&Keyring{}).Seal([]byte("x"), nil); err == nil {
		t.Fatal("Seal on an empty keyring succeeded")
	}
}

func TestKeyringConcurrentUse(t *testing.T) {
	k := newTestKeyring(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				s, err := k.Seal([]byte("x"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := k.Open(s, nil); err != nil {
					t.Error(err)
					return
				}
				h := k.Hash("otp", []byte{byte(i)})
				if !k.VerifyHash("otp", []byte{byte(i)}, h) {
					t.Error("VerifyHash failed under concurrency")
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := k.Rotate(nil, testNow); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s has mode %v, want %v", path, got, want)
	}
}
