package certificate

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// oidOCSPNonce is id-pkix-ocsp-nonce (RFC 8954).
var oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// Size limits of what responders send.
const (
	maxOCSPBytes = 64 << 10
	maxCRLBytes  = 64 << 20
)

// revocationChecker asks OCSP first, then the CRL, keeping good OCSP
// answers until their nextUpdate and CRLs until theirs.
type revocationChecker struct {
	opts Options

	mu   sync.Mutex
	ocsp map[string]ocspEntry // issuer key hash + serial
	crls map[string]*crlEntry // by URL
}

type ocspEntry struct {
	revokedAt time.Time // zero: good
	until     time.Time
}

type crlEntry struct {
	issuer  []byte
	revoked map[string]time.Time
	next    time.Time
	scope   *issuingDistributionPoint // nil: a full CRL
}

func newRevocationChecker(o Options) *revocationChecker {
	return &revocationChecker{opts: o, ocsp: map[string]ocspEntry{}, crls: map[string]*crlEntry{}}
}

func ocspKey(leaf, issuer *x509.Certificate) string {
	sum := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	return string(sum[:]) + leaf.SerialNumber.String()
}

// checkChain checks every certificate of a verified chain (leaf first,
// anchor last) but the anchor, from the CA nearest the anchor down to the
// leaf, so that a revoked CA is named even when the leaf's own responder
// (run by that CA) still vouches for it. It returns how the leaf's
// revocation was established and how each intermediate's was (nearest
// the leaf first, comma-separated; "" when the chain has none). A refusal
// about an intermediate names the presented leaf in Serial and Issuer and
// the intermediate in CASerial and CAIssuer.
func (rc *revocationChecker) checkChain(ctx context.Context, chain []*x509.Certificate) (string, string, *Refused) {
	if len(chain) < 2 { // the leaf is itself an anchor: nothing above to ask
		return "anchor", "", nil
	}
	var cas []string
	for i := len(chain) - 2; i >= 1; i-- {
		how, r := rc.check(ctx, chain[i], chain[i+1])
		if r != nil {
			leaf := refuse(chain[0], r.Reason, "intermediate CA %q: %s", chain[i].Subject.String(), r.Detail)
			leaf.CASerial, leaf.CAIssuer = r.Serial, r.Issuer
			return "", "", leaf
		}
		cas = append([]string{how}, cas...)
	}
	how, r := rc.check(ctx, chain[0], chain[1])
	return how, strings.Join(cas, ","), r
}

// check returns how revocation of c (issued by issuer) was established,
// or the refusal. An intermediate CA that names neither an OCSP responder
// nor a CRL has nothing to check ("none-listed"): the operator trusts it
// by configuring its anchor. A leaf must name one.
func (rc *revocationChecker) check(ctx context.Context, leaf, issuer *x509.Certificate) (string, *Refused) {
	if leaf.IsCA && len(leaf.OCSPServer) == 0 && len(leaf.CRLDistributionPoints) == 0 {
		return "none-listed", nil
	}
	now := rc.opts.Now()
	key := ocspKey(leaf, issuer)
	rc.mu.Lock()
	e, ok := rc.ocsp[key]
	rc.mu.Unlock()
	if ok && now.Before(e.until) {
		if !e.revokedAt.IsZero() {
			return "", refuse(leaf, ReasonRevoked, "revoked at %s (cached OCSP answer)", e.revokedAt.UTC().Format(time.RFC3339))
		}
		return "ocsp-cached", nil
	}
	var why []string
	for _, u := range leaf.OCSPServer {
		how, r, err := rc.askOCSP(ctx, u, leaf, issuer, key)
		if r != nil {
			return "", r
		}
		if err == nil {
			return how, nil
		}
		why = append(why, "ocsp: "+err.Error())
	}
	for _, u := range leaf.CRLDistributionPoints {
		how, r, err := rc.checkCRL(ctx, u, leaf, issuer)
		if r != nil {
			return "", r
		}
		if err == nil {
			return how, nil
		}
		why = append(why, "crl: "+err.Error())
	}
	if len(why) == 0 {
		why = append(why, "the certificate names no OCSP responder and no CRL")
	}
	if rc.opts.FailClosed {
		return "", refuse(leaf, ReasonNoRevocation, "%s", strings.Join(why, "; "))
	}
	return "unchecked", nil
}

// ocspRequest mirrors RFC 6960's OCSPRequest, to add the nonce that
// x/crypto/ocsp's CreateRequest does not write.
type ocspRequest struct {
	TBSRequest struct {
		RequestList []asn1.RawValue
		Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
	}
}

// responseData is the part of a basic OCSP response that holds the
// response extensions (the nonce), which x/crypto/ocsp does not expose.
type responseData struct {
	Version        int `asn1:"optional,default:0,explicit,tag:0"`
	RawResponderID asn1.RawValue
	ProducedAt     time.Time `asn1:"generalized"`
	Responses      []asn1.RawValue
	Extensions     []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

func newOCSPRequest(leaf, issuer *x509.Certificate) (der, nonce []byte, err error) {
	base, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return nil, nil, err
	}
	var req ocspRequest
	if _, err := asn1.Unmarshal(base, &req); err != nil {
		return nil, nil, err
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	if nonce, err = asn1.Marshal(n[:]); err != nil {
		return nil, nil, err
	}
	req.TBSRequest.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: nonce}}
	der, err = asn1.Marshal(req)
	return der, nonce, err
}

