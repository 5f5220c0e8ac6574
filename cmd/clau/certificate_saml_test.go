package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/i18n"
)

const (
	loaHighURI  = "http://eidas.europa.eu/LoA/high"
	eidasPerson = "http://eidas.europa.eu/attributes/naturalperson/"
)

// samlSP is a service provider outside Clau: its own key, its metadata
// file for CLAU_SAML_SPS, and gosaml2 (the independent SP library)
// configured from Clau's published IdP metadata.
type samlSP struct {
	entityID, acs string
	key           *rsa.PrivateKey
	cert          []byte
	file          string
}

func newSAMLSP(t *testing.T, dir, name string) *samlSP {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Seu electrònica de proves"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + name + ".example.org"
	sp := &samlSP{entityID: base + "/saml/metadata", acs: base + "/saml/acs", key: k, cert: der,
		file: filepath.Join(dir, name+"-sp.xml")}
	c := base64.StdEncoding.EncodeToString(der)
	md := `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + sp.entityID + `">
<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + c + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + sp.acs + `" index="0" isDefault="true"/>
</md:SPSSODescriptor>
</md:EntityDescriptor>
`
	if err := os.WriteFile(sp.file, []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	return sp
}

// client reads Clau's IdP metadata (entity ID, SSO endpoint, signing
// certificates) and configures gosaml2 with it, asking for level high.
func (sp *samlSP) client(t *testing.T, issuer string) *saml2.SAMLServiceProvider {
	t.Helper()
	code, body, _ := get(t, issuer+"/saml/metadata")
	doc := etree.NewDocument()
	if code != 200 || doc.ReadFromString(body) != nil || doc.Root() == nil {
		t.Fatalf("IdP metadata: %d\n%.500s", code, body)
	}
	var certs []*x509.Certificate
	for _, kd := range doc.FindElements("//KeyDescriptor[@use='signing']") {
		if el := kd.FindElement(".//X509Certificate"); el != nil {
			der, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(el.Text()))
			if c, err := x509.ParseCertificate(der); err == nil {
				certs = append(certs, c)
			}
		}
	}
	var sso string
	for _, s := range doc.FindElements("//SingleSignOnService") {
		if s.SelectAttrValue("Binding", "") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" {
			sso = s.SelectAttrValue("Location", "")
		}
	}
	if len(certs) == 0 || sso == "" {
		t.Fatalf("IdP metadata lacks a signing certificate or a POST SSO endpoint:\n%s", body)
	}
	c := &saml2.SAMLServiceProvider{IdentityProviderSSOURL: sso, IdentityProviderIssuer: doc.Root().SelectAttrValue("entityID", ""),
		AssertionConsumerServiceURL: sp.acs, ServiceProviderIssuer: sp.entityID, AudienceURI: sp.entityID,
		SignAuthnRequests: true, IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: certs},
		NameIdFormat:          "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		RequestedAuthnContext: &saml2.RequestedAuthnContext{Comparison: "minimum", Contexts: []string{loaHighURI}}}
	if err := c.SetSPKeyStore(&saml2.KeyStore{Signer: sp.key, Cert: sp.cert}); err != nil {
		t.Fatal(err)
	}
	return c
}

// postAuthnRequest posts a signed AuthnRequest to the IdP as the SP's
// page does, a cross-site form post, and reads where the browser ends.
func (s *certSite) postAuthnRequest(b *http.Client, sso string, xml []byte, relay string) (*http.Response, string) {
	s.t.Helper()
	form := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(xml)}, "RelayState": {relay}}
	req, _ := http.NewRequest("POST", sso, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://sp.example.org")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Accept-Language", "en")
	res, err := b.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return res, string(body)
}

var (
	samlPostRE  = regexp.MustCompile(`<form method="post" action="([^"]+)" id="saml-post">`)
	samlParamRE = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)">`)
)

