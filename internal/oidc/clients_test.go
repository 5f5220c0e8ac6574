package oidc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
)

// A service registered at run time (as `clau sp add` does) signs citizens
// in with the secret it was given once; removed, it is unknown again.
func TestRegisteredClient(t *testing.T) {
	clock := fakeclock.New(time.Now())
	s := newSite(t, withClock(clock, oidc.KeyOptions{}))
	ctx := context.Background()
	cc := oidc.ClientConfig{ID: "seu-nova", RedirectURIs: []string{rpRedirect}, AuthMethod: oidc.MethodSecretPost}
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
	b := newBrowser(t)
	idToken(t, s, r, b)
	got, err := oidc.StoredClient(ctx, s.store, "seu-nova")
	if err != nil || got.Secret != "" || got.AuthMethod != oidc.MethodSecretPost {
		t.Fatalf("stored settings %+v %v", got, err)
	}

	if err := s.store.DeleteOIDCClient(ctx, "seu-nova"); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute) // past every process's cache
	st := r.start()
	if a := b.do("GET", st.url, nil); a.status != 400 || a.location != nil {
		t.Fatalf("a removed client: %d %v", a.status, a.location)
	}
}
