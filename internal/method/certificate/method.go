package certificate

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/store"
)

// Name is the method's name in SP policies and transactions.
const Name = broker.MethodCertificate

// Method signs citizens in with a certificate.
type Method struct {
	store     store.Store
	validator *Validator
	now       func() time.Time
}

// New returns the method.
func New(s store.Store, v *Validator, now func() time.Time) *Method {
	if now == nil {
		now = time.Now
	}
	return &Method{store: s, validator: v, now: now}
}

// Validator is the method's certificate validator.
func (m *Method) Validator() *Validator { return m.validator }

// Check validates a presented chain without looking the citizen up; a
// refusal is audited.
func (m *Method) Check(ctx context.Context, presented []*x509.Certificate, source string) (*Result, error) {
	res, err := m.validator.Validate(ctx, presented)
	if err != nil {
		var r *Refused
		if errors.As(err, &r) {
			m.Refuse(ctx, "", r, nil, source)
		}
		return nil, err
	}
	return res, nil
}

// Identify validates a presented chain and finds the registered, active
// citizen it names. A certificate that is good but names nobody
// registered comes back with its Result and a ReasonNotRegistered
// refusal, so the caller may offer registration.
func (m *Method) Identify(ctx context.Context, presented []*x509.Certificate, source string) (*Result, *identity.Citizen, error) {
	res, err := m.Check(ctx, presented, source)
	if err != nil {
		return nil, nil, err
	}
	c, err := m.store.CitizenByDocument(ctx, res.Document.Number)
	if errors.Is(err, store.ErrNotFound) {
		r := refuse(res.Cert, ReasonNotRegistered, "no live registration for the document")
		m.Refuse(ctx, "", r, res, source)
		return res, nil, r
	}
	if err != nil {
		return nil, nil, err
	}
	var r *Refused
	switch c.Status {
	case identity.StatusActive:
	case identity.StatusSuspended:
		r = refuse(res.Cert, ReasonSuspended, "registration suspended")
	default: // pending: never activated; a deregistered record is not found above
		r = refuse(res.Cert, ReasonNotActive, "registration status %s", c.Status)
	}
	if r != nil {
		m.Refuse(ctx, c.ID, r, res, source)
		return res, c, r
	}
	return res, c, nil
}

// Refuse records a refusal in the audit trail with the certificate's
// serial number and issuer.
func (m *Method) Refuse(ctx context.Context, citizenID string, r *Refused, res *Result, source string) {
	actor, subject := "anonymous", ""
	if citizenID != "" {
		actor, subject = "citizen:"+citizenID, "citizen:"+citizenID
	}
	d := map[string]string{"method": Name, "reason": r.Reason, "detail": r.Detail, "serial": r.Serial, "issuer": r.Issuer}
	if r.CASerial != "" {
		d["ca_serial"], d["ca_issuer"] = r.CASerial, r.CAIssuer
	}
	if res != nil {
		d["profile"], d["document"] = res.Profile.Name, res.Document.Masked()
	}
	err := audit.New(m.store, m.now).Record(ctx, audit.Event{Actor: actor, Action: "login.cert.refused", Subject: subject,
		Source: source, Outcome: audit.Denied, Details: d})
	if err != nil {
		slog.Default().Error("audit: certificate refusal not recorded", "error", err.Error())
	}
}

// Accepted records in tx that citizenID was identified by the
// certificate, with its serial, issuer and how revocation was checked.
func (m *Method) Accepted(ctx context.Context, tx store.Tx, citizenID string, res *Result, source, action string) error {
	return audit.Append(ctx, tx, &audit.Event{At: m.now().UTC(), Actor: "citizen:" + citizenID, Action: action,
		Subject: "citizen:" + citizenID, Source: source, Details: map[string]string{"method": Name,
			"profile": res.Profile.Name, "serial": res.Serial, "issuer": res.Issuer, "revocation": res.Revocation,
			"ca_revocation": res.CARevocation, "loa": string(res.Profile.LoA)}})
}

// AMR is what the transaction records for a certificate sign-in.
func (res *Result) AMR() []string {
	if res.Profile.AMR == "" {
		return []string{"swk"}
	}
	if res.Profile.AMR == "hwk" {
		return []string{"hwk", "sc"} // a key on a smart card (RFC 8176)
	}
	return []string{res.Profile.AMR}
}
