package saml_test

import (
	"encoding/base64"

	saml2 "github.com/russellhaering/gosaml2"
	"net/url"
	"strings"
	"testing"
)

// TestSingleLogout: a citizen signed in to two SPs; the first sends a
// signed LogoutRequest; Clau ends the SSO session, tells the second SP
// (a signed LogoutRequest gosaml2 accepts, answered by its signed
// LogoutResponse), and answers the first with a signed LogoutResponse
// gosaml2 accepts. The next sign-in asks for the password again.
func TestSingleLogout(t *testing.T) {
	spA := newTestSP(t, "ajuntament", false)
	spB := newTestSP(t, "diputacio", false)
	s := newSite(t, spA, spB)
	a, bc := spA.client(s), spB.client(s)
	b := newBrowser(t)

	ans := b.signIn(s, b.postRequest(s, authnRequest(t, a), ""))
	infoA, err := a.RetrieveAssertionInfo(postedForm(t, ans).values["SAMLResponse"])
	if err != nil {
		t.Fatal(err)
	}
	// B asks for substantial: step-up, which rotates the SSO session.
	bc.RequestedAuthnContext = &saml2.RequestedAuthnContext{Comparison: "minimum", Contexts: []string{loaSubstantial}}
	ans = b.sms(s, b.postRequest(s, authnRequest(t, bc), ""))
	infoB, err := bc.RetrieveAssertionInfo(postedForm(t, ans).values["SAMLResponse"])
	if err != nil {
		t.Fatal(err)
	}
	if infoA.SessionIndex == "" || infoB.SessionIndex == "" || infoA.NameID == infoB.NameID {
		t.Fatalf("session indexes %q %q, names %q %q", infoA.SessionIndex, infoB.SessionIndex, infoA.NameID, infoB.NameID)
	}
	// B asks again from the SSO session: the same name and session
	// index, and still one LogoutRequest for B below.
	ans = b.postRequest(s, authnRequest(t, bc), "")
	again, err := bc.RetrieveAssertionInfo(postedForm(t, ans).values["SAMLResponse"])
	if err != nil {
		t.Fatal(err)
	}
	if again.NameID != infoB.NameID || again.SessionIndex != infoB.SessionIndex {
		t.Fatalf("B's second answer names %q in %q, the first %q in %q", again.NameID, again.SessionIndex, infoB.NameID, infoB.SessionIndex)
	}

	doc, err := a.BuildLogoutRequestDocument(infoA.NameID, infoA.SessionIndex)
	if err != nil {
		t.Fatal(err)
	}
	xml, _ := doc.WriteToBytes()
	ans = b.do("POST", s.url+"/saml/slo", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(xml)},
		"RelayState": {"bye"}}, "cross-site")
	toB := postedForm(t, ans)
	if toB.action != spB.slo {
		t.Fatalf("expected a LogoutRequest to the other SP, got a form to %s", toB.action)
	}
	lr, err := bc.ValidateEncodedLogoutRequestPOST(toB.values["SAMLRequest"])
	if err != nil {
		t.Fatalf("gosaml2 refused Clau's LogoutRequest: %v", err)
	}
	if lr.NameID == nil || lr.NameID.Value != infoB.NameID {
		t.Errorf("LogoutRequest names %+v, want %s", lr.NameID, infoB.NameID)
	}
	if raw, _ := base64.StdEncoding.DecodeString(toB.values["SAMLRequest"]); !strings.Contains(string(raw), ">"+infoB.SessionIndex+"<") {
		t.Errorf("LogoutRequest without B's SessionIndex %s", infoB.SessionIndex)
	}
	rdoc, err := bc.BuildLogoutResponseDocument("urn:oasis:names:tc:SAML:2.0:status:Success", lr.ID)
	if err != nil {
		t.Fatal(err)
	}
	rxml, _ := rdoc.WriteToBytes()
	ans = b.do("POST", s.url+"/saml/slo", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(rxml)},
		"RelayState": {toB.values["RelayState"]}}, "cross-site")
	toA := postedForm(t, ans)
	if toA.action != spA.slo || toA.values["RelayState"] != "bye" {
		t.Fatalf("the answer went to %s with relay %q", toA.action, toA.values["RelayState"])
	}
	if _, err := a.ValidateEncodedLogoutResponsePOST(toA.values["SAMLResponse"]); err != nil {
		t.Fatalf("gosaml2 refused Clau's LogoutResponse: %v", err)
	}

	// The SSO session is over: a new request asks for the password.
	ans = b.postRequest(s, authnRequest(t, a), "")
	if !signInPath.MatchString(ans.url.Path) || !strings.Contains(ans.body, `name="password"`) {
		t.Fatalf("after logout, a new request got %d at %s", ans.status, ans.url)
	}

	// The same LogoutRequest again is a replay.
	ans = b.do("POST", s.url+"/saml/slo", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(xml)}}, "cross-site")
	checkRefused(t, s, ans, "saml.err.replay", "already used")
}
