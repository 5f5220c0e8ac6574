package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// The provider's keys live in one flow of kind keyKind, sealed by the
// keyring: every process loads the same keys, and a database reader gets
// nothing usable. (A table of its own with rotation is left to do; see doc.go.)
const (
	keyKind   = "oidc_key"
	keyFlowID = "oidc-signing-v1"
	keyTTL    = 100 * 365 * 24 * time.Hour
)

// keyData is what the flow holds.
type keyData struct {
	KeyID     string `json:"kid"`
	Signing   string `json:"signing"`    // sealed PKCS#8 RSA private key
	CryptoKey string `json:"crypto_key"` // sealed 32 bytes: encrypts codes and access tokens
}

// keys are the provider's loaded keys.
type keys struct {
	id     string
	rsa    *rsa.PrivateKey
	crypto [32]byte
}

func keyAAD(field string) []byte {
	return store.SealedValue{Table: "flows", Column: "data." + field, RowID: keyFlowID}.AAD()
}

// loadOrCreateKeys reads the keys, generating them on the first start. If
// two processes start together, the first write wins and the other reads it.
func loadOrCreateKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time) (*keys, error) {
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
	var d keyData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return nil, fmt.Errorf("oidc keys: %w", err)
	}
	der, err := kr.Open(d.Signing, keyAAD("signing"))
	if err != nil {
		return nil, fmt.Errorf("oidc signing key: %w", err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("oidc signing key: %w", err)
	}
	rk, ok := pk.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("oidc signing key: not RSA")
	}
	ck, err := kr.Open(d.CryptoKey, keyAAD("crypto_key"))
	if err != nil || len(ck) != 32 {
		return nil, fmt.Errorf("oidc crypto key: %v", err)
	}
	k := &keys{id: d.KeyID, rsa: rk}
	copy(k.crypto[:], ck)
	return k, nil
}

func createKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, now time.Time) error {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return err
	}
	sealedKey, err := kr.Seal(der, keyAAD("signing"))
	if err != nil {
		return err
	}
	var ck [32]byte
	_, _ = rand.Read(ck[:])
	sealedCK, err := kr.Seal(ck[:], keyAAD("crypto_key"))
	if err != nil {
		return err
	}
	data, err := json.Marshal(keyData{KeyID: "rs" + store.NewID()[:12], Signing: sealedKey, CryptoKey: sealedCK})
	if err != nil {
		return err
	}
	return s.CreateFlow(ctx, &store.Flow{ID: keyFlowID, Kind: keyKind, State: "active", Data: data,
		ExpiresAt: now.Add(keyTTL)})
}

// signingKey is the op.SigningKey and op.Key of the RSA key.
type signingKey struct{ k *keys }

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s signingKey) Key() any                                    { return s.k.rsa }
func (s signingKey) ID() string                                  { return s.k.id }

type publicKey struct{ k *keys }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.rsa.PublicKey }
