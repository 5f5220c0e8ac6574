package saml

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
)

// Status codes.
const (
	statusSuccess        = "urn:oasis:names:tc:SAML:2.0:status:Success"
	statusRequester      = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	statusResponder      = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusNoAuthnContext = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
	statusRequestDenied  = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
	statusNoPassive      = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
	statusAuthnFailed    = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
	statusInvalidNameID  = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
	statusPartialLogout  = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
)

// Lifetimes.
const (
	assertionTTL     = 5 * time.Minute
	metadataValidity = 7 * 24 * time.Hour
)

// attribute is one attribute Clau asserts.
type attribute struct {
	friendly, name, xsiType string
	value                   func(c *identity.Citizen) string
}

const (
	attrPersonIdentifier = "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier"
	attrGivenName        = "http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName"
	attrFamilyName       = "http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName"
	attrDateOfBirth      = "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth"
	attrFirstSurname     = "http://es.minhafp.clave/FirstSurname"
	attrSecondSurname    = "http://es.minhafp.clave/SecondSurname"
)

// attributes are the eIDAS natural-person attributes plus Cl@ve's
// surnames, in the order they are sent.
var attributes = []attribute{
	{"PersonIdentifier", attrPersonIdentifier, "eidas-natural:PersonIdentifierType",
		func(c *identity.Citizen) string { return personIdentifier(c) }},
	{"FirstName", attrGivenName, "eidas-natural:CurrentGivenNameType",
		func(c *identity.Citizen) string { return c.GivenName }},
	{"FamilyName", attrFamilyName, "eidas-natural:CurrentFamilyNameType",
		func(c *identity.Citizen) string { return strings.TrimSpace(c.FirstSurname + " " + c.SecondSurname) }},
	{"DateOfBirth", attrDateOfBirth, "eidas-natural:DateOfBirthType",
		func(c *identity.Citizen) string {
			if c.BirthDate.IsZero() {
				return ""
			}
			return c.BirthDate.String()
		}},
	{"FirstSurname", attrFirstSurname, "xs:string", func(c *identity.Citizen) string { return c.FirstSurname }},
	{"SecondSurname", attrSecondSurname, "xs:string", func(c *identity.Citizen) string { return c.SecondSurname }},
}

func knownAttribute(name string) bool {
	return slices.ContainsFunc(attributes, func(a attribute) bool { return a.name == name })
}

// personIdentifier is eIDAS's unique identifier: issuing country,
// receiving country, then the DNI or NIE.
func personIdentifier(c *identity.Citizen) string { return "ES/ES/" + c.Document.Number }

func newID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return "_" + hex.EncodeToString(b[:])
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// outcome is what a response says.
type outcome struct {
	req           *authnRequest // nil for an unsolicited or unreadable request
	sp            *SP
	acs           string
	status        string // second-level status code, "" for success
	top           string // top-level status (Requester or Responder) for failures
	message       string // StatusMessage for failures
	citizen       *identity.Citizen
	loa           broker.LoA
	authTime      time.Time
	sessionIx     string
	sessionID     string // the SSO session (its store ID), for single logout
	nameID        string // set by nameID before the response is built
	nameIDFormat  string
	prevSessionID string // the session the sign-in pages rotated away, if any
	relay         string // RelayState, echoed back as received
}

// buildResponse writes the samlp:Response, its assertion signed (and the
// response too when the SP wants it), the assertion encrypted when the SP
// publishes an encryption certificate.
func (p *IdP) buildResponse(o *outcome, now time.Time) ([]byte, error) {
	doc := etree.NewDocument()
	res := doc.CreateElement("samlp:Response")
	res.CreateAttr("xmlns:samlp", nsSAMLP)
	res.CreateAttr("xmlns:saml", nsSAML)
	res.CreateAttr("ID", newID())
	res.CreateAttr("Version", "2.0")
	res.CreateAttr("IssueInstant", stamp(now))
	res.CreateAttr("Destination", o.acs)
	if o.req != nil {
		res.CreateAttr("InResponseTo", o.req.ID)
	}
	p.issuer(res)
	st := res.CreateElement("samlp:Status")
	sc := st.CreateElement("samlp:StatusCode")
	if o.status == "" {
		sc.CreateAttr("Value", statusSuccess)
	} else {
		sc.CreateAttr("Value", o.top)
		sc.CreateElement("samlp:StatusCode").CreateAttr("Value", o.status)
		if o.message != "" {
			st.CreateElement("samlp:StatusMessage").SetText(o.message)
		}
	}
	if o.status == "" {
		a, err := p.assertion(o, now)
		if err != nil {
			return nil, err
		}
		if o.sp.EncryptionCert != nil {
			enc, err := encryptAssertion(a, o.sp.EncryptionCert)
			if err != nil {
				return nil, err
			}
			res.AddChild(enc)
		} else {
			res.AddChild(a)
		}
	}
	// Error responses are always signed; successful ones when the SP asks.
	if o.status != "" || o.sp.WantAssertionsSigned || o.sp.EncryptionCert != nil || p.SignResponses {
		if err := p.keys.sign(res); err != nil {
			return nil, err
		}
	}
	return doc.WriteToBytes()
}

