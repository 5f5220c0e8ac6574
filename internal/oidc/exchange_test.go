package oidc_test

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/audit"
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
