package main

import (
	"bytes"
	"encoding/base64"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/clau-eid/clau/internal/browsertest"
)

// Registration by letter end to end, in a real browser against `clau
// demo`: the operator imports the reference registry; a citizen asks for
// a letter at /register/letter; the printing office (the demo admin)
// downloads the day's batch as a PDF, whose text poppler's pdftotext
// reads back, and marks it sent; the citizen activates with the letter's
// code and is at level basic; at the office an officer raises them to
// advanced after the in-person check. axe-core checks every page, and
// the letter form in three languages.
func TestBrowserLetterRegistration(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) not installed")
	}
	e := newEnv(t)
	csv := e.file("padro.csv", registryHeader+
		"23456789D,2032-01-31,,,Jordi,Roca,Vilà,1985-05-17,\"Carrer Major 12, 3r 2a\",,17001,Girona,Girona,\n")
	e.ok("registry", "import", csv)
	base, guide := demoServer(t, e)
	m := regexp.MustCompile(`username (\S+), password (\S+), TOTP seed (\S+)`).FindStringSubmatch(guide)
	if m == nil {
		t.Fatalf("no desk account in the guide:\n%s", guide)
	}
	user, pass, seed := m[1], m[2], m[3]
	const doc, email, mobile = "23456789D", "jordi@example.org", "+34655443322"

	b := browsertest.New(t)
	b.SetLanguage(t, "ca-ES,ca;q=0.9")
	check := func(step string) {
		t.Helper()
		if t.Failed() {
			t.Fatalf("stopped before %s", step)
		}
		b.AssertAccessible(t)
	}

	// The citizen asks for a letter; a stale check value (an old DNI's
	// date) gets the same answer as a match and queues nothing.
	b.Open(t, base+"/register/letter")
	check("letter form")
	b.Fill(t, "#document", doc)
	b.Fill(t, "#check", "31/02/2032")
	b.Fill(t, "#mobile", "655 44 33 22")
	b.Fill(t, "#email", email)
	b.Click(t, "form button[type=submit]")
	if b.Text(t, "#check-error") == "" {
		t.Fatal("no message beside an impossible date")
	}
	check("letter form with an error")
	b.Fill(t, "#check", "31/01/2022")
	b.Click(t, "form button[type=submit]")
	if h1 := b.Text(t, "h1"); h1 != "Sol·licitud rebuda" {
		t.Fatalf("after a stale check value h1 = %q", h1)
	}
	b.Open(t, base+"/register/letter")
	b.Fill(t, "#document", doc)
	b.Fill(t, "#check", "31/01/2032")
	b.Fill(t, "#mobile", "655 44 33 22")
	b.Fill(t, "#email", email)
	b.Fill(t, "#language", "ca")
	b.Click(t, "form button[type=submit]")
	if h1 := b.Text(t, "h1"); h1 != "Sol·licitud rebuda" {
		t.Fatalf("after the request h1 = %q", h1)
	}
	check("letter requested")

	// The printing office.
	b.Open(t, base+"/desk/login")
	b.Fill(t, "#f-username", user)
	b.Fill(t, "#f-password", pass)
	b.Submit(t, "form[action='/desk/login']")
	code, err := totp.GenerateCode(seed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(t, "#f-code", code)
	b.Submit(t, "#f-code")
	b.Open(t, base+"/desk/letters")
	check("desk letters")
	if got := b.Text(t, "main"); !strings.Contains(got, "Cartes pendents d'imprimir: 1.") {
		t.Fatalf("letters page: %q", got)
	}
	var pdf64 string
	b.Eval(t, `fetch(document.querySelector("a[href^='/desk/letters/batch.pdf']").href).then(r => r.arrayBuffer()).then(buf => {
		const u = new Uint8Array(buf); let s = "";
		for (let i = 0; i < u.length; i += 8192) { s += String.fromCharCode.apply(null, u.subarray(i, i + 8192)); }
		return btoa(s); })`, &pdf64)
	pdf, err := base64.StdEncoding.DecodeString(pdf64)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("batch download is not a PDF (%v): %.40q", err, pdf)
	}
	cmd := exec.Command(pdftotext, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	text, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"Jordi Roca Vilà", "Carrer Major 12, 3r 2a", "17001 Girona", "El vostre codi d'activació de Clau",
		base + "/activate"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("letter lacks %q:\n%s", want, text)
		}
	}
	letterCode := regexp.MustCompile(`\b[2-9A-Z]{4}(-[2-9A-Z]{4}){3}\b`).FindString(string(text))
	if letterCode == "" {
		t.Fatalf("no activation code in the letter:\n%s", text)
	}
	b.Click(t, "form[action='/desk/letters/sent'] button")
	if got := b.Text(t, "main"); !strings.Contains(got, "Lot marcat com a enviat: 1 cartes") {
		t.Fatalf("after marking sent: %q", got)
	}
	check("desk letters sent")

	// The citizen activates with the letter's code.
	b.Open(t, base+"/activate")
	b.Fill(t, "#document", doc)
	b.Fill(t, "#email", email)
	b.Fill(t, "#code", letterCode)
	b.Click(t, "form button[type=submit]")
	if !strings.HasSuffix(b.URL(t), "/sms") {
		t.Fatalf("after step 1 the browser is at %s: %s", b.URL(t), b.Text(t, "main"))
	}
	b.Fill(t, "#code", lastSMS(t, base, mobile))
	b.Click(t, "form button[type=submit]")
	b.Fill(t, "#password", "Groc-Mar-Tramuntana-7")
	b.Fill(t, "#password_again", "Groc-Mar-Tramuntana-7")
	b.Click(t, "form button[type=submit]")
	if h1 := b.Text(t, "h1"); h1 != "La vostra Clau està activa" {
		t.Fatalf("done page h1 = %q", h1)
	}

	// At the office: level basic, raised to advanced after the check.
	b.Open(t, base+"/desk/search?document="+doc)
	if got := b.Text(t, "main"); !strings.Contains(got, "nivell bàsic") || !strings.Contains(got, "Passa a nivell avançat") {
		t.Fatalf("citizen page: %q", got)
	}
	check("desk citizen, level basic")
	b.Click(t, "form[action$='/upgrade'] button")
	if b.Text(t, ".error-summary") == "" {
		t.Fatal("upgrade without the in-person check was not refused")
	}
	check("desk upgrade refused")
	b.Fill(t, "#f-document_shown", "dni")
	b.Click(t, "#f-document_checked")
	b.Click(t, "form[action$='/upgrade'] button")
	if got := b.Text(t, "main"); !strings.Contains(got, "Registre passat a nivell avançat") || !strings.Contains(got, "nivell avançat") {
		t.Fatalf("after the upgrade: %q", got)
	}
	check("desk citizen, level advanced")

	for _, tc := range []struct{ lang, title string }{
		{"es-ES,es;q=0.9", "Registro por carta"},
		{"en-GB,en;q=0.9", "Register by letter"},
	} {
		b.SetLanguage(t, tc.lang)
		b.Open(t, base+"/register/letter")
		if got := b.Text(t, "h1"); got != tc.title {
			t.Fatalf("%s: h1 = %q", tc.lang, got)
		}
		check(tc.lang + " letter form")
		b.Fill(t, "#document", "23456789A")
		b.Click(t, "form button[type=submit]")
		check(tc.lang + " letter form with errors")
	}
}
