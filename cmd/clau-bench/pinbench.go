package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// pinEndpoints drives Clau PIN sign-ins: every seeded citizen has the PIN
// service on. The PIN is read from the outbox table in the database file
// (as a phone would receive it), not through the server, so the server's
// CPU per sign-in is only the sign-in's own. Each browser sends a random
// X-Forwarded-For from 127.0.0.1, a trusted proxy here, so the per-source
// request limit (30 an hour) applies per simulated citizen address rather
// than to the whole benchmark.
//
// Browsers take citizens in turn rather than at random: two browsers
// asking for the same citizen's PIN at once would kill each other's PIN,
// as they should.
type pinEndpoints struct {
	db   *sql.DB
	next atomic.Int64
}

func (p *pinEndpoints) serverEnv() []string {
	return []string{"CLAU_SERVER_TRUSTED_PROXIES=127.0.0.1/32"}
}

// prepare turns the PIN service on for every citizen and opens the
// database for reading PINs.
func (p *pinEndpoints) prepare(ctx context.Context, dir string) error {
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(dir, "clau.db"), sqlstore.Options{})
	if err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO pin_services (citizen_id, personal_code_hash, enabled_at,
		expires_at, enabled_by, notice_sent_at, version) SELECT id, '', $1, $2, 'bench', 0, 1 FROM citizens`,
		now, now+int64(365*24*time.Hour/time.Microsecond)); err != nil {
		s.Close()
		return err
	}
	p.db = s.DB()
	return nil
}

var pinCode = regexp.MustCompile(`\b\d{6}\b`)

// flow is one browser's PIN sign-in: the chooser link opened with
// method=pin, the document data, the PIN page, the PIN, up to the answer
// that sends the citizen on with a session.
func (p *pinEndpoints) flow(base string, i int, tr http.RoundTripper) error {
	c := seed.Citizen(i, "")
	src := fmt.Sprintf("10.%d.%d.%d", rand.IntN(256), rand.IntN(256), 1+rand.IntN(254))
	cl := newBrowser(tr)
	do := func(method, u string, form url.Values) (*http.Response, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+u, body)
		req.Header.Set("X-Forwarded-For", src)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := cl.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res, nil
	}
	res, err := do("GET", "/login?continue=/me&method=pin", nil)
	if err != nil {
		return err
	}
	form := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || form == "" {
		return fmt.Errorf("start: %d", res.StatusCode)
	}
	if res, err = do("GET", form, nil); err != nil || res.StatusCode != 200 {
		return fmt.Errorf("PIN form: %v %v", err, res)
	}
	check := fmt.Sprintf("%02d/%02d/%04d", c.DocValidity.Day, int(c.DocValidity.Month), c.DocValidity.Year)
	sent := time.Now().Add(-time.Second).UnixMicro()
	if res, err = do("POST", form, url.Values{"document": {c.Document.Number}, "check": {check}}); err != nil {
		return err
	}
	codePage := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || codePage == "" {
		return fmt.Errorf("request: %d", res.StatusCode)
	}
	if res, err = do("GET", codePage, nil); err != nil || res.StatusCode != 200 {
		return fmt.Errorf("PIN page: %v %v", err, res)
	}
	var body string
	if err := p.db.QueryRow(`SELECT body FROM outbox WHERE recipient = $1 AND created_at >= $2
		ORDER BY created_at DESC LIMIT 1`, c.Mobile, sent).Scan(&body); err != nil {
		return fmt.Errorf("PIN SMS for %s: %w", c.Mobile, err)
	}
	if res, err = do("POST", codePage, url.Values{"pin": {pinCode.FindString(body)}}); err != nil {
		return err
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
		return fmt.Errorf("PIN: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return nil
}
