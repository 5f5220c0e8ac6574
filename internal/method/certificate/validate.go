package certificate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
)

// Profile is one kind of citizen certificate Clau accepts: the CAs that
// issue it, what it must say, and the level it gives.
type Profile struct {
	Name          string              // "dnie", "fnmt", ...
	Roots         []*x509.Certificate // trust anchors
	Intermediates []*x509.Certificate // issuing CAs
	// Policies: the leaf must carry at least one (empty: any policy).
	Policies []x509.OID
	// AnyExtKeyUsage accepts a leaf without the TLS client-authentication
	// extended key usage (some card certificates carry none).
	AnyExtKeyUsage bool
	LoA            broker.LoA
	// AMR is the RFC 8176 value: "hwk" for a key on a card, "swk" for a
	// software key.
	AMR string

	roots, inters *x509.CertPool
}

// Refusal reasons, kept in the audit trail; each maps to a message.
const (
	ReasonNoCertificate  = "no_certificate"
	ReasonExpired        = "expired"
	ReasonNotYetValid    = "not_yet_valid"
	ReasonUntrusted      = "unknown_issuer"
	ReasonKeyUsage       = "wrong_key_usage"
	ReasonPolicy         = "wrong_policy"
	ReasonRevoked        = "revoked"
	ReasonOCSPInvalid    = "ocsp_invalid"
	ReasonNoRevocation   = "revocation_unavailable"
	ReasonNoIdentity     = "no_identity"
	ReasonNotRegistered  = "not_registered"
	ReasonNotActive      = "not_active"
	ReasonSuspended      = "suspended"
	ReasonDocumentChange = "document_mismatch"
	ReasonLevel          = "level_too_low"
)

// messages maps a reason to the message the citizen sees.
var messages = map[string]string{
	ReasonNoCertificate:  "cert.none",
	ReasonExpired:        "cert.expired",
	ReasonNotYetValid:    "cert.not_yet_valid",
	ReasonUntrusted:      "cert.untrusted",
	ReasonKeyUsage:       "cert.key_usage",
	ReasonPolicy:         "cert.key_usage",
	ReasonRevoked:        "cert.revoked",
	ReasonOCSPInvalid:    "cert.revocation_failed",
	ReasonNoRevocation:   "cert.revocation_failed",
	ReasonNoIdentity:     "cert.no_identity",
	ReasonNotRegistered:  "cert.not_registered",
	ReasonNotActive:      "cert.not_active",
	ReasonSuspended:      "cert.suspended",
	ReasonDocumentChange: "cert.document_mismatch",
	ReasonLevel:          "cert.level_too_low",
}

// Refused is why a certificate was not accepted. It unwraps to the
// problem the citizen sees; Reason and Detail go to the audit trail.
type Refused struct {
	Reason string
	Detail string // internal, English, no personal data
	Serial string // the certificate's serial number (hex)
	Issuer string // the certificate's issuer DN
	// CASerial and CAIssuer name the intermediate CA a refusal is about
	// (revoked, or its revocation unknown); "" when it is about the leaf.
	CASerial, CAIssuer string
}

func (e *Refused) Error() string { return "certificate refused: " + e.Reason + ": " + e.Detail }

// Problem is what the citizen is shown.
func (e *Refused) Problem() *problem.Error {
	status := http.StatusForbidden
	if e.Reason == ReasonNoRevocation {
		status = http.StatusServiceUnavailable
	}
	return problem.New(status, messages[e.Reason])
}

// Unwrap lets problem.As find the citizen's message.
func (e *Refused) Unwrap() error { return e.Problem() }

// Refuse returns a refusal of c for one of the Reason values.
func Refuse(c *x509.Certificate, reason, detail string) *Refused {
	return refuse(c, reason, "%s", detail)
}

func refuse(c *x509.Certificate, reason, format string, args ...any) *Refused {
	r := &Refused{Reason: reason, Detail: fmt.Sprintf(format, args...)}
	if c != nil {
		r.Serial, r.Issuer = serialHex(c), c.Issuer.String()
	}
	return r
}

func serialHex(c *x509.Certificate) string { return strings.ToUpper(c.SerialNumber.Text(16)) }

// Result is an accepted certificate: who it names, at which level.
type Result struct {
	Profile       *Profile
	Cert          *x509.Certificate
	Document      identity.Document
	GivenName     string
	FirstSurname  string
	SecondSurname string
	Serial        string
	Issuer        string
	// Revocation says how revocation was checked: "ocsp", "ocsp-cached",
	// "crl", "crl-cached" or "unchecked" (fail-open policy, no answer).
	Revocation string
	// CARevocation is the same for each intermediate CA, nearest the leaf
	// first, comma-separated ("none-listed" for a CA that names no
	// responder or CRL); "" when the leaf is issued by the anchor.
	CARevocation string
}

