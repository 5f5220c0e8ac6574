package saml_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// The sign-in pages name the SP that asked: the ProviderName of a signed
// request, else the name configured for it (saml_sps name, else its
// metadata's OrganizationDisplayName), escaped. An unsigned request's
// ProviderName is anybody's word and is not shown.
func TestSignInPagesNameTheSP(t *testing.T) {
	plain := newTestSP(t, "plain", false) // metadata: OrganizationDisplayName "Test SP"
	named := newTestSP(t, "named", false)
	named.cfg.Name = "Diputació <b>de</b> Girona"
	open := newTestSP(t, "open", false)
	open.unsignedOK = true
	s := newSite(t, plain, named, open)
	for _, c := range []struct {
		name string
		msg  func() []byte
		want string
	}{
		{"gosaml2, no ProviderName", func() []byte { return authnRequest(t, plain.client(s)) }, "Test SP"},
		{"configured name", func() []byte { return authnRequest(t, named.client(s)) }, "Diputació &lt;b&gt;de&lt;/b&gt; Girona"},
		{"signed ProviderName", func() []byte { return named.sign(t, named.clave(s).String(), "") }, "Ajuntament_Tramits"},
		{"unsigned ProviderName", func() []byte { return []byte(open.clave(s).String()) }, "Test SP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newBrowser(t).postRequest(s, c.msg(), "")
			if !signInPath.MatchString(a.url.Path) || !strings.Contains(a.body, `<p class="service" id="service">Signing in to `+c.want+`</p>`) {
				t.Fatalf("sign-in page at %s does not name %q:\n%.2000s", a.url, c.want, a.body)
			}
		})
	}
}

// Two tabs, two SPs: the sign-in finished in one tab does not answer the
// other tab's request; that one is answered after a transaction of its
// own (from the SSO session), recorded for its own SP, and goes to its
// own assertion consumer service.
func TestEachRequestIsAnsweredByItsOwnTransaction(t *testing.T) {
	one, two := newTestSP(t, "one", false), newTestSP(t, "two", false)
	s := newSite(t, one, two)
	b := newBrowser(t)
	tabOne := b.postRequest(s, authnRequest(t, one.client(s)), "one")
	cont := s.transaction(b, tabOne).ContinueURL // where tab one's sign-in would go
	if !strings.HasPrefix(cont, "/saml/continue?id=") {
		t.Fatalf("continue URL %q", cont)
	}
	if p := postedForm(t, b.signIn(s, b.postRequest(s, authnRequest(t, two.client(s)), "two"))); p.action != two.acs {
		t.Fatalf("tab two answered to %s", p.action)
	}
	logins := func() map[string][]string { // SP → methods of its login.ok events
		out := map[string][]string{}
		_ = s.store.ScanAudit(context.Background(), 0, func(e store.AuditEvent) error {
			if e.Action == "login.ok" {
				out[e.Details["sp"]] = append(out[e.Details["sp"]], e.Details["method"])
			}
			return nil
		})
		return out
	}
	if got := logins(); len(got[one.entityID]) != 0 || len(got[two.entityID]) != 1 {
		t.Fatalf("logins after tab two: %v", got)
	}
	a := b.do("GET", s.url+cont, nil, "")
	p := postedForm(t, a)
	if p.action != one.acs || p.values["RelayState"] != "one" {
		t.Fatalf("tab one answered to %s with relay %q", p.action, p.values["RelayState"])
	}
	if _, err := one.client(s).RetrieveAssertionInfo(p.values["SAMLResponse"]); err != nil {
		t.Fatalf("gosaml2 refused tab one's response: %v", err)
	}
	if got := logins(); len(got[one.entityID]) != 1 || got[one.entityID][0] != "sso" {
		t.Fatalf("tab one was answered without a transaction of its own: %v", got)
	}
	if tx := s.transaction(b, tabOne); tx.SP != one.entityID || tx.MinLoA != broker.Low {
		t.Fatalf("tab one's first transaction: %+v", tx)
	}
}
