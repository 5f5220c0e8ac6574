package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// SAMLSP is one SAML service provider, known by its metadata.
type SAMLSP struct {
	// MetadataFile is a path to the SP's EntityDescriptor. Exactly one of
	// metadata_file and metadata_url.
	MetadataFile string `yaml:"metadata_file"`
	// MetadataURL is fetched at start and every refresh interval; a
	// failed refresh keeps the last good metadata.
	MetadataURL string `yaml:"metadata_url"`
	// MetadataSigningCert is a PEM certificate file: when set, the
	// metadata must carry a valid signature by it (a federation's or the
	// SP's trust anchor).
	MetadataSigningCert string `yaml:"metadata_signing_cert"`
	// Refresh is how often metadata_url is fetched again; default 1h.
	Refresh time.Duration `yaml:"refresh"`
	// MinLoA is the least level the service accepts: low, substantial or
	// high (or the eIDAS URI); empty means low.
	MinLoA string `yaml:"min_loa"`
	// Methods the service allows (empty: all).
	Methods []string `yaml:"methods"`
	// AllowSHA1 accepts requests signed with RSA-SHA1 from this SP
	// (legacy integration kits only); refused otherwise.
	AllowSHA1 bool `yaml:"allow_sha1"`
	// Name is what the sign-in pages show when a request carries no
	// (signed) ProviderName; empty: the metadata's OrganizationDisplayName,
	// else the entity ID.
	Name string `yaml:"name"`
}

// samlSPs checks the declared SAML service providers.
func (ps *problems) samlSPs(sps []SAMLSP) {
	for i, sp := range sps {
		key := fmt.Sprintf("saml_sps[%d]", i)
		switch {
		case sp.MetadataFile == "" && sp.MetadataURL == "":
			ps.add(key+".metadata_file", "one of metadata_file and metadata_url is required")
		case sp.MetadataFile != "" && sp.MetadataURL != "":
			ps.add(key+".metadata_url", "give metadata_file or metadata_url, not both")
		}
		if sp.MetadataURL != "" {
			u, err := url.Parse(sp.MetadataURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				ps.add(key+".metadata_url", fmt.Sprintf("%q must be an absolute http(s) URL", sp.MetadataURL))
			}
		}
		if sp.Refresh < 0 {
			ps.add(key+".refresh", "must not be negative")
		}
		switch strings.TrimPrefix(strings.ToLower(sp.MinLoA), "http://eidas.europa.eu/loa/") {
		case "", "low", "substantial", "high":
		default:
			ps.add(key+".min_loa", fmt.Sprintf("%q is not one of low, substantial, high", sp.MinLoA))
		}
	}
}
