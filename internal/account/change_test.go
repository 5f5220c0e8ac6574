package account_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/webauthntest"
)

// outboxTo returns the messages sent to an address, newest first.
func (s *site) outboxTo(to string) []store.OutboxMessage {
	s.t.Helper()
	msgs, err := s.store.ListMessages(context.Background(), 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []store.OutboxMessage
	for _, m := range msgs {
		if m.Recipient == to {
			out = append(out, m)
		}
	}
	return out
}

// deniedWith counts refusals of action whose reason contains reason.
func (s *site) deniedWith(action, reason string) int {
	events, _ := s.store.ListAudit(context.Background(), store.AuditFilter{Action: action, Limit: 1000})
	n := 0
	for _, e := range events {
		if e.Action == action && e.Outcome == audit.Denied && strings.Contains(e.Details["reason"], reason) {
			n++
		}
	}
	return n
}

// succeeded counts the events of action that were not refused.
func (s *site) succeeded(action string) int { return s.audited(action) - s.deniedWith(action, "") }

var madrid, _ = time.LoadLocation("Europe/Madrid")

var changeCodePath = regexp.MustCompile(`^/me/(email|mobile)/[a-z0-9]+$`)

// The overview shows the record masked, the registration, the ways in with
// their state, the certificates seen in the audit trail, and links to every
// action.
func TestOverviewShowsRecordAndWaysIn(t *testing.T) {
	s := newSiteWith(t, allMethods())
	b := s.browser("es")
	s.activateAndSignIn(b, "/me")
	c := mustCitizen(t, s)
	// Two sign-ins with one certificate and one with another, as the
	// certificate method records them.
	trail := audit.New(s.store, nil)
	for _, serial := range []string{"0A1B", "0A1B", "77FF"} {
		if err := trail.Record(context.Background(), audit.Event{Actor: "citizen:" + c.ID, Action: "login.cert.ok",
			Subject: "citizen:" + c.ID, Details: map[string]string{"method": "certificate", "serial": serial,
				"issuer": "CN=AC FNMT Usuarios,O=FNMT-RCM,C=ES"}}); err != nil {
			t.Fatal(err)
		}
	}
	st, _, body := b.get(s.url + "/me")
	if st != 200 {
		t.Fatal(st)
	}
	mustContain(t, body, "Núria Puig", `id="document">***4567*`, `id="birth">29/02/1980`,
		"Nivel avanzado · identidad comprobada en persona en una oficina", `id="email">n***@example.org`,
		`id="mobile">&#43;34*****678`, "Establecida el "+time.Now().In(madrid).Format("02/01/2006"), `id="loa">Sustancial`,
		"Clau PIN", "Registradas: 0", "número de serie 0A1B", "número de serie 77FF",
		`href="/me/email"`, `href="/me/mobile"`, `href="/me/password"`, `href="/me/pin"`, `href="/me/passkeys"`,
		`id="account-links"`)
	if strings.Contains(body, "12345678Z") || strings.Contains(body, "nuria@example.org") || strings.Contains(body, "612345678") {
		t.Fatal("the overview shows personal data unmasked")
	}
	if n := strings.Count(body, "número de serie 0A1B"); n != 1 {
		t.Fatalf("certificate 0A1B listed %d times", n)
	}
	// Without a session the overview asks to sign in.
	if _, p, _ := s.browser("es").get(s.url + "/me"); p != "/login" {
		t.Fatalf("anonymous /me went to %s", p)
	}
}

// A change of email: a code to the new address in the citizen's language,
// every bad input answered beside its field and audited, then the change
// with notices to the old address, the new one and the mobile; a second
// submit of the code changes nothing more.
func TestChangeEmail(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	s.activateAndSignIn(b, "/me")

	st, _, body := b.get(s.url + "/me/email")
	if st != 200 {
		t.Fatal(st)
	}
	mustContain(t, body, "n***@example.org", `type="email"`)

	for _, tc := range []struct {
		name, email, want, reason string
		status                    int
	}{
		{"malformed", "maria at example", "This email address is not valid", "format", 422},
		{"the same address", " Nuria@Example.org ", "This is already your email address", "same address", 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, path, body := b.post(s.url+"/me/email", "email", tc.email)
			if st != tc.status || path != "/me/email" {
				t.Fatalf("status %d at %s", st, path)
			}
			mustContain(t, body, tc.want, `id="email-error"`, `aria-describedby="email-hint email-error"`, `aria-invalid="true"`,
				`role="alert"`, `value="`+html.EscapeString(tc.email)+`"`)
			if s.deniedWith("email.change.start", tc.reason) == 0 {
				t.Fatal("refusal not audited")
			}
		})
	}
	if len(s.outboxTo("maria@example.net")) != 0 {
		t.Fatal("a refused change sent a message")
	}

	st, path, body := b.post(s.url+"/me/email", "email", "maria@Example.NET")
	if st != 200 || !changeCodePath.MatchString(path) {
		t.Fatalf("start: %d %s", st, path)
	}
	mustContain(t, body, "m***@example.net", `autocomplete="one-time-code"`)
	sent := s.outboxTo("maria@example.net")
	if len(sent) != 1 || sent[0].Channel != "email" || sent[0].Language != "ca" || !strings.Contains(sent[0].Body, "codi de confirmació") {
		t.Fatalf("code message: %+v", sent)
	}
	code := sixDigits.FindString(sent[0].Body)

	// A resend at once is refused and says why.
	if st, _, body := b.post(s.url + path + "/resend"); st != 429 || !strings.Contains(body, "Wait a minute") {
		t.Fatalf("resend at once: %d", st)
	}
	// Another citizen's browser cannot use the change.
	if _, p, _ := s.browser("en").get(s.url + path); p != "/login" {
		t.Fatalf("anonymous code page went to %s", p)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	st, _, body = b.post(s.url+path, "code", wrong)
	if st != 400 {
		t.Fatalf("wrong code: %d", st)
	}
	mustContain(t, body, "The code is not correct", "2 attempts left", `id="code-error"`)
	if s.deniedWith("email.change", "wrong code") != 1 {
		t.Fatal("wrong code not audited")
	}
	if mustCitizen(t, s).Email != "nuria@example.org" {
		t.Fatal("a wrong code changed the email")
	}

	st, p, body := b.post(s.url+path, "code", code)
	if st != 200 || p != "/me" {
		t.Fatalf("confirm: %d %s", st, p)
	}
	mustContain(t, body, "Your email address has been changed", `id="email">m***@example.net`)
	if got := mustCitizen(t, s).Email; got != "maria@example.net" {
		t.Fatalf("email now %q", got)
	}
	old := s.outboxTo("nuria@example.org")
	if len(old) == 0 || !strings.Contains(old[0].Subject, "correu electrònic") || !strings.Contains(old[0].Body, "m***@example.net") {
		t.Fatalf("notice to the old address: %+v", old)
	}
	if sms := s.outboxTo("+34612345678"); !strings.Contains(sms[0].Body, "correu del vostre compte") {
		t.Fatalf("SMS notice: %q", sms[0].Body)
	}
	if n := len(s.outboxTo("maria@example.net")); n != 2 {
		t.Fatalf("new address got %d messages, want the code and the notice", n)
	}
	if s.succeeded("email.change") != 1 {
		t.Fatal("change not audited")
	}

	// The same code again (a double submit, the back button): done, once.
	if _, p, _ := b.post(s.url+path, "code", code); p != "/me" {
		t.Fatalf("second submit went to %s", p)
	}
	if s.succeeded("email.change") != 1 || len(s.outboxTo("nuria@example.org")) != len(old) {
		t.Fatal("a second submit changed or notified again")
	}
}

// The code of a change of email: expired, killed after three wrong tries,
// and a code from one change does not confirm another.
func TestChangeEmailCodeBadInput(t *testing.T) {
	s := newSite(t)
	b := s.browser("ca")
	s.activateAndSignIn(b, "/me")
	start := func(email string) (string, string) {
		t.Helper()
		_, path, _ := b.post(s.url+"/me/email", "email", email)
		if !changeCodePath.MatchString(path) {
			t.Fatalf("start went to %s", path)
		}
		return path, sixDigits.FindString(s.outboxTo(email)[0].Body)
	}
	path, code := start("a@example.net")
	s.clock.Add(16 * time.Minute)
	_, _, body := b.post(s.url+path, "code", code)
	mustContain(t, body, "El codi ha caducat")

	// After a minute a new code may be asked for; the old one dies.
	s.clock.Add(time.Minute)
	if _, p, body := b.post(s.url + path + "/resend"); p != path || !strings.Contains(body, "Us hem enviat un codi nou") {
		t.Fatalf("resend went to %s", p)
	}
	if resent := sixDigits.FindString(s.outboxTo("a@example.net")[0].Body); resent != code {
		if _, p, _ := b.post(s.url+path, "code", code); p != path {
			t.Fatal("the replaced code was accepted")
		}
		if _, p, _ := b.post(s.url+path, "code", resent); p != "/me" {
			t.Fatalf("the resent code went to %s", p)
		}
		if got := mustCitizen(t, s).Email; got != "a@example.net" {
			t.Fatalf("email now %q", got)
		}
	}

	path, code = start("b@example.net")
	other, otherCode := start("c@example.net")
	if code != otherCode {
		if _, _, body := b.post(s.url+path, "code", otherCode); !strings.Contains(body, "El codi no és correcte") {
			t.Fatal("the code of another change was accepted")
		}
	}
	for range 3 {
		b.post(s.url+other, "code", "99999x")
	}
	_, _, body = b.post(s.url+other, "code", otherCode)
	mustContain(t, body, "Massa intents")
	s.clock.Add(31 * time.Minute)
	if st, _, body := b.post(s.url+path, "code", code); st != 410 || !strings.Contains(body, "ha caducat") {
		t.Fatalf("expired change: %d", st)
	}
	if got := mustCitizen(t, s).Email; got != "a@example.net" {
		t.Fatalf("email now %q", got)
	}
	if s.deniedWith("email.change", "expired or unknown") != 1 {
		t.Fatal("the expired change was not audited")
	}
	// Starting changes is throttled: each sends a message to an address
	// nobody has proved.
	for _, e := range []string{"d@example.net", "e@example.net"} {
		start(e)
	}
	if st, _, body := b.post(s.url+"/me/email", "email", "f@example.net"); st != 429 || !strings.Contains(body, "massa canvis") {
		t.Fatalf("sixth start: %d", st)
	}
	if s.deniedWith("email.change.start", "too many") != 1 {
		t.Fatal("throttled start not audited")
	}
}

var (
	ceremonyRE  = regexp.MustCompile(`name="ceremony" value="([^"]+)"`)
	optionsRE   = regexp.MustCompile(`data-options="([^"]+)"`)
	passkeyLink = regexp.MustCompile(`href="(/login/[a-z0-9]+/passkey)"`)
)

// addPasskey creates a passkey on the account page with auth, as the
// browser's script would.
func (s *site) addPasskey(b *browser, auth *virtualwebauthn.Authenticator, rp virtualwebauthn.RelyingParty) virtualwebauthn.Credential {
	t := s.t
	t.Helper()
	_, _, body := b.get(s.url + "/me/passkeys")
	cer, opts := ceremonyRE.FindStringSubmatch(body), optionsRE.FindStringSubmatch(body)
	if cer == nil || opts == nil {
		t.Fatalf("no passkey form:\n%s", body)
	}
	parsed, err := virtualwebauthn.ParseAttestationOptions(html.UnescapeString(opts[1]))
	if err != nil {
		t.Fatal(err)
	}
	cred := webauthntest.NewCredential()
	resp := virtualwebauthn.CreateAttestationResponse(rp, *auth, cred, *parsed)
	if _, p, body := b.post(s.url+"/me/passkeys", "ceremony", cer[1], "name", "Mòbil", "response", resp); p != "/me/passkeys" ||
		!strings.Contains(body, `class="passkey"`) {
		t.Fatalf("adding the passkey ended at %s:\n%s", p, body)
	}
	auth.AddCredential(cred)
	return cred
}

// signInWithPasskey follows a sign-in link to the passkey page and answers
// its challenge.
func (s *site) signInWithPasskey(b *browser, link string, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential,
	rp virtualwebauthn.RelyingParty) (int, string, string) {
	t := s.t
	t.Helper()
	_, path, body := b.get(s.url + link)
	if m := passkeyLink.FindStringSubmatch(body); m != nil { // the chooser: pick the passkey
		path = m[1]
		_, _, body = b.get(s.url + path)
	}
	opts := optionsRE.FindStringSubmatch(body)
	if opts == nil {
		t.Fatalf("no passkey challenge at %s:\n%s", path, body)
	}
	parsed, err := virtualwebauthn.ParseAssertionOptions(html.UnescapeString(opts[1]))
	if err != nil {
		t.Fatal(err)
	}
	return b.post(s.url+path, "response", virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *parsed))
}

