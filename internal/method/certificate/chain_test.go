package certificate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/pkitest"
	"github.com/clau-eid/clau/internal/store"
)

// The issuing CA's own revocation is checked too, at its root's OCSP
// responder and then the root's CRL, with the same fail-closed policy as
// the citizen's certificate. A refusal names the citizen's certificate
// and the CA it is about.
func TestIntermediateRevocation(t *testing.T) {
	type tc struct {
		name       string
		failClosed bool
		setup      func(f *fixture)
		reason     string // "" when accepted
		caHow      string // when accepted
	}
	revoke := func(f *fixture) { f.pki.DNIeRootRev.Revoke(f.pki.DNIe.Cert, f.clock.Now().Add(-time.Hour)) }
	for _, c := range []tc{
		{"CA good by OCSP", true, func(f *fixture) {}, "", "ocsp"},
		{"CA good by CRL", true, func(f *fixture) { f.pki.DNIeRootRev.SetOCSP(pkitest.OCSPDown) }, "", "crl"},
		{"CA revoked, OCSP says so", true, revoke, certificate.ReasonRevoked, ""},
		{"CA revoked, CRL says so", true, func(f *fixture) { revoke(f); f.pki.DNIeRootRev.SetOCSP(pkitest.OCSPTryLater) },
			certificate.ReasonRevoked, ""},
		{"CA revoked, even with fail-open", false, revoke, certificate.ReasonRevoked, ""},
		{"CA's OCSP answer forged", true, func(f *fixture) { f.pki.DNIeRootRev.SetOCSP(pkitest.OCSPWrongSigner) },
			certificate.ReasonOCSPInvalid, ""},
		{"CA's OCSP and CRL down, fail-closed", true, func(f *fixture) {
			f.pki.DNIeRootRev.SetOCSP(pkitest.OCSPDown)
			f.pki.DNIeRootRev.SetCRL(pkitest.CRLDown)
		}, certificate.ReasonNoRevocation, ""},
		{"CA's OCSP and CRL down, fail-open", false, func(f *fixture) {
			f.pki.DNIeRootRev.SetOCSP(pkitest.OCSPDown)
			f.pki.DNIeRootRev.SetCRL(pkitest.CRLDown)
		}, "", "unchecked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.failClosed)
			f.citizen(t, "12345678Z", identity.StatusActive)
			c.setup(f)
			presented := chain(f.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, f.clock.Now())))
			res, _, err := f.m.Identify(f.ctx, presented, "198.51.100.7")
			if c.reason == "" {
				if err != nil || res.Revocation != "ocsp" || res.CARevocation != c.caHow {
					t.Fatalf("accepted? %v, revocation %+v", err, res)
				}
				return
			}
			var r *certificate.Refused
			if !errors.As(err, &r) || r.Reason != c.reason {
				t.Fatalf("err %v, want %s", err, c.reason)
			}
			ca := f.pki.DNIe.Cert
			evs, _ := f.store.ListAudit(f.ctx, store.AuditFilter{Action: "login.cert.refused"})
			if len(evs) != 1 {
				t.Fatalf("audit: %d refusals", len(evs))
			}
			d := evs[0].Details
			if d["serial"] != strings.ToUpper(presented[0].SerialNumber.Text(16)) || d["issuer"] != ca.Subject.String() ||
				d["ca_serial"] != strings.ToUpper(ca.SerialNumber.Text(16)) || d["ca_issuer"] != f.pki.DNIeRoot.Cert.Subject.String() ||
				!strings.Contains(d["detail"], "AC DNIE 004") {
				t.Errorf("audit details %v", d)
			}
		})
	}
}

