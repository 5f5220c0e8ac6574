package account_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
)

// activateAndSignIn takes the registered citizen through activation and
// signs them in at substantial in b, ending on continueTo.
func (s *site) activateAndSignIn(b *browser, continueTo string) (int, string, string) {
	t := s.t
	t.Helper()
	code := s.register()
	_, path, _ := b.post(s.url+"/activate", "document", "12345678Z", "email", "nuria@example.org", "code", code)
	flow := strings.TrimSuffix(path, "/sms")
	b.post(s.url+flow+"/sms", "code", s.lastSMS())
	b.post(s.url+flow+"/password", "password", good, "password_again", good)
	_, _, body := b.get(s.url + "/login?loa=substantial&method=permanent&continue=" + continueTo)
	_, sms, _ := b.post(s.url+formAction(t, body), "document", "12345678Z", "password", good)
	return b.post(s.url+sms, "code", s.lastSMS())
}

func (s *site) setClock(at time.Time) { s.clock.Add(at.Sub(s.clock.Now())) }

var errorSummary = regexp.MustCompile(`(?s)<div class="error-summary".*?</div>`)
var pinLink = regexp.MustCompile(`href="(/login/[a-z0-9]+/pin)"`)

// startPIN opens a new sign-in in b and goes from the chooser to the PIN form.
func (s *site) startPIN(b *browser) string {
	s.t.Helper()
	_, _, body := b.get(s.url + "/login?continue=/me&prompt=login")
	m := pinLink.FindStringSubmatch(body)
	if m == nil {
		s.t.Fatalf("no PIN in the chooser:\n%s", body)
	}
	if st, _, body := b.get(s.url + m[1]); st != 200 || !strings.Contains(body, `name="check"`) {
		s.t.Fatalf("PIN form %d:\n%s", st, body)
	}
	return m[1]
}

func (s *site) audited(action string) int {
	events, _ := s.store.ListAudit(context.Background(), store.AuditFilter{Limit: 1000})
	n := 0
	for _, e := range events {
		if e.Action == action {
			n++
		}
	}
	return n
}

