package saml_test

import (
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xmlsec1 runs Debian's xmlsec1 (an independent XML-DSig implementation,
// libxmlsec on OpenSSL) to verify one signature in file.
func xmlsec1(t *testing.T, certPEM, file string, args ...string) {
	t.Helper()
	cmd := exec.Command("xmlsec1", append(append([]string{"--verify", "--pubkey-cert-pem", certPEM,
		"--enabled-reference-uris", "same-doc"}, args...), file)...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("xmlsec1 %v: %v\n%s", args, err, out)
	}
}

// TestXmlsec1Verifies: xmlsec1 verifies Clau's signed metadata, response
// and assertion, and refuses a tampered assertion.
func TestXmlsec1Verifies(t *testing.T) {
	if _, err := exec.LookPath("xmlsec1"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmlsec1 is not installed (.ci/run installs it)")
		}
		t.Skip("xmlsec1 not installed")
	}
	sp := newTestSP(t, "ajuntament", false)
	s := newSite(t, sp)
	dir := t.TempDir()
	cert := filepath.Join(dir, "idp.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.idp.Certificate().Raw}), 0o600)

	res, err := http.Get(s.url + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(res.Body)
	res.Body.Close()
	mdFile := filepath.Join(dir, "metadata.xml")
	os.WriteFile(mdFile, md, 0o600)
	xmlsec1(t, cert, mdFile, "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor")

	b := newBrowser(t)
	a := b.signIn(s, b.postRequest(s, authnRequest(t, sp.client(s)), ""))
	raw, _ := base64.StdEncoding.DecodeString(postedForm(t, a).values["SAMLResponse"])
	resFile := filepath.Join(dir, "response.xml")
	os.WriteFile(resFile, raw, 0o600)
	ids := []string{"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"}
	xmlsec1(t, cert, resFile, append(ids, "--node-xpath", "/*[local-name()='Response']/*[local-name()='Signature']")...)
	xmlsec1(t, cert, resFile, append(ids, "--node-xpath", "//*[local-name()='Assertion']/*[local-name()='Signature']")...)

	tampered := filepath.Join(dir, "tampered.xml")
	os.WriteFile(tampered, []byte(strings.Replace(string(raw), "ES/ES/"+document, "ES/ES/00000000T", 1)), 0o600)
	cmd := exec.Command("xmlsec1", append(append([]string{"--verify", "--pubkey-cert-pem", cert}, ids...),
		"--node-xpath", "//*[local-name()='Assertion']/*[local-name()='Signature']", tampered)...)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("xmlsec1 verified a tampered assertion:\n%s", out)
	}
}
