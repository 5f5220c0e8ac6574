// Package pkitest builds throw-away public key infrastructures for tests:
// a CA hierarchy and citizen certificates shaped like the Spanish DNIe
// (AC RAIZ DNIE 2 → AC DNIE 00x) and the FNMT citizen profile (AC FNMT
// Usuarios), an in-process OCSP responder that can be told to misbehave
// (unsigned, stale, for another certificate, replayed nonce) and a CRL
// server. Everything is generated per test run with the standard library
// (crypto/x509) and golang.org/x/crypto/ocsp; no real personal certificate
// is ever stored in the repository.
//
// It is a test helper: only tests, benchmarks and demos import it.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Certificate policy OIDs of the profiles (as the real CAs publish them).
var (
	// PolicyDNIeAuth is the DNIe authentication certificate policy.
	PolicyDNIeAuth = mustOID(2, 16, 724, 1, 2, 2, 2, 3)
	// PolicyFNMTCitizen is the FNMT "persona física" (citizen) policy.
	PolicyFNMTCitizen = mustOID(1, 3, 6, 1, 4, 1, 5734, 3, 10, 1)
	// PolicyOther is a policy no profile accepts.
	PolicyOther = mustOID(1, 3, 6, 1, 4, 1, 99999, 1)
	anyPolicy   = mustOID(2, 5, 29, 32, 0)
)

func mustOID(ints ...uint64) x509.OID {
	o, err := x509.OIDFromInts(ints)
	if err != nil {
		panic(err)
	}
	return o
}

// Subject attribute OIDs that Spanish certificates use.
var (
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// CA is a certificate authority: its certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Parent is nil for a root.
	Parent *CA
	// OCSPURL and CRLURL go into the certificates this CA issues.
	OCSPURL string
	CRLURL  string
}

var serials atomic.Int64

func nextSerial() *big.Int {
	return big.NewInt(time.Now().UnixNano()/1000*1000 + serials.Add(1))
}

func newKey() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// NewRoot returns a self-signed root CA valid from now-1h for 20 years.
func NewRoot(cn, org string, now time.Time) *CA {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{org}, Country: []string{"ES"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key}
}

// NewIntermediate returns a CA signed by ca.
func (ca *CA) NewIntermediate(cn string, now time.Time) *CA {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: ca.Cert.Subject.Organization, Country: []string{"ES"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		Policies:              []x509.OID{anyPolicy},
	}
	if ca.OCSPURL != "" {
		tmpl.OCSPServer = []string{ca.OCSPURL}
	}
	if ca.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{ca.CRLURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key, Parent: ca}
}

// Person is whose certificate a leaf is.
type Person struct {
	// SerialNumber is the subject serialNumber: "IDCES-12345678Z" (DNIe,
	// newer FNMT) or "12345678Z" (older FNMT).
	SerialNumber  string
	GivenName     string
	FirstSurname  string
	SecondSurname string
}

// Leaf describes an end-entity certificate to issue.
type Leaf struct {
	Person    Person
	NotBefore time.Time
	NotAfter  time.Time
	KeyUsage  x509.KeyUsage
	ExtKeyUse []x509.ExtKeyUsage
	Policies  []x509.OID
	// CN overrides the profile's common name.
	CN string
	// CRLs, when set, replaces the issuing CA's CRL URL (several
	// distribution points, or a partition of a partitioned CRL).
	CRLs []string
}

// Issued is an end-entity certificate and its key.
type Issued struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // the issuing CAs, nearest first, root last
}