func (p *IdP) issuer(parent *etree.Element) {
	iss := parent.CreateElement("saml:Issuer")
	iss.CreateAttr("Format", nameEntity)
	iss.SetText(p.entityID)
}

// assertion builds and signs the assertion on its own (its namespaces
// declared on it), so it verifies the same inside any response.
func (p *IdP) assertion(o *outcome, now time.Time) (*etree.Element, error) {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsSAML)
	a.CreateAttr("xmlns:xsi", nsXSI)
	a.CreateAttr("xmlns:xs", nsXS)
	a.CreateAttr("xmlns:eidas-natural", nsNatural)
	a.CreateAttr("ID", newID())
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", stamp(now))
	p.issuer(a)

	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	format, value := o.nameIDFormat, o.nameID
	if value == "" {
		format, value = p.nameID(o)
	}
	nid.CreateAttr("Format", format)
	if format == nameIDPersistent {
		nid.CreateAttr("NameQualifier", p.entityID)
		nid.CreateAttr("SPNameQualifier", o.sp.EntityID)
	}
	nid.SetText(value)
	scf := subj.CreateElement("saml:SubjectConfirmation")
	scf.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := scf.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("InResponseTo", o.req.ID)
	scd.CreateAttr("NotOnOrAfter", stamp(now.Add(assertionTTL)))
	scd.CreateAttr("Recipient", o.acs)

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", stamp(now.Add(-time.Minute)))
	cond.CreateAttr("NotOnOrAfter", stamp(now.Add(assertionTTL)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(o.sp.EntityID)

	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", stamp(o.authTime))
	as.CreateAttr("SessionIndex", o.sessionIx)
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(o.loa.URI())

	ats := a.CreateElement("saml:AttributeStatement")
	for _, at := range attributes {
		v := at.value(o.citizen)
		if v == "" || !o.req.wants(at.name) {
			continue
		}
		e := ats.CreateElement("saml:Attribute")
		e.CreateAttr("FriendlyName", at.friendly)
		e.CreateAttr("Name", at.name)
		e.CreateAttr("NameFormat", attrURI)
		av := e.CreateElement("saml:AttributeValue")
		av.CreateAttr("xsi:type", at.xsiType)
		av.SetText(v)
	}
	if len(ats.ChildElements()) == 0 {
		a.RemoveChild(ats)
	}
	if err := p.keys.sign(a); err != nil {
		return nil, err
	}
	return a, nil
}

// nameID is the citizen's name for the SP in the format asked: pairwise
// persistent by default, random transient, or (unspecified) the eIDAS
// PersonIdentifier, as Cl@ve's gateway names citizens.
func (p *IdP) nameID(o *outcome) (format, value string) {
	switch o.req.NameIDFormat {
	case nameIDTransient:
		return nameIDTransient, newID()
	case nameIDUnspecified:
		return nameIDUnspecified, personIdentifier(o.citizen)
	}
	return nameIDPersistent, p.keys.persistentID(o.sp.EntityID, o.citizen.ID)
}

// wants reports whether the request asks for an attribute: all of them
// when it names none.
func (a *authnRequest) wants(name string) bool {
	if len(a.Attributes) == 0 {
		return true
	}
	return slices.ContainsFunc(a.Attributes, func(r requestedAttr) bool { return r.Name == name })
}