// The PIN service from start to end, with a test clock: enabled from the
// account page, a sign-in by PIN, every bad input of the issue (wrong check
// value answered like an unknown document, wrong, expired and reused PINs,
// a PIN from another sign-in, a PIN killed by a newer request, too many
// requests), the expiry notice, renewal and the service's own expiry.
func TestPINLifecycle(t *testing.T) {
	s := newSiteWith(t, allMethods())
	owner := s.browser("en")

	// Enable: the account page needs substantial.
	if _, p, _ := owner.get(s.url + "/me/pin"); !strings.HasPrefix(p, "/login") {
		t.Fatalf("/me/pin without a session went to %s", p)
	}
	if st, p, body := s.activateAndSignIn(owner, "/me/pin"); st != 200 || p != "/me/pin" ||
		!strings.Contains(body, "The PIN service is off") {
		t.Fatalf("signed in at substantial: %d %s\n%s", st, p, body)
	}
	st, _, body := owner.post(s.url+"/me/pin", "action", "enable", "personal_code", "ab1")
	if st != 422 && st != 400 || !strings.Contains(body, `id="personal_code-error"`) {
		t.Fatalf("bad personal code: %d\n%s", st, body)
	}
	if _, err := s.store.PINServiceOf(context.Background(), mustCitizen(t, s).ID); err == nil {
		t.Fatal("a refused form enabled the service")
	}
	st, p, body := owner.post(s.url+"/me/pin", "action", "enable", "personal_code", "ab12")
	if st != 200 || p != "/me/pin" || !strings.Contains(body, "Done: the PIN service is on until") {
		t.Fatalf("enable: %d %s\n%s", st, p, body)
	}
	msgs, _ := s.store.ListMessages(context.Background(), 1)
	if !strings.Contains(msgs[0].Body, "servei PIN fins al") {
		t.Fatalf("no SMS about the new service: %q", msgs[0].Body)
	}
	if s.audited("pin.enable") != 1 {
		t.Fatal("enable not audited")
	}

	// Sign in with the PIN. Wrong check value, unknown document and a
	// missing personal code all get the same answer.
	b := s.browser("en")
	form := s.startPIN(b)
	answers := map[string]string{}
	for name, kv := range map[string][]string{
		"wrong check":   {"document", "12345678Z", "check", "29/04/2031", "personal_code", "AB12"},
		"unknown":       {"document", "87654321X", "check", "30/04/2031", "personal_code", "AB12"},
		"no code":       {"document", "12345678Z", "check", "30/04/2031", "personal_code", ""},
		"wrong code":    {"document", "12345678Z", "check", "30/04/2031", "personal_code", "AB13"},
		"nonsense code": {"document", "12345678Z", "check", "30/04/2031", "personal_code", "é"},
	} {
		st, _, body := b.post(s.url+form, kv...)
		if st != 401 {
			t.Fatalf("%s: %d\n%s", name, st, body)
		}
		answers[name] = errorSummary.FindString(body)
	}
	for name, a := range answers {
		if a != answers["unknown"] || !strings.Contains(a, "do not match an active PIN service") {
			t.Fatalf("%s answered %q, unknown document %q", name, a, answers["unknown"])
		}
	}
	if n := s.audited("pin.request_fail"); n != 5 {
		t.Fatalf("refused requests audited %d times", n)
	}
	before, _ := s.store.ListMessages(context.Background(), 100)
	s.clock.Add(61 * time.Minute) // every request counts: 5 an hour per document

	// The right data (check value as ISO date, code in lower case).
	st, p, body = b.post(s.url+form, "document", "12345678z", "check", "2031-04-30", "personal_code", "ab12")
	if st != 200 || !strings.HasSuffix(p, "/pin/code") || !strings.Contains(body, "34*****678") {
		t.Fatalf("request: %d %s\n%s", st, p, body)
	}
	codePage := p
	after, _ := s.store.ListMessages(context.Background(), 100)
	if len(after) != len(before)+1 || !strings.Contains(after[0].Body, "d'aquí a 10 minuts") {
		t.Fatalf("PIN SMS: %d -> %d %q", len(before), len(after), after[0].Body)
	}
	first := s.lastSMS()

	// Wrong PIN: two tries left.
	_, _, body = b.post(s.url+codePage, "pin", "000000")
	if !strings.Contains(body, "2 attempts left") {
		t.Fatalf("wrong PIN:\n%s", body)
	}
	// The PIN typed into another sign-in that never asked for one.
	other := s.browser("es")
	otherForm := s.startPIN(other)
	st, _, body = other.post(s.url+strings.TrimSuffix(otherForm, "/pin")+"/pin/code", "pin", first)
	if st != 400 || !strings.Contains(body, "no se ha pedido ningún PIN") {
		t.Fatalf("PIN for another sign-in: %d\n%s", st, body)
	}
	// A newer request (in the other sign-in) kills the first PIN.
	if _, p, _ := other.post(s.url+otherForm, "document", "12345678Z", "check", "30/04/2031", "personal_code", "AB12"); !strings.HasSuffix(p, "/pin/code") {
		t.Fatalf("second request went to %s", p)
	}
	second := s.lastSMS()
	st, _, body = b.post(s.url+codePage, "pin", first)
	if st != 400 || !strings.Contains(body, "A newer PIN was asked for") {
		t.Fatalf("killed PIN: %d\n%s", st, body)
	}
	// And the second PIN belongs to the other sign-in, not this one.
	if _, _, body = b.post(s.url+codePage, "pin", second); !strings.Contains(body, "A newer PIN was asked for") {
		t.Fatalf("the other sign-in's PIN:\n%s", body)
	}

	// Expired: ask again here, wait 11 minutes.
	if _, p, _ := b.post(s.url+form, "document", "12345678Z", "check", "30/04/2031", "personal_code", "AB12"); p != codePage {
		t.Fatalf("third request went to %s", p)
	}
	third := s.lastSMS()
	s.clock.Add(11 * time.Minute)
	if _, _, body = b.post(s.url+codePage, "pin", third); !strings.Contains(body, "The code has expired") {
		t.Fatalf("expired PIN:\n%s", body)
	}

	// Use: a fresh PIN signs the citizen in at level low.
	b.post(s.url+form, "document", "12345678Z", "check", "30/04/2031", "personal_code", "AB12")
	fourth := s.lastSMS()
	st, p, body = b.post(s.url+codePage, "pin", fourth)
	if st != 200 || p != "/me" || !strings.Contains(body, `id="loa">Low`) || !strings.Contains(body, "One-time PIN") {
		t.Fatalf("PIN sign-in: %d %s\n%s", st, p, body)
	}
	// The PIN session is not stepped up by an SMS code (the PIN came by
	// SMS already): substantial asks for a method that reaches it.
	if _, p, body := b.get(s.url + "/login?continue=/me&loa=substantial"); strings.HasSuffix(p, "/sms") ||
		!strings.Contains(body, `id="method-passkey"`) || strings.Contains(body, `id="method-pin"`) {
		t.Fatalf("substantial after a PIN sign-in went to %s", p)
	}
	// SSO answers a service that allows the PIN, not one that allows only the password.
	if _, p, _ := b.get(s.url + "/login?continue=/me&methods=pin"); p != "/me" {
		t.Fatalf("SSO for a PIN service went to %s", p)
	}
	if _, p, body := b.get(s.url + "/login?continue=/me&methods=permanent"); p == "/me" || !actionRE.MatchString(body) {
		t.Fatalf("a password-only service accepted the PIN session: %s", p)
	}
	// Reused: the same PIN again is refused.
	if st, _, body = b.post(s.url+codePage, "pin", fourth); st == 200 && strings.Contains(body, `id="loa"`) {
		t.Fatalf("a used PIN worked again: %d", st)
	}
	reuse := s.browser("en")
	reuseForm := s.startPIN(reuse)
	reuse.post(s.url+reuseForm, "document", "12345678Z", "check", "30/04/2031", "personal_code", "AB12")
	if _, _, body = reuse.post(s.url+strings.TrimSuffix(reuseForm, "/pin")+"/pin/code", "pin", fourth); !strings.Contains(body, "not correct") {
		t.Fatalf("used PIN in a new sign-in:\n%s", body)
	}
	if s.audited("pin.fail") < 5 {
		t.Fatalf("PIN failures audited %d times", s.audited("pin.fail"))
	}

	// Too many requests for one document within the hour: the sixth is
	// refused, the same for a known and an unknown document.
	s.clock.Add(2 * time.Hour)
	for i := range 6 {
		st, _, body = b.post(s.url+s.startPIN(b), "document", "12345678Z", "check", "30/04/2031", "personal_code", "AB12")
		if i < 5 && st != 200 {
			t.Fatalf("request %d: %d\n%s", i+1, st, body)
		}
	}
	if st != 429 || !strings.Contains(body, "Too many PIN requests") {
		t.Fatalf("sixth request: %d\n%s", st, body)
	}
	for range 6 {
		st, _, body = b.post(s.url+s.startPIN(b), "document", "87654321X", "check", "30/04/2031")
	}
	if st != 429 || !strings.Contains(body, "Too many PIN requests") || s.audited("pin.request_throttled") != 2 {
		t.Fatalf("sixth request for an unknown document: %d", st)
	}

	// Expiry notice 15 days before, once; renewal starts a new period.
	svc, _ := s.store.PINServiceOf(context.Background(), mustCitizen(t, s).ID)
	s.setClock(svc.ExpiresAt.Add(-14 * 24 * time.Hour))
	if n, err := s.pin.NotifyExpiring(context.Background()); n != 1 || err != nil {
		t.Fatalf("notices: %d %v", n, err)
	}
	msgs, _ = s.store.ListMessages(context.Background(), 2)
	if len(msgs) != 2 || !strings.Contains(msgs[0].Body+msgs[1].Body, "caduca el") {
		t.Fatalf("expiry notices: %+v", msgs)
	}
	if n, _ := s.pin.NotifyExpiring(context.Background()); n != 0 {
		t.Fatalf("notified twice: %d", n)
	}
	st, _, body = owner.post(s.url+"/me/pin", "action", "enable", "personal_code", "")
	if st != 200 || !strings.Contains(body, "Done: the PIN service is on until") || s.audited("pin.renew") != 1 {
		t.Fatalf("renew: %d\n%s", st, body)
	}
	renewed, _ := s.store.PINServiceOf(context.Background(), svc.CitizenID)
	if !renewed.ExpiresAt.After(svc.ExpiresAt) || renewed.PersonalCodeHash != "" {
		t.Fatalf("renewed service %+v", renewed)
	}
	// Without a personal code now, the request needs none.
	b2 := s.browser("en")
	if _, p, _ := b2.post(s.url+s.startPIN(b2), "document", "12345678Z", "check", "30/04/2031"); !strings.HasSuffix(p, "/pin/code") {
		t.Fatalf("request after renewal went to %s", p)
	}

	// The service expires: the same answer as an unknown document.
	s.setClock(renewed.ExpiresAt.Add(time.Minute))
	st, _, body = b2.post(s.url+s.startPIN(b2), "document", "12345678Z", "check", "30/04/2031")
	if st != 401 || errorSummary.FindString(body) != answers["unknown"] {
		t.Fatalf("expired service: %d\n%s", st, body)
	}
	if _, _, body = owner.get(s.url + "/me/pin"); !strings.Contains(body, "The PIN service is off") {
		t.Fatalf("expired service shown as on:\n%s", body)
	}
}

