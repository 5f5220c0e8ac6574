package saml

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/broker"
)

// NameID formats.
const (
	nameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	nameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	nameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// Cl@ve's method-exclusion attributes: each one requested hides a method.
var exclusions = map[string]string{
	"http://es.minhafp.clave/AFirmaIdP":   broker.MethodCertificate,
	"http://es.minhafp.clave/GISSIdP":     broker.MethodPermanent,
	"http://es.minhafp.clave/AEATIdP":     broker.MethodPIN,
	"http://es.minhafp.clave/EIDASIdP":    broker.MethodEIDAS,
	"http://es.minhafp.clave/CLVMOVILIdP": broker.MethodPasskey,
}

// Signature algorithms accepted on requests. SHA-1 only for an SP
// configured with allow_sha1.
var (
	strongSigAlgs = map[string]x509.SignatureAlgorithm{
		dsig.RSASHA256SignatureMethod:   x509.SHA256WithRSA,
		dsig.RSASHA384SignatureMethod:   x509.SHA384WithRSA,
		dsig.RSASHA512SignatureMethod:   x509.SHA512WithRSA,
		dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
		dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384,
		dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
	}
	sha1SigAlgs = map[string]x509.SignatureAlgorithm{
		dsig.RSASHA1SignatureMethod: x509.SHA1WithRSA,
	}
	strongDigests = []string{"http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#sha384",
		"http://www.w3.org/2001/04/xmlenc#sha512"}
	sha1Digest = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// requestedAttr is one eIDAS RequestedAttribute.
type requestedAttr struct {
	Name     string `json:"name"`
	Required bool   `json:"required,omitempty"`
}

// authnRequest is what the IdP reads from a verified AuthnRequest.
type authnRequest struct {
	ID            string          `json:"id"`
	Issuer        string          `json:"issuer"`
	Destination   string          `json:"destination,omitempty"`
	IssueInstant  time.Time       `json:"issue_instant"`
	ACSURL        string          `json:"acs_url,omitempty"`
	ACSIndex      *int            `json:"acs_index,omitempty"`
	Binding       string          `json:"binding,omitempty"`
	ProviderName  string          `json:"provider_name,omitempty"`
	ForceAuthn    bool            `json:"force_authn,omitempty"`
	IsPassive     bool            `json:"is_passive,omitempty"`
	NameIDFormat  string          `json:"nameid_format,omitempty"`
	LoAs          []broker.LoA    `json:"loas,omitempty"`
	Comparison    string          `json:"comparison,omitempty"`
	UnknownLoA    bool            `json:"unknown_loa,omitempty"` // a context class that is not an eIDAS LoA
	SPType        string          `json:"sp_type,omitempty"`
	Attributes    []requestedAttr `json:"attributes,omitempty"`
	ExcludedMeths []string        `json:"excluded_methods,omitempty"`
}

// refusal is why a request is refused, with the message ID people see
// and the audit reason.
type refusal struct {
	msgID  string
	reason string
}

func (r *refusal) Error() string { return r.reason }

func refuse(msgID, format string, args ...any) *refusal {
	return &refusal{msgID: msgID, reason: fmt.Sprintf(format, args...)}
}

// signedQuery is a Redirect-binding signature: the octets signed, as
// they came in the query string, with SigAlg and Signature.
type signedQuery struct {
	signed    string
	sigAlg    string
	signature string
}

// redirectSignature extracts the signed octets of a Redirect-binding
// query string exactly as sent: param=value pairs of msgParam, RelayState
// and SigAlg, in that order, undecoded (SAML bindings §3.4.4.1).
func redirectSignature(rawQuery, msgParam string) (*signedQuery, error) {
	raw := map[string]string{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if _, dup := raw[k]; dup {
			return nil, refuse("saml.err.malformed", "query parameter %s given twice", k)
		}
		raw[k] = v
	}
	sig, ok := raw["Signature"]
	if !ok {
		return nil, nil
	}
	parts := []string{msgParam + "=" + raw[msgParam]}
	if v, ok := raw["RelayState"]; ok {
		parts = append(parts, "RelayState="+v)
	}
	alg, ok := raw["SigAlg"]
	if !ok {
		return nil, refuse("saml.err.signature", "Signature without SigAlg")
	}
	parts = append(parts, "SigAlg="+alg)
	q := &signedQuery{signed: strings.Join(parts, "&")}
	var err error
	if q.sigAlg, err = url.QueryUnescape(alg); err != nil {
		return nil, refuse("saml.err.signature", "SigAlg is not URL-encoded")
	}
	if q.signature, err = url.QueryUnescape(sig); err != nil {
		return nil, refuse("saml.err.signature", "Signature is not URL-encoded")
	}
	return q, nil
}

// verifyQuery checks a Redirect-binding signature against the SP's
// signing certificates.
func verifyQuery(sp *SP, q *signedQuery) error {
	alg, ok := strongSigAlgs[q.sigAlg]
	if !ok && sp.AllowSHA1 {
		alg, ok = sha1SigAlgs[q.sigAlg]
	}
	if !ok {
		return refuse("saml.err.algorithm", "signature algorithm %q refused", q.sigAlg)
	}
	sig, err := base64.StdEncoding.DecodeString(q.signature)
	if err != nil {
		return refuse("saml.err.signature", "Signature is not base64")
	}
	for _, c := range sp.SigningCerts {
		if c.CheckSignature(alg, []byte(q.signed), sig) == nil {
			return nil
		}
	}
	return refuse("saml.err.signature", "the query signature does not verify with the SP's certificates")
}

// verifyEnveloped checks the enveloped XML signature of root against the
// SP's signing certificates and returns the element the signature covers,
// which is the only one read afterwards (no signature wrapping). It
// returns nil, nil when root carries no signature.
func verifyEnveloped(sp *SP, root *etree.Element, now time.Time) (*etree.Element, error) {
	sigs := childrenOf(root, nsDS, "Signature")
	if len(sigs) == 0 {
		return nil, nil
	}
	if len(sigs) > 1 {
		return nil, refuse("saml.err.signature", "more than one signature")
	}
	si := child(sigs[0], nsDS, "SignedInfo")
	if si == nil {
		return nil, refuse("saml.err.signature", "signature without SignedInfo")
	}
	method := childAttr(si, nsDS, "SignatureMethod", "Algorithm")
	_, strong := strongSigAlgs[method]
	_, weak := sha1SigAlgs[method]
	if !strong && !(weak && sp.AllowSHA1) {
		return nil, refuse("saml.err.algorithm", "signature algorithm %q refused", method)
	}
	refs := childrenOf(si, nsDS, "Reference")
	if len(refs) != 1 {
		return nil, refuse("saml.err.signature", "the signature must have exactly one reference")
	}
	dm := childAttr(refs[0], nsDS, "DigestMethod", "Algorithm")
	if !slices.Contains(strongDigests, dm) && !(dm == sha1Digest && sp.AllowSHA1) {
		return nil, refuse("saml.err.algorithm", "digest algorithm %q refused", dm)
	}
	if uri := refs[0].SelectAttrValue("URI", ""); uri != "#"+root.SelectAttrValue("ID", "\x00") {
		return nil, refuse("saml.err.signature", "the signature does not reference the message's ID")
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: sp.SigningCerts})
	vc.Clock = dsig.NewFakeClockAt(now)
	var last error
	for _, c := range sp.SigningCerts {
		// Each certificate on its own, so a KeyInfo naming an unknown
		// certificate, or none at all, still verifies against metadata.
		vc.CertificateStore = &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}}
		el := root.Copy()
		if s := child(el, nsDS, "Signature"); s != nil {
			if ki := child(s, nsDS, "KeyInfo"); ki != nil {
				s.RemoveChild(ki)
			}
		}
		signed, err := vc.Validate(el)
		if err == nil {
			return signed, nil
		}
		last = err
	}
	return nil, refuse("saml.err.signature", "the XML signature does not verify: %v", last)
}

