package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var demoPINLine = regexp.MustCompile(`(?m)^\s+(DNI|NIE) (\S+), check value (\S+)`)

// checkDemoPIN follows the demo guide's Clau PIN lines against the running
// demo: the chooser, the document data, the PIN from the outbox, /me.
func checkDemoPIN(t *testing.T, home, guide string) {
	t.Helper()
	m := demoPINLine.FindStringSubmatch(guide)
	if m == nil || !strings.Contains(guide, "Clau PIN:") {
		t.Fatalf("guide lacks the Clau PIN lines:\n%s", guide)
	}
	base := strings.TrimSuffix(home, "/")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(method, path string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Accept-Language", "en")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Request.URL.Path, string(b)
	}
	_, _, chooser := do("GET", "/login?continue=/me", nil)
	link := regexp.MustCompile(`href="(/login/[a-z0-9]+/pin)"`).FindStringSubmatch(chooser)
	if link == nil {
		t.Fatalf("the demo's chooser offers no PIN:\n%s", chooser)
	}
	st, path, body := do("POST", link[1], url.Values{"document": {m[2]}, "check": {m[3]}})
	if st != 200 || !strings.HasSuffix(path, "/pin/code") {
		t.Fatalf("PIN request with the guide's data: %d %s\n%s", st, path, body)
	}
	_, _, outbox := do("GET", "/dev/outbox", nil)
	var msgs []struct{ Body string }
	if err := json.Unmarshal([]byte(outbox), &msgs); err != nil || len(msgs) == 0 {
		t.Fatalf("outbox: %v %s", err, outbox)
	}
	pin := regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[0].Body)
	st, path, body = do("POST", path, url.Values{"pin": {pin}})
	if st != 200 || path != "/me" || !strings.Contains(body, `id="loa">Low`) {
		t.Fatalf("PIN sign-in: %d %s\n%s", st, path, body)
	}
}
