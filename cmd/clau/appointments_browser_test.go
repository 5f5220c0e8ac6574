package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/browsertest"
)

// outboxBodies are the messages sent to one recipient, newest first, as
// /dev/outbox shows them.
func outboxBodies(t *testing.T, base, to string) []string {
	t.Helper()
	res, err := http.Get(base + "/dev/outbox?to=" + strings.ReplaceAll(to, "+", "%2B"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var msgs []struct{ Body string }
	if err := json.NewDecoder(res.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Body)
	}
	return out
}

// The end-to-end journey in a real browser against `clau demo`: a
// citizen books a visit to the demo office, the confirmation with the
// reference arrives by SMS (read from /dev/outbox), the officer opens the
// day view, registers the citizen from the appointment with the form
// filled from it, and the activation code on the receipt lets the citizen
// start activating. axe-core checks every page.
func TestBrowserAppointmentToRegistration(t *testing.T) {
	e := newEnv(t)
	base, guide := demoServer(t, e)
	const doc, mobile = "45678912S", "+34622333444"
	b := browsertest.New(t)
	b.SetLanguage(t, "es-ES,es;q=0.9")
	check := func(step string) {
		t.Helper()
		if t.Failed() {
			t.Fatalf("stopped before %s", step)
		}
		b.AssertAccessible(t)
	}

	b.Open(t, base+"/offices/DEMO-01/book")
	check("booking form")
	b.Click(t, "#slot-0")
	b.Fill(t, "#document", "45678912-s")
	b.Fill(t, "#name", "Laia Serra Font")
	b.Fill(t, "#mobile", "622 333 444")
	b.Submit(t, "form[method=post]")
	ref := strings.TrimSpace(b.Text(t, "#reference"))
	if !regexp.MustCompile(`^[2-9A-Z]{8}$`).MatchString(ref) {
		t.Fatalf("reference %q at %s", ref, b.URL(t))
	}
	check("booking confirmation")
	when := regexp.MustCompile(`(\d\d)/(\d\d)/(\d{4}) (\d\d:\d\d)`).FindStringSubmatch(b.Text(t, "main"))
	if when == nil {
		t.Fatalf("no date on the confirmation: %s", b.Text(t, "main"))
	}
	var cal string
	b.Eval(t, `document.getElementById("calendar").getAttribute("href")`, &cal)
	if cal != "/appointments/calendar.ics?ref="+ref {
		t.Fatalf("calendar link = %q", cal)
	}
	b.Open(t, base+"/appointments/change?ref="+ref)
	check("change form from the message's link")
	msgs := outboxBodies(t, base, mobile)
	if len(msgs) != 1 || !strings.Contains(msgs[0], ref) || !strings.Contains(msgs[0], when[4]) {
		t.Fatalf("confirmation SMS = %q (reference %s)", msgs, ref)
	}

	deskSignIn(t, b, base, guide, check)
	b.Open(t, base+"/desk/schedule")
	check("schedule page")
	b.Fill(t, "#f-open_1", "25:00")
	b.Submit(t, "form[action='/desk/schedule/hours']")
	if got := b.Text(t, "#f-open_1-error"); !strings.Contains(got, "HH:MM") {
		t.Fatalf("bad opening time: %q", got)
	}
	check("schedule page with an error")
	b.Open(t, base+"/desk/appointments?day="+when[3]+"-"+when[2]+"-"+when[1])
	check("day view")
	if got := b.Text(t, "#appointments"); !strings.Contains(got, "Laia Serra Font") || !strings.Contains(got, doc) {
		t.Fatalf("day view = %q", got)
	}
	b.Click(t, "#appointments a[href^='/desk/register?appointment=']")
	check("registration form from the appointment")
	var filled map[string]string
	b.Eval(t, `({doc: document.getElementById("f-document").value, given: document.getElementById("f-given_name").value,
		first: document.getElementById("f-first_surname").value, second: document.getElementById("f-second_surname").value,
		mobile: document.getElementById("f-mobile").value, lang: document.getElementById("f-language").value})`, &filled)
	if filled["doc"] != doc || filled["given"] != "Laia" || filled["first"] != "Serra" || filled["second"] != "Font" ||
		filled["mobile"] != mobile || filled["lang"] != "es" {
		t.Fatalf("pre-filled form = %v", filled)
	}
	b.Fill(t, "#f-email", "laia@example.org")
	b.Fill(t, "#f-document_shown", "dni")
	b.Eval(t, `document.getElementById("f-doc_validity").value = "2031-04-30";
		document.getElementById("f-birth_date").value = "1990-06-15"; true`, nil)
	b.Click(t, "#f-document_checked")
	b.Submit(t, "form[action='/desk/register']")
	code := strings.TrimSpace(b.Text(t, ".code"))
	if !regexp.MustCompile(`^[2-9A-Z]{4}(-[2-9A-Z]{4}){3}$`).MatchString(code) {
		t.Fatalf("receipt code %q at %s", code, b.URL(t))
	}
	check("receipt")
	b.Open(t, base+"/desk/appointments?day="+when[3]+"-"+when[2]+"-"+when[1])
	if got := b.Text(t, "#appointments .status"); got != "Registrado" {
		t.Fatalf("appointment status after the registration = %q", got)
	}
	check("day view after the registration")
	b.Open(t, base+"/desk")
	b.Click(t, "form[action='/desk/logout'] button")

	// The citizen starts activating with the code from the receipt.
	b.Open(t, base+"/activate")
	b.Fill(t, "#document", doc)
	b.Fill(t, "#email", "laia@example.org")
	b.Fill(t, "#code", code)
	b.Click(t, "form button[type=submit]")
	if !strings.HasSuffix(b.URL(t), "/sms") {
		t.Fatalf("activation with the receipt's code went to %s: %s", b.URL(t), b.Text(t, "main"))
	}
	if sms := lastSMS(t, base, mobile); sms == "" {
		t.Fatal("no activation SMS code")
	}
}
