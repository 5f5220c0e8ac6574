package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const spMetadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://tramits.example.org/saml/metadata">
<md:SPSSODescriptor AuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://tramits.example.org/saml/acs" index="0"/>
</md:SPSSODescriptor></md:EntityDescriptor>`

// TestSPCommands: `clau sp` registers, lists and removes SAML service
// providers, refuses bad metadata and audits each change.
func TestSPCommands(t *testing.T) {
	e := newEnv(t)
	good := filepath.Join(e.dir, "sp.xml")
	os.WriteFile(good, []byte(spMetadata), 0o600)
	bad := filepath.Join(e.dir, "bad.xml")
	os.WriteFile(bad, []byte(strings.Replace(spMetadata, "https://tramits.example.org/saml/acs", "javascript:alert(1)", 1)), 0o600)

	out := e.ok("sp", "add", "--metadata", good, "--min-loa", "substantial", "--methods", "permanent,certificate")
	if !strings.Contains(out, "registered https://tramits.example.org/saml/metadata (min level substantial") {
		t.Fatalf("sp add: %q", out)
	}
	list := e.ok("sp", "list")
	if !strings.Contains(list, "https://tramits.example.org/saml/metadata\tmin_loa=substantial\tmethods=permanent,certificate") {
		t.Fatalf("sp list: %q", list)
	}
	for _, args := range [][]string{
		{"sp", "add", "--metadata", bad},
		{"sp", "add", "--metadata", good, "--methods", "telepathy"},
		{"sp", "add"},
		{"sp", "remove", "--entity-id", "https://nobody.example/md"},
	} {
		if r := e.run(args...); r.code != 2 {
			t.Errorf("clau %s: exit %d, want 2\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := e.run("sp", "add", "--metadata", bad); !strings.Contains(r.stderr, "not an absolute http(s) URL") {
		t.Errorf("bad metadata explained as: %s", r.stderr)
	}
	e.ok("sp", "remove", "--entity-id", "https://tramits.example.org/saml/metadata")
	if list := e.ok("sp", "list"); !strings.Contains(list, "no SAML service providers registered") {
		t.Fatalf("after remove: %q", list)
	}
	exp := e.ok("audit", "export")
	if strings.Count(exp, `"saml.sp_add"`) != 1 || strings.Count(exp, `"saml.sp_remove"`) != 1 {
		t.Fatalf("audit trail:\n%s", exp)
	}
}
