package certificate

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// oidIssuingDistributionPoint is id-ce-issuingDistributionPoint (RFC 5280
// 5.2.5). crypto/x509 leaves it among a CRL's extensions, unread.
var oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}

// issuingDistributionPoint is what a CRL says it covers.
type issuingDistributionPoint struct {
	URIs            []string // fullName URIs; none: any distribution point
	RelativeName    bool     // nameRelativeToCRLIssuer, which Clau cannot match
	OnlyUserCerts   bool
	OnlyCACerts     bool
	OnlySomeReasons bool
	IndirectCRL     bool
	OnlyAttrCerts   bool
}

// parseIDP reads the extension's value:
//
//	IssuingDistributionPoint ::= SEQUENCE {
//	  distributionPoint          [0] DistributionPointName OPTIONAL,
//	  onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
//	  onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
//	  onlySomeReasons            [3] ReasonFlags OPTIONAL,
//	  indirectCRL                [4] BOOLEAN DEFAULT FALSE,
//	  onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
//	DistributionPointName ::= CHOICE {
//	  fullName                [0] GeneralNames,
//	  nameRelativeToCRLIssuer [1] RelativeDistinguishedName }
func parseIDP(der []byte) (*issuingDistributionPoint, error) {
	var idp issuingDistributionPoint
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("issuing distribution point: not a SEQUENCE")
	}
	var dp cryptobyte.String
	var hasDP bool
	if !seq.ReadOptionalASN1(&dp, &hasDP, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errors.New("issuing distribution point: bad distributionPoint")
	}
	if hasDP {
		var names cryptobyte.String
		var full, rel bool
		if !dp.ReadOptionalASN1(&names, &full, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, errors.New("issuing distribution point: bad fullName")
		}
		if !full {
			var rdn cryptobyte.String
			if !dp.ReadOptionalASN1(&rdn, &rel, cbasn1.Tag(1).Constructed().ContextSpecific()) || !rel {
				return nil, errors.New("issuing distribution point: bad distributionPoint name")
			}
			idp.RelativeName = true
		}
		for !names.Empty() {
			var name cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&name, &tag) {
				return nil, errors.New("issuing distribution point: bad GeneralName")
			}
			if tag == cbasn1.Tag(6).ContextSpecific() { // uniformResourceIdentifier
				idp.URIs = append(idp.URIs, string(name))
			}
		}
		if !dp.Empty() {
			return nil, errors.New("issuing distribution point: trailing data in distributionPoint")
		}
		if full && len(idp.URIs) == 0 {
			// A full name without a URI (a directory name, say) still
			// scopes the CRL: it must not read as "every point".
			idp.RelativeName = true
		}
	}
	for i, flag := range []*bool{&idp.OnlyUserCerts, &idp.OnlyCACerts} {
		if !readImplicitBool(&seq, flag, i+1) {
			return nil, fmt.Errorf("issuing distribution point: bad flag [%d]", i+1)
		}
	}
	var reasons cryptobyte.String
	if !seq.ReadOptionalASN1(&reasons, &idp.OnlySomeReasons, cbasn1.Tag(3).ContextSpecific()) {
		return nil, errors.New("issuing distribution point: bad onlySomeReasons")
	}
	for i, flag := range []*bool{&idp.IndirectCRL, &idp.OnlyAttrCerts} {
		if !readImplicitBool(&seq, flag, i+4) {
			return nil, fmt.Errorf("issuing distribution point: bad flag [%d]", i+4)
		}
	}
	if !seq.Empty() {
		return nil, errors.New("issuing distribution point: trailing data")
	}
	return &idp, nil
}

// readImplicitBool reads an optional [tag] IMPLICIT BOOLEAN (the module
// of RFC 5280 tags implicitly; cryptobyte's helper expects explicit).
func readImplicitBool(s *cryptobyte.String, out *bool, tag int) bool {
	var v cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&v, &present, cbasn1.Tag(tag).ContextSpecific()) {
		return false
	}
	if !present {
		*out = false
		return true
	}
	if len(v) != 1 || (v[0] != 0 && v[0] != 0xff) {
		return false
	}
	*out = v[0] == 0xff
	return true
}

// covers says why a CRL with this scope, fetched from url (one of c's
// CRL distribution points), is not a complete answer for c; "" when it is.
func (idp *issuingDistributionPoint) covers(c *x509.Certificate, url string) string {
	switch {
	case idp.RelativeName:
		return "its distribution point is not named by URI"
	case len(idp.URIs) > 0 && !slices.Contains(idp.URIs, url):
		return fmt.Sprintf("it is the partition for %v, not %s", idp.URIs, url)
	case idp.OnlyUserCerts && c.IsCA:
		return "it covers end-entity certificates only"
	case idp.OnlyCACerts && !c.IsCA:
		return "it covers CA certificates only"
	case idp.OnlyAttrCerts:
		return "it covers attribute certificates only"
	case idp.OnlySomeReasons:
		return "it covers only some revocation reasons"
	case idp.IndirectCRL:
		return "it is an indirect CRL"
	}
	return ""
}
