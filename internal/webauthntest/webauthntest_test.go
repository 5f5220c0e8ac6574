package webauthntest_test

import (
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/clau-eid/clau/internal/webauthntest"
)

// Every credential's COSE key carries 32-byte coordinates (P-256), which
// a plain virtualwebauthn.NewCredential gets wrong about once in 128.
func TestCoordinatesAreFullLength(t *testing.T) {
	for range 1000 {
		c := webauthntest.NewCredential()
		var key struct {
			X []byte `cbor:"-2,keyasint"`
			Y []byte `cbor:"-3,keyasint"`
		}
		if err := webauthncbor.Unmarshal(c.Key.AttestationData(), &key); err != nil {
			t.Fatal(err)
		}
		if len(key.X) != 32 || len(key.Y) != 32 {
			t.Fatalf("coordinates of %d and %d bytes", len(key.X), len(key.Y))
		}
	}
}
