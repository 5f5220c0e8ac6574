package account_test

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// activated registers and activates the test citizen through the
// registration service (the pages are tested elsewhere) with password good.
func (s *site) activated() {
	s.t.Helper()
	ctx := context.Background()
	code := s.register()
	a, err := s.reg.StartActivation(ctx, "12345678Z", "nuria@example.org", code, "test")
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.reg.ConfirmSMS(ctx, a.ID, s.lastSMS(), "test"); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.reg.SetPassword(ctx, a.ID, good, good, "test"); err != nil {
		s.t.Fatal(err)
	}
}

// When every hashing core is taken and the queue is long, a sign-in gets a
// fast, translated "busy, retry in N seconds" page with 503 and
// Retry-After, for known and unknown documents alike, and nothing is
// counted against the citizen: once the burst is over the same password
// signs in.
func TestSignInWhileHashingIsSaturated(t *testing.T) {
	s := newSite(t)
	s.activated() // hashing the password gives the hasher its time estimate
	phc, err := s.hasher.Hash(context.Background(), "someone else")
	if err != nil {
		t.Fatal(err)
	}

	release := s.hasher.Saturate()
	defer func() {
		if release != nil {
			release()
		}
	}()
	for _, c := range []struct{ lang, doc, want string }{
		{"ca", "12345678Z", "torneu-ho a provar d&#39;aquí a 1 s."},
		{"es", "12345678Z", "inténtelo de nuevo dentro de 1 s."},
		{"en", "87654321X", "please try again in 1 s."},
	} {
		b := s.browser(c.lang)
		_, _, page := b.get(s.url + "/login?continue=/me")
		path := formAction(t, page)
		// One request already waits (admitted while the queue had no limit);
		// with a limit of a nanosecond this one would wait too long.
		ctx, cancel := context.WithCancel(context.Background())
		waiting := make(chan struct{})
		go func() {
			defer close(waiting)
			_, _, _ = s.hasher.Verify(ctx, "someone else", phc)
		}()
		for s.hasher.Waiting() == 0 {
			time.Sleep(time.Millisecond)
		}
		s.hasher.SetQueueLimit(time.Nanosecond) // now a second in line is too many
		st, _, body := b.post(s.url+path, "document", c.doc, "password", good)
		cancel()
		<-waiting
		s.hasher.SetQueueLimit(0)
		if st != 503 {
			t.Fatalf("%s: status %d, want 503", c.lang, st)
		}
		if n, err := strconv.Atoi(b.last.Get("Retry-After")); err != nil || n < 1 {
			t.Fatalf("%s: Retry-After %q", c.lang, b.last.Get("Retry-After"))
		}
		mustContain(t, body, c.want, `role="alert"`, `value="`+c.doc+`"`)
	}
	if s.hasher.Refused() != 3 {
		t.Fatalf("Refused() = %d, want 3", s.hasher.Refused())
	}

	release()
	release = nil
	b := s.browser("ca")
	_, _, page := b.get(s.url + "/login?continue=/me")
	if st, path, _ := b.post(s.url+formAction(t, page), "document", "12345678Z", "password", good); st != 200 || path != "/me" {
		t.Fatalf("after the burst: %d %s", st, path)
	}
}
