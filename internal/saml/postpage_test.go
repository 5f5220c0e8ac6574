package saml_test

import (
	"bytes"
	"crypto/rand"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestPostPageFromShell: the auto-post page built from its cached shell
// is byte for byte the page the template writes, in every language,
// for message values with and without '+', and for RelayStates the
// shell takes and those it leaves to the template.
func TestPostPageFromShell(t *testing.T) {
	sp := newTestSP(t, "shell", false)
	s := newSite(t, sp)
	msgs := [][]byte{[]byte("<samlp:Response/>"), {0xfb, 0xef, 0xff, 0x3e}, make([]byte, 9000)}
	_, _ = rand.Read(msgs[2])
	relays := []struct {
		v     string
		shell bool
	}{
		{"", true}, {"r", true}, {"/app/page?x=1;y=2#top", true}, {"a+b", false}, {`"><script>alert(1)</script>`, false},
		{"ñ", false}, {"a&b", false},
	}
	for _, lang := range []string{"ca", "es", "en"} {
		for _, path := range []string{"/saml/login", "/saml/continue"} {
			for _, m := range msgs {
				for _, rs := range relays {
					for range 2 { // the first builds the shell, the second uses it
						r := httptest.NewRequest("GET", path+"?id=x", nil)
						r.Header.Set("Accept-Language", lang)
						fast, full, shell := s.idp.PostPages(r, sp.acs, "SAMLResponse", m, rs.v)
						if shell != rs.shell {
							t.Errorf("%s %s relay %q: from the shell %v, want %v", lang, path, rs.v, shell, rs.shell)
						}
						if !bytes.Equal(fast.Body.Bytes(), full.Body.Bytes()) {
							t.Fatalf("%s %s relay %q: the page differs from the template's:\n%s\n----\n%s", lang, path, rs.v, fast.Body, full.Body)
						}
						for _, h := range []string{"Content-Type", "Content-Language", "Vary", "Content-Length"} {
							if fast.Header().Get(h) != full.Header().Get(h) {
								t.Errorf("%s: %q, template %q", h, fast.Header().Get(h), full.Header().Get(h))
							}
						}
						if got, want := fast.Header().Get("Content-Length"), strconv.Itoa(fast.Body.Len()); got != want {
							t.Errorf("Content-Length %q for a body of %s bytes", got, want)
						}
						if fast.Code != full.Code {
							t.Errorf("status %d, template %d", fast.Code, full.Code)
						}
					}
				}
			}
		}
	}
	// A ?lang= choice goes through Render, which keeps it in a cookie.
	r := httptest.NewRequest("GET", "/saml/login?id=x&lang=es", nil)
	if _, _, shell := s.idp.PostPages(r, sp.acs, "SAMLResponse", msgs[0], ""); shell {
		t.Error("a ?lang= request was answered from the shell, without the language cookie")
	}
}
