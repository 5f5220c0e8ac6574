package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

var loginFormAction = regexp.MustCompile(`<form method="post" action="(/login/[a-z0-9]+(?:/permanent)?)"`)

// A citizen's browser bounced between two `clau serve` processes on one
// PostgreSQL, as a load balancer without sticky sessions would: the sign-in
// form comes from one process and the password goes to the other, the SSO
// session made there opens the account on the first, and signing out on
// one ends the session on both. Nothing of a sign-in lives in a process.
func TestSignInAcrossTwoProcesses(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	ctx := context.Background()
	const password = "Groc-Mar-Tramuntana-7"
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	phc, err := secure.NewHasher(secure.Argon2Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, nil).
		Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	maria := seed.Citizen(0, store.NewID())
	maria.Status = identity.StatusActive
	if err := s.LoadCitizens(ctx, 1, func(int) sqlstore.BulkCitizen {
		return sqlstore.BulkCitizen{Citizen: maria, PasswordHash: phc}
	}, nil); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, "CLAU_STORAGE_DRIVER=postgres", "CLAU_STORAGE_DSN="+dsn,
		"CLAU_SECURITY_KEYRING_FILE="+filepath.Join(t.TempDir(), "keyring.json"))
	a, b := e.serve(), e.serve()
	jar, _ := cookiejar.New(nil) // cookies are per host, not per port: both processes see them
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, u string, form url.Values) (*http.Response, string) {
		t.Helper()
		var (
			res *http.Response
			err error
		)
		if method == http.MethodPost {
			res, err = c.PostForm(u, form)
		} else {
			res, err = c.Get(u)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}

	// The form from A, the password to B.
	res, body := fetch(http.MethodGet, a.base+"/login?continue=/me&method=permanent", nil)
	m := loginFormAction.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in form from A: %d\n%s", res.StatusCode, body)
	}
	res, body = fetch(http.MethodPost, b.base+m[1], url.Values{"document": {maria.Document.Number}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
		t.Fatalf("password sent to B for A's login transaction: %d to %q\n%s\n%s", res.StatusCode,
			res.Header.Get("Location"), body, b.logs)
	}

	// The session B made opens the account on both processes.
	for name, srv := range map[string]*server{"A": a, "B": b} {
		res, body = fetch(http.MethodGet, srv.base+"/me", nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, maria.GivenName) || !strings.Contains(body, maria.FirstSurname) {
			t.Fatalf("account page on %s with B's session: %d\n%s", name, res.StatusCode, body)
		}
	}

	// Signing out on A ends the session B made, on B as well.
	if res, body = fetch(http.MethodPost, a.base+"/logout", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out on A: %d\n%s", res.StatusCode, body)
	}
	if res, _ = fetch(http.MethodGet, b.base+"/me", nil); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("account page on B after signing out on A: %d to %q, want the sign-in", res.StatusCode, res.Header.Get("Location"))
	}
}
