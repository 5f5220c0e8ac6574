package pkitest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPMode is how the responder answers.
type OCSPMode int

// Responder behaviours.
const (
	OCSPGood        OCSPMode = iota // a correct, signed, fresh answer echoing the nonce
	OCSPUnsigned                    // the signature is missing
	OCSPWrongSigner                 // signed by a key that is not the CA's
	OCSPStale                       // thisUpdate and nextUpdate in the past
	OCSPOtherCert                   // about another serial number
	OCSPReplayNonce                 // carries an old nonce, not the one asked
	OCSPNoNonce                     // carries no nonce (RFC 5019 pre-signed style)
	OCSPDown                        // HTTP 503
	OCSPTryLater                    // OCSP status tryLater
)

// OIDOCSPNonce is id-pkix-ocsp-nonce (RFC 8954).
var OIDOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// CRLMode is how the CRL server answers.
type CRLMode int

// CRL server behaviours.
const (
	CRLGood    CRLMode = iota // a signed CRL valid for a day
	CRLGarbage                // bytes that do not parse
	CRLStale                  // nextUpdate in the past
	CRLDown                   // HTTP 503
)

// CRLScope is the Issuing Distribution Point (RFC 5280 5.2.5) the CRL
// server writes into its CRLs, as partitioned CRLs carry; the zero value
// writes none (a full CRL).
type CRLScope struct {
	DistributionPoints []string // fullName URIs: the partition(s) this CRL is
	OnlyUserCerts      bool
	OnlyCACerts        bool
	OnlySomeReasons    bool // writes onlySomeReasons {keyCompromise}
	IndirectCRL        bool
}

func (s CRLScope) zero() bool {
	return len(s.DistributionPoints) == 0 && !s.OnlyUserCerts && !s.OnlyCACerts && !s.OnlySomeReasons && !s.IndirectCRL
}

// OIDIssuingDistributionPoint is id-ce-issuingDistributionPoint.
var OIDIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}

// MarshalIDP encodes the extension value (implicit tags, as RFC 5280's
// module has them).
func MarshalIDP(s CRLScope) []byte {
	var body []byte
	if len(s.DistributionPoints) > 0 {
		var names []byte
		for _, u := range s.DistributionPoints {
			names = append(names, tlv(0x86, []byte(u))...) // [6] uniformResourceIdentifier
		}
		body = append(body, tlv(0xa0, tlv(0xa0, names))...) // [0] distributionPoint { [0] fullName }
	}
	for _, f := range []struct {
		tag byte
		on  bool
	}{{0x81, s.OnlyUserCerts}, {0x82, s.OnlyCACerts}} {
		if f.on {
			body = append(body, tlv(f.tag, []byte{0xff})...)
		}
	}
	if s.OnlySomeReasons {
		body = append(body, tlv(0x83, []byte{0x06, 0x40})...) // BIT STRING {keyCompromise(1)}
	}
	if s.IndirectCRL {
		body = append(body, tlv(0x84, []byte{0xff})...)
	}
	return tlv(0x30, body)
}

func tlv(tag byte, v []byte) []byte {
	b, _ := asn1.Marshal(asn1.RawValue{FullBytes: nil, Class: int(tag >> 6), Tag: int(tag & 0x1f),
		IsCompound: tag&0x20 != 0, Bytes: v})
	return b
}

// Revocation is an OCSP responder and a CRL server for one CA, on one
// httptest server (paths /ocsp, and /crl and anything under /crl/ for
// partitions; every path serves the same CRL, scoped by SetCRLScope).
type Revocation struct {
	CA     *CA
	Server *httptest.Server
	Now    func() time.Time

	mu       sync.Mutex
	revoked  map[string]time.Time
	ocspMode OCSPMode
	crlMode  CRLMode
	crlScope CRLScope
	ocspHits int
	crlHits  int
	crlNum   int64
}

