package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/store"
)

var sigRE = regexp.MustCompile(`(?s)<ds:Signature.*</ds:Signature>`)

// TestHostileMessages: each hostile or broken request is refused with a
// translated error page, audited with its reason, and never answered 500
// or with an assertion.
func TestHostileMessages(t *testing.T) {
	sp := newTestSP(t, "ajuntament", false)
	other := newTestSP(t, "altre", false)
	sha1sp := newTestSP(t, "antic", false)
	sha1sp.cfg.AllowSHA1 = true
	open := newTestSP(t, "obert", false)
	open.unsignedOK = true
	s := newSite(t, sp, other, sha1sp, open)
	mallory := newTestSP(t, "ajuntament", false) // same names, another key

	signed := func(edit func(*claveRequest)) string {
		r := sp.clave(s)
		if edit != nil {
			edit(&r)
		}
		return string(sp.sign(t, r.String(), ""))
	}
	// moveInto puts the whole original message inside the forged one's
	// Extensions (the classic wrapping position).
	nest := func(forged, original string) string {
		return strings.Replace(forged, "<saml2p:Extensions>", "<saml2p:Extensions>"+original, 1)
	}
	evilACS := func(m string) string { return strings.Replace(m, sp.acs, "https://evil.example/acs", 1) }
	var deep strings.Builder
	for range 100 {
		deep.WriteString("<x>")
	}
	for range 100 {
		deep.WriteString("</x>")
	}
	replayed := signed(nil)

	cases := []struct {
		name  string
		msg   func() string // the XML posted
		code  string        // saml.err.* in the audit and the page
		text  string        // what the page says (English)
		setup func()
	}{
		{"XSW: forged root, signed original nested, no signature on the root", func() string {
			orig := signed(nil)
			forged := evilACS(strings.Replace(sigRE.ReplaceAllString(orig, ""), `ID="`, `ID="_evil`, 1))
			return nest(forged, orig)
		}, "saml.err.unsigned", "is not signed", nil},
		{"XSW: forged root with the signature, original nested", func() string {
			orig := signed(nil)
			forged := evilACS(strings.Replace(orig, `ID="`, `ID="_evil`, 1))
			return nest(forged, sigRE.ReplaceAllString(orig, ""))
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"XSW: forged root keeps the ID and signature, original nested", func() string {
			orig := signed(nil)
			return nest(evilACS(orig), sigRE.ReplaceAllString(orig, ""))
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"XSW: original inside the signature's Object", func() string {
			orig := signed(nil)
			forged := evilACS(orig)
			return strings.Replace(forged, "</ds:Signature>", "<ds:Object>"+sigRE.ReplaceAllString(orig, "")+"</ds:Object></ds:Signature>", 1)
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"XSW: two signatures", func() string {
			orig := signed(nil)
			sig := sigRE.FindString(orig)
			return strings.Replace(orig, sig, sig+sig, 1)
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"XSW: forged and original side by side under a wrapper", func() string {
			orig := signed(nil)
			return `<w:Wrapper xmlns:w="urn:x">` + evilACS(sigRE.ReplaceAllString(orig, "")) + orig + `</w:Wrapper>`
		}, "saml.err.unknown_sp", "not registered", nil},
		{"tampered attribute after signing", func() string {
			return strings.Replace(signed(nil), `ForceAuthn="true"`, `ForceAuthn="false"`, 1)
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"tampered requested level after signing", func() string {
			return strings.Replace(signed(func(r *claveRequest) { r.LoA = loaSubstantial }), "LoA/substantial", "LoA/low", 1)
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"comment inside a signed value", func() string {
			return strings.Replace(signed(nil), "ajuntament.example/saml/metadata<", "ajuntament.example/saml/<!---->metadata<", 1)
		}, "saml.err.forbidden_xml", "not accepted", nil},
		{"DTD with entity expansion", func() string {
			return `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
				strings.Replace(signed(nil), "Ajuntament_Tramits", "&b;", 1)
		}, "saml.err.forbidden_xml", "not accepted", nil},
		{"external entity", func() string {
			return `<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd">` + signed(nil)
		}, "saml.err.forbidden_xml", "not accepted", nil},
		{"oversized", func() string {
			return strings.Replace(signed(nil), "</saml2p:Extensions>", "<x>"+strings.Repeat("A", 200<<10)+"</x></saml2p:Extensions>", 1)
		}, "saml.err.too_large", "too large", nil},
		{"deeply nested", func() string {
			return strings.Replace(signed(nil), "</saml2p:Extensions>", deep.String()+"</saml2p:Extensions>", 1)
		}, "saml.err.forbidden_xml", "not accepted", nil},
		{"not XML", func() string { return "<saml2p:AuthnRequest" }, "saml.err.malformed", "not valid", nil},
		{"unknown SP", func() string {
			return signed(func(r *claveRequest) { r.Issuer = "https://unknown.example/md" })
		}, "saml.err.unknown_sp", "not registered", nil},
		{"issuer of another SP, signed with this SP's key", func() string {
			return signed(func(r *claveRequest) { r.Issuer = other.entityID })
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"signed by a key not in the metadata", func() string {
			return string(mallory.sign(t, sp.clave(s).String(), ""))
		}, "saml.err.signature", "signature of the request is not valid", nil},
		{"ACS URL not in metadata", func() string {
			return signed(func(r *claveRequest) { r.ACS = "https://evil.example/acs" })
		}, "saml.err.acs", "not in its registered metadata", nil},
		{"ACS javascript: URL", func() string {
			return signed(func(r *claveRequest) { r.ACS = "javascript:alert(1)" })
		}, "saml.err.acs", "not in its registered metadata", nil},
		{"expired", func() string {
			return signed(func(r *claveRequest) { r.IssueInstant = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) })
		}, "saml.err.expired", "expired", nil},
		{"issued in the future", func() string {
			return signed(func(r *claveRequest) { r.IssueInstant = time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339) })
		}, "saml.err.expired", "expired", nil},
		{"replayed", func() string { return replayed }, "saml.err.replay", "already used", func() {
			b := newBrowser(t)
			if a := b.postRequest(s, []byte(replayed), ""); !signInPath.MatchString(a.url.Path) {
				t.Fatalf("first use refused: %d %s", a.status, a.body)
			}
		}},
		{"wrong Destination", func() string {
			return signed(func(r *claveRequest) { r.Destination = "https://pasarela.clave.gob.es/Proxy2/ServiceProvider" })
		}, "saml.err.destination", "addressed to another server", nil},
		{"no Destination on a signed request", func() string {
			return string(sp.sign(t, strings.Replace(sp.clave(s).String(), ` Destination="`+s.url+`/saml/sso"`, "", 1), ""))
		}, "saml.err.destination", "addressed to another server", nil},
		{"unsigned, from an SP that must sign", func() string { return sp.clave(s).String() }, "saml.err.unsigned", "is not signed", nil},
		{"SHA-1 signature", func() string {
			return string(sp.sign(t, sp.clave(s).String(), dsig.RSASHA1SignatureMethod))
		}, "saml.err.algorithm", "no longer accepted", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			a := newBrowser(t).postRequest(s, []byte(tc.msg()), "")
			checkRefused(t, s, a, tc.code, tc.text)
		})
	}

	t.Run("SHA-1 from an SP allowed to use it", func(t *testing.T) {
		a := newBrowser(t).postRequest(s, sha1sp.sign(t, sha1sp.clave(s).String(), dsig.RSASHA1SignatureMethod), "")
		if !signInPath.MatchString(a.url.Path) {
			t.Fatalf("refused: %d\n%.500s", a.status, a.body)
		}
	})
	t.Run("unsigned from an SP whose metadata allows it", func(t *testing.T) {
		r := open.clave(s)
		a := newBrowser(t).postRequest(s, []byte(r.String()), "")
		if !signInPath.MatchString(a.url.Path) {
			t.Fatalf("refused: %d\n%.500s", a.status, a.body)
		}
	})
	t.Run("not base64", func(t *testing.T) {
		a := newBrowser(t).do("POST", s.url+"/saml/sso", url.Values{"SAMLRequest": {"%%%not base64"}}, "cross-site")
		checkRefused(t, s, a, "saml.err.malformed", "not valid")
	})
	t.Run("no message", func(t *testing.T) {
		a := newBrowser(t).do("GET", s.url+"/saml/sso", nil, "")
		checkRefused(t, s, a, "saml.err.missing", "no SAML message")
	})
	t.Run("DEFLATE bomb over Redirect", func(t *testing.T) {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write([]byte("<a>"))
		w.Write(bytes.Repeat([]byte("A"), 50<<20))
		w.Close()
		q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}
		a := newBrowser(t).do("GET", s.url+"/saml/sso?"+q.Encode(), nil, "")
		checkRefused(t, s, a, "saml.err.too_large", "too large")
	})
	t.Run("unsigned Redirect from an SP that must sign", func(t *testing.T) {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write([]byte(sp.clave(s).String()))
		w.Close()
		q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}
		a := newBrowser(t).do("GET", s.url+"/saml/sso?"+q.Encode(), nil, "")
		checkRefused(t, s, a, "saml.err.unsigned", "is not signed")
	})
	t.Run("the cross-origin exemption is exactly the SAML endpoints", func(t *testing.T) {
		b := newBrowser(t)
		a := b.postRequest(s, sp.sign(t, sp.clave(s).String(), ""), "")
		m := actionRE.FindStringSubmatch(a.body)
		if m == nil {
			t.Fatalf("no sign-in form: %d %s", a.status, a.url)
		}
		a = b.do("POST", s.url+m[1], url.Values{"document": {document}, "password": {password}}, "cross-site")
		if a.status != http.StatusForbidden {
			t.Fatalf("a cross-site post to the sign-in form got %d", a.status)
		}
	})
	t.Run("continue with an unknown request", func(t *testing.T) {
		a := newBrowser(t).do("GET", s.url+"/saml/continue?id=nope", nil, "")
		checkRefused(t, s, a, "saml.err.tx_unknown", "unknown")
	})
}

func checkRefused(t *testing.T, s *site, a answer, code, text string) {
	t.Helper()
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d at %s, want 400:\n%.800s", a.status, a.url, a.body)
	}
	if !strings.Contains(a.body, text) || strings.Contains(a.body, "SAMLResponse") {
		t.Errorf("the page does not say %q:\n%.1200s", text, a.body)
	}
	ev, err := s.store.ListAudit(context.Background(), store.AuditFilter{Action: "saml.refused", Limit: 1})
	if err != nil || len(ev) == 0 {
		t.Fatalf("not audited: %v", err)
	}
	if ev[0].Details["code"] != code || ev[0].Outcome != "denied" {
		t.Errorf("audited %s (%s), want %s", ev[0].Details["code"], ev[0].Details["reason"], code)
	}
}