// A change of mobile needs a sign-in that does not rely on the old phone:
// after the password and an SMS code the page explains and links to a
// certificate or passkey sign-in, and a post is refused and audited. After
// a passkey sign-in the change goes through with a code to the new number
// and notices to the old number and the email. Adding the passkey sent its
// own notice.
func TestChangeMobile(t *testing.T) {
	s := newSiteWith(t, allMethods())
	b := s.browser("es")
	s.activateAndSignIn(b, "/me")
	rp := virtualwebauthn.RelyingParty{Name: "Clau", ID: "localhost", Origin: s.origin}

	st, _, body := b.get(s.url + "/me/mobile")
	if st != 200 {
		t.Fatal(st)
	}
	mustContain(t, body, "Acceda de otra forma", `id="step-up" href="/login?continue=%2Fme%2Fmobile&amp;methods=certificate,passkey&amp;loa=substantial"`,
		`href="/offices"`)
	if strings.Contains(body, `name="mobile"`) {
		t.Fatal("the weak session is offered the form")
	}
	st, _, body = b.post(s.url+"/me/mobile", "mobile", "699111222")
	if st != 403 || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("post after a weak sign-in: %d", st)
	}
	if s.deniedWith("mobile.change.start", "weak sign-in: permanent") != 1 || len(s.outboxTo("+34699111222")) != 0 {
		t.Fatal("weak refusal not audited, or a code was sent")
	}

	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(mustCitizen(t, s).ID)})
	cred := s.addPasskey(b, &auth, rp)
	if sms := s.outboxTo("+34612345678"); !strings.Contains(sms[0].Body, "clau d'accés anomenada \"Mòbil\"") {
		t.Fatalf("passkey SMS notice: %q", sms[0].Body)
	}
	if mail := s.outboxTo("nuria@example.org"); !strings.Contains(mail[0].Subject, "clau d'accés") {
		t.Fatalf("passkey email notice: %+v", mail[0])
	}

	st, p, body := s.signInWithPasskey(b, "/login?continue=%2Fme%2Fmobile&methods=certificate,passkey&loa=substantial", auth, cred, rp)
	if st != 200 || p != "/me/mobile" {
		t.Fatalf("passkey sign-in: %d %s", st, p)
	}
	mustContain(t, body, "Cambie su número de móvil", "34*****678", `type="tel"`)

	other := &identity.Citizen{Document: identity.Document{Number: "87654321X"}, DocValidity: identity.Date{Year: 2031, Month: 4, Day: 30},
		GivenName: "Pere", FirstSurname: "Soler", BirthDate: identity.Date{Year: 1975, Month: 1, Day: 2}, Email: "pere@example.org",
		Mobile: "622333444", Language: "es"}
	if _, err := s.reg.Register(context.Background(), s.desk, other, registration.DocumentCheck{Shown: "dni", Checked: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, mobile, want, reason string }{
		{"malformed", "12345", "no es válido", "format"},
		{"the same number", "+34 612 345 678", "ya es su número", "same number"},
		{"another citizen's", "622 333 444", "no se puede usar", "another citizen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := b.post(s.url+"/me/mobile", "mobile", tc.mobile)
			if st != 422 {
				t.Fatalf("status %d", st)
			}
			mustContain(t, body, tc.want, `id="mobile-error"`, `aria-describedby="mobile-hint mobile-error"`)
			if s.deniedWith("mobile.change.start", tc.reason) != 1 {
				t.Fatal("refusal not audited")
			}
		})
	}
	if len(s.outboxTo("+34622333444")) != 0 {
		t.Fatal("a code went to another citizen's phone")
	}

	st, path, body := b.post(s.url+"/me/mobile", "mobile", "699 111 222")
	if st != 200 || !changeCodePath.MatchString(path) {
		t.Fatalf("start: %d %s", st, path)
	}
	mustContain(t, body, "34*****222")
	sent := s.outboxTo("+34699111222")
	if len(sent) != 1 || sent[0].Channel != "sms" {
		t.Fatalf("code SMS: %+v", sent)
	}
	st, p, body = b.post(s.url+path, "code", sixDigits.FindString(sent[0].Body))
	if st != 200 || p != "/me" {
		t.Fatalf("confirm: %d %s", st, p)
	}
	mustContain(t, body, "Su número de móvil se ha cambiado", `id="mobile">&#43;34*****222`)
	if got := mustCitizen(t, s).Mobile; got != "+34699111222" {
		t.Fatalf("mobile now %q", got)
	}
	if old := s.outboxTo("+34612345678"); !strings.Contains(old[0].Body, "mòbil del vostre compte es va canviar") ||
		!strings.Contains(old[0].Body, "+34*****222") {
		t.Fatalf("notice to the old number: %q", old[0].Body)
	}
	if mail := s.outboxTo("nuria@example.org"); !strings.Contains(mail[0].Subject, "número de mòbil") {
		t.Fatalf("email notice: %+v", mail[0])
	}
	if s.succeeded("mobile.change") != 1 {
		t.Fatal("change not audited")
	}
}

