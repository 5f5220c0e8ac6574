package saml_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// A verified request travels sealed in the 303 from /saml/sso to
// /saml/login and is written only when answered. The URL answers once:
// its reload, the request posted again, an altered URL and one past its
// two minutes are refused with a translated page and audited; and the
// answer's audit event says what the request asked.
func TestLoginHandoff(t *testing.T) {
	sp := newTestSP(t, "sp", false)
	s := newSite(t, sp)
	b := newBrowser(t)
	b.signIn(s, b.postRequest(s, authnRequest(t, sp.client(s)), "")) // an SSO session

	// The POST's answer, without following it.
	handoff := func(msg []byte) string {
		t.Helper()
		b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		defer func() { b.c.CheckRedirect = nil }()
		a := b.do("POST", s.url+"/saml/sso", url.Values{"SAMLRequest": {encode(msg)}}, "cross-site")
		if a.status != http.StatusSeeOther {
			t.Fatalf("POST /saml/sso: %d", a.status)
		}
		return a.location
	}
	events := func(action string) []store.AuditEvent {
		ev, err := s.store.ListAudit(context.Background(), store.AuditFilter{Action: action, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	requestsBefore := len(events("saml.authn_request"))

	msg := authnRequest(t, sp.client(s))
	loc := handoff(msg)
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/saml/login" || u.Query().Get("r") == "" || u.Query().Get("id") != "" {
		t.Fatalf("the 303 goes to %q, want /saml/login?r=…", loc)
	}
	sealed := u.Query().Get("r")
	if len(loc) > 3000 {
		t.Errorf("the login URL is %d bytes", len(loc))
	}
	if strings.Contains(sealed, sp.entityID) || strings.Contains(sealed, "AuthnRequest") {
		t.Error("the login URL shows the request in clear")
	}
	for name, at := range map[string]time.Time{"now": time.Now(), "in 110 s": time.Now().Add(110 * time.Second)} {
		if !s.idp.OpensHandoff(sealed, at) {
			t.Errorf("the sealed request does not open %s", name)
		}
	}
	if s.idp.OpensHandoff(sealed, time.Now().Add(2*time.Minute+time.Second)) {
		t.Error("the sealed request still opens after two minutes")
	}

	p := postedForm(t, b.do("GET", s.url+loc, nil, ""))
	if _, err := sp.client(s).RetrieveAssertionInfo(p.values["SAMLResponse"]); err != nil {
		t.Fatalf("gosaml2 refused the answer: %v", err)
	}
	resp := events("saml.response")
	if len(resp) == 0 || resp[0].Subject == "" || resp[0].Details["min_loa"] != "low" || resp[0].Details["force_authn"] != "false" ||
		resp[0].Details["request"] == "" {
		t.Fatalf("the response's audit event: %+v", resp)
	}
	if n := len(events("saml.authn_request")); n != requestsBefore {
		t.Errorf("%d saml.authn_request events for a request answered from the session", n-requestsBefore)
	}

	checkRefused(t, s, b.do("GET", s.url+loc, nil, ""), "saml.err.replay", "already used")
	checkRefused(t, s, b.do("GET", s.url+handoff(msg), nil, ""), "saml.err.replay", "already used")
	altered := []byte(sealed)
	altered[len(altered)/2] ^= 1
	checkRefused(t, s, b.do("GET", s.url+"/saml/login?r="+string(altered), nil, ""), "saml.err.tx_unknown", "unknown")
	checkRefused(t, s, b.do("GET", s.url+"/saml/login?r=v1.x.AAAA", nil, ""), "saml.err.tx_unknown", "unknown")
	if n := len(events("saml.response")); n != len(resp) {
		t.Errorf("%d more responses after the first", n-len(resp))
	}

	// A Cl@ve-kit request (eIDAS extensions, requested attributes, the
	// excluded methods) rides in the URL too; one too large for a URL is
	// kept as a flow at once and answered all the same.
	clave := sp.clave(s)
	clave.ForceAuthn = false
	if loc := handoff(sp.sign(t, clave.String(), "")); !strings.HasPrefix(loc, "/saml/login?r=") {
		t.Errorf("a Cl@ve-kit request goes to %q", loc)
	} else {
		t.Logf("a Cl@ve-kit request's login URL: %d bytes", len(loc))
	}
	var extra strings.Builder
	for i := range 40 {
		fmt.Fprintf(&extra, `<eidas:RequestedAttribute FriendlyName="Extra%d" Name="http://example.org/attributes/extra-attribute-%d" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="false"/>`, i, i)
	}
	big := sp.clave(s)
	big.ForceAuthn, big.Extra = false, extra.String()
	bigMsg := sp.sign(t, big.String(), "")
	if loc := handoff(bigMsg); !strings.HasPrefix(loc, "/saml/login?id=") {
		t.Errorf("a request with 40 more attributes goes to %.80q…", loc)
	} else {
		p := postedForm(t, b.do("GET", s.url+loc, nil, ""))
		if _, err := sp.client(s).RetrieveAssertionInfo(p.values["SAMLResponse"]); err != nil {
			t.Fatalf("gosaml2 refused the answer to the large request: %v", err)
		}
		checkRefused(t, s, b.do("GET", s.url+loc, nil, ""), "saml.err.tx_unknown", "unknown")
	}

	// Without a session the request is kept at the login, with its own
	// event, and answered after the sign-in.
	requestsBefore = len(events("saml.authn_request"))
	c := newBrowser(t)
	a := c.postRequest(s, authnRequest(t, sp.client(s)), "")
	if !signInPath.MatchString(a.url.Path) {
		t.Fatalf("no sign-in page: %d %s", a.status, a.url)
	}
	if n := len(events("saml.authn_request")); n != requestsBefore+1 {
		t.Errorf("%d saml.authn_request events for a request that went to the sign-in pages", n-requestsBefore)
	}
	if _, err := sp.client(s).RetrieveAssertionInfo(postedForm(t, c.signIn(s, a)).values["SAMLResponse"]); err != nil {
		t.Fatalf("gosaml2 refused the answer after a sign-in: %v", err)
	}
}