// askOCSP returns (how, nil, nil) on an answer, a refusal for a revoked
// certificate or an answer that must not be believed, and an error when
// the responder gave no usable answer (so the CRL is tried).
func (rc *revocationChecker) askOCSP(ctx context.Context, url string, leaf, issuer *x509.Certificate, key string) (string, *Refused, error) {
	reqDER, nonce, err := newOCSPRequest(leaf, issuer)
	if err != nil {
		return "", nil, err
	}
	body, err := rc.fetch(ctx, http.MethodPost, url, reqDER, maxOCSPBytes)
	if err != nil {
		return "", nil, err
	}
	now := rc.opts.Now()
	resp, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	var re ocsp.ResponseError
	if errors.As(err, &re) {
		return "", nil, fmt.Errorf("responder status %v", re.Status)
	}
	if err != nil {
		return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: %v", url, err), nil
	}
	if resp.Certificate != nil { // a delegated responder: RFC 6960 4.2.2.2
		if !containsEKU(resp.Certificate.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) ||
			now.Before(resp.Certificate.NotBefore) || now.After(resp.Certificate.NotAfter) {
			return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: responder certificate not valid for OCSP signing", url), nil
		}
	}
	var rd responseData
	if _, err := asn1.Unmarshal(resp.TBSResponseData, &rd); err != nil {
		return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: %v", url, err), nil
	}
	var got []byte
	for _, e := range rd.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			got = e.Value
		}
	}
	switch {
	case got != nil && !bytes.Equal(got, nonce):
		return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: nonce is not ours (replayed)", url), nil
	case got == nil && rc.opts.RequireNonce:
		return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: no nonce", url), nil
	}
	skew := rc.opts.Skew
	if resp.ThisUpdate.After(now.Add(skew)) {
		return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: thisUpdate in the future", url), nil
	}
	if resp.NextUpdate.IsZero() || now.After(resp.NextUpdate.Add(skew)) {
		return "", refuse(leaf, ReasonOCSPInvalid, "OCSP answer from %s: stale (nextUpdate %s)", url,
			resp.NextUpdate.UTC().Format(time.RFC3339)), nil
	}
	switch resp.Status {
	case ocsp.Good:
		rc.remember(key, ocspEntry{until: resp.NextUpdate})
		return "ocsp", nil, nil
	case ocsp.Revoked:
		rc.remember(key, ocspEntry{revokedAt: resp.RevokedAt, until: resp.NextUpdate})
		return "", refuse(leaf, ReasonRevoked, "revoked at %s (OCSP)", resp.RevokedAt.UTC().Format(time.RFC3339)), nil
	}
	return "", nil, errors.New("responder does not know the certificate")
}

func (rc *revocationChecker) remember(key string, e ocspEntry) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.ocsp) > 100_000 { // bounded: drop everything rather than grow
		clear(rc.ocsp)
	}
	rc.ocsp[key] = e
}

func containsEKU(l []x509.ExtKeyUsage, u x509.ExtKeyUsage) bool {
	for _, x := range l {
		if x == u {
			return true
		}
	}
	return false
}

// checkCRL consults the CRL at url, fetching it when not cached or past
// its nextUpdate. A CRL that does not parse, is not signed by the issuer
// or is out of date is no answer.
func (rc *revocationChecker) checkCRL(ctx context.Context, url string, leaf, issuer *x509.Certificate) (string, *Refused, error) {
	now := rc.opts.Now()
	rc.mu.Lock()
	e := rc.crls[url]
	rc.mu.Unlock()
	how := "crl-cached"
	if e == nil || !now.Before(e.next) || !bytes.Equal(e.issuer, issuer.RawSubject) {
		var err error
		if e, err = rc.fetchCRL(ctx, url, issuer, now); err != nil {
			return "", nil, err
		}
		how = "crl"
	}
	if e.scope != nil {
		if why := e.scope.covers(leaf, url); why != "" {
			return "", nil, fmt.Errorf("CRL %s does not cover the certificate: %s", url, why)
		}
	}
	if at, ok := e.revoked[leaf.SerialNumber.String()]; ok {
		return "", refuse(leaf, ReasonRevoked, "revoked at %s (CRL)", at.UTC().Format(time.RFC3339)), nil
	}
	return how, nil, nil
}

func (rc *revocationChecker) fetchCRL(ctx context.Context, url string, issuer *x509.Certificate, now time.Time) (*crlEntry, error) {
	der, err := rc.fetch(ctx, http.MethodGet, url, nil, maxCRLBytes)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("CRL %s does not parse: %w", url, err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL %s is not signed by the issuer: %w", url, err)
	}
	skew := rc.opts.Skew
	if crl.ThisUpdate.After(now.Add(skew)) || crl.NextUpdate.IsZero() || now.After(crl.NextUpdate.Add(skew)) {
		return nil, fmt.Errorf("CRL %s is out of date (nextUpdate %s)", url, crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	e := &crlEntry{issuer: issuer.RawSubject, revoked: map[string]time.Time{}, next: crl.NextUpdate}
	for _, x := range crl.Extensions {
		if x.Id.Equal(oidIssuingDistributionPoint) {
			if e.scope, err = parseIDP(x.Value); err != nil {
				return nil, fmt.Errorf("CRL %s: %w", url, err)
			}
		}
	}
	for _, r := range crl.RevokedCertificateEntries {
		e.revoked[r.SerialNumber.String()] = r.RevocationTime
	}
	rc.mu.Lock()
	rc.crls[url] = e
	rc.mu.Unlock()
	return e, nil
}

// fetch does one bounded HTTP exchange.
func (rc *revocationChecker) fetch(ctx context.Context, method, url string, body []byte, limit int64) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("unsupported URL %q", url)
	}
	ctx, cancel := context.WithTimeout(ctx, rc.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	resp, err := rc.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", url, limit)
	}
	return b, nil
}