// A change of password: the current one, the new one twice under the
// activation's policy, the other sessions signed out when asked (the
// default), notices by email and SMS; a double submit is harmless.
func TestChangePassword(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	s.activateAndSignIn(b, "/me")
	// Another browser signed in too.
	other := s.browser("ca")
	_, _, body := other.get(s.url + "/login?continue=/me")
	if _, p, _ := other.post(s.url+formAction(t, body), "document", "12345678Z", "password", good); p != "/me" {
		t.Fatalf("second session: %s", p)
	}

	st, _, body := b.get(s.url + "/me/password")
	if st != 200 {
		t.Fatal(st)
	}
	mustContain(t, body, `autocomplete="current-password"`, `name="end_others" value="1" checked`, "At least 8 characters")

	const fresh = "Blau-Cel-Serra-42"
	for _, tc := range []struct {
		name, current, pw, again, field, want string
	}{
		{"no current password", "", fresh, fresh, "current_password", "Enter your current password"},
		{"wrong current password", "Not-the-one-9", fresh, fresh, "current_password", "The current password is not correct"},
		{"too short", good, "Ab1-x", "Ab1-x", "password", "at least 8 characters"},
		{"with the name", good, "Nuria-2026-abc", "Nuria-2026-abc", "password", "must not contain your name"},
		{"typed differently", good, fresh, fresh + "x", "password_again", "are not the same"},
		{"the same as now", good, good, good, "password", "must be different"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, path, body := b.post(s.url+"/me/password", "current_password", tc.current, "password", tc.pw,
				"password_again", tc.again, "end_others", "1")
			if st == 200 || path != "/me/password" {
				t.Fatalf("status %d at %s", st, path)
			}
			mustContain(t, body, tc.want, `id="`+tc.field+`-error"`, `role="alert"`)
			if strings.Contains(body, tc.pw) || (tc.current != "" && strings.Contains(body, tc.current)) {
				t.Fatal("a password was echoed into the page")
			}
		})
	}
	if s.deniedWith("password.change", "") < 6 {
		t.Fatal("refusals not audited")
	}
	if len(s.outboxTo("nuria@example.org")) != 0 {
		t.Fatal("a refused change sent a notice")
	}

	st, p, body := b.post(s.url+"/me/password", "current_password", good, "password", fresh, "password_again", fresh, "end_others", "1")
	if st != 200 || p != "/me" {
		t.Fatalf("change: %d %s", st, p)
	}
	mustContain(t, body, "Your password has been changed")
	if mail := s.outboxTo("nuria@example.org"); len(mail) != 1 || !strings.Contains(mail[0].Subject, "contrasenya") {
		t.Fatalf("email notice: %+v", mail)
	}
	if sms := s.outboxTo("+34612345678"); !strings.Contains(sms[0].Body, "contrasenya permanent") {
		t.Fatalf("SMS notice: %q", sms[0].Body)
	}
	// The other browser was signed out; this one was not.
	if _, p, _ := other.get(s.url + "/me"); p != "/login" {
		t.Fatalf("the other session still opens /me (%s)", p)
	}
	if _, p, _ := b.get(s.url + "/me"); p != "/me" {
		t.Fatalf("this session was ended (%s)", p)
	}
	// A double submit of the same form: done, nothing more.
	if _, p, _ := b.post(s.url+"/me/password", "current_password", good, "password", fresh, "password_again", fresh,
		"end_others", "1"); p != "/me" {
		t.Fatalf("double submit went to %s", p)
	}
	if s.succeeded("password.change") != 1 || len(s.outboxTo("nuria@example.org")) != 1 {
		t.Fatal("a double submit changed or notified again")
	}
	// The new password signs in; the old one does not.
	n := s.browser("en")
	_, _, body = n.get(s.url + "/login?continue=/me")
	action := formAction(t, body)
	if _, _, body := n.post(s.url+action, "document", "12345678Z", "password", good); !strings.Contains(body, "not correct") {
		t.Fatal("the old password still signs in")
	}
	if _, p, _ := n.post(s.url+action, "document", "12345678Z", "password", fresh); p != "/me" {
		t.Fatalf("the new password: %s", p)
	}

	// Unticked, the other sessions stay.
	s.clock.Add(3 * time.Minute)
	if _, p, _ := b.post(s.url+"/me/password", "current_password", fresh, "password", good+"!", "password_again", good+"!"); p != "/me" {
		t.Fatalf("second change: %s", p)
	}
	if _, p, _ := n.get(s.url + "/me"); p != "/me" {
		t.Fatalf("unticked, the other session was ended (%s)", p)
	}
}

