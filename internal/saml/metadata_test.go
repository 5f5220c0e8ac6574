package saml_test

import (
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// TestMetadata: /saml/metadata is signed by the IdP's certificate and
// names the endpoints of both bindings and both key uses.
func TestMetadata(t *testing.T) {
	s := newSite(t)
	res, err := http.Get(s.url + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{s.idp.Certificate()}})
	ed, err := vc.Validate(doc.Root())
	if err != nil {
		t.Fatalf("metadata signature: %v", err)
	}
	if ed.SelectAttrValue("entityID", "") != s.url+"/saml/metadata" {
		t.Errorf("entityID %s", ed.SelectAttrValue("entityID", ""))
	}
	vu, err := time.Parse(time.RFC3339, ed.SelectAttrValue("validUntil", ""))
	if err != nil || vu.Before(time.Now().Add(24*time.Hour)) {
		t.Errorf("validUntil %v %v", vu, err)
	}
	var levels []string
	for _, v := range ed.FindElements("./Extensions/EntityAttributes/Attribute[@Name='urn:oasis:names:tc:SAML:attribute:assurance-certification']/AttributeValue") {
		levels = append(levels, v.Text())
	}
	if strings.Join(levels, " ") != "http://eidas.europa.eu/LoA/low http://eidas.europa.eu/LoA/substantial http://eidas.europa.eu/LoA/high" {
		t.Errorf("published levels %v", levels)
	}
	idp := ed.FindElement("./IDPSSODescriptor")
	if idp == nil || idp.SelectAttrValue("WantAuthnRequestsSigned", "") != "true" {
		t.Fatal("no IDPSSODescriptor wanting signed requests")
	}
	uses := map[string]bool{}
	for _, kd := range idp.SelectElements("KeyDescriptor") {
		if kd.FindElement(".//X509Certificate") != nil {
			uses[kd.SelectAttrValue("use", "")] = true
		}
	}
	if !uses["signing"] || !uses["encryption"] {
		t.Errorf("key uses %v", uses)
	}
	for _, tag := range []string{"SingleSignOnService", "SingleLogoutService"} {
		bindings := map[string]string{}
		for _, e := range idp.SelectElements(tag) {
			bindings[e.SelectAttrValue("Binding", "")] = e.SelectAttrValue("Location", "")
		}
		if bindings["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"] == "" || bindings["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"] == "" {
			t.Errorf("%s bindings %v", tag, bindings)
		}
	}
}
