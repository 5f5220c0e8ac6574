package certificate

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/clau-eid/clau/internal/identity"
)

var (
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// documentFromSerialNumber reads the DNI/NIE from a subject serialNumber:
// "IDCES-12345678Z" (ETSI EN 319 412-1 semantics identifier: ID, country
// ES, then the number) or the plain "12345678Z" of older certificates.
func documentFromSerialNumber(s string) (identity.Document, error) {
	s = strings.TrimSpace(s)
	if len(s) > 6 && strings.EqualFold(s[:2], "ID") && s[5] == '-' {
		if !strings.EqualFold(s[2:5], "CES") {
			return identity.Document{}, fmt.Errorf("identifier of another country (%s)", s[2:5])
		}
		s = s[6:]
	}
	return identity.ParseDocument(s)
}

// readIdentity takes the document and names from the subject: given name
// and surnames from the GN and SN attributes, or, when those are absent,
// from a DNIe-style common name "SURNAMES, NAME (AUTENTICACIÓN)".
func readIdentity(p *Profile, c *x509.Certificate) (*Result, *Refused) {
	doc, err := documentFromSerialNumber(c.Subject.SerialNumber)
	if err != nil {
		return nil, refuse(c, ReasonNoIdentity, "profile %s: subject serialNumber: %v", p.Name, err)
	}
	var given, surnames string
	for _, a := range c.Subject.Names {
		v, _ := a.Value.(string)
		switch {
		case a.Type.Equal(oidGivenName):
			given = v
		case a.Type.Equal(oidSurname):
			surnames = v
		}
	}
	if given == "" || surnames == "" {
		cn := c.Subject.CommonName
		if i := strings.Index(cn, " ("); i > 0 {
			cn = cn[:i]
		}
		if sur, name, ok := strings.Cut(cn, ","); ok {
			given, surnames = strings.TrimSpace(name), strings.TrimSpace(sur)
		}
	}
	if given == "" || surnames == "" {
		return nil, refuse(c, ReasonNoIdentity, "profile %s: no given name or surname in the subject", p.Name)
	}
	first, second := splitSurnames(surnames)
	return &Result{Profile: p, Cert: c, Document: doc, GivenName: given, FirstSurname: first, SecondSurname: second,
		Serial: serialHex(c), Issuer: c.Issuer.String()}, nil
}

// splitSurnames splits "GARCIA LOPEZ" into its two surnames. Compound
// surnames ("DE LA FUENTE") make any other split a guess, so anything but
// exactly two words stays whole as the first surname.
func splitSurnames(s string) (string, string) {
	f := strings.Fields(s)
	if len(f) == 2 {
		return f[0], f[1]
	}
	return strings.Join(f, " "), ""
}
