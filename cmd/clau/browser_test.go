package main

import (
	"bufio"
	"time"

	"encoding/json"
	"github.com/pquerna/otp/totp"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
)

// demoServer starts `clau demo` and returns its base URL and guide.
func demoServer(t *testing.T, e *env) (string, string) {
	t.Helper()
	cmd := exec.Command(clauBin, "demo", "--listen", "127.0.0.1:0")
	cmd.Env, cmd.Dir = e.vars, e.dir
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	var guide strings.Builder
	for sc.Scan() {
		guide.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Press Ctrl+C") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	m := regexp.MustCompile(`Home page:\s+(\S+)/`).FindStringSubmatch(guide.String())
	if m == nil {
		t.Fatalf("no home page in the guide:\n%s", guide.String())
	}
	return m[1], guide.String()
}

// lastSMS reads the newest SMS code from /dev/outbox, as the citizen
// reads their phone.
func lastSMS(t *testing.T, base, to string) string {
	t.Helper()
	res, err := http.Get(base + "/dev/outbox?to=" + strings.ReplaceAll(to, "+", "%2B"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var msgs []struct{ Body string }
	json.NewDecoder(res.Body).Decode(&msgs)
	if len(msgs) == 0 {
		t.Fatalf("no SMS to %s", to)
	}
	return regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[0].Body)
}

// deskSignIn signs the demo's desk account in, with password and TOTP,
// checking each page with check.
func deskSignIn(t *testing.T, b *browsertest.Browser, base, guide string, check func(step string)) {
	t.Helper()
	m := regexp.MustCompile(`username (\S+), password (\S+), TOTP seed (\S+)`).FindStringSubmatch(guide)
	if m == nil {
		t.Fatalf("no desk account in the guide:\n%s", guide)
	}
	user, pass, seed := m[1], m[2], m[3]
	b.Open(t, base+"/desk/login")
	check("desk sign-in")
	b.Fill(t, "#f-username", user)
	b.Fill(t, "#f-password", pass)
	b.Submit(t, "form[action='/desk/login']")
	check("desk TOTP step")
	code, err := totp.GenerateCode(seed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(t, "#f-code", code)
	b.Submit(t, "#f-code")
	if !strings.HasSuffix(b.URL(t), "/desk") {
		t.Fatalf("desk sign-in ended at %s", b.URL(t))
	}
}

// The citizen's first journey in a real browser, as the seed documents
// tell it: an officer signs in at the desk with password and TOTP,
// registers the citizen after the in-person check and hands over the
// receipt's activation code; the citizen activates with it and the SMS
// code read from the phone (/dev/outbox), signs in at level low, then
// steps up to substantial. axe-core checks every page; then the citizen
// pages again in Spanish and English.
func TestBrowserActivationAndSignIn(t *testing.T) {
	e := newEnv(t)
	base, guide := demoServer(t, e)
	const doc, email, mobile = "12345678Z", "nuria@example.org", "+34612345678"

	b := browsertest.New(t)
	b.SetLanguage(t, "ca-ES,ca;q=0.9")
	check := func(step string) {
		t.Helper()
		if t.Failed() {
			t.Fatalf("stopped before %s", step)
		}
		b.AssertAccessible(t)
	}

	deskSignIn(t, b, base, guide, check)
	b.Open(t, base+"/desk/register")
	check("registration form")
	for id, v := range map[string]string{"#f-document": doc, "#f-given_name": "Núria", "#f-first_surname": "Puig",
		"#f-email": email, "#f-mobile": "612 345 678", "#f-language": "ca", "#f-document_shown": "dni"} {
		b.Fill(t, id, v)
	}
	// Date inputs take their value as the date picker would set it.
	b.Eval(t, `document.getElementById("f-doc_validity").value = "2031-04-30";
		document.getElementById("f-birth_date").value = "1980-02-29"; true`, nil)
	b.Click(t, "#f-document_checked")
	b.Submit(t, "form[action='/desk/register']")
	code := strings.TrimSpace(b.Text(t, ".code"))
	if !regexp.MustCompile(`^[2-9A-Z]{4}(-[2-9A-Z]{4}){3}$`).MatchString(code) {
		t.Fatalf("receipt code %q at %s", code, b.URL(t))
	}
	check("receipt")
	b.Open(t, base+"/desk")
	b.Click(t, "form[action='/desk/logout'] button")

	b.Open(t, base+"/activate")
	check("activation form")
	b.Fill(t, "#document", doc)
	b.Fill(t, "#email", "wrong@example.org")
	b.Fill(t, "#code", code)
	b.Click(t, "form button[type=submit]")
	if got := b.Text(t, "#error-summary"); !strings.Contains(got, "no coincideixen") {
		t.Fatalf("error summary = %q", got)
	}
	check("activation form with an error")
	b.Fill(t, "#email", email)
	b.Fill(t, "#code", strings.ToLower(code))
	b.Click(t, "form button[type=submit]")
	if !strings.HasSuffix(b.URL(t), "/sms") {
		t.Fatalf("after step 1 the browser is at %s", b.URL(t))
	}
	check("activation SMS step")
	b.Fill(t, "#code", lastSMS(t, base, mobile))
	b.Click(t, "form button[type=submit]")
	if !strings.HasSuffix(b.URL(t), "/password") {
		t.Fatalf("after the SMS code the browser is at %s", b.URL(t))
	}
	check("password step")
	// With JavaScript, feedback comes while typing (announced politely).
	b.Fill(t, "#password", "curta")
	var live string
	b.Eval(t, `new Promise(r => setTimeout(() => r(document.getElementById("password-live").textContent), 900))`, &live)
	if !strings.Contains(live, "8") {
		t.Fatalf("live feedback for a short password = %q", live)
	}
	b.Fill(t, "#password", "Groc-Mar-Tramuntana-7")
	b.Fill(t, "#password_again", "Groc-Mar-Tramuntana-8")
	b.Click(t, "form button[type=submit]")
	if b.Text(t, "#password_again-error") == "" {
		t.Fatal("no message beside the second password")
	}
	check("password step with an error")
	b.Fill(t, "#password", "Groc-Mar-Tramuntana-7")
	b.Fill(t, "#password_again", "Groc-Mar-Tramuntana-7")
	b.Click(t, "form button[type=submit]")
	if h1 := b.Text(t, "h1"); h1 != "La vostra Clau està activa" {
		t.Fatalf("done page h1 = %q", h1)
	}
	check("activation done")

	b.Click(t, "main a[href^='/login']")
	check("method chooser")
	b.Click(t, "#method-permanent a")
	check("sign-in form")
	b.Fill(t, "#document", doc)
	b.Fill(t, "#password", "Groc-Mar-Tramuntana-7")
	b.Click(t, "form button[type=submit]")
	if got := b.Text(t, "#loa"); got != "Baix" {
		t.Fatalf("level after password = %q (at %s)", got, b.URL(t))
	}
	check("who am I, low")
	b.Click(t, "main a[href*='loa=substantial']")
	if !strings.HasSuffix(b.URL(t), "/sms") {
		t.Fatalf("step-up went to %s", b.URL(t))
	}
	check("step-up SMS")
	b.Fill(t, "#code", lastSMS(t, base, mobile))
	b.Click(t, "form button[type=submit]")
	if got := b.Text(t, "#loa"); got != "Substancial" {
		t.Fatalf("level after SMS = %q", got)
	}
	check("who am I, substantial")

	// The demo service signs in through OpenID Connect: the SSO session at
	// substantial answers at once, and the service shows what it received.
	b.Open(t, base+"/demo-sp/")
	check("demo service")
	b.Click(t, "main a[href*='loa=substantial']")
	if got := b.Text(t, "#claim-acr"); got != `"http://eidas.europa.eu/LoA/substantial"` {
		t.Fatalf("demo service acr = %q at %s", got, b.URL(t))
	}
	if got := b.Text(t, "#claim-given_name"); got != `"Núria"` {
		t.Fatalf("demo service given_name = %q", got)
	}
	check("demo service claims")

	for _, tc := range []struct{ lang, me, login string }{
		{"es-ES,es;q=0.9", "Sustancial", "Acceda con Clau"},
		{"en-GB,en;q=0.9", "Substantial", "Sign in with Clau"},
	} {
		b.SetLanguage(t, tc.lang)
		b.Open(t, base+"/me")
		if got := b.Text(t, "#loa"); got != tc.me {
			t.Fatalf("%s: level shown as %q", tc.lang, got)
		}
		check(tc.lang + " who am I")
		b.Open(t, base+"/activate")
		b.Fill(t, "#document", "12345678A")
		b.Click(t, "form button[type=submit]")
		check(tc.lang + " activation with errors")
		b.Open(t, base+"/login?continue=/me&prompt=login")
		if got := b.Text(t, "h1"); got != tc.login {
			t.Fatalf("%s: sign-in h1 = %q", tc.lang, got)
		}
		check(tc.lang + " sign-in form")
		b.Open(t, base+"/")
		check(tc.lang + " home")
		b.Open(t, base+"/offices")
		check(tc.lang + " office directory")
		b.Click(t, "main a[href='/offices/DEMO-01']")
		check(tc.lang + " office page")
		b.Open(t, base+"/offices/DEMO-01/book")
		check(tc.lang + " booking form")
	}
	b.Open(t, base+"/me")
	b.Click(t, "main form[action='/logout'] button")
	b.Open(t, base+"/me")
	if !strings.Contains(b.URL(t), "/login") || b.Text(t, "h1") != "Sign in with Clau" {
		t.Fatalf("after signing out /me is at %s", b.URL(t))
	}
}
