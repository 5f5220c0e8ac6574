package config

import (
	"strings"
	"testing"
)

func TestCertificateConfig(t *testing.T) {
	c, err := LoadBytes(nil, nil)
	if err != nil || c.Certificate.Enabled || c.Certificate.PublicURL != "https://localhost:8443" || !c.Certificate.FailClosed {
		t.Fatalf("defaults: %+v %v", c.Certificate, err)
	}
	good := `certificate:
  enabled: true
  listen: 127.0.0.1:9443
  public_url: https://cert.clau.example.org/
  profiles:
    - {name: dnie, roots: [a.pem], policies: ["2.16.724.1.2.2.2.3"], loa: high, amr: hwk}
`
	c, err = LoadBytes([]byte(good), nil)
	if err != nil || c.Certificate.PublicURL != "https://cert.clau.example.org" || c.Certificate.Profiles[0].Policies[0] != "2.16.724.1.2.2.2.3" {
		t.Fatalf("good: %+v %v", c.Certificate, err)
	}
	env := []string{`CLAU_CERTIFICATE_PROFILES=[{"name":"fnmt","roots":["r.pem"],"loa":"substantial","amr":"swk"}]`,
		"CLAU_CERTIFICATE_ENABLED=true"}
	if c, err = LoadBytes(nil, env); err != nil || c.Certificate.Profiles[0].Name != "fnmt" {
		t.Fatalf("env: %v", err)
	}
	bad := `listen: 127.0.0.1:8443
certificate:
  enabled: true
  listen: 127.0.0.1:8443
  public_url: http://cert.example.org
  profiles:
    - {name: dnie, loa: low, amr: pwd, policies: [x.y]}
    - {name: dnie, roots: [a.pem], loa: high, amr: hwk}
`
	_, err = LoadBytes([]byte(bad), nil)
	for _, want := range []string{"certificate.listen", "certificate.public_url", "certificate.profiles[0].roots",
		"certificate.profiles[0].loa", "certificate.profiles[0].amr", "certificate.profiles[0].policies", "certificate.profiles[1].name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no problem reported for %s: %v", want, err)
		}
	}
}
