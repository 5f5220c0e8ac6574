package config

import "testing"

func TestSAMLSPs(t *testing.T) {
	yaml := `saml_sps:
  - metadata_file: /etc/clau/sp/ajuntament.xml
    min_loa: substantial
    methods: [permanent, certificate]
  - metadata_url: https://tramits.example.org/saml/metadata
    metadata_signing_cert: /etc/clau/federation.pem
    refresh: 30m
    allow_sha1: true
`
	c, err := LoadBytes([]byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SAMLSPs) != 2 || c.SAMLSPs[0].MinLoA != "substantial" || !c.SAMLSPs[1].AllowSHA1 || c.SAMLSPs[1].Refresh.Minutes() != 30 {
		t.Fatalf("sps = %+v", c.SAMLSPs)
	}
	env := []string{`CLAU_SAML_SPS=[{"metadata_file":"/x.xml"}]`}
	if c, err = LoadBytes(nil, env); err != nil || len(c.SAMLSPs) != 1 || c.SAMLSPs[0].MetadataFile != "/x.xml" {
		t.Fatalf("from env: %+v %v", c, err)
	}
	bad := `saml_sps:
  - min_loa: medium
  - metadata_file: /a.xml
    metadata_url: https://a.example/md
  - metadata_url: "javascript:alert(1)"
    refresh: -1s
`
	_, err = LoadBytes([]byte(bad), nil)
	ps := problemsOf(t, err)
	for _, w := range []struct{ key, msg string }{
		{"saml_sps[0].metadata_file", "is required"},
		{"saml_sps[0].min_loa", "medium"},
		{"saml_sps[1].metadata_url", "not both"},
		{"saml_sps[2].metadata_url", "absolute http(s) URL"},
		{"saml_sps[2].refresh", "negative"},
	} {
		if !hasProblem(ps, w.key, w.msg) {
			t.Errorf("no problem %s: %s in %v", w.key, w.msg, ps)
		}
	}
}
