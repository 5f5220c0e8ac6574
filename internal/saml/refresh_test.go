package saml_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/clau-eid/clau/internal/saml"
)

// metadataServer serves an SP's metadata, changeable by the test.
type metadataServer struct {
	mu   sync.Mutex
	body string
	url  string
}

func serveMetadata(t *testing.T, body string) *metadataServer {
	m := &metadataServer{body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		w.Write([]byte(m.body))
	}))
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

func (m *metadataServer) set(body string) {
	m.mu.Lock()
	m.body = body
	m.mu.Unlock()
}

// TestMetadataRefresh: metadata declared by URL (in config, and
// registered at run time) is fetched again; a new ACS is served after
// the refresh, and a broken fetch keeps the last good metadata.
func TestMetadataRefresh(t *testing.T) {
	cfgSP := newTestSP(t, "remot", false)
	cfgMD := serveMetadata(t, cfgSP.metadata())
	cfgSP.cfg.MetadataURL = cfgMD.url
	s := newSite(t, cfgSP)
	regSP := newTestSP(t, "registrat", false)
	regMD := serveMetadata(t, regSP.metadata())
	if _, err := (&saml.Registry{Store: s.store}).Add(context.Background(), saml.Registered{MetadataURL: regMD.url}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		sp *testSP
		md *metadataServer
	}{{cfgSP, cfgMD}, {regSP, regMD}} {
		newACS := x.sp.acs + "-nou"
		request := func() answer {
			r := x.sp.clave(s)
			r.ACS = newACS
			return newBrowser(t).postRequest(s, x.sp.sign(t, r.String(), ""), "")
		}
		checkRefused(t, s, request(), "saml.err.acs", "not in its registered metadata")
		x.md.set(strings.Replace(x.sp.metadata(), `Location="`+x.sp.acs+`2"`, `Location="`+newACS+`"`, 1))
		s.idp.RefreshNow(context.Background())
		if a := request(); !signInPath.MatchString(a.url.Path) {
			t.Fatalf("%s: after the refresh the new ACS is refused: %d\n%.500s", x.sp.entityID, a.status, a.body)
		}
		x.md.set("<broken")
		s.idp.RefreshNow(context.Background())
		if a := request(); !signInPath.MatchString(a.url.Path) {
			t.Fatalf("%s: a broken fetch lost the metadata: %d", x.sp.entityID, a.status)
		}
	}
}