// StartRevocation starts the servers for ca and sets ca's OCSP and CRL
// URLs, so certificates it issues afterwards point at them. The server is
// closed by the caller (t.Cleanup(r.Close)).
func StartRevocation(ca *CA, now func() time.Time) *Revocation {
	r := &Revocation{CA: ca, Now: now, revoked: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/ocsp", r.serveOCSP)
	mux.HandleFunc("/crl", r.serveCRL)
	mux.HandleFunc("/crl/", r.serveCRL)
	r.Server = httptest.NewServer(mux)
	ca.OCSPURL, ca.CRLURL = r.Server.URL+"/ocsp", r.Server.URL+"/crl"
	return r
}

// Close stops the server.
func (r *Revocation) Close() { r.Server.Close() }

// Revoke marks a certificate revoked at t.
func (r *Revocation) Revoke(c *x509.Certificate, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[c.SerialNumber.String()] = t
}

// SetOCSP changes the responder's behaviour.
func (r *Revocation) SetOCSP(m OCSPMode) { r.mu.Lock(); r.ocspMode = m; r.mu.Unlock() }

// SetCRL changes the CRL server's behaviour.
func (r *Revocation) SetCRL(m CRLMode) { r.mu.Lock(); r.crlMode = m; r.mu.Unlock() }

// SetCRLScope sets the Issuing Distribution Point of the CRLs served.
func (r *Revocation) SetCRLScope(s CRLScope) { r.mu.Lock(); r.crlScope = s; r.mu.Unlock() }

// Hits returns how many OCSP and CRL requests were served.
func (r *Revocation) Hits() (ocspHits, crlHits int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ocspHits, r.crlHits
}

// ocspRequest mirrors RFC 6960's OCSPRequest with request extensions.
type ocspRequest struct {
	TBSRequest tbsRequest
}

type tbsRequest struct {
	Version       int              `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName pkix.RDNSequence `asn1:"explicit,tag:1,optional"`
	RequestList   []asn1.RawValue
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

func (r *Revocation) serveOCSP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.ocspHits++
	mode := r.ocspMode
	r.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	switch mode {
	case OCSPDown:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	case OCSPTryLater:
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(ocsp.TryLaterErrorResponse)
		return
	}
	parsed, err := ocsp.ParseRequest(body)
	if err != nil {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	var full ocspRequest
	var nonce []byte
	if _, err := asn1.Unmarshal(body, &full); err == nil {
		for _, e := range full.TBSRequest.Extensions {
			if e.Id.Equal(OIDOCSPNonce) {
				nonce = e.Value
			}
		}
	}
	now := r.Now()
	tmpl := SingleStatus{Serial: parsed.SerialNumber, Status: ocsp.Good, ThisUpdate: now.Add(-time.Minute),
		NextUpdate: now.Add(4 * time.Hour)}
	r.mu.Lock()
	if at, ok := r.revoked[parsed.SerialNumber.String()]; ok {
		tmpl.Status, tmpl.RevokedAt = ocsp.Revoked, at
	}
	r.mu.Unlock()
	signer := r.CA.Key
	switch mode {
	case OCSPStale:
		tmpl.ThisUpdate, tmpl.NextUpdate = now.Add(-10*24*time.Hour), now.Add(-24*time.Hour)
	case OCSPOtherCert:
		tmpl.Serial = new(big.Int).Add(parsed.SerialNumber, big.NewInt(1))
	case OCSPReplayNonce:
		old, _ := asn1.Marshal([]byte("an old nonce, seen before"))
		nonce = old
	case OCSPNoNonce:
		nonce = nil
	case OCSPWrongSigner:
		signer = newKey()
	}
	der, err := CreateOCSPResponse(r.CA.Cert, signer, tmpl, nonce, now, mode == OCSPUnsigned)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(der)
}

func (r *Revocation) serveCRL(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	r.crlHits++
	mode, scope := r.crlMode, r.crlScope
	r.crlNum++
	num := r.crlNum
	var entries []x509.RevocationListEntry
	for s, at := range r.revoked {
		n, _ := new(big.Int).SetString(s, 10)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
	}
	r.mu.Unlock()
	switch mode {
	case CRLDown:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	case CRLGarbage:
		_, _ = w.Write([]byte("this is not a certificate revocation list"))
		return
	}
	now := r.Now()
	this, next := now.Add(-time.Minute), now.Add(24*time.Hour)
	if mode == CRLStale {
		this, next = now.Add(-10*24*time.Hour), now.Add(-24*time.Hour)
	}
	tmpl := &x509.RevocationList{Number: big.NewInt(num), ThisUpdate: this, NextUpdate: next, RevokedCertificateEntries: entries}
	if !scope.zero() {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: OIDIssuingDistributionPoint, Critical: true, Value: MarshalIDP(scope)}}
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.CA.Cert, r.CA.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(der)
}

// SingleStatus is the status of one certificate in an OCSP response.
type SingleStatus struct {
	Serial                            *big.Int
	Status                            int // ocsp.Good, ocsp.Revoked, ocsp.Unknown
	RevokedAt, ThisUpdate, NextUpdate time.Time
}

// The ASN.1 of a basic OCSP response (RFC 6960 4.2.1), with the response
// extensions that golang.org/x/crypto/ocsp's CreateResponse cannot write
// (the nonce lives there).
type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

type revokedInfo struct {
	RevocationTime time.Time `asn1:"generalized"`
}

type singleResponse struct {
	CertID     certID
	Good       asn1.Flag   `asn1:"tag:0,optional"`
	Revoked    revokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag   `asn1:"tag:2,optional"`
	ThisUpdate time.Time   `asn1:"generalized"`
	NextUpdate time.Time   `asn1:"generalized,explicit,tag:0,optional"`
}

type responseData struct {
	RawResponderID asn1.RawValue
	ProducedAt     time.Time `asn1:"generalized"`
	Responses      []singleResponse
	Extensions     []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type basicResponse struct {
	TBSResponseData    responseData
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
}

type responseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type responseASN1 struct {
	Status   asn1.Enumerated
	Response responseBytes `asn1:"explicit,tag:0,optional"`
}

var (
	oidSHA1            = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidOCSPBasic       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
)

// CreateOCSPResponse signs (ECDSA with SHA-256, responder ID by name) a
// basic OCSP response from issuer about one certificate, carrying nonce
// (the DER OCTET STRING value of the extension) when it is not nil.
// unsigned leaves the signature empty.
func CreateOCSPResponse(issuer *x509.Certificate, key crypto.Signer, st SingleStatus, nonce []byte, now time.Time, unsigned bool) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	h := crypto.SHA1.New()
	h.Write(spki.PublicKey.RightAlign())
	keyHash := h.Sum(nil)
	h.Reset()
	h.Write(issuer.RawSubject)
	nameHash := h.Sum(nil)
	single := singleResponse{CertID: certID{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA1,
		Parameters: asn1.RawValue{Tag: 5}}, NameHash: nameHash, IssuerKeyHash: keyHash, SerialNumber: st.Serial},
		ThisUpdate: st.ThisUpdate.UTC(), NextUpdate: st.NextUpdate.UTC()}
	switch st.Status {
	case ocsp.Good:
		single.Good = true
	case ocsp.Unknown:
		single.Unknown = true
	default:
		single.Revoked = revokedInfo{RevocationTime: st.RevokedAt.UTC()}
	}
	rd := responseData{RawResponderID: asn1.RawValue{Class: 2, Tag: 1, IsCompound: true, Bytes: issuer.RawSubject},
		ProducedAt: now.UTC().Truncate(time.Second), Responses: []singleResponse{single}}
	if nonce != nil {
		rd.Extensions = []pkix.Extension{{Id: OIDOCSPNonce, Value: nonce}}
	}
	tbs, err := asn1.Marshal(rd)
	if err != nil {
		return nil, err
	}
	var sig []byte
	if !unsigned {
		sum := sha256.Sum256(tbs)
		if sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256); err != nil {
			return nil, err
		}
	}
	basic, err := asn1.Marshal(basicResponse{TBSResponseData: rd,
		SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256},
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(responseASN1{Status: 0, Response: responseBytes{ResponseType: oidOCSPBasic, Response: basic}})
}
