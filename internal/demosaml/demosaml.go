package demosaml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Path is where the demo service lives.
const Path = "/demo-saml/"

// Service is the demo SAML service provider.
type Service struct {
	idp, base string
	key       *rsa.PrivateKey
	cert      []byte
	srv       *httpserver.Server
	r         *web.Renderer

	mu    sync.Mutex
	certs []*x509.Certificate // Clau's signing certificates, from its metadata
}

// New makes the demo service for Clau at publicURL, with a fresh key.
func New(publicURL string) (*Service, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Diputació de Demo"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(publicURL, "/")
	return &Service{idp: base, base: base + Path, key: k, cert: der}, nil
}

// EntityID is the service's entity ID (its metadata URL).
func (s *Service) EntityID() string { return s.base + "metadata" }

// Metadata is the service's SAML metadata, for config's saml_sps.
func (s *Service) Metadata() []byte {
	c := base64.StdEncoding.EncodeToString(s.cert)
	kd := func(use string) string {
		return `<md:KeyDescriptor use="` + use + `"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + c +
			`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	}
	return []byte(`<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + s.EntityID() + `">
<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
` + kd("signing") + kd("encryption") + `
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + s.base + `acs" index="0" isDefault="true"/>
</md:SPSSODescriptor>
<md:Organization><md:OrganizationName xml:lang="ca">Diputació de Demo</md:OrganizationName><md:OrganizationDisplayName xml:lang="ca">Diputació de Demo</md:OrganizationDisplayName><md:OrganizationURL xml:lang="ca">` + s.base + `</md:OrganizationURL></md:Organization>
</md:EntityDescriptor>
`)
}

// Mount registers the routes and pages.
func (s *Service) Mount(srv *httpserver.Server, r *web.Renderer) error {
	if err := r.AddPages(templates, "templates/*.html"); err != nil {
		return err
	}
	s.srv, s.r = srv, r
	srv.HandleFunc("GET "+Path+"{$}", s.home)
	srv.HandleFunc("GET "+Path+"metadata", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(s.Metadata())
	})
	srv.HandleFunc("GET "+Path+"login", s.login)
	srv.HandleFunc("POST "+Path+"acs", s.acs)
	return nil
}

// client configures gosaml2 from Clau's metadata, read on first use: at
// start-up the server is not answering yet.
func (s *Service) client(ctx context.Context) (*saml2.SAMLServiceProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs != nil {
		return s.newClient()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.idp+"/saml/metadata", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		return nil, err
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
	if len(certs) == 0 {
		return nil, errors.New("no signing certificate in Clau's metadata")
	}
	s.certs = certs
	return s.newClient()
}

// newClient is a gosaml2 SP for one request (they are not to be copied).
func (s *Service) newClient() (*saml2.SAMLServiceProvider, error) {
	sp := &saml2.SAMLServiceProvider{IdentityProviderSSOURL: s.idp + "/saml/sso", IdentityProviderIssuer: s.idp + "/saml/metadata",
		AssertionConsumerServiceURL: s.base + "acs", ServiceProviderIssuer: s.EntityID(), AudienceURI: s.EntityID(),
		SignAuthnRequests: true, IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: s.certs},
		NameIdFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}
	if err := sp.SetSPKeyStore(&saml2.KeyStore{Signer: s.key, Cert: s.cert}); err != nil {
		return nil, err
	}
	sp.SPKeyStore = dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{s.cert}, PrivateKey: s.key}) // decryption
	return sp, nil
}

func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	s.r.Render(w, r, http.StatusOK, "demosaml_home.html", "demosaml.title", nil)
}

// login sends a signed AuthnRequest by an auto-submitting form, as Cl@ve
// services do.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	c, err := s.client(r.Context())
	if err != nil {
		s.srv.WriteError(w, r, err)
		return
	}
	loa := "low"
	if r.URL.Query().Get("loa") == "substantial" {
		loa = "substantial"
	}
	req := c
	req.RequestedAuthnContext = &saml2.RequestedAuthnContext{Comparison: "minimum",
		Contexts: []string{"http://eidas.europa.eu/LoA/" + loa}}
	req.ForceAuthn = r.URL.Query().Get("fresh") == "1"
	doc, err := req.BuildAuthRequestDocument()
	if err != nil {
		s.srv.WriteError(w, r, err)
		return
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		s.srv.WriteError(w, r, err)
		return
	}
	s.r.Render(w, r, http.StatusOK, "demosaml_post.html", "demosaml.title", map[string]string{
		"Action": s.idp + "/saml/sso", "Value": base64.StdEncoding.EncodeToString(b)})
}

// Attr is one attribute to show.
type Attr struct{ Name, Value string }

func (s *Service) acs(w http.ResponseWriter, r *http.Request) {
	show := func(status int, errText string, attrs []Attr) {
		s.r.Render(w, r, status, "demosaml_result.html", "demosaml.title", struct {
			Error string
			Attrs []Attr
		}{errText, attrs})
	}
	c, err := s.client(r.Context())
	if err != nil {
		show(http.StatusBadGateway, err.Error(), nil)
		return
	}
	info, err := c.RetrieveAssertionInfo(r.PostFormValue("SAMLResponse"))
	if err != nil {
		show(http.StatusOK, err.Error(), nil)
		return
	}
	attrs := []Attr{{"NameID (" + info.NameIDFormat + ")", info.NameID}}
	if a := info.Assertions[0].AuthnStatement; a != nil && a.AuthnContext != nil && a.AuthnContext.AuthnContextClassRef != nil {
		attrs = append(attrs, Attr{"AuthnContextClassRef", a.AuthnContext.AuthnContextClassRef.Value})
	}
	var names []string
	for k := range info.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		attrs = append(attrs, Attr{k, info.Values.Get(k)})
	}
	attrs = append(attrs, Attr{"signed response", fmt.Sprint(info.ResponseSignatureValidated)})
	show(http.StatusOK, "", attrs)
}