// A citizen registers online with a DNIe at their first sign-in to a SAML
// service that asks for level high (eIDAS, RequestedAuthnContext minimum),
// then signs in again with it in another browser. The SP is gosaml2: it
// signs the AuthnRequest and validates Clau's signed response, which
// carries level high, the PersonIdentifier and the names from the
// certificate. Another SP, not in registration_services, refuses the same
// first sign-in with a page that says so, naming the SP. Against the real
// binary, over real TLS, with revocation checked by the in-process OCSP
// responder.
func TestCertificateRegistrationAndSAMLAtHigh(t *testing.T) {
	dir := t.TempDir()
	sp, other := newSAMLSP(t, dir, "seu"), newSAMLSP(t, dir, "padro")
	sps, _ := json.Marshal([]map[string]any{{"metadata_file": sp.file, "name": "Seu electrònica"},
		{"metadata_file": other.file}})
	// Registration is offered to one SAML SP, by its entity ID.
	s := newCertSite(t, sp.entityID, "CLAU_SAML_SPS="+string(sps))
	c, oc := sp.client(t, s.issuer), other.client(t, s.issuer)

	// A first sign-in to the SP not listed: refused, saying why, on a
	// page that names the SP (no name configured: its entity ID).
	{
		doc, err := oc.BuildAuthRequestDocument()
		if err != nil {
			t.Fatal(err)
		}
		xml, _ := doc.WriteToBytes()
		res, body := s.postAuthnRequest(s.browser(""), oc.IdentityProviderSSOURL, xml, "padro-1")
		notOffered := i18n.MustLoad().T("en", "cert.register_not_offered", nil)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(html.UnescapeString(body), notOffered) ||
			!strings.Contains(body, "Signing in to "+other.entityID) {
			t.Fatalf("first sign-in to %s: %d at %s\n%.1500s", other.entityID, res.StatusCode, res.Request.URL, body)
		}
	}

	// signIn posts a fresh signed AuthnRequest from the SP's page, as a
	// browser posts a cross-site form; the chooser at level high goes
	// straight to the certificate, through the TLS listener and back.
	signIn := func(b *http.Client, relay string) (*http.Response, string) {
		t.Helper()
		doc, err := c.BuildAuthRequestDocument()
		if err != nil {
			t.Fatal(err)
		}
		xml, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(xml), "<ds:SignatureValue>") || !strings.Contains(string(xml), loaHighURI) {
			t.Fatalf("gosaml2 built no signed request for high:\n%s", xml)
		}
		res, body := s.postAuthnRequest(b, c.IdentityProviderSSOURL, xml, relay)
		if strings.Contains(body, `name="password"`) {
			t.Fatalf("the sign-in at level high showed the password form: %s", res.Request.URL)
		}
		return res, body
	}
	// assertion reads the auto-submitting form to the SP and has gosaml2
	// validate what it carries.
	assertion := func(res *http.Response, body, relay string) *saml2.AssertionInfo {
		t.Helper()
		m := samlPostRE.FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("no SAML response form at %s (%d):\n%.1500s", res.Request.URL, res.StatusCode, body)
		}
		if got := html.UnescapeString(m[1]); got != sp.acs {
			t.Fatalf("response posted to %s, want %s", got, sp.acs)
		}
		values := map[string]string{}
		for _, v := range samlParamRE.FindAllStringSubmatch(body, -1) {
			values[v[1]] = html.UnescapeString(v[2])
		}
		if values["RelayState"] != relay {
			t.Errorf("RelayState %q, want %q", values["RelayState"], relay)
		}
		info, err := c.RetrieveAssertionInfo(values["SAMLResponse"])
		if err != nil {
			t.Fatalf("gosaml2 refused the response: %v", err)
		}
		if info.WarningInfo.InvalidTime || info.WarningInfo.NotInAudience {
			t.Fatalf("warnings: %+v", info.WarningInfo)
		}
		return info
	}
	checkHigh := func(info *saml2.AssertionInfo) {
		t.Helper()
		a := info.Assertions[0].AuthnStatement
		if a == nil || a.AuthnContext == nil || a.AuthnContext.AuthnContextClassRef == nil ||
			a.AuthnContext.AuthnContextClassRef.Value != loaHighURI {
			t.Errorf("AuthnStatement %+v, want class %s", a, loaHighURI)
		}
		want := map[string]string{
			eidasPerson + "PersonIdentifier":        "ES/ES/00000023T",
			eidasPerson + "CurrentGivenName":        "NÚRIA",
			eidasPerson + "CurrentFamilyName":       "PUIG FERRER",
			"http://es.minhafp.clave/FirstSurname":  "PUIG",
			"http://es.minhafp.clave/SecondSurname": "FERRER",
		}
		for k, v := range want {
			if got := info.Values.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if info.NameIDFormat != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" || info.NameID == "" {
			t.Errorf("NameID %q (%s)", info.NameID, info.NameIDFormat)
		}
	}

	// First sign-in: registration (mobile and email, each confirmed),
	// its pages naming the SP, then straight back to the SP.
	b := s.browser("")
	res, body := signIn(b, "expedient-1")
	if !strings.Contains(body, "Signing in to Seu electrònica") {
		t.Errorf("the registration page does not name the SP:\n%.1500s", body)
	}
	res, body = s.register(b, res, body)
	first := assertion(res, body, "expedient-1")
	checkHigh(first)

	// Later, in another browser: the certificate signs in at once, and
	// the SP sees the same citizen.
	res, body = signIn(s.browser(""), "expedient-2")
	if strings.Contains(res.Request.URL.Path, "/register/") {
		t.Fatalf("the registered citizen was asked to register again: %s", res.Request.URL)
	}
	again := assertion(res, body, "expedient-2")
	checkHigh(again)
	if again.NameID != first.NameID {
		t.Errorf("persistent NameID changed: %s then %s", first.NameID, again.NameID)
	}
	s.checkAudit()
	if out := s.ok("audit", "export"); strings.Count(out, `"saml.response"`) < 2 {
		t.Errorf("audit trail lacks the two SAML responses:\n%s", out)
	}
}