// The change pages need a session at substantial (a low one is stepped up
// with the SMS code, a weak one for the mobile is turned away) and take
// posts from this site only.
func TestChangesNeedSubstantialAndThisSite(t *testing.T) {
	s := newSite(t)
	s.activated()
	b := s.browser("en")
	_, _, body := b.get(s.url + "/login?continue=/me")
	if _, p, _ := b.post(s.url+formAction(t, body), "document", "12345678Z", "password", good); p != "/me" {
		t.Fatalf("sign-in at low: %s", p)
	}
	for _, page := range []string{"/me/email", "/me/password"} {
		if _, p, body := b.get(s.url + page); !strings.HasSuffix(p, "/sms") || !strings.Contains(body, `autocomplete="one-time-code"`) {
			t.Fatalf("%s at low went to %s", page, p)
		}
	}
	if st, _, body := b.get(s.url + "/me/mobile"); st != 200 || !strings.Contains(body, `id="step-up"`) {
		t.Fatalf("/me/mobile at low: %d", st)
	}
	for _, page := range []string{"/me/email", "/me/mobile", "/me/password"} {
		req, _ := http.NewRequest("POST", s.url+page, strings.NewReader("email=x%40example.org"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST %s = %d", page, res.StatusCode)
		}
	}
	if s.audited("email.change.start") != 0 || s.audited("mobile.change.start") != 0 || s.audited("password.change") != 0 {
		t.Fatal("a refused post reached the changes")
	}
}
