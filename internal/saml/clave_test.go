package saml_test

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/broker"
)

// sign adds an enveloped signature (exclusive c14n, RSA-SHA256 unless
// method says otherwise) right after the Issuer, as Cl@ve's kits do.
func (s *testSP) sign(t *testing.T, xml string, method string) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	ctx, _ := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if method != "" {
		if err := ctx.SetSignatureMethod(method); err != nil {
			t.Fatal(err)
		}
	}
	root := doc.Root()
	sig, err := ctx.ConstructSignature(root, true)
	if err != nil {
		t.Fatal(err)
	}
	root.InsertChildAt(root.SelectElement("Issuer").Index()+1, sig)
	b, _ := doc.WriteToBytes()
	return b
}

// claveRequest is an AuthnRequest shaped like those the public Cl@ve 2
// integration kits send: SPType public, requested attributes with
// mandatory ones, method exclusions, a minimum LoA, ForceAuthn,
// ProviderName and an unspecified NameID policy.
type claveRequest struct {
	ID, Destination, ACS, Issuer, IssueInstant, Comparison, LoA, NameIDFormat string
	Exclude                                                                   []string
	Extra                                                                     string // more RequestedAttribute elements
	ACSIndex                                                                  string // instead of the ACS URL and binding
	ForceAuthn, IsPassive                                                     bool
}

func (s *testSP) clave(st *site) claveRequest {
	return claveRequest{ID: "_" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", ""),
		Destination: st.url + "/saml/sso", ACS: s.acs, Issuer: s.entityID, IssueInstant: time.Now().UTC().Format(time.RFC3339),
		Comparison: "minimum", LoA: "http://eidas.europa.eu/LoA/low",
		NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
		Exclude:      []string{"AFirmaIdP", "EIDASIdP", "CLVMOVILIdP"}, ForceAuthn: true}
}

func (c claveRequest) String() string {
	var ex strings.Builder
	for _, e := range c.Exclude {
		fmt.Fprintf(&ex, `<eidas:RequestedAttribute FriendlyName="%s" Name="http://es.minhafp.clave/%s" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="false"/>`, e, e)
	}
	acs := ` AssertionConsumerServiceURL="` + c.ACS + `" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`
	if c.ACSIndex != "" {
		acs = ` AssertionConsumerServiceIndex="` + c.ACSIndex + `"`
	}
	return `<saml2p:AuthnRequest xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:eidas="http://eidas.europa.eu/saml-extensions" xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"` +
		acs + ` Consent="urn:oasis:names:tc:SAML:2.0:consent:unspecified" Destination="` + c.Destination + `"` +
		fmt.Sprintf(` ForceAuthn="%t" ID="%s" IsPassive="%t" IssueInstant="%s"`, c.ForceAuthn, c.ID, c.IsPassive, c.IssueInstant) +
		` ProviderName="Ajuntament_Tramits" Version="2.0">` +
		`<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">` + c.Issuer + `</saml2:Issuer>` +
		`<saml2p:Extensions><eidas:SPType>public</eidas:SPType><eidas:RequestedAttributes>` + ex.String() +
		`<eidas:RequestedAttribute FriendlyName="RelayState" Name="http://es.minhafp.clave/RelayState" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="false"><eidas:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="eidas-natural:PersonIdentifierType">rs-1</eidas:AttributeValue></eidas:RequestedAttribute>` +
		`<eidas:RequestedAttribute FriendlyName="FamilyName" Name="http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="true"/>` +
		`<eidas:RequestedAttribute FriendlyName="FirstName" Name="http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="true"/>` +
		`<eidas:RequestedAttribute FriendlyName="PersonIdentifier" Name="http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="true"/>` +
		`<eidas:RequestedAttribute FriendlyName="DateOfBirth" Name="http://eidas.europa.eu/attributes/naturalperson/DateOfBirth" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="false"/>` +
		`<eidas:RequestedAttribute FriendlyName="FirstSurname" Name="http://es.minhafp.clave/FirstSurname" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="false"/>` +
		c.Extra + `</eidas:RequestedAttributes></saml2p:Extensions>` +
		`<saml2p:NameIDPolicy AllowCreate="true" Format="` + c.NameIDFormat + `"/>` +
		`<saml2p:RequestedAuthnContext Comparison="` + c.Comparison + `"><saml2:AuthnContextClassRef>` + c.LoA + `</saml2:AuthnContextClassRef></saml2p:RequestedAuthnContext>` +
		`</saml2p:AuthnRequest>`
}

