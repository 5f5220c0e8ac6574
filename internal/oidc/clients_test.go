package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
)

// A service registered at run time (as `clau sp oidc add` does) signs citizens
// in with the secret it was given once; removed, it is unknown again.
func TestRegisteredClient(t *testing.T) {
	clock := fakeclock.New(time.Now())
	s := newSite(t, withClock(clock, oidc.KeyOptions{}))
	ctx := context.Background()
	bcl := newLogoutRP(t, "seu-nova")
	cc := oidc.ClientConfig{ID: "seu-nova", RedirectURIs: []string{rpRedirect}, AuthMethod: oidc.MethodSecretPost,
		BackchannelLogoutURI: bcl.url}
	if _, err := oidc.RegisterClient(ctx, s.store, s.keyring, cc, []string{"seu-nova"}); err == nil {
		t.Fatal("registered over a config client")
	}
	bad := cc
	bad.RedirectURIs = []string{"https://*.example/cb"}
	if _, err := oidc.RegisterClient(ctx, s.store, s.keyring, bad, nil); err == nil {
		t.Fatal("registered a wildcard redirect URI")
	}
	secret, err := oidc.RegisterClient(ctx, s.store, s.keyring, cc, nil)
	if err != nil || len(secret) < 32 {
		t.Fatalf("register: %q %v", secret, err)
	}
	if _, err := oidc.RegisterClient(ctx, s.store, s.keyring, cc, nil); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("registered twice: %v", err)
	}
	r := newRP(t, s, "seu-nova", secret)
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams // client_secret_post, as registered
	bcl.verifier = func() *gooidc.IDTokenVerifier { return r.verifier }
	b := newBrowser(t)
	_, tok := idToken(t, s, r, b)
	sub, sid := idTokenClaims(t, r, tok)
	// Its back-channel logout works like a config service's.
	if a := b.do("POST", s.url+"/logout", url.Values{}); a.status >= 400 {
		t.Fatalf("logout: %d", a.status)
	}
	if n, err := s.op.DeliverLogouts(ctx); n != 1 || err != nil {
		t.Fatalf("delivered %d %v", n, err)
	}
	if got := bcl.received(); len(got) != 1 || got[0].SID != sid || got[0].Sub != sub {
		t.Fatalf("received %+v", got)
	}
	got, err := oidc.StoredClient(ctx, s.store, "seu-nova")
	if err != nil || got.Secret != "" || got.AuthMethod != oidc.MethodSecretPost {
		t.Fatalf("stored settings %+v %v", got, err)
	}

	if err := s.store.DeleteOIDCClient(ctx, "seu-nova"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute) // past every process's cache
	st := r.start()
	if a := b.do("GET", st.url, nil); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("a removed client: %d %v", a.status, a.location)
	}
}
