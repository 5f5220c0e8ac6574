package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"time"

	"github.com/beevik/etree"

	"github.com/clau-eid/clau/internal/saml"
)

// samlCeiling is building and signing a response shaped like the ones the
// IdP sends the bench's "signed" SP (internal/saml buildResponse): a
// successful samlp:Response holding one assertion with a persistent NameID
// and the six attributes, the assertion and then the response each with
// an enveloped RSA-SHA256 signature over exclusive c14n, the certificate
// in KeyInfo, an RSA-3072 key; then serialised. The key comes from
// saml.NewSigningKey and both signatures go through saml.SignEnveloped,
// as the IdP makes its key and signs. It returns the measurement, to be
// run for d as often as needed with one key.
func samlCeiling() (func(ctx context.Context, d time.Duration) (ceiling, error), error) {
	key, cert, err := saml.NewSigningKey("clau-bench", time.Now(), 24*time.Hour)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, d time.Duration) (ceiling, error) {
		return measureCeiling(ctx, d, func() error {
			_, err := signedResponse(key, cert, time.Now())
			return err
		})
	}, nil
}

const (
	benchIdP = "http://127.0.0.1:8080/saml/metadata"
	benchSPs = "https://signed.bench.example/md"
	benchACS = "https://signed.bench.example/acs"
)

func signedResponse(key *rsa.PrivateKey, cert []byte, now time.Time) ([]byte, error) {
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	issuer := func(parent *etree.Element) {
		iss := parent.CreateElement("saml:Issuer")
		iss.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
		iss.SetText(benchIdP)
	}
	inResponseTo := randomID()

	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	a.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	a.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
	a.CreateAttr("xmlns:eidas-natural", "http://eidas.europa.eu/attributes/naturalperson")
	a.CreateAttr("ID", randomID())
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", stamp(now))
	issuer(a)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	nid.CreateAttr("NameQualifier", benchIdP)
	nid.CreateAttr("SPNameQualifier", benchSPs)
	var pairwise [32]byte
	_, _ = rand.Read(pairwise[:])
	nid.SetText(hex.EncodeToString(pairwise[:]))
	scf := subj.CreateElement("saml:SubjectConfirmation")
	scf.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := scf.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("InResponseTo", inResponseTo)
	scd.CreateAttr("NotOnOrAfter", stamp(now.Add(5*time.Minute)))
	scd.CreateAttr("Recipient", benchACS)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", stamp(now.Add(-time.Minute)))
	cond.CreateAttr("NotOnOrAfter", stamp(now.Add(5*time.Minute)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(benchSPs)
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", stamp(now))
	as.CreateAttr("SessionIndex", randomID())
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("http://eidas.europa.eu/LoA/low")
	ats := a.CreateElement("saml:AttributeStatement")
	for _, at := range [][4]string{
		{"PersonIdentifier", "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier", "eidas-natural:PersonIdentifierType", "ES/ES/00000000T"},
		{"FirstName", "http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName", "eidas-natural:CurrentGivenNameType", "MARIA"},
		{"FamilyName", "http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName", "eidas-natural:CurrentFamilyNameType", "GARCIA LOPEZ"},
		{"DateOfBirth", "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth", "eidas-natural:DateOfBirthType", "1980-01-01"},
		{"FirstSurname", "http://es.minhafp.clave/FirstSurname", "xs:string", "GARCIA"},
		{"SecondSurname", "http://es.minhafp.clave/SecondSurname", "xs:string", "LOPEZ"},
	} {
		e := ats.CreateElement("saml:Attribute")
		e.CreateAttr("FriendlyName", at[0])
		e.CreateAttr("Name", at[1])
		e.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
		av := e.CreateElement("saml:AttributeValue")
		av.CreateAttr("xsi:type", at[2])
		av.SetText(at[3])
	}
	if err := saml.SignEnveloped(key, cert, a); err != nil {
		return nil, err
	}

	doc := etree.NewDocument()
	res := doc.CreateElement("samlp:Response")
	res.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	res.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	res.CreateAttr("ID", randomID())
	res.CreateAttr("Version", "2.0")
	res.CreateAttr("IssueInstant", stamp(now))
	res.CreateAttr("Destination", benchACS)
	res.CreateAttr("InResponseTo", inResponseTo)
	issuer(res)
	res.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	res.AddChild(a)
	if err := saml.SignEnveloped(key, cert, res); err != nil {
		return nil, err
	}
	return doc.WriteToBytes()
}

func randomID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return "_" + hex.EncodeToString(b[:])
}
