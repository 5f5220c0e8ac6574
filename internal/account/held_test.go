package account_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// A sign-in page costs the store nothing until a step writes: the
// browser holds the transaction, sealed, in a cookie scoped to the
// sign-in. Without that cookie, or with it altered, the page says the
// sign-in does not exist, in the citizen's language, and an altered copy
// is audited. A wrong password
// stores nothing either; two right ones sent at once sign in once.
func TestSignInHeldUntilItsFirstWrite(t *testing.T) {
	s := newSite(t)
	s.activated()
	ctx := context.Background()
	b := s.browser("ca")
	_, _, body := b.get(s.url + "/login?continue=/me")
	action := formAction(t, body)
	id := strings.Split(strings.TrimPrefix(action, "/login/"), "/")[0]
	unstored := func(when string) {
		t.Helper()
		if _, err := s.store.FlowByID(ctx, broker.FlowKind, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s, the sign-in was stored: %v", when, err)
		}
	}
	unstored("after the page view")
	for i := 0; i < 3; i++ { // reloads, a language switch, the chooser
		for _, u := range []string{"/login/" + id + "/permanent", "/login/" + id + "/permanent?lang=en", "/login/" + id} {
			if st, _, body := b.get(s.url + u); st != 200 || !strings.Contains(body, "/login/"+id) {
				t.Fatalf("%s: %d\n%s", u, st, body)
			}
		}
	}
	_, _, body = b.post(s.url+action, "document", "12345678Z", "password", "Wrong-pass-123")
	mustContain(t, body, "is not correct") // the language chosen above
	unstored("after a wrong password")

	// The same bound browser, its copy of the sign-in lost or altered.
	page, _ := url.Parse(s.url + "/login/" + id + "/permanent")
	without := func(change func(*http.Cookie) bool) *browser {
		jar, _ := cookiejar.New(nil)
		var keep []*http.Cookie
		for _, c := range b.c.Jar.Cookies(page) { // the binding, and the copy if kept
			c.Path = "/login/" + id
			if strings.HasPrefix(c.Name, "clau_flow") || c.Name == "clau_tx" && change(c) {
				keep = append(keep, c)
			}
		}
		jar.SetCookies(page, keep)
		return &browser{t: t, c: &http.Client{Jar: jar}, lang: "es"}
	}
	for name, o := range map[string]*browser{
		"lost": without(func(*http.Cookie) bool { return false }),
		"altered": without(func(c *http.Cookie) bool {
			c.Value = c.Value[:len(c.Value)-3] + "AAA"
			return true
		}),
	} {
		st, _, body := o.post(s.url+action, "document", "12345678Z", "password", good)
		if st != http.StatusNotFound || !strings.Contains(body, "Este acceso no existe") {
			t.Fatalf("copy %s: %d\n%s", name, st, body)
		}
	}
	unstored("after the refused copies")
	if n := s.audited("login.held_refused"); n != 1 { // the altered copy; no copy is an unknown sign-in
		t.Fatalf("refused copies audited %d times", n)
	}

	// A double submit of the right password: one sign-in.
	form := url.Values{"document": {"12345678Z"}, "password": {good}}.Encode()
	status := make([]int, 2)
	var wg sync.WaitGroup
	for i := range status {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.url+action, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Accept-Language", "ca")
			res, err := b.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			status[i] = res.StatusCode
		}()
	}
	wg.Wait()
	if status[0]+status[1] != 200+http.StatusConflict {
		t.Fatalf("double submit answered %v", status)
	}
	c := mustCitizen(t, s)
	if se, err := s.store.ListSessions(ctx, store.SessionCitizen, c.ID, s.clock.Now()); err != nil || len(se) != 1 {
		t.Fatalf("sessions after a double submit: %d, %v", len(se), err)
	}
	if n := s.audited("login.ok"); n != 1 {
		t.Fatalf("%d sign-ins audited", n)
	}
	if _, p, _ := b.get(s.url + "/me"); p != "/me" {
		t.Fatalf("/me went to %s", p)
	}
}