// readAuthnRequest reads the fields of a (verified) AuthnRequest.
func readAuthnRequest(el *etree.Element) (*authnRequest, error) {
	if !is(el, nsSAMLP, "AuthnRequest") {
		return nil, refuse("saml.err.malformed", "the message is not a samlp:AuthnRequest")
	}
	if v := el.SelectAttrValue("Version", ""); v != "2.0" {
		return nil, refuse("saml.err.malformed", "Version %q is not 2.0", v)
	}
	a := &authnRequest{ID: el.SelectAttrValue("ID", ""), Destination: el.SelectAttrValue("Destination", ""),
		ACSURL: el.SelectAttrValue("AssertionConsumerServiceURL", ""), Binding: el.SelectAttrValue("ProtocolBinding", ""),
		ProviderName: el.SelectAttrValue("ProviderName", ""), Issuer: text(child(el, nsSAML, "Issuer"))}
	if !validID(a.ID) {
		return nil, refuse("saml.err.malformed", "ID %q is missing or not an xs:ID", a.ID)
	}
	if a.Issuer == "" {
		return nil, refuse("saml.err.malformed", "Issuer is missing")
	}
	t, err := time.Parse(time.RFC3339Nano, el.SelectAttrValue("IssueInstant", ""))
	if err != nil {
		return nil, refuse("saml.err.malformed", "IssueInstant is missing or not a time")
	}
	a.IssueInstant = t
	if v := el.SelectAttrValue("AssertionConsumerServiceIndex", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return nil, refuse("saml.err.malformed", "AssertionConsumerServiceIndex %q", v)
		}
		a.ACSIndex = &n
	}
	if a.ACSIndex != nil && (a.ACSURL != "" || a.Binding != "") {
		return nil, refuse("saml.err.malformed", "AssertionConsumerServiceIndex together with a URL or binding")
	}
	if a.ForceAuthn, err = xsBool(el, "ForceAuthn"); err != nil {
		return nil, err
	}
	if a.IsPassive, err = xsBool(el, "IsPassive"); err != nil {
		return nil, err
	}
	if p := child(el, nsSAMLP, "NameIDPolicy"); p != nil {
		a.NameIDFormat = p.SelectAttrValue("Format", "")
	}
	if rac := child(el, nsSAMLP, "RequestedAuthnContext"); rac != nil {
		a.Comparison = rac.SelectAttrValue("Comparison", "exact")
		for _, c := range childrenOf(rac, nsSAML, "AuthnContextClassRef") {
			if l, ok := loaOf(text(c)); ok {
				a.LoAs = append(a.LoAs, l)
			} else {
				a.UnknownLoA = true
			}
		}
	}
	if ext := child(el, nsSAMLP, "Extensions"); ext != nil {
		a.SPType = text(child(ext, nsEIDAS, "SPType"))
		if ras := child(ext, nsEIDAS, "RequestedAttributes"); ras != nil {
			for _, ra := range childrenOf(ras, nsEIDAS, "RequestedAttribute") {
				req, err := xsBool(ra, "isRequired")
				if err != nil {
					return nil, err
				}
				name := ra.SelectAttrValue("Name", "")
				if m, ok := exclusions[name]; ok {
					a.ExcludedMeths = append(a.ExcludedMeths, m)
					continue
				}
				a.Attributes = append(a.Attributes, requestedAttr{Name: name, Required: req})
			}
		}
	}
	return a, nil
}

