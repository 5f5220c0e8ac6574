package certificate_test

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/pkitest"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

var juan = pkitest.Person{SerialNumber: "IDCES-12345678Z", GivenName: "JUAN", FirstSurname: "ESPAÑOL", SecondSurname: "ESPAÑOL"}

// Profiles returns the DNIe and FNMT profiles over a test PKI.
func profiles(pki *pkitest.Spain) []*certificate.Profile {
	return []*certificate.Profile{
		{Name: "dnie", Roots: []*x509.Certificate{pki.DNIeRoot.Cert}, Intermediates: []*x509.Certificate{pki.DNIe.Cert},
			Policies: []x509.OID{pkitest.PolicyDNIeAuth}, LoA: broker.High, AMR: "hwk"},
		{Name: "fnmt", Roots: []*x509.Certificate{pki.FNMTRoot.Cert}, Intermediates: []*x509.Certificate{pki.FNMT.Cert},
			Policies: []x509.OID{pkitest.PolicyFNMTCitizen}, LoA: broker.Substantial, AMR: "swk"},
	}
}

type fixture struct {
	ctx   context.Context
	clock *fakeclock.Clock
	pki   *pkitest.Spain
	store store.Store
	m     *certificate.Method
}

func newFixture(t *testing.T, failClosed bool) *fixture {
	clk := fakeclock.New(time.Now().UTC().Truncate(time.Second))
	pki := pkitest.NewSpain(clk.Now)
	t.Cleanup(pki.Close)
	v, err := certificate.NewValidator(profiles(pki), certificate.Options{FailClosed: failClosed, RequireNonce: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := sqltest.Open(t, "sqlite")
	return &fixture{ctx: context.Background(), clock: clk, pki: pki, store: s, m: certificate.New(s, v, clk.Now)}
}

func (f *fixture) citizen(t *testing.T, doc string, status identity.CitizenStatus) *identity.Citizen {
	c := &identity.Citizen{ID: store.NewID(), Document: identity.Document{Type: identity.DNI, Number: doc},
		DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30}, GivenName: "Juan", FirstSurname: "Español",
		BirthDate: identity.Date{Year: 1980, Month: 2, Day: 28}, Nationality: "ES", Email: "juan@example.org",
		Mobile: "+3461" + doc[:7], Language: "es", Level: identity.LevelAdvanced, Channel: identity.ChannelOffice, Status: status}
	if err := f.store.CreateCitizen(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func chain(i *pkitest.Issued) []*x509.Certificate {
	return append([]*x509.Certificate{i.Cert}, i.Chain[:1]...)
}

func TestGoodCertificates(t *testing.T) {
	f := newFixture(t, true)
	c := f.citizen(t, "12345678Z", identity.StatusActive)
	now := f.clock.Now()
	dnie := f.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, now))
	res, got, err := f.m.Identify(f.ctx, chain(dnie), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || res.Profile.LoA != broker.High || res.AMR()[0] != "hwk" || res.Revocation != "ocsp" ||
		res.GivenName != "JUAN" || res.FirstSurname != "ESPAÑOL" || res.SecondSurname != "ESPAÑOL" {
		t.Fatalf("result %+v", res)
	}
	// The good answer is kept for its validity: no second request.
	if res, _, err = f.m.Identify(f.ctx, chain(dnie), "192.0.2.1"); err != nil || res.Revocation != "ocsp-cached" {
		t.Fatalf("second: %v %v", res, err)
	}
	if hits, _ := f.pki.DNIeRev.Hits(); hits != 1 {
		t.Errorf("OCSP hits %d", hits)
	}
	// Past nextUpdate the responder is asked again.
	f.clock.Add(5 * time.Hour)
	if res, _, err = f.m.Identify(f.ctx, chain(dnie), "192.0.2.1"); err != nil || res.Revocation != "ocsp" {
		t.Fatalf("after expiry: %v %v", res, err)
	}

	// FNMT, plain serialNumber, software key: substantial. Only the leaf
	// presented: the intermediate comes from the profile.
	f.citizen(t, "00000023T", identity.StatusActive)
	fnmt := f.pki.FNMT.Issue(pkitest.FNMTLeaf(pkitest.Person{SerialNumber: "00000023T", GivenName: "ANNA",
		FirstSurname: "DE LA FUENTE"}, f.clock.Now()))
	res, _, err = f.m.Identify(f.ctx, []*x509.Certificate{fnmt.Cert}, "192.0.2.1")
	if err != nil || res.Profile.Name != "fnmt" || res.Profile.LoA != broker.Substantial || res.Document.Number != "00000023T" ||
		res.FirstSurname != "DE LA FUENTE" {
		t.Fatalf("fnmt: %+v %v", res, err)
	}

	// OCSP down: the CRL answers, and is cached until its nextUpdate.
	f.pki.FNMTRev.SetOCSP(pkitest.OCSPDown)
	other := f.pki.FNMT.Issue(pkitest.FNMTLeaf(pkitest.Person{SerialNumber: "IDCES-00000023T", GivenName: "ANNA",
		FirstSurname: "PUIG"}, f.clock.Now()))
	for _, want := range []string{"crl", "crl-cached"} {
		if res, _, err = f.m.Identify(f.ctx, chain(other), "192.0.2.1"); err != nil || res.Revocation != want {
			t.Fatalf("crl fallback: %+v %v, want %s", res, err, want)
		}
	}
	// Refreshed once out of date.
	f.clock.Add(25 * time.Hour)
	if res, _, err = f.m.Identify(f.ctx, chain(other), "192.0.2.1"); err != nil || res.Revocation != "crl" {
		t.Fatalf("crl refresh: %+v %v", res, err)
	}
	if _, crl := f.pki.FNMTRev.Hits(); crl != 2 {
		t.Errorf("CRL fetched %d times, want 2", crl)
	}
}

func TestFailOpen(t *testing.T) {
	f := newFixture(t, false)
	f.citizen(t, "12345678Z", identity.StatusActive)
	f.pki.DNIeRev.SetOCSP(pkitest.OCSPDown)
	f.pki.DNIeRev.SetCRL(pkitest.CRLDown)
	res, _, err := f.m.Identify(f.ctx, chain(f.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, f.clock.Now()))), "")
	if err != nil || res.Revocation != "unchecked" {
		t.Fatalf("%+v %v", res, err)
	}
	// A forged answer is refused even when failing open.
	f.pki.DNIeRev.SetOCSP(pkitest.OCSPWrongSigner)
	if _, _, err := f.m.Identify(f.ctx, chain(f.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, f.clock.Now()))), ""); err == nil {
		t.Fatal("wrongly signed answer accepted")
	}
}

