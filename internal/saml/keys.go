package saml

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// The IdP's keys live in one flow of kind keyKind, sealed by the keyring
// like the OpenID provider's: every process loads the same keys, a
// database reader gets nothing usable, and `clau keys rotate` re-seals
// them (ResealAll covers sealed members of flows).
const (
	keyKind   = "saml_key"
	keyFlowID = "saml-signing-v1"
	keyTTL    = 100 * 365 * 24 * time.Hour
	certTTL   = 10 * 365 * 24 * time.Hour
	rsaBits   = 3072
)

type keyData struct {
	Signing string `json:"signing"`    // sealed PKCS#8 RSA private key
	Cert    string `json:"cert"`       // base64 DER self-signed certificate (public)
	NameKey string `json:"nameid_key"` // sealed 32 bytes: keys the persistent NameIDs
}

// keys are the IdP's loaded keys. RSA with RSA-SHA256: goxmldsig writes
// ECDSA signature values as ASN.1 DER rather than XML-DSig's r||s, which
// other verifiers (xmlsec1, Java's Santuario in Cl@ve kits) reject.
type keys struct {
	rsa     *rsa.PrivateKey
	cert    *x509.Certificate
	nameKey []byte
}

func keyAAD(field string) []byte {
	return store.SealedValue{Table: "flows", Column: "data." + field, RowID: keyFlowID}.AAD()
}

// loadOrCreateKeys reads the keys, generating them on the first start. If
// two processes start together, the first write wins and the other reads it.
func loadOrCreateKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, cn string, now time.Time) (*keys, error) {
	f, err := s.FlowByID(ctx, keyKind, keyFlowID)
	if errors.Is(err, store.ErrNotFound) {
		cerr := createKeys(ctx, s, kr, cn, now)
		if f, err = s.FlowByID(ctx, keyKind, keyFlowID); err != nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("saml keys: %w", err)
	}
	var d keyData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return nil, fmt.Errorf("saml keys: %w", err)
	}
	der, err := kr.Open(d.Signing, keyAAD("signing"))
	if err != nil {
		return nil, fmt.Errorf("saml signing key: %w", err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("saml signing key: %w", err)
	}
	rk, ok := pk.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("saml signing key: not RSA")
	}
	cd, err := base64.StdEncoding.DecodeString(d.Cert)
	if err != nil {
		return nil, fmt.Errorf("saml certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(cd)
	if err != nil {
		return nil, fmt.Errorf("saml certificate: %w", err)
	}
	nk, err := kr.Open(d.NameKey, keyAAD("nameid_key"))
	if err != nil || len(nk) != 32 {
		return nil, fmt.Errorf("saml nameid key: %v", err)
	}
	return &keys{rsa: rk, cert: cert, nameKey: nk}, nil
}

func createKeys(ctx context.Context, s store.Flows, kr *secure.Keyring, cn string, now time.Time) error {
	rk, cd, err := NewSigningKey(cn, now, certTTL)
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
	nk := make([]byte, 32)
	_, _ = rand.Read(nk)
	sealedNK, err := kr.Seal(nk, keyAAD("nameid_key"))
	if err != nil {
		return err
	}
	data, err := json.Marshal(keyData{Signing: sealedKey, Cert: base64.StdEncoding.EncodeToString(cd), NameKey: sealedNK})
	if err != nil {
		return err
	}
	return s.CreateFlow(ctx, &store.Flow{ID: keyFlowID, Kind: keyKind, State: "active", Data: data,
		ExpiresAt: now.Add(keyTTL)})
}

// NewSigningKey makes a signing key and its self-signed certificate (DER)
// as the IdP makes its own: RSA-3072, valid from an hour before now for
// ttl. clau-bench's XML-signature ceiling signs with one made here, so the
// ceiling's key and KeyInfo are the IdP's.
func NewSigningKey(cn string, now time.Time, ttl time.Duration) (*rsa.PrivateKey, []byte, error) {
	rk, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"Clau"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(ttl), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true}
	cd, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rk.PublicKey, rk)
	if err != nil {
		return nil, nil, err
	}
	return rk, cd, nil
}

// sign adds the IdP's enveloped signature to el (SignEnveloped).
func (k *keys) sign(el *etree.Element) error { return SignEnveloped(k.rsa, k.cert.Raw, el) }

// SignEnveloped adds an enveloped signature to el as the IdP signs its
// assertions and responses: RSA-SHA256 (PKCS #1 v1.5) over exclusive
// canonicalisation with no inclusive prefixes, the certificate (DER) in
// KeyInfo, placed right after el's saml:Issuer child where the schemas
// want it, or first when it has none. clau-bench's XML-signature
// ceiling signs through it too, so the ceiling is this code's cost.
func SignEnveloped(key *rsa.PrivateKey, cert []byte, el *etree.Element) error {
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert})
	if err != nil {
		return err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return err
	}
	at := 0
	if iss := child(el, nsSAML, "Issuer"); iss != nil {
		at = iss.Index() + 1
	}
	el.InsertChildAt(at, sig)
	return nil
}

// certB64 is the certificate as metadata and KeyInfo carry it.
func (k *keys) certB64() string { return base64.StdEncoding.EncodeToString(k.cert.Raw) }

// persistentID is the citizen's stable NameID for one SP: an HMAC under
// the IdP's own NameID key, so SPs cannot link citizens and keyring
// rotation does not change it.
func (k *keys) persistentID(spEntityID, citizenID string) string {
	m := hmac.New(sha256.New, k.nameKey)
	m.Write([]byte(spEntityID))
	m.Write([]byte{0})
	m.Write([]byte(citizenID))
	return hex.EncodeToString(m.Sum(nil))
}
