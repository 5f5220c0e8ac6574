package oidc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/store"
)

// logoutRP is a service's back-channel logout endpoint: it verifies each
// logout token with go-oidc against Clau's published keys, as a service
// would, and keeps the claims.
type logoutRP struct {
	t        *testing.T
	url      string
	clientID string
	verifier func() *gooidc.IDTokenVerifier

	mu       sync.Mutex
	failNext int
	got      []logoutClaims
}

type logoutClaims struct {
	Sub    string                    `json:"sub"`
	SID    string                    `json:"sid"`
	JTI    string                    `json:"jti"`
	Nonce  *string                   `json:"nonce"`
	Events map[string]map[string]any `json:"events"`
}

func newLogoutRP(t *testing.T, clientID string) *logoutRP {
	l := &logoutRP{t: t, clientID: clientID}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.failNext > 0 {
			l.failNext--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		raw := r.PostFormValue("logout_token")
		tok, err := l.verifier().Verify(r.Context(), raw)
		if err != nil {
			t.Errorf("%s: logout token does not verify: %v", clientID, err)
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		var c logoutClaims
		_ = tok.Claims(&c)
		if c.Nonce != nil || c.Events == nil || c.Events["http://schemas.openid.net/event/backchannel-logout"] == nil || c.JTI == "" {
			t.Errorf("%s: logout token claims %+v", clientID, c)
		}
		l.got = append(l.got, c)
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(ts.Close)
	l.url = ts.URL + "/backchannel-logout"
	return l
}

func (l *logoutRP) received() []logoutClaims {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

func idTokenClaims(t *testing.T, r *rp, tok *oauth2.Token) (sub, sid string) {
	t.Helper()
	idt, err := r.verifier.Verify(context.Background(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	_ = idt.Claims(&c)
	if c.SID == "" {
		t.Fatal("no sid in the ID token")
	}
	return idt.Subject, c.SID
}

func TestBackChannelLogout(t *testing.T) {
	clock := fakeclock.New(time.Now())
	rpA, rpB := newLogoutRP(t, "tramits"), newLogoutRP(t, "seu")
	s := newSite(t, withClock(clock, oidc.KeyOptions{}), withClients(
		oidc.ClientConfig{ID: "tramits", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, BackchannelLogoutURI: rpA.url},
		oidc.ClientConfig{ID: "seu", Secret: rpSecret, RedirectURIs: []string{rpRedirect}, BackchannelLogoutURI: rpB.url},
	))
	a, bRP := newRP(t, s, "tramits", rpSecret), newRP(t, s, "seu", rpSecret)
	rpA.verifier = func() *gooidc.IDTokenVerifier { return a.verifier }
	rpB.verifier = func() *gooidc.IDTokenVerifier { return bRP.verifier }
	plain := newRP(t, s, "ajuntament", rpSecret) // no back-channel URI
	b := newBrowser(t)
	ctx := context.Background()

	// Three services, one SSO session; a step-up on the way keeps the sid.
	_, tokA := idToken(t, s, a, b)
	subA, sid := idTokenClaims(t, a, tokA)
	st := bRP.start(oauth2.SetAuthURLParam("acr_values", broker.Substantial.URI()))
	ans := b.do("GET", st.url, nil)
	if !strings.HasSuffix(ans.url.Path, "/sms") {
		t.Fatalf("step-up went to %s", ans.url)
	}
	tokB, _, _ := bRP.exchange(t, code(t, b.do("POST", s.url+ans.url.Path, url.Values{"code": {s.lastSMS()}}), st), st)
	subB, sidB := idTokenClaims(t, bRP, tokB)
	if sidB != sid || subB == subA {
		t.Fatalf("sid %s then %s; subs %s %s", sid, sidB, subA, subB)
	}
	_, tokP := idToken(t, s, plain, b)

	// Nothing is due while the session lives.
	if n, err := s.op.DeliverLogouts(ctx); n != 0 || err != nil {
		t.Fatalf("deliveries before logout: %d %v", n, err)
	}

	// The second service is down at first.
	rpB.mu.Lock()
	rpB.failNext = 1
	rpB.mu.Unlock()

	// RP-initiated logout from the plain service.
	q := url.Values{"id_token_hint": {tokP.Extra("id_token").(string)}, "post_logout_redirect_uri": {rpRedirect},
		"state": {"bye"}, "client_id": {"ajuntament"}}
	out := b.do("GET", s.url+"/oidc/end_session?"+q.Encode(), nil)
	if out.location == nil || out.location.Host != "rp.example" || out.location.Query().Get("state") != "bye" {
		t.Fatalf("end_session: %d %v\n%.300s", out.status, out.location, out.body)
	}
	if n, err := s.op.DeliverLogouts(ctx); n != 1 || err != nil {
		t.Fatalf("first pass delivered %d (%v), want 1", n, err)
	}
	if got := rpA.received(); len(got) != 1 || got[0].Sub != subA || got[0].SID != sid {
		t.Fatalf("service A received %+v (sub %s sid %s)", got, subA, sid)
	}
	// The retry waits, then delivers.
	if n, _ := s.op.DeliverLogouts(ctx); n != 0 {
		t.Fatal("retried before its time")
	}
	clock.Add(11 * time.Second)
	if n, err := s.op.DeliverLogouts(ctx); n != 1 || err != nil {
		t.Fatalf("retry delivered %d (%v)", n, err)
	}
	if got := rpB.received(); len(got) != 1 || got[0].Sub != subB || got[0].SID != sid {
		t.Fatalf("service B received %+v", got)
	}
	ds, _ := s.store.ListLogouts(ctx, 10)
	if len(ds) != 2 {
		t.Fatalf("deliveries %+v", ds)
	}
	for _, d := range ds {
		if d.Status != store.MsgSent || d.ClientID == "seu" && d.Attempts != 2 {
			t.Errorf("delivery %+v", d)
		}
	}
	// The session is over: prompt=none answers login_required.
	st = a.start(oauth2.SetAuthURLParam("prompt", "none"))
	if ans := b.do("GET", st.url, nil); ans.location == nil || ans.location.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none after logout: %d %v", ans.status, ans.location)
	}

	// Signing out on Clau's own pages tells the services too, with a new sid.
	_, tokA = idToken(t, s, a, b)
	_, sid2 := idTokenClaims(t, a, tokA)
	if sid2 == sid {
		t.Fatal("a new session kept the ended session's sid")
	}
	if ans := b.do("POST", s.url+"/logout", url.Values{}); ans.status >= 400 {
		t.Fatalf("logout page: %d", ans.status)
	}
	if n, err := s.op.DeliverLogouts(ctx); n != 1 || err != nil {
		t.Fatalf("after /logout delivered %d (%v)", n, err)
	}
	if got := rpA.received(); len(got) != 2 || got[1].SID != sid2 {
		t.Fatalf("service A received %+v", got)
	}
}
