package certificate

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/pkitest"
)

// The subject serialNumber is outside input: any string gives a document
// or an error, never a panic, and a document is always a valid one.
func FuzzDocumentFromSerialNumber(f *testing.F) {
	for _, s := range []string{"IDCES-12345678Z", "12345678Z", "IDCFR-12345678Z", "idces-x1234567l", "IDCES-", "ID", "IDCES-123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := documentFromSerialNumber(s)
		if err == nil && (len(d.Number) != 9 || strings.ContainsAny(d.Number, " -")) {
			t.Fatalf("%q gave %q", s, d.Number)
		}
	})
}

// A CRL's Issuing Distribution Point comes from the CA's server: any
// bytes give a scope or an error, never a panic, and a scope that parsed
// never covers a certificate it names no URI for.
func FuzzParseIDP(f *testing.F) {
	for _, s := range []pkitest.CRLScope{{}, {DistributionPoints: []string{"http://crl.example.org/1", "http://crl.example.org/2"}},
		{OnlyUserCerts: true}, {OnlyCACerts: true, IndirectCRL: true}, {OnlySomeReasons: true}} {
		f.Add(pkitest.MarshalIDP(s))
	}
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0xa1})
	f.Fuzz(func(t *testing.T, der []byte) {
		idp, err := parseIDP(der)
		if err != nil {
			return
		}
		if len(idp.URIs) > 0 && idp.covers(&x509.Certificate{}, "http://not-listed.invalid/") == "" {
			t.Fatalf("%x: scoped to %v yet covers another point", der, idp.URIs)
		}
	})
}
