package pkitest

import (
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func TestHierarchyRevocationAndProfiles(t *testing.T) {
	now := time.Now()
	root := NewRoot("AC RAIZ DNIE 2", "DIRECCION GENERAL DE LA POLICIA", now)
	sub := root.NewIntermediate("AC DNIE 004", now)
	rev := StartRevocation(sub, func() time.Time { return now })
	defer rev.Close()
	leaf := sub.Issue(DNIeLeaf(Person{SerialNumber: "IDCES-12345678Z", GivenName: "JUAN", FirstSurname: "ESPAÑOL", SecondSurname: "ESPAÑOL"}, now))

	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root.Cert)
	inters.AddCert(sub.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err != nil {
		t.Fatalf("chain: %v", err)
	}
	if got := leaf.Cert.Subject.SerialNumber; got != "IDCES-12345678Z" {
		t.Errorf("serialNumber %q", got)
	}
	if len(leaf.Cert.OCSPServer) != 1 || len(leaf.Cert.CRLDistributionPoints) != 1 {
		t.Fatalf("AIA/CDP missing: %v %v", leaf.Cert.OCSPServer, leaf.Cert.CRLDistributionPoints)
	}

	req, err := ocsp.CreateRequest(leaf.Cert, sub.Cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode   OCSPMode
		revoke bool
		status int
		ok     bool
	}{{OCSPGood, false, ocsp.Good, true}, {OCSPUnsigned, false, 0, false}, {OCSPWrongSigner, false, 0, false},
		{OCSPOtherCert, false, 0, false}, {OCSPGood, true, ocsp.Revoked, true}} {
		rev.SetOCSP(tc.mode)
		if tc.revoke {
			rev.Revoke(leaf.Cert, now.Add(-time.Minute))
		}
		resp, err := http.Post(rev.CA.OCSPURL, "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r, err := ocsp.ParseResponseForCert(body, leaf.Cert, sub.Cert)
		if (err == nil) != tc.ok {
			t.Errorf("mode %d: err %v", tc.mode, err)
			continue
		}
		if err == nil && r.Status != tc.status {
			t.Errorf("mode %d: status %d", tc.mode, r.Status)
		}
	}

	resp, err := http.Get(rev.CA.CRLURL)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(sub.Cert); err != nil || len(crl.RevokedCertificateEntries) != 1 {
		t.Errorf("crl: %v, %d entries", err, len(crl.RevokedCertificateEntries))
	}

	fnmt := sub.Issue(FNMTLeaf(Person{SerialNumber: "12345678Z", GivenName: "ANA", FirstSurname: "PUIG"}, now))
	if len(fnmt.Cert.Policies) != 1 || !fnmt.Cert.Policies[0].Equal(PolicyFNMTCitizen) {
		t.Error("fnmt policy")
	}
}