// TestClaveKitRequest: a request shaped like a Cl@ve 2 kit's signs a
// citizen in and gets the Cl@ve attributes, with the excluded methods
// passed to the sign-in pages.
func TestClaveKitRequest(t *testing.T) {
	sp := newTestSP(t, "tramits", false)
	s := newSite(t, sp)
	c := sp.client(s)
	b := newBrowser(t)
	a := b.postRequest(s, sp.sign(t, sp.clave(s).String(), ""), "")
	if !signInPath.MatchString(a.url.Path) {
		t.Fatalf("sign-in page at %s", a.url)
	}
	if tx := s.transaction(b, a); tx.SP != sp.entityID || tx.SPName != "Ajuntament_Tramits" ||
		!slices.Equal(tx.Methods, []string{"permanent", "pin"}) || !tx.ForceAuthn || tx.MinLoA != broker.Low {
		t.Fatalf("the sign-in's transaction: %+v", tx)
	}
	if !strings.Contains(a.body, "Signing in to Ajuntament_Tramits") {
		t.Fatalf("the sign-in page does not name the service:\n%.1500s", a.body)
	}
	a = b.signIn(s, a)
	info, err := c.RetrieveAssertionInfo(postedForm(t, a).values["SAMLResponse"])
	if err != nil {
		t.Fatal(err)
	}
	if info.NameID != "ES/ES/"+document || info.NameIDFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" {
		t.Errorf("NameID %s (%s)", info.NameID, info.NameIDFormat)
	}
	for k, v := range map[string]string{
		"http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier":  "ES/ES/" + document,
		"http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName":  "Núria",
		"http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName": "Puig Vila",
		"http://eidas.europa.eu/attributes/naturalperson/DateOfBirth":       "1980-02-29",
		"http://es.minhafp.clave/FirstSurname":                              "Puig",
	} {
		if got := info.Values.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, ok := info.Values["http://es.minhafp.clave/SecondSurname"]; ok {
		t.Error("SecondSurname was sent though not requested")
	}
}

// TestEncryptedAssertion: an SP that publishes an encryption key gets
// an EncryptedAssertion (AES-256-GCM, RSA-OAEP) that gosaml2 decrypts.
func TestEncryptedAssertion(t *testing.T) {
	sp := newTestSP(t, "salut", true)
	s := newSite(t, sp)
	c := sp.client(s)
	b := newBrowser(t)
	a := b.signIn(s, b.postRequest(s, authnRequest(t, c), ""))
	resp := postedForm(t, a).values["SAMLResponse"]
	raw, _ := base64.StdEncoding.DecodeString(resp)
	if !strings.Contains(string(raw), "EncryptedAssertion") || !strings.Contains(string(raw), "xmlenc11#aes256-gcm") ||
		strings.Contains(string(raw), document) {
		t.Fatalf("the assertion is not encrypted:\n%s", raw)
	}
	info, err := c.RetrieveAssertionInfo(resp)
	if err != nil {
		t.Fatalf("gosaml2 could not decrypt: %v", err)
	}
	if !info.ResponseSignatureValidated {
		t.Error("the response around an encrypted assertion is not signed")
	}
	if got := info.Values.Get("http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier"); got != "ES/ES/"+document {
		t.Errorf("PersonIdentifier %q", got)
	}
}

