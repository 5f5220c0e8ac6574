package saml

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/broker"
)

// endpoint is an SP's AssertionConsumerService or SingleLogoutService.
type endpoint struct {
	Binding, Location string
	Index             int
	IsDefault         bool
}

// SP is a service provider as the IdP sees it: what its metadata says,
// plus the policy config sets.
type SP struct {
	EntityID             string
	Name                 string
	SigningCerts         []*x509.Certificate
	EncryptionCert       *x509.Certificate // nil: assertions go unencrypted
	AuthnRequestsSigned  bool              // true unless the metadata says false
	WantAssertionsSigned bool
	ACS                  []endpoint
	SLO                  []endpoint
	ValidUntil           time.Time

	MinLoA    broker.LoA
	Methods   []string
	AllowSHA1 bool
}

// parseSPMetadata reads an SP's EntityDescriptor. When anchor is set the
// metadata must be signed by it, and only the signed element is read.
func parseSPMetadata(data []byte, anchor *x509.Certificate, now time.Time) (*SP, error) {
	doc, err := parseXML(data, maxMetadataBytes)
	if err != nil {
		return nil, err
	}
	ed := doc.Root()
	if anchor != nil {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{anchor}})
		vc.Clock = dsig.NewFakeClockAt(now)
		if ed, err = vc.Validate(ed); err != nil {
			return nil, fmt.Errorf("metadata signature: %w", err)
		}
	}
	if !is(ed, nsMD, "EntityDescriptor") {
		return nil, errors.New("metadata: the root is not an md:EntityDescriptor")
	}
	sp := &SP{EntityID: ed.SelectAttrValue("entityID", ""), AuthnRequestsSigned: true}
	if sp.EntityID == "" {
		return nil, errors.New("metadata: entityID is missing")
	}
	if v := ed.SelectAttrValue("validUntil", ""); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("metadata: validUntil %q is not a time", v)
		}
		if !now.Before(t) {
			return nil, fmt.Errorf("metadata: expired at %s", v)
		}
		sp.ValidUntil = t
	}
	sd := child(ed, nsMD, "SPSSODescriptor")
	if sd == nil {
		return nil, errors.New("metadata: no md:SPSSODescriptor")
	}
	if !strings.Contains(sd.SelectAttrValue("protocolSupportEnumeration", ""), nsSAMLP) {
		return nil, errors.New("metadata: the SPSSODescriptor does not support SAML 2.0")
	}
	sp.AuthnRequestsSigned = sd.SelectAttrValue("AuthnRequestsSigned", "true") != "false"
	sp.WantAssertionsSigned = sd.SelectAttrValue("WantAssertionsSigned", "false") == "true"
	for _, kd := range childrenOf(sd, nsMD, "KeyDescriptor") {
		use := kd.SelectAttrValue("use", "")
		for _, c := range certsIn(kd) {
			if use == "" || use == "signing" {
				sp.SigningCerts = append(sp.SigningCerts, c)
			}
			if (use == "" || use == "encryption") && sp.EncryptionCert == nil {
				sp.EncryptionCert = c
			}
		}
	}
	for i, e := range childrenOf(sd, nsMD, "AssertionConsumerService") {
		ep, err := readEndpoint(e, i)
		if err != nil {
			return nil, fmt.Errorf("metadata: AssertionConsumerService: %w", err)
		}
		sp.ACS = append(sp.ACS, ep)
	}
	if len(sp.ACS) == 0 {
		return nil, errors.New("metadata: no AssertionConsumerService")
	}
	for i, e := range childrenOf(sd, nsMD, "SingleLogoutService") {
		ep, err := readEndpoint(e, i)
		if err != nil {
			return nil, fmt.Errorf("metadata: SingleLogoutService: %w", err)
		}
		sp.SLO = append(sp.SLO, ep)
	}
	if sp.AuthnRequestsSigned && len(sp.SigningCerts) == 0 {
		return nil, errors.New("metadata: signed requests are required but there is no signing certificate")
	}
	if o := child(ed, nsMD, "Organization"); o != nil {
		sp.Name = text(child(o, nsMD, "OrganizationDisplayName"))
	}
	return sp, nil
}

func certsIn(kd *etree.Element) []*x509.Certificate {
	var out []*x509.Certificate
	ki := child(kd, nsDS, "KeyInfo")
	if ki == nil {
		return nil
	}
	for _, xd := range childrenOf(ki, nsDS, "X509Data") {
		for _, xc := range childrenOf(xd, nsDS, "X509Certificate") {
			der, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, xc.Text()))
			if err != nil {
				continue
			}
			if c, err := x509.ParseCertificate(der); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// readEndpoint reads one endpoint; its Location must be an absolute http
// or https URL (never javascript: or data:, CVE-2023-45683).
func readEndpoint(e *etree.Element, pos int) (endpoint, error) {
	ep := endpoint{Binding: e.SelectAttrValue("Binding", ""), Location: e.SelectAttrValue("Location", ""), Index: pos,
		IsDefault: e.SelectAttrValue("isDefault", "") == "true"}
	if v := e.SelectAttrValue("index", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return ep, fmt.Errorf("index %q", v)
		}
		ep.Index = n
	}
	if _, err := readEndpointURL(ep.Location); err != nil {
		return ep, err
	}
	return ep, nil
}

func readEndpointURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("location %q is not an absolute http(s) URL", s)
	}
	return u, nil
}

// acsFor resolves the assertion consumer service of a request from the
// metadata only: by exact URL, by index, or the default one. Only the
// HTTP-POST binding is offered for responses.
func (sp *SP) acsFor(acsURL string, index *int) (endpoint, bool) {
	for _, e := range sp.ACS {
		if e.Binding != bindPOST {
			continue
		}
		switch {
		case acsURL != "" && e.Location == acsURL:
			return e, true
		case acsURL == "" && index != nil && e.Index == *index:
			return e, true
		}
	}
	if acsURL != "" || index != nil {
		return endpoint{}, false
	}
	var first *endpoint
	for i, e := range sp.ACS {
		if e.Binding != bindPOST {
			continue
		}
		if e.IsDefault {
			return e, true
		}
		if first == nil {
			first = &sp.ACS[i]
		}
	}
	if first != nil {
		return *first, true
	}
	return endpoint{}, false
}

// metadata builds the IdP's signed EntityDescriptor.
func (p *IdP) metadata(now time.Time) ([]byte, error) {
	doc := etree.NewDocument()
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMD)
	ed.CreateAttr("xmlns:ds", nsDS)
	ed.CreateAttr("xmlns:saml", nsSAML)
	ed.CreateAttr("ID", newID())
	ed.CreateAttr("entityID", p.entityID)
	ed.CreateAttr("validUntil", stamp(now.Add(metadataValidity)))
	// The levels Clau can assert, as eIDAS nodes publish them.
	ea := ed.CreateElement("md:Extensions").CreateElement("mdattr:EntityAttributes")
	ea.CreateAttr("xmlns:mdattr", "urn:oasis:names:tc:SAML:metadata:attribute")
	ac := ea.CreateElement("saml:Attribute")
	ac.CreateAttr("Name", "urn:oasis:names:tc:SAML:attribute:assurance-certification")
	ac.CreateAttr("NameFormat", attrURI)
	for _, l := range []broker.LoA{broker.Low, broker.Substantial, broker.High} {
		ac.CreateElement("saml:AttributeValue").SetText(l.URI())
	}
	idp := ed.CreateElement("md:IDPSSODescriptor")
	idp.CreateAttr("WantAuthnRequestsSigned", "true")
	idp.CreateAttr("protocolSupportEnumeration", nsSAMLP)
	for _, use := range []string{"signing", "encryption"} {
		kd := idp.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", use)
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(p.keys.certB64())
	}
	for _, b := range []string{bindPOST, bindRedir} {
		e := idp.CreateElement("md:SingleLogoutService")
		e.CreateAttr("Binding", b)
		e.CreateAttr("Location", p.sloURL)
	}
	for _, f := range []string{nameIDPersistent, nameIDTransient, nameIDUnspecified} {
		idp.CreateElement("md:NameIDFormat").SetText(f)
	}
	for _, b := range []string{bindPOST, bindRedir} {
		e := idp.CreateElement("md:SingleSignOnService")
		e.CreateAttr("Binding", b)
		e.CreateAttr("Location", p.ssoURL)
	}
	for _, a := range attributes {
		e := idp.CreateElement("saml:Attribute")
		e.CreateAttr("FriendlyName", a.friendly)
		e.CreateAttr("Name", a.name)
		e.CreateAttr("NameFormat", attrURI)
	}
	org := ed.CreateElement("md:Organization")
	for _, tag := range []string{"md:OrganizationName", "md:OrganizationDisplayName"} {
		e := org.CreateElement(tag)
		e.CreateAttr("xml:lang", "en")
		e.SetText("Clau")
	}
	e := org.CreateElement("md:OrganizationURL")
	e.CreateAttr("xml:lang", "en")
	e.SetText(p.Issuer)
	if err := p.keys.sign(ed); err != nil {
		return nil, err
	}
	doc.WriteSettings.CanonicalEndTags = true
	return doc.WriteToBytes()
}

// slo is the SP's single logout endpoint for a binding ("" = any), POST first.
func (sp *SP) slo() (endpoint, bool) {
	for _, b := range []string{bindPOST, bindRedir} {
		for _, e := range sp.SLO {
			if e.Binding == b {
				return e, true
			}
		}
	}
	return endpoint{}, false
}
