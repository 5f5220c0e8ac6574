// Package webauthntest holds what tests of passkeys need beyond the
// virtual authenticator of github.com/descope/virtualwebauthn.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"

	"github.com/descope/virtualwebauthn"
)

// NewCredential returns a P-256 credential for the virtual authenticator.
//
// virtualwebauthn (v1.0.3) writes the key's COSE coordinates with
// big.Int.Bytes, which drops leading zero bytes, so about one key in 128
// comes out with a 31-byte x or y that relying parties rightly refuse
// ("EC2 key x or y coordinate has invalid length"). Only keys whose
// coordinates are a full 32 bytes are handed out, so tests do not fail
// at random.
func NewCredential() virtualwebauthn.Credential {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}