func loaOf(uri string) (broker.LoA, bool) {
	if !strings.HasPrefix(uri, "http://eidas.europa.eu/LoA/") {
		return "", false
	}
	return broker.ParseLoA(uri)
}

func xsBool(el *etree.Element, attr string) (bool, error) {
	switch v := el.SelectAttrValue(attr, "false"); v {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	default:
		return false, refuse("saml.err.malformed", "%s=%q is not a boolean", attr, v)
	}
}

// validID reports whether s is a usable xs:ID (an NCName, bounded).
func validID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

// minLoA is the least level the request accepts, and the levels it can
// be answered with ("exact"), highest first; ok is false when no eIDAS
// level in the request can be met (NoAuthnContext).
func (a *authnRequest) levels() (min broker.LoA, allowed []broker.LoA, ok bool) {
	all := []broker.LoA{broker.High, broker.Substantial, broker.Low}
	if len(a.LoAs) == 0 {
		return broker.Low, all, !a.UnknownLoA
	}
	lowest, highest := a.LoAs[0], a.LoAs[0]
	for _, l := range a.LoAs {
		if !l.AtLeast(lowest) {
			lowest = l
		}
		if l.AtLeast(highest) {
			highest = l
		}
	}
	switch a.Comparison {
	case "minimum":
		return lowest, all, true
	case "exact":
		for _, l := range all {
			if slices.Contains(a.LoAs, l) {
				allowed = append(allowed, l)
			}
		}
		return lowest, allowed, true
	case "maximum":
		for _, l := range all {
			if highest.AtLeast(l) {
				allowed = append(allowed, l)
			}
		}
		return broker.Low, allowed, true
	case "better":
		for _, l := range all {
			if l.AtLeast(lowest) && l != lowest {
				allowed = append(allowed, l)
			}
		}
		if len(allowed) == 0 {
			return "", nil, false
		}
		return allowed[len(allowed)-1], allowed, true
	}
	return "", nil, false
}

// answerLoA is the level to assert for a session at reached: the reached
// level when allowed, else the highest allowed level below it (a stronger
// sign-in also proves the weaker level); ok false when none.
func answerLoA(reached broker.LoA, allowed []broker.LoA) (broker.LoA, bool) {
	for _, l := range allowed { // highest first
		if reached.AtLeast(l) {
			return l, true
		}
	}
	return "", false
}