func TestRefusals(t *testing.T) {
	cat := i18n.MustLoad()
	type tc struct {
		name   string
		setup  func(f *fixture) []*x509.Certificate
		reason string
		msg    string
	}
	leaf := func(f *fixture, mod func(l *pkitest.Leaf)) []*x509.Certificate {
		l := pkitest.DNIeLeaf(juan, f.clock.Now())
		if mod != nil {
			mod(&l)
		}
		return chain(f.pki.DNIe.Issue(l))
	}
	ocspMode := func(m pkitest.OCSPMode) func(f *fixture) []*x509.Certificate {
		return func(f *fixture) []*x509.Certificate { f.pki.DNIeRev.SetOCSP(m); return leaf(f, nil) }
	}
	crlMode := func(m pkitest.CRLMode) func(f *fixture) []*x509.Certificate {
		return func(f *fixture) []*x509.Certificate {
			f.pki.DNIeRev.SetOCSP(pkitest.OCSPDown)
			f.pki.DNIeRev.SetCRL(m)
			return leaf(f, nil)
		}
	}
	cases := []tc{
		{"none", func(f *fixture) []*x509.Certificate { return nil }, certificate.ReasonNoCertificate, "cert.none"},
		{"expired", func(f *fixture) []*x509.Certificate {
			return leaf(f, func(l *pkitest.Leaf) {
				l.NotBefore, l.NotAfter = l.NotBefore.AddDate(-3, 0, 0), f.clock.Now().Add(-time.Hour)
			})
		}, certificate.ReasonExpired, "cert.expired"},
		{"not yet valid", func(f *fixture) []*x509.Certificate {
			return leaf(f, func(l *pkitest.Leaf) { l.NotBefore = f.clock.Now().Add(24 * time.Hour) })
		}, certificate.ReasonNotYetValid, "cert.not_yet_valid"},
		{"unknown issuer", func(f *fixture) []*x509.Certificate {
			rogue := pkitest.NewRoot("AC RAIZ DNIE 2", "DIRECCION GENERAL DE LA POLICIA", f.clock.Now()).NewIntermediate("AC DNIE 004", f.clock.Now())
			return chain(rogue.Issue(pkitest.DNIeLeaf(juan, f.clock.Now())))
		}, certificate.ReasonUntrusted, "cert.untrusted"},
		{"chain loops", func(f *fixture) []*x509.Certificate {
			now := f.clock.Now()
			x := pkitest.NewRoot("AC LOOP X", "Loop", now)
			y := x.NewIntermediate("AC LOOP Y", now)
			x2 := x.Recertify(y, now) // X signed by Y, Y signed by X
			l := x2.Issue(pkitest.DNIeLeaf(juan, now))
			return []*x509.Certificate{l.Cert, x2.Cert, y.Cert}
		}, certificate.ReasonUntrusted, "cert.untrusted"},
		{"key usage", func(f *fixture) []*x509.Certificate {
			return leaf(f, func(l *pkitest.Leaf) { l.KeyUsage = x509.KeyUsageKeyEncipherment })
		}, certificate.ReasonKeyUsage, "cert.key_usage"},
		{"extended key usage", func(f *fixture) []*x509.Certificate {
			return leaf(f, func(l *pkitest.Leaf) { l.ExtKeyUse = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} })
		}, certificate.ReasonKeyUsage, "cert.key_usage"},
		{"policy", func(f *fixture) []*x509.Certificate {
			return leaf(f, func(l *pkitest.Leaf) { l.Policies = []x509.OID{pkitest.PolicyOther} })
		}, certificate.ReasonPolicy, "cert.key_usage"},
		{"revoked by OCSP", func(f *fixture) []*x509.Certificate {
			c := leaf(f, nil)
			f.pki.DNIeRev.Revoke(c[0], f.clock.Now().Add(-time.Minute))
			return c
		}, certificate.ReasonRevoked, "cert.revoked"},
		{"revoked by CRL", func(f *fixture) []*x509.Certificate {
			c := crlMode(pkitest.CRLGood)(f)
			f.pki.DNIeRev.Revoke(c[0], f.clock.Now().Add(-time.Minute))
			return c
		}, certificate.ReasonRevoked, "cert.revoked"},
		{"OCSP unsigned", ocspMode(pkitest.OCSPUnsigned), certificate.ReasonOCSPInvalid, "cert.revocation_failed"},
		{"OCSP wrong signer", ocspMode(pkitest.OCSPWrongSigner), certificate.ReasonOCSPInvalid, "cert.revocation_failed"},
		{"OCSP stale", ocspMode(pkitest.OCSPStale), certificate.ReasonOCSPInvalid, "cert.revocation_failed"},
		{"OCSP other certificate", ocspMode(pkitest.OCSPOtherCert), certificate.ReasonOCSPInvalid, "cert.revocation_failed"},
		{"OCSP replayed nonce", ocspMode(pkitest.OCSPReplayNonce), certificate.ReasonOCSPInvalid, "cert.revocation_failed"},
		{"OCSP without nonce", ocspMode(pkitest.OCSPNoNonce), certificate.ReasonOCSPInvalid, "cert.revocation_failed"},
		{"OCSP try later, CRL garbage", func(f *fixture) []*x509.Certificate {
			f.pki.DNIeRev.SetOCSP(pkitest.OCSPTryLater)
			f.pki.DNIeRev.SetCRL(pkitest.CRLGarbage)
			return leaf(f, nil)
		}, certificate.ReasonNoRevocation, "cert.revocation_failed"},
		{"CRL garbage", crlMode(pkitest.CRLGarbage), certificate.ReasonNoRevocation, "cert.revocation_failed"},
		{"CRL out of date", crlMode(pkitest.CRLStale), certificate.ReasonNoRevocation, "cert.revocation_failed"},
		{"CRL down", crlMode(pkitest.CRLDown), certificate.ReasonNoRevocation, "cert.revocation_failed"},
		{"foreign identifier", func(f *fixture) []*x509.Certificate {
			p := juan
			p.SerialNumber = "IDCFR-12345678Z"
			return chain(f.pki.DNIe.Issue(pkitest.DNIeLeaf(p, f.clock.Now())))
		}, certificate.ReasonNoIdentity, "cert.no_identity"},
		{"not registered", func(f *fixture) []*x509.Certificate {
			p := juan
			p.SerialNumber = "IDCES-00000000T"
			return chain(f.pki.DNIe.Issue(pkitest.DNIeLeaf(p, f.clock.Now())))
		}, certificate.ReasonNotRegistered, "cert.not_registered"},
		{"deregistered", func(f *fixture) []*x509.Certificate {
			c, _ := f.store.CitizenByDocument(f.ctx, "12345678Z")
			c.Status = identity.StatusDeregistered
			if err := f.store.UpdateCitizen(f.ctx, c); err != nil {
				panic(err)
			}
			return leaf(f, nil)
		}, certificate.ReasonNotRegistered, "cert.not_registered"},
		{"not activated", func(f *fixture) []*x509.Certificate {
			c, _ := f.store.CitizenByDocument(f.ctx, "12345678Z")
			c.Status = identity.StatusPending
			_ = f.store.UpdateCitizen(f.ctx, c)
			return leaf(f, nil)
		}, certificate.ReasonNotActive, "cert.not_active"},
		{"suspended", func(f *fixture) []*x509.Certificate {
			c, _ := f.store.CitizenByDocument(f.ctx, "12345678Z")
			c.Status = identity.StatusSuspended
			_ = f.store.UpdateCitizen(f.ctx, c)
			return leaf(f, nil)
		}, certificate.ReasonSuspended, "cert.suspended"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.citizen(t, "12345678Z", identity.StatusActive)
			presented := c.setup(f)
			_, _, err := f.m.Identify(f.ctx, presented, "198.51.100.7")
			var r *certificate.Refused
			if !errors.As(err, &r) || r.Reason != c.reason {
				t.Fatalf("err %v, want reason %s", err, c.reason)
			}
			p, ok := problem.As(err)
			if !ok || p.MsgID != c.msg || p.Status < 400 {
				t.Fatalf("problem %+v, want %s", p, c.msg)
			}
			for _, lang := range []string{"ca", "es", "en"} {
				if s := cat.T(lang, p.MsgID, nil); s == p.MsgID || s == "" {
					t.Errorf("%s: no %s text", p.MsgID, lang)
				}
			}
			evs, err := f.store.ListAudit(f.ctx, store.AuditFilter{Action: "login.cert.refused"})
			if err != nil || len(evs) != 1 {
				t.Fatalf("audit: %v %d events", err, len(evs))
			}
			d := evs[0].Details
			if d["reason"] != c.reason || evs[0].Outcome != "denied" {
				t.Errorf("audit details %v", d)
			}
			if len(presented) > 0 && (d["serial"] != r.Serial || d["serial"] == "" || d["issuer"] != presented[0].Issuer.String()) {
				t.Errorf("audit lacks serial/issuer: %v", d)
			}
		})
	}
}
