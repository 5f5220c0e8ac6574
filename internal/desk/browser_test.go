package desk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/identity"
)

// The desk in a real browser: an administrator signs in with the TOTP
// step, registers a citizen (first with mistakes), gets the receipt,
// visits the staff and offices pages, and every page passes axe-core's
// WCAG 2.1 AA rules in Catalan, Spanish and English.
func TestDeskPagesAreAccessible(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browsertest.New(t)
	w := newWorld(t)
	boss := w.officer(w.bcn, "mgarcia", identity.RoleAdmin, true)
	w.officer(w.bcn, "jpuig", identity.RoleOfficer, true)
	base := w.srv.URL

	check := func(lang, what string) {
		t.Helper()
		var htmlLang string
		b.Eval(t, `document.documentElement.lang`, &htmlLang)
		if htmlLang != lang && what != "receipt" {
			t.Errorf("%s (%s): page in %q", what, lang, htmlLang)
		}
		b.AssertAccessible(t)
	}
	set := func(values map[string]string) {
		t.Helper()
		js, _ := json.Marshal(values)
		b.Eval(t, `(() => { const v = `+string(js)+`;
			for (const [k, x] of Object.entries(v)) {
				const el = document.getElementById("f-" + k);
				if (el.type === "checkbox") el.checked = x !== ""; else el.value = x;
			}
			return true; })()`, nil)
	}

	b.SetLanguage(t, "ca")
	b.Open(t, base+"/desk/login")
	check("ca", "login")
	b.Submit(t, "form[action='/desk/login']") // empty: errors announced
	check("ca", "login errors")
	b.Fill(t, "#f-username", boss.Username)
	b.Fill(t, "#f-password", boss.password)
	b.Submit(t, "form[action='/desk/login']")
	check("ca", "totp")
	b.Fill(t, "#f-code", w.code(boss.secret))
	b.Submit(t, "#f-code")
	if !strings.HasSuffix(b.URL(t), "/desk") {
		t.Fatalf("sign-in ended at %s", b.URL(t))
	}

	var citizen string
	for i, lang := range []string{"ca", "es", "en"} {
		b.SetLanguage(t, lang)
		if i == 0 { // the other languages change only the words
			b.Open(t, base+"/desk")
			check(lang, "home")
			b.Open(t, base+"/desk/search?document=87654321X")
			check(lang, "search, nobody found")
		}
		b.Open(t, base+"/desk/register")
		b.Submit(t, "form[action='/desk/register']")
		check(lang, "register errors")
		if i == 0 {
			set(map[string]string{"document": "12345678Z", "doc_validity": "2031-04-30", "given_name": "Núria",
				"first_surname": "Puig", "birth_date": "1980-02-29", "email": "nuria@example.org", "mobile": "612345678",
				"language": "es", "document_shown": "dni", "document_checked": "1"})
			b.Submit(t, "form[action='/desk/register']")
			if code := b.Text(t, ".code"); !codeRE.MatchString(code) {
				t.Fatalf("receipt code %q", code)
			}
			check("es", "receipt")
			b.Eval(t, `document.querySelector("a[href^='/desk/citizens/']").getAttribute("href")`, &citizen)
			b.Open(t, b.URL(t)) // reload: already shown
			check(lang, "receipt shown")
		}
		b.Open(t, base+citizen)
		check(lang, "citizen record")
		set(map[string]string{"email": "not an email"})
		b.Submit(t, "form[action$='/contact']")
		check(lang, "contact errors")
		b.Open(t, base+"/desk/offices")
		check(lang, "offices")
		if i == 0 {
			set(map[string]string{"code": "BCN-01", "postal_code": "801"})
			b.Submit(t, "form[action='/desk/offices']")
			if e := b.Text(t, "#f-postal_code-error"); e == "" {
				t.Fatal("no postal code error beside its field")
			}
			check(lang, "office errors")
		}
		b.Open(t, base+"/desk/officers")
		check(lang, "office staff")
	}
	b.Fill(t, "#f-username", "nou.agent")
	b.Fill(t, "#f-display_name", "Nou Agent")
	b.Submit(t, "form[action='/desk/officers']")
	check("en", "new officer's credentials")
}