// TestRedirectBinding: gosaml2's HTTP-Redirect request, signed over the
// query string, is accepted.
func TestRedirectBinding(t *testing.T) {
	sp := newTestSP(t, "padro", false)
	s := newSite(t, sp)
	c := sp.client(s)
	c.IdentityProviderSSOBinding = saml2.BindingHttpRedirect
	doc, err := c.BuildAuthRequestDocumentNoSig()
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.BuildAuthURLRedirect("rs-redirect", doc)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	a := b.do("GET", u, nil, "")
	a = b.signIn(s, a)
	p := postedForm(t, a)
	if p.values["RelayState"] != "rs-redirect" {
		t.Errorf("RelayState %q", p.values["RelayState"])
	}
	if _, err := c.RetrieveAssertionInfo(p.values["SAMLResponse"]); err != nil {
		t.Fatal(err)
	}
	// The same URL again is a replay.
	a = b.do("GET", u, nil, "")
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "already used") {
		t.Fatalf("replayed redirect: %d\n%.600s", a.status, a.body)
	}
	// A tampered query (another RelayState) no longer verifies.
	a = b.do("GET", strings.Replace(u, "rs-redirect", "rs-evil", 1), nil, "")
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "signature of the request is not valid") {
		t.Fatalf("tampered redirect: %d\n%.600s", a.status, a.body)
	}
}

// statusOf verifies a posted error response's signature and returns its
// second-level status code.
func statusOf(t *testing.T, s *site, resp string) string {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(resp)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{s.idp.Certificate()}})
	el, err := vc.Validate(doc.Root())
	if err != nil {
		t.Fatalf("error response not signed: %v\n%s", err, raw)
	}
	sc := el.FindElement("./Status/StatusCode/StatusCode")
	if sc == nil {
		return el.FindElement("./Status/StatusCode").SelectAttrValue("Value", "")
	}
	return sc.SelectAttrValue("Value", "")
}

// TestErrorResponses: requests that cannot be met get signed SAML error
// responses with the right status codes.
func TestErrorResponses(t *testing.T) {
	sp := newTestSP(t, "hisenda", false)
	strict := newTestSP(t, "sanitat", false)
	strict.cfg.Methods = []string{"permanent"}
	strict.cfg.MinLoA = "substantial"
	s := newSite(t, sp, strict)
	b := newBrowser(t)
	for _, tc := range []struct {
		name string
		sp   *testSP
		edit func(*claveRequest)
		want string
	}{
		{"unknown context class", sp, func(r *claveRequest) { r.LoA = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password" }, "NoAuthnContext"},
		{"exact below the SP's minimum", strict, func(r *claveRequest) { r.Comparison = "exact" }, "NoAuthnContext"},
		{"every method excluded", strict, func(r *claveRequest) { r.Exclude = append(r.Exclude, "GISSIdP") }, "RequestDenied"},
		{"mandatory attribute unknown", sp, func(r *claveRequest) {
			r.Extra = `<eidas:RequestedAttribute Name="http://eidas.europa.eu/attributes/naturalperson/PlaceOfBirth" isRequired="true"/>`
		}, "RequestDenied"},
		{"passive without a session", sp, func(r *claveRequest) { r.IsPassive, r.ForceAuthn = true, false }, "NoPassive"},
		{"NameID format unknown", sp, func(r *claveRequest) {
			r.NameIDFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
		}, "InvalidNameIDPolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.sp.clave(s)
			tc.edit(&r)
			a := b.postRequest(s, tc.sp.sign(t, r.String(), ""), "rs")
			p := postedForm(t, a)
			if p.action != tc.sp.acs || p.values["RelayState"] != "rs" {
				t.Fatalf("posted to %s", p.action)
			}
			if got := statusOf(t, s, p.values["SAMLResponse"]); got != "urn:oasis:names:tc:SAML:2.0:status:"+tc.want {
				t.Errorf("status %s, want %s", got, tc.want)
			}
		})
	}
}

// TestACSIndex: AssertionConsumerServiceIndex picks the metadata's
// endpoint with that index; an index not in metadata is refused.
func TestACSIndex(t *testing.T) {
	sp := newTestSP(t, "index", false)
	s := newSite(t, sp)
	b := newBrowser(t)
	r := sp.clave(s)
	r.ACSIndex = "1"
	a := b.signIn(s, b.postRequest(s, sp.sign(t, r.String(), ""), ""))
	if p := postedForm(t, a); p.action != sp.acs+"2" {
		t.Fatalf("index 1 answered at %s", p.action)
	}
	r = sp.clave(s)
	r.ACSIndex = "7"
	checkRefused(t, s, b.postRequest(s, sp.sign(t, r.String(), ""), ""), "saml.err.acs", "not in its registered metadata")
}
