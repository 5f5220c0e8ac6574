package saml_test

import (
	"context"
	"strings"
	"testing"

	saml2 "github.com/russellhaering/gosaml2"

	"github.com/clau-eid/clau/internal/store"
)

const (
	loaLow         = "http://eidas.europa.eu/LoA/low"
	loaSubstantial = "http://eidas.europa.eu/LoA/substantial"
)

func authnRequest(t testing.TB, c *saml2.SAMLServiceProvider) []byte {
	t.Helper()
	doc, err := c.BuildAuthRequestDocument()
	if err != nil {
		t.Fatal(err)
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGosaml2SignInStepUp: gosaml2 as the SP signs a citizen in at low,
// then asks for substantial within the SSO session and gets step-up
// (only the SMS code), then a fresh request is answered by SSO.
func TestGosaml2SignInStepUp(t *testing.T) {
	sp := newTestSP(t, "ajuntament", false)
	s := newSite(t, sp)
	c := sp.client(s)
	b := newBrowser(t)

	a := b.postRequest(s, authnRequest(t, c), "tramit-42")
	if a.status != 200 || !strings.Contains(a.url.Path, "/login") {
		t.Fatalf("expected the sign-in page, got %d at %s:\n%.800s", a.status, a.url, a.body)
	}
	a = b.signIn(s, a)
	p := postedForm(t, a)
	if p.action != sp.acs || p.values["RelayState"] != "tramit-42" {
		t.Fatalf("posted to %s with relay %q", p.action, p.values["RelayState"])
	}
	info, err := c.RetrieveAssertionInfo(p.values["SAMLResponse"])
	if err != nil {
		t.Fatalf("gosaml2 refused the response: %v", err)
	}
	if info.WarningInfo.InvalidTime || info.WarningInfo.NotInAudience {
		t.Fatalf("warnings: %+v", info.WarningInfo)
	}
	want := map[string]string{
		"http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier":  "ES/ES/" + document,
		"http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName":  "Núria",
		"http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName": "Puig Vila",
		"http://eidas.europa.eu/attributes/naturalperson/DateOfBirth":       "1980-02-29",
		"http://es.minhafp.clave/FirstSurname":                              "Puig",
		"http://es.minhafp.clave/SecondSurname":                             "Vila",
	}
	for k, v := range want {
		if got := info.Values.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := info.Assertions[0].AuthnStatement.AuthnContext.AuthnContextClassRef; got == nil || got.Value != loaLow {
		t.Errorf("AuthnContextClassRef = %+v, want %s", got, loaLow)
	}
	if info.NameIDFormat != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" || len(info.NameID) != 64 {
		t.Errorf("NameID %q (%s)", info.NameID, info.NameIDFormat)
	}
	firstNameID := info.NameID

	// Step-up: substantial within the session asks only the SMS code.
	c.RequestedAuthnContext = &saml2.RequestedAuthnContext{Comparison: "minimum", Contexts: []string{loaSubstantial}}
	a = b.postRequest(s, authnRequest(t, c), "")
	if !strings.HasSuffix(a.url.Path, "/sms") {
		t.Fatalf("expected the SMS page (step-up), got %d at %s:\n%.800s", a.status, a.url, a.body)
	}
	a = b.sms(s, a)
	info, err = c.RetrieveAssertionInfo(postedForm(t, a).values["SAMLResponse"])
	if err != nil {
		t.Fatalf("gosaml2 refused the step-up response: %v", err)
	}
	if got := info.Assertions[0].AuthnStatement.AuthnContext.AuthnContextClassRef.Value; got != loaSubstantial {
		t.Errorf("after step-up AuthnContextClassRef = %s", got)
	}
	if info.NameID != firstNameID {
		t.Errorf("persistent NameID changed: %s then %s", firstNameID, info.NameID)
	}

	// SSO: a new request at low is answered without asking anything.
	c.RequestedAuthnContext = nil
	a = b.postRequest(s, authnRequest(t, c), "")
	info, err = c.RetrieveAssertionInfo(postedForm(t, a).values["SAMLResponse"])
	if err != nil {
		t.Fatalf("SSO response: %v", err)
	}
	// The session reached substantial: minimum low is answered with the level reached.
	if got := info.Assertions[0].AuthnStatement.AuthnContext.AuthnContextClassRef.Value; got != loaSubstantial {
		t.Errorf("SSO AuthnContextClassRef = %s", got)
	}
	events, _ := s.store.ListAudit(context.Background(), store.AuditFilter{})
	var responses int
	for _, e := range events {
		if e.Action == "saml.response" && e.Outcome == "ok" {
			responses++
		}
	}
	if responses != 3 {
		t.Errorf("%d saml.response events audited, want 3", responses)
	}
}
