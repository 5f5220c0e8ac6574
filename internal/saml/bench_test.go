package saml_test

import (
	"testing"
)

// BenchmarkSSOResponse is one SSO answer from an existing session: a
// signed AuthnRequest posted, the 303, and the page with the signed
// response (assertion and response signed, RSA-3072). The SP's own
// request signing is outside the timer; the loopback HTTP client is in.
func BenchmarkSSOResponse(b *testing.B) {
	sp := newTestSP(b, "bench", false)
	s := newSite(b, sp)
	c := sp.client(s)
	br := newBrowser(b)
	postedForm(b, br.signIn(s, br.postRequest(s, authnRequest(b, c), "")))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		req := authnRequest(b, c)
		b.StartTimer()
		postedForm(b, br.postRequest(s, req, "r"))
	}
}