// Partitioned CRLs: the CRL must say (Issuing Distribution Point) that it
// covers the distribution point it was fetched from and the kind of
// certificate checked; one that does not is no answer, so the next
// distribution point is tried and, with none left, fail-closed refuses.
func TestPartitionedCRL(t *testing.T) {
	type tc struct {
		name    string
		scope   func(base string) pkitest.CRLScope
		points  []string // the leaf's distribution points, under base
		caScope bool     // scope the root's CRL (checked for the CA) instead
		revoked bool     // the leaf is on the CRL
		reason  string   // "" when accepted
	}
	part := func(names ...string) func(string) pkitest.CRLScope {
		return func(base string) pkitest.CRLScope {
			var s pkitest.CRLScope
			for _, n := range names {
				s.DistributionPoints = append(s.DistributionPoints, base+n)
			}
			return s
		}
	}
	for _, c := range []tc{
		{"the certificate's partition", part("/crl/part-1"), []string{"/crl/part-1"}, false, false, ""},
		{"the certificate's partition, revoked there", part("/crl/part-1"), []string{"/crl/part-1"}, false, true, certificate.ReasonRevoked},
		{"another partition only", part("/crl/part-2"), []string{"/crl/part-1"}, false, true, certificate.ReasonNoRevocation},
		{"another partition first, then its own", part("/crl/part-1"), []string{"/crl/part-2", "/crl/part-1"}, false, true,
			certificate.ReasonRevoked},
		{"end-entity only, for a citizen", func(string) pkitest.CRLScope { return pkitest.CRLScope{OnlyUserCerts: true} },
			[]string{"/crl"}, false, true, certificate.ReasonRevoked},
		{"CAs only, for a citizen", func(string) pkitest.CRLScope { return pkitest.CRLScope{OnlyCACerts: true} },
			[]string{"/crl"}, false, true, certificate.ReasonNoRevocation},
		{"some reasons only", func(string) pkitest.CRLScope { return pkitest.CRLScope{OnlySomeReasons: true} },
			[]string{"/crl"}, false, false, certificate.ReasonNoRevocation},
		{"indirect", func(string) pkitest.CRLScope { return pkitest.CRLScope{IndirectCRL: true} },
			[]string{"/crl"}, false, false, certificate.ReasonNoRevocation},
		{"root's CRL for end entities only, for the CA", func(string) pkitest.CRLScope { return pkitest.CRLScope{OnlyUserCerts: true} },
			nil, true, false, certificate.ReasonNoRevocation},
		{"root's CRL for CAs only, for the CA", func(string) pkitest.CRLScope { return pkitest.CRLScope{OnlyCACerts: true} },
			nil, true, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.citizen(t, "12345678Z", identity.StatusActive)
			rev, base := f.pki.DNIeRev, f.pki.DNIeRev.Server.URL
			if c.caScope {
				rev, base = f.pki.DNIeRootRev, f.pki.DNIeRootRev.Server.URL
			}
			rev.SetOCSP(pkitest.OCSPDown)
			rev.SetCRLScope(c.scope(base))
			l := pkitest.DNIeLeaf(juan, f.clock.Now())
			for _, p := range c.points {
				l.CRLs = append(l.CRLs, base+p)
			}
			issued := f.pki.DNIe.Issue(l)
			if c.revoked {
				f.pki.DNIeRev.Revoke(issued.Cert, f.clock.Now().Add(-time.Minute))
			}
			res, _, err := f.m.Identify(f.ctx, chain(issued), "198.51.100.7")
			if c.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got := res.Revocation + "/" + res.CARevocation; !strings.Contains(got, "crl") {
					t.Errorf("revocation %s", got)
				}
				return
			}
			var r *certificate.Refused
			if !errors.As(err, &r) || r.Reason != c.reason {
				t.Fatalf("err %v, want %s", err, c.reason)
			}
			if c.reason == certificate.ReasonNoRevocation && !strings.Contains(r.Detail, "does not cover") {
				t.Errorf("detail %q does not say the CRL does not cover the certificate", r.Detail)
			}
		})
	}
}

// A CRL scoped to the very point the certificate names, and to end
// entities, answers for a citizen's certificate.
func TestCRLScopedToItsOwnPoint(t *testing.T) {
	f := newFixture(t, true)
	f.citizen(t, "12345678Z", identity.StatusActive)
	f.pki.DNIeRev.SetOCSP(pkitest.OCSPDown)
	f.pki.DNIeRev.SetCRLScope(pkitest.CRLScope{DistributionPoints: []string{f.pki.DNIeRev.Server.URL + "/crl"}, OnlyUserCerts: true})
	res, _, err := f.m.Identify(f.ctx, chain(f.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, f.clock.Now()))), "")
	if err != nil || res.Revocation != "crl" {
		t.Fatalf("a CRL scoped to its own point and to end entities: %v %+v", err, res)
	}
}
