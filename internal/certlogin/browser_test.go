package certlogin_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/pkitest"
)

// The main site's certificate pages in Chromium, checked by axe-core: the
// registration form and its errors, the code confirmation and its errors,
// and a refusal. Chromium cannot present a client certificate here, so a
// Go client does the TLS leg and the browser takes over its flow cookies.
func TestCertificatePagesAccessible(t *testing.T) {
	st := newStack(t, "local")
	p := pkitest.Person{SerialNumber: "IDCES-00000023T", GivenName: "NÚRIA", FirstSurname: "PUIG", SecondSurname: "FERRER"}
	goClient := st.browser(tlsCert(st.pki.DNIe.Issue(pkitest.DNIeLeaf(p, st.clock.Now()))), "ca")
	res, _ := st.signIn(goClient, "high")
	if !strings.Contains(res.Request.URL.Path, "/certificate/register/") {
		t.Fatalf("no registration: %d %s", res.StatusCode, res.Request.URL)
	}
	regURL := res.Request.URL
	b := browsertest.New(t)
	b.Open(t, st.mainURL+"/")
	txPath := regexp.MustCompile(`^/login/[^/]+`).FindString(regURL.Path)
	for _, c := range goClient.Jar.Cookies(regURL) {
		if strings.HasPrefix(c.Name, "clau_flow") {
			b.Eval(t, fmt.Sprintf(`document.cookie = %q; true`, c.Name+"="+c.Value+"; path="+txPath), nil)
		}
	}
	for _, lang := range []string{"ca", "es", "en"} {
		b.Open(t, regURL.String()+"?lang="+lang)
		if !strings.Contains(b.Text(t, "main"), "NÚRIA PUIG FERRER") {
			t.Fatalf("%s: registration page not shown", lang)
		}
		b.AssertAccessible(t)
	}
	b.Fill(t, "#mobile", "12")
	b.Fill(t, "#email", "nope")
	b.Submit(t, "main form")
	if !strings.Contains(b.Text(t, "#mobile-error"), st.cat.T("en", "mobile.format", nil)) {
		t.Fatalf("no mobile error: %s", b.Text(t, "main"))
	}
	b.AssertAccessible(t)
	b.Fill(t, "#mobile", "699111222")
	b.Fill(t, "#email", "nuria@example.org")
	b.Submit(t, "main form")
	if !strings.HasSuffix(b.URL(t), "/confirm") {
		t.Fatalf("at %s", b.URL(t))
	}
	b.AssertAccessible(t)
	b.Fill(t, "#code", "000000")
	b.Fill(t, "#email_code", "000000")
	b.Submit(t, "main form")
	if b.Text(t, "#code-error") == "" || b.Text(t, "#email_code-error") == "" {
		t.Fatal("no code errors")
	}
	b.AssertAccessible(t)

	b.Open(t, st.mainURL+"/login/nosuchsignin/certificate?lang=es")
	if !strings.Contains(b.Text(t, "main"), st.cat.T("es", "login.tx_unknown", nil)) {
		t.Fatalf("refusal page: %s", b.Text(t, "main"))
	}
	b.AssertAccessible(t)

}
