package saml_test

import (
	"context"
	"testing"

	"github.com/clau-eid/clau/internal/saml"
)

// TestRegisteredAtRunTime: an SP registered through the registry (what
// `clau sp saml add` does) is served by the running IdP without a restart.
func TestRegisteredAtRunTime(t *testing.T) {
	s := newSite(t) // no SP in config
	sp := newTestSP(t, "nou", true)
	reg := &saml.Registry{Store: s.store}
	got, err := reg.Add(context.Background(), saml.Registered{Metadata: sp.metadata(), MinLoA: "low"}, "cli:test")
	if err != nil {
		t.Fatal(err)
	}
	if got.EntityID != sp.entityID || got.EncryptionCert == nil {
		t.Fatalf("registered %+v", got)
	}
	c := sp.client(s)
	b := newBrowser(t)
	a := b.signIn(s, b.postRequest(s, authnRequest(t, c), ""))
	if _, err := c.RetrieveAssertionInfo(postedForm(t, a).values["SAMLResponse"]); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Add(context.Background(), saml.Registered{Metadata: "<not-metadata/>"}, "cli:test"); err == nil {
		t.Fatal("bad metadata registered")
	}
	if list, _ := reg.List(context.Background()); len(list) != 1 {
		t.Fatalf("list = %+v", list)
	}
	if err := reg.Remove(context.Background(), sp.entityID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	if list, _ := reg.List(context.Background()); len(list) != 0 {
		t.Fatalf("after remove: %+v", list)
	}
}