// Validator checks client certificates against the configured profiles.
type Validator struct {
	profiles []*Profile
	rev      *revocationChecker
	now      func() time.Time
}

// Options tune revocation checking.
type Options struct {
	// FailClosed refuses a certificate when neither OCSP nor the CRL gives
	// a usable answer. Off, such a certificate is accepted and the audit
	// trail says its revocation went unchecked.
	FailClosed bool
	// RequireNonce refuses OCSP answers without our nonce (pre-signed,
	// RFC 5019 style). A nonce that differs is refused always.
	RequireNonce bool
	// Timeout bounds each OCSP or CRL request; default 5 s.
	Timeout time.Duration
	// Skew is the clock difference tolerated on OCSP and CRL times;
	// default 5 min.
	Skew time.Duration
	// HTTPClient fetches OCSP answers and CRLs; default a plain client.
	HTTPClient *http.Client
	Now        func() time.Time
}

// NewValidator returns a validator over the profiles.
func NewValidator(profiles []*Profile, o Options) (*Validator, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Skew == 0 {
		o.Skew = 5 * time.Minute
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout}
	}
	for _, p := range profiles {
		if len(p.Roots) == 0 {
			return nil, fmt.Errorf("certificate profile %q has no trust anchor", p.Name)
		}
		if !p.LoA.Valid() {
			return nil, fmt.Errorf("certificate profile %q: unknown level %q", p.Name, p.LoA)
		}
		p.roots, p.inters = x509.NewCertPool(), x509.NewCertPool()
		for _, c := range p.Roots {
			p.roots.AddCert(c)
		}
		for _, c := range p.Intermediates {
			p.inters.AddCert(c)
		}
	}
	return &Validator{profiles: profiles, now: o.Now, rev: newRevocationChecker(o)}, nil
}

// Validate checks a client's certificate chain (leaf first, as TLS hands
// it over): validity dates, chain to a profile's anchors, key usage,
// policy, revocation; then reads the identity.
func (v *Validator) Validate(ctx context.Context, presented []*x509.Certificate) (*Result, error) {
	if len(presented) == 0 {
		return nil, refuse(nil, ReasonNoCertificate, "no client certificate")
	}
	leaf := presented[0]
	now := v.now()
	if now.After(leaf.NotAfter) {
		return nil, refuse(leaf, ReasonExpired, "expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, refuse(leaf, ReasonNotYetValid, "valid from %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, refuse(leaf, ReasonKeyUsage, "key usage %d lacks digitalSignature", leaf.KeyUsage)
	}
	if leaf.IsCA {
		return nil, refuse(leaf, ReasonKeyUsage, "a CA certificate")
	}
	var firstErr *Refused
	for _, p := range v.profiles {
		chain, r := v.verify(p, leaf, presented[1:], now)
		if r != nil {
			if firstErr == nil || firstErr.Reason == ReasonUntrusted {
				firstErr = r
			}
			continue
		}
		res, r := readIdentity(p, leaf)
		if r != nil {
			return nil, r
		}
		how, caHow, r := v.rev.checkChain(ctx, chain)
		if r != nil {
			return nil, r
		}
		res.Revocation, res.CARevocation = how, caHow
		return res, nil
	}
	if firstErr == nil {
		firstErr = refuse(leaf, ReasonUntrusted, "no certificate profile configured")
	}
	return nil, firstErr
}

// verify builds a chain to p's anchors.
func (v *Validator) verify(p *Profile, leaf *x509.Certificate, extra []*x509.Certificate, now time.Time) ([]*x509.Certificate, *Refused) {
	inters := p.inters
	if len(extra) > 0 {
		inters = p.inters.Clone()
		for _, c := range extra {
			inters.AddCert(c)
		}
	}
	eku := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if p.AnyExtKeyUsage {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inters, CurrentTime: now, KeyUsages: eku})
	if err != nil {
		var inv x509.CertificateInvalidError
		switch {
		case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
			return nil, refuse(leaf, ReasonKeyUsage, "profile %s: %v", p.Name, err)
		case errors.As(err, &inv) && inv.Reason == x509.Expired:
			return nil, refuse(leaf, ReasonExpired, "profile %s: a CA of the chain: %v", p.Name, err)
		}
		return nil, refuse(leaf, ReasonUntrusted, "profile %s: %v", p.Name, err)
	}
	if len(p.Policies) > 0 && !slices.ContainsFunc(leaf.Policies, func(o x509.OID) bool {
		return slices.ContainsFunc(p.Policies, o.Equal)
	}) {
		return nil, refuse(leaf, ReasonPolicy, "profile %s: no accepted certificate policy", p.Name)
	}
	return chains[0], nil
}
