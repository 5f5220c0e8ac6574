package saml_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/clau-eid/clau/internal/saml"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// TestOnEveryDriver: the flows the IdP keeps (requests, replay cache,
// session participants, logout, the SP registry) behave the same on
// SQLite and PostgreSQL: a sign-in, a replay refused, a registration,
// and a single logout.
func TestOnEveryDriver(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		siteDriver = driver
		t.Cleanup(func() { siteDriver = sqlstore.SQLite })
		sp := newTestSP(t, "ajuntament", true)
		s := newSite(t, sp)
		c := sp.client(s)
		b := newBrowser(t)
		req := authnRequest(t, c)
		info, err := c.RetrieveAssertionInfo(postedForm(t, b.signIn(s, b.postRequest(s, req, ""))).values["SAMLResponse"])
		if err != nil {
			t.Fatal(err)
		}
		checkRefused(t, s, b.postRequest(s, req, ""), "saml.err.replay", "already used")

		doc, _ := c.BuildLogoutRequestDocument(info.NameID, info.SessionIndex)
		xml, _ := doc.WriteToBytes()
		a := b.do("POST", s.url+"/saml/slo", url.Values{"SAMLRequest": {encode(xml)}}, "cross-site")
		if _, err := c.ValidateEncodedLogoutResponsePOST(postedForm(t, a).values["SAMLResponse"]); err != nil {
			t.Fatalf("logout response: %v", err)
		}
		other := newTestSP(t, "registrat", false)
		reg := &saml.Registry{Store: s.store}
		if _, err := reg.Add(context.Background(), saml.Registered{Metadata: other.metadata()}, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Add(context.Background(), saml.Registered{Metadata: other.metadata(), MinLoA: "substantial"}, "test"); err != nil {
			t.Fatal(err)
		}
		if list, err := reg.List(context.Background()); err != nil || len(list) != 1 || list[0].MinLoA != "substantial" {
			t.Fatalf("registry %+v %v", list, err)
		}
	})
}
