package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/store"
)

// A code exchanged by several requests at once gives tokens to exactly
// one; presented again afterwards it is refused and revokes what its
// exchange issued; each exchange is audited once.
func TestCodeExchangedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		atOnce int
	}{{"one exchange", 1}, {"two at once", 2}, {"eight at once", 8}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t)
			r := newRP(t, s, "ajuntament", rpSecret)
			b := newBrowser(t)
			st := r.start()
			c := code(t, b.signIn(s, b.do("GET", st.url, nil)), st)
			ctx := context.Background()

			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				toks []*oauth2.Token
			)
			for range tc.atOnce {
				wg.Go(func() {
					tok, err := r.conf.Exchange(ctx, c, oauth2.VerifierOption(st.verifier))
					if err == nil {
						mu.Lock()
						toks = append(toks, tok)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(toks) != 1 {
				t.Fatalf("%d of %d concurrent exchanges of one code got tokens, want 1", len(toks), tc.atOnce)
			}
			// Alone, the token works. (A concurrent attempt that came after
			// the winner is a reuse, and rightly revokes it already.)
			if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(toks[0])); tc.atOnce == 1 && err != nil {
				t.Fatalf("userinfo with the one token: %v", err)
			}
			if _, err := r.conf.Exchange(ctx, c, oauth2.VerifierOption(st.verifier)); err == nil {
				t.Fatal("the code was exchanged again")
			}
			if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(toks[0])); err == nil {
				t.Fatal("a replayed code left its access token working")
			}
			n := 0
			_ = s.store.ScanAudit(ctx, 0, func(e store.AuditEvent) error {
				if e.Action == "oidc.token" && e.Outcome == audit.OK {
					n++
				}
				return nil
			})
			if n != 1 {
				t.Fatalf("%d oidc.token events, want 1", n)
			}
		})
	}
}

// An access token, bearer or JWT, lives its ten minutes even when the
// sign-in took most of its auth request's fifteen (the request answers
// for the token until the token expires, past the flow sweeper); it
// cannot be altered; only the client it was issued to can revoke it
// (RFC 7009), after which userinfo and introspection refuse it; and it
// stops working when it expires.
func TestAccessTokenLifecycle(t *testing.T) {
	for _, clientID := range []string{"ajuntament", "ajuntament-jwt"} {
		t.Run(clientID, func(t *testing.T) {
			clock := fakeclock.New(time.Now())
			s := newSite(t, withClock(clock, oidc.KeyOptions{Prepublish: time.Hour, Reload: time.Hour}))
			r := newRP(t, s, clientID, rpSecret)
			b := newBrowser(t)
			ctx := context.Background()
			works := func(tok *oauth2.Token) bool {
				_, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				return err == nil
			}

			st := r.start()
			a := b.do("GET", st.url, nil)
			clock.Add(12 * time.Minute) // a slow sign-in
			tok, _, _ := r.exchange(t, code(t, b.signIn(s, a), st), st)
			clock.Add(5 * time.Minute) // past the request's own fifteen minutes
			if _, err := s.store.DeleteFlowsBefore(ctx, clock.Now()); err != nil {
				t.Fatal(err)
			}
			if !works(tok) || !introspect(t, s, clientID, tok.AccessToken) {
				t.Fatal("a live token stopped working when its auth request's own time ran out")
			}

			altered := *tok
			raw := []byte(tok.AccessToken)
			i := len(raw) / 2
			raw[i] = map[bool]byte{true: 'A', false: 'B'}[raw[i] != 'A']
			altered.AccessToken = string(raw)
			if works(&altered) {
				t.Fatal("an altered access token was accepted")
			}

			other := "ajuntament-jwt"
			if clientID == other {
				other = "ajuntament"
			}
			if introspect(t, s, other, tok.AccessToken) {
				t.Fatal("another client's introspection found the token active")
			}
			if status := revoke(t, s, other, tok.AccessToken); status == http.StatusOK && !works(tok) {
				t.Fatal("another client revoked the token")
			}
			if status := revoke(t, s, clientID, tok.AccessToken); status != http.StatusOK {
				t.Fatalf("revocation by its client: %d", status)
			}
			if works(tok) || introspect(t, s, clientID, tok.AccessToken) {
				t.Fatal("a revoked token still works")
			}
			n := 0
			_ = s.store.ScanAudit(ctx, 0, func(e store.AuditEvent) error {
				if e.Action == "oidc.revoke" && e.Details["client_id"] == clientID {
					n++
				}
				return nil
			})
			if n != 1 {
				t.Fatalf("%d oidc.revoke events, want 1", n)
			}

			st = r.start()
			tok, _, _ = r.exchange(t, code(t, b.authorize(s, st), st), st)
			if !works(tok) {
				t.Fatal("a new token does not work")
			}
			clock.Add(10*time.Minute + time.Second)
			if works(tok) || introspect(t, s, clientID, tok.AccessToken) {
				t.Fatal("a token still works after its ten minutes")
			}
		})
	}
}

func revoke(t *testing.T, s *site, clientID, token string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/oidc/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, rpSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