// Issue signs l with ca.
func (ca *CA) Issue(l Leaf) *Issued {
	key := newKey()
	p := l.Person
	surnames := p.FirstSurname
	if p.SecondSurname != "" {
		surnames += " " + p.SecondSurname
	}
	cn := l.CN
	if cn == "" {
		cn = fmt.Sprintf("%s, %s (AUTENTICACIÓN)", surnames, p.GivenName)
	}
	subj := pkix.Name{CommonName: cn, Country: []string{"ES"}, ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: oidSerialNumber, Value: p.SerialNumber},
		{Type: oidGivenName, Value: p.GivenName},
		{Type: oidSurname, Value: surnames},
	}}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      subj,
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     l.KeyUsage,
		ExtKeyUsage:  l.ExtKeyUse,
		Policies:     l.Policies,
	}
	if ca.OCSPURL != "" {
		tmpl.OCSPServer = []string{ca.OCSPURL}
	}
	if ca.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{ca.CRLURL}
	}
	if l.CRLs != nil {
		tmpl.CRLDistributionPoints = l.CRLs
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	out := &Issued{Cert: c, Key: key}
	for a := ca; a != nil; a = a.Parent {
		out.Chain = append(out.Chain, a.Cert)
	}
	return out
}

// DNIeLeaf is a DNIe authentication certificate for p, valid 30 months
// from an hour before now.
func DNIeLeaf(p Person, now time.Time) Leaf {
	return Leaf{Person: p, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 30, 0),
		KeyUsage:  x509.KeyUsageDigitalSignature,
		ExtKeyUse: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Policies:  []x509.OID{PolicyDNIeAuth}}
}

// FNMTLeaf is an FNMT citizen certificate (software key) for p, valid
// four years from an hour before now.
func FNMTLeaf(p Person, now time.Time) Leaf {
	surnames := p.FirstSurname
	if p.SecondSurname != "" {
		surnames += " " + p.SecondSurname
	}
	id := p.SerialNumber
	if len(id) > 6 && id[:6] == "IDCES-" {
		id = id[6:]
	}
	return Leaf{Person: p, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(4, 0, 0),
		KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUse: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection},
		Policies:  []x509.OID{PolicyFNMTCitizen},
		CN:        surnames + " " + p.GivenName + " - " + id}
}

// PEM encodes certificates.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// WritePEM writes certificates to dir/name and returns the path.
func WritePEM(dir, name string, certs ...*x509.Certificate) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, PEM(certs...), 0o600); err != nil {
		panic(err)
	}
	return p
}

// Spain is a DNIe hierarchy (AC RAIZ DNIE 2 → AC DNIE 004) and an FNMT
// one (AC RAIZ FNMT-RCM → AC FNMT Usuarios), each CA with its own OCSP
// responder and CRL server: the roots' answer for the issuing CAs (whose
// certificates point at them), the issuing CAs' for citizens.
type Spain struct {
	DNIeRoot, DNIe *CA
	FNMTRoot, FNMT *CA
	DNIeRev        *Revocation
	FNMTRev        *Revocation
	DNIeRootRev    *Revocation
	FNMTRootRev    *Revocation
}

// NewSpain builds the hierarchies; Close stops the servers.
func NewSpain(now func() time.Time) *Spain {
	t := now()
	s := &Spain{DNIeRoot: NewRoot("AC RAIZ DNIE 2", "DIRECCION GENERAL DE LA POLICIA", t),
		FNMTRoot: NewRoot("AC RAIZ FNMT-RCM", "FNMT-RCM", t)}
	s.DNIeRootRev = StartRevocation(s.DNIeRoot, now)
	s.FNMTRootRev = StartRevocation(s.FNMTRoot, now)
	s.DNIe = s.DNIeRoot.NewIntermediate("AC DNIE 004", t)
	s.FNMT = s.FNMTRoot.NewIntermediate("AC FNMT Usuarios", t)
	s.DNIeRev = StartRevocation(s.DNIe, now)
	s.FNMTRev = StartRevocation(s.FNMT, now)
	return s
}

// Close stops the revocation servers.
func (s *Spain) Close() {
	s.DNIeRev.Close()
	s.FNMTRev.Close()
	s.DNIeRootRev.Close()
	s.FNMTRootRev.Close()
}

// Recertify returns ca's key and subject in a certificate signed by
// signer: with it two CAs can sign each other, a chain that loops.
func (ca *CA) Recertify(signer *CA, now time.Time) *CA {
	tmpl := &x509.Certificate{SerialNumber: nextSerial(), Subject: ca.Cert.Subject, NotBefore: now.Add(-time.Hour),
		NotAfter: now.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer.Cert, ca.Key.Public(), signer.Key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: ca.Key, Parent: signer}
}
