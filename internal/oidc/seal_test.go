package oidc

import (
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"
)

func testSeal(t testing.TB) (*tokenSeal, [32]byte) {
	t.Helper()
	var key [32]byte
	for i := range key {
		key[i] = byte(i * 7)
	}
	s, err := newTokenSeal(key, "c1")
	if err != nil {
		t.Fatal(err)
	}
	return s, key
}

func TestTokenSealRoundTrip(t *testing.T) {
	s, _ := testSeal(t)
	for _, v := range []string{"", "3f2a", "at1.0d9e6c1b-4a.1800000000:citizen-42", strings.Repeat("x", 1000)} {
		sealed, err := s.Encrypt(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, sealPrefix) || strings.Contains(sealed, v) && v != "" {
			t.Fatalf("sealed %q as %q", v, sealed)
		}
		again, _ := s.Encrypt(v)
		if again == sealed {
			t.Fatalf("two seals of %q are equal: the nonce is not random", v)
		}
		got, err := s.Decrypt(sealed)
		if err != nil || got != v {
			t.Fatalf("Decrypt(Encrypt(%q)) = %q, %v", v, got, err)
		}
	}
}

// A code or token changed anywhere, cut short, sealed under another key
// or not sealed at all must not open.
func TestTokenSealRefusesTampering(t *testing.T) {
	s, _ := testSeal(t)
	sealed, _ := s.Encrypt("auth-request-id")
	for i := len(sealPrefix); i < len(sealed); i++ {
		b := []byte(sealed)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if v, err := s.Decrypt(string(b)); err == nil {
			t.Fatalf("byte %d changed: opened as %q", i, v)
		}
	}
	var other [32]byte
	o, _ := newTokenSeal(other, "c1")
	foreign, _ := o.Encrypt("auth-request-id")
	bad := []string{
		"", sealPrefix, sealed[:len(sealed)-1], sealed[:len(sealPrefix)+10], foreign,
		sealPrefix + "!!!", sealPrefix + strings.Repeat("A", 5000), "auth-request-id",
		"eyJhbGciOiJub25lIn0.e30.",
	}
	for _, v := range bad {
		if got, err := s.Decrypt(v); err == nil {
			t.Errorf("Decrypt(%.40q) opened as %q", v, got)
		}
	}
}

// Codes and tokens issued in the library's formats before this seal was
// in use still open, so an upgrade does not fail sign-ins in flight.
func TestTokenSealOpensLibraryFormats(t *testing.T) {
	s, key := testSeal(t)
	jwe, err := op.NewAES256GCMCrypto(key, "c1").Encrypt("issued-before")
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 values sealed by the deprecated AES-CFB crypto must still open
	cfb, err := op.NewAESCrypto(key).Encrypt("issued-long-before")
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{jwe: "issued-before", cfb: "issued-long-before"} {
		if got, err := s.Decrypt(v); err != nil || got != want {
			t.Errorf("Decrypt(library value) = %q, %v; want %q", got, err, want)
		}
	}
}

func FuzzTokenSealDecrypt(f *testing.F) {
	s, _ := testSeal(f)
	sealed, _ := s.Encrypt("auth-request-id")
	f.Add(sealed)
	f.Add("eyJhbGciOiJBMjU2R0NNS1ciLCJlbmMiOiJBMjU2R0NNIn0.a.b.c.d")
	f.Add(sealPrefix + "AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		got, err := s.Decrypt(v)
		// Only "auth-request-id" was ever sealed under this key (the seed,
		// in whichever process made it): anything else that opens is forged.
		if err == nil && strings.HasPrefix(v, sealPrefix) && got != "auth-request-id" {
			t.Fatalf("forged value %q opened as %q", v, got)
		}
	})
}