// Requests from one source are limited across documents (30 an hour), and
// a service turned off answers like an unknown document; the PIN already
// sent dies with it.
func TestPINSourceThrottleAndDisable(t *testing.T) {
	s := newSiteWith(t, allMethods())
	s.register()
	c := mustCitizen(t, s)
	if _, err := s.pin.Enable(context.Background(), c, "", "officer:test", "test"); err != nil {
		t.Fatal(err)
	}
	b := s.browser("en")
	form := s.startPIN(b)
	if _, p, _ := b.post(s.url+form, "document", "12345678Z", "check", "30/04/2031"); !strings.HasSuffix(p, "/pin/code") {
		t.Fatalf("request went to %s", p)
	}
	sent := s.lastSMS()
	if err := s.pin.Disable(context.Background(), c, "citizen:"+c.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if st, _, body := b.post(s.url+strings.TrimSuffix(form, "/pin")+"/pin/code", "pin", sent); st == 200 {
		t.Fatalf("a PIN of a service turned off worked:\n%s", body)
	}
	st, _, body := b.post(s.url+form, "document", "12345678Z", "check", "30/04/2031")
	if st != 401 || !strings.Contains(body, "do not match an active PIN service") || s.audited("pin.disable") != 1 {
		t.Fatalf("request after disabling: %d", st)
	}
	// 2 requests so far from this source; 28 more documents pass, the 31st request is refused.
	for i := range 29 {
		st, _, body = b.post(s.url+form, "document", seed.DNI(100+i), "check", "30/04/2031")
		if i < 28 && st != 401 {
			t.Fatalf("request %d: %d\n%s", i+3, st, body)
		}
	}
	if st != 429 || !strings.Contains(body, "Too many PIN requests") {
		t.Fatalf("31st request from one source: %d", st)
	}
}

// The SMS code of a sign-in at substantial: each wrong code spends an
// attempt and is audited, and opens no session; the right code signs in
// and is used up with it; after the last attempt even the right code
// fails. (The check and the sign-in it allows commit together, so each of
// these must hold of what was committed.)
func TestSignInSMSCodeAttempts(t *testing.T) {
	s := newSite(t)
	s.activated()
	ctx := context.Background()
	startSMS := func(b *browser) (smsPath, txID string) {
		t.Helper()
		_, _, body := b.get(s.url + "/login?loa=substantial&method=permanent&continue=/me")
		_, p, _ := b.post(s.url+formAction(t, body), "document", "12345678Z", "password", good)
		if !strings.HasSuffix(p, "/sms") {
			t.Fatalf("the password went to %s", p)
		}
		return p, strings.TrimSuffix(strings.TrimPrefix(p, "/login/"), "/sms")
	}
	attempts := func(txID string) int {
		t.Helper()
		c, err := s.store.LiveCode(ctx, permanent.SMSCode.Purpose, txID)
		if err != nil {
			t.Fatalf("no live code: %v", err)
		}
		return c.Attempts
	}
	okBefore, failBefore := s.audited("login.ok"), s.audited("login.sms_fail")

	b := s.browser("ca")
	sms, txID := startSMS(b)
	code := s.lastSMS()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	st, p, body := b.post(s.url+sms, "code", wrong)
	if st != 400 || p != sms {
		t.Fatalf("wrong code: %d %s", st, p)
	}
	mustContain(t, body, "El codi no és correcte", "2 intents", `id="code-error"`, "34*****678")
	if n := attempts(txID); n != 1 {
		t.Fatalf("attempts after a wrong code: %d", n)
	}
	if got := s.audited("login.sms_fail") - failBefore; got != 1 {
		t.Fatalf("login.sms_fail events: %d", got)
	}
	if _, p, _ := b.get(s.url + "/me"); p == "/me" {
		t.Fatal("a wrong code opened a session")
	}
	if st, p, _ := b.post(s.url+sms, "code", code); st != 200 || p != "/me" {
		t.Fatalf("right code: %d %s", st, p)
	}
	if _, err := s.store.LiveCode(ctx, permanent.SMSCode.Purpose, txID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the code is live after signing in with it: %v", err)
	}
	if got := s.audited("login.ok") - okBefore; got != 1 {
		t.Fatalf("login.ok events: %d", got)
	}

	// Three wrong codes: the right one no longer works, nothing signs in.
	b = s.browser("en")
	sms, txID = startSMS(b)
	code = s.lastSMS()
	for i := 0; i < permanent.SMSCode.MaxAttempts; i++ {
		b.post(s.url+sms, "code", wrong)
	}
	if n := attempts(txID); n != permanent.SMSCode.MaxAttempts {
		t.Fatalf("attempts after %d wrong codes: %d", permanent.SMSCode.MaxAttempts, n)
	}
	st, p, _ = b.post(s.url+sms, "code", code)
	if st != 400 || p != sms {
		t.Fatalf("right code after the last attempt: %d %s", st, p)
	}
	if _, p, _ := b.get(s.url + "/me"); p == "/me" {
		t.Fatal("an exhausted code opened a session")
	}
	if got := s.audited("login.ok") - okBefore; got != 1 {
		t.Fatalf("login.ok events: %d", got)
	}
	if got := s.audited("login.sms_fail") - failBefore; got != 1+permanent.SMSCode.MaxAttempts+1 {
		t.Fatalf("login.sms_fail events: %d", got)
	}
}
