package saml

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"
)

// Every parser of incoming SAML has a fuzz target: none may panic, hang
// or accept what it must not. Seed corpora live in testdata/fuzz.

const seedRequest = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:eidas="http://eidas.europa.eu/saml-extensions" ID="_a1" Version="2.0" IssueInstant="2026-11-23T10:00:00Z" Destination="https://clau.example/saml/sso" AssertionConsumerServiceURL="https://sp.example/acs" ForceAuthn="true" IsPassive="false" ProviderName="SP"><saml:Issuer>https://sp.example/md</saml:Issuer><samlp:Extensions><eidas:SPType>public</eidas:SPType><eidas:RequestedAttributes><eidas:RequestedAttribute Name="http://es.minhafp.clave/AFirmaIdP" isRequired="false"/><eidas:RequestedAttribute Name="http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier" isRequired="true"/></eidas:RequestedAttributes></samlp:Extensions><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>http://eidas.europa.eu/LoA/substantial</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>`

const seedMetadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example/md" validUntil="2099-01-01T00:00:00Z"><md:SPSSODescriptor AuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0" isDefault="true"/><md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.example/slo"/></md:SPSSODescriptor></md:EntityDescriptor>`

func FuzzParseAuthnRequest(f *testing.F) {
	f.Add([]byte(seedRequest))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`))
	f.Add([]byte(`<a><!-- c --></a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseXML(data, maxMessageBytes)
		if err != nil {
			return
		}
		if bytes.Contains(data, []byte("<!--")) || bytes.Contains(data, []byte("<!DOCTYPE")) {
			t.Fatalf("accepted a comment or DTD: %q", data)
		}
		a, err := readAuthnRequest(doc.Root())
		if err != nil {
			return
		}
		if !validID(a.ID) || a.Issuer == "" {
			t.Fatalf("accepted a request without a valid ID or issuer: %+v", a)
		}
		a.levels()
	})
}

func FuzzDecodeRedirect(f *testing.F) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(seedRequest))
	w.Close()
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	f.Add(enc, "SAMLRequest="+enc+"&RelayState=x&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=AAAA")
	f.Add("", "Signature=a&Signature=b")
	f.Fuzz(func(t *testing.T, param, rawQuery string) {
		if b, err := decodeRedirect(param); err == nil && len(b) > maxMessageBytes {
			t.Fatalf("inflated %d bytes, over the limit", len(b))
		}
		q, err := redirectSignature(rawQuery, "SAMLRequest")
		if err == nil && q != nil {
			_ = verifyQuery(&SP{SigningCerts: []*x509.Certificate{fuzzCert}}, q)
		}
	})
}

func FuzzParseSPMetadata(f *testing.F) {
	f.Add([]byte(seedMetadata))
	f.Add([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="b" Location="javascript:alert(1)"/></md:SPSSODescriptor></md:EntityDescriptor>`))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := parseSPMetadata(data, nil, now)
		if err != nil {
			return
		}
		if sp.EntityID == "" || len(sp.ACS) == 0 {
			t.Fatalf("accepted metadata without entity ID or ACS: %+v", sp)
		}
		for _, e := range sp.ACS {
			if _, err := readEndpointURL(e.Location); err != nil {
				t.Fatalf("accepted ACS %q", e.Location)
			}
		}
	})
}

func FuzzVerifyEnveloped(f *testing.F) {
	f.Add([]byte(seedRequest))
	f.Add([]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_a"><ds:Signature><ds:SignedInfo><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_a"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></samlp:AuthnRequest>`))
	sp := &SP{SigningCerts: []*x509.Certificate{fuzzCert}}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseXML(data, maxMessageBytes)
		if err != nil {
			return
		}
		if el, err := verifyEnveloped(sp, doc.Root(), time.Now()); err == nil && el != nil {
			t.Fatalf("a forged signature verified: %q", data)
		}
	})
}

// fuzzCert is a self-signed certificate whose key was thrown away.
var fuzzCert = func() *x509.Certificate {
	der, _ := base64.StdEncoding.DecodeString(fuzzCertB64)
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}()

const fuzzCertB64 = "MIIClzCCAX+gAwIBAgIBATANBgkqhkiG9w0BAQsFADAPMQ0wCwYDVQQDEwRmdXp6MB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAwMFowDzENMAsGA1UEAxMEZnV6ejCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBANgVjFhTWem/HEvDuWExW0oTuTiOSSmqdvEOF71amp/JyciSafo4HZBTi+kGLXrB+tcUyMkMAJSPSIHRKW2LFBSSm3yyJud1OL7WAgAUs5aIjLiQZrUXlfiotegXfTw2Q0ZauIXQOQ8NDI7F+aV2X2nL0HIlIuUCYAh1xh7LY76V2PQLZllqT9akWccrKXIJ6ALoGchJ0i1aXOgYNMVjTQeyPEhE3P/scIQedCe0t64S+cQI3p2nSl0vaEvxJ5/ce/D/yfjGWhKAxy577X8jb38/gUZcyPk63jIO3asvDxSG+uOgPcZOqTTHGijySFiXIAqw9HVuRG6BWyWNWCZ0U20CAwEAATANBgkqhkiG9w0BAQsFAAOCAQEAOrRN4liRqIp4uWq/U1Du8SxpLHJHuuPEl6xpsCiQY7Dzt/2T8rfBfKwsIDjz7VutUv56RLikPnT/ZdCr00ksxlIE8BTVAj5+6oXt8lIR5Bc/DeZywu+bs+wgNFLQMlvJXMyzYF8ymzAiEW7HL7mcwZBpsZvcv2uLl3m1TdGqor+nAsmFIpOlwNIQ3KJ1hF2eeykl/5TzEZGm1R08HXa+C+TJ7oF4aKj1m8PJ2g17EJR2F12Wi9WOmSkrZ3hRMkiyEHfFBXqNMjMSYmETiYMYKc/ebk+SNLil0o1d4gPN+ZgMUaZHlKTnScAnxgo1My9AZ+RnmCguRyqXttNVcVjPkA=="
