package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store/sqlstore"
)

// smsEndpoints is `signin -sms`: the sign-in at level substantial, the
// permanent password and then the SMS code, which the browser reads from
// the outbox table in the database file (as the PIN scenario does), so
// reading it costs the server nothing.
type smsEndpoints struct {
	db   *sql.DB
	next atomic.Int64 // citizens in turn, so two browsers never wait for one citizen's SMS
}

func (m *smsEndpoints) prepare(ctx context.Context, dir string) error {
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(dir, "clau.db"), sqlstore.Options{})
	if err != nil {
		return err
	}
	m.db = s.DB()
	return nil
}

// flow is one browser's sign-in: the password form at level substantial,
// the password, the SMS page, the code from the SMS, up to the answer that
// sends the citizen on with a session.
func (m *smsEndpoints) flow(base string, i int, tr http.RoundTripper) error {
	doc, mobile := seed.DNI(i), seed.Mobile(i)
	c := newBrowser(tr)
	action, err := passwordForm(c, base+"/login?continue=/me&method=permanent&loa=substantial", "login form")
	if err != nil {
		return err
	}
	sent := time.Now().Add(-time.Second).UnixMicro()
	res, err := sendPassword(c, base+action, doc)
	if err != nil {
		return err
	}
	next := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(next, "/sms") {
		return fmt.Errorf("after the password: %d to %q", res.StatusCode, next)
	}
	if res, err = c.Get(base + next); err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `autocomplete="one-time-code"`) {
		return fmt.Errorf("SMS page: %d, no code field", res.StatusCode)
	}
	var sms string
	if err := m.db.QueryRow(`SELECT body FROM outbox WHERE recipient = $1 AND created_at >= $2
		ORDER BY created_at DESC LIMIT 1`, mobile, sent).Scan(&sms); err != nil {
		return fmt.Errorf("SMS for %s: %w", mobile, err)
	}
	res, err = c.PostForm(base+next, url.Values{"code": {pinCode.FindString(sms)}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
		return fmt.Errorf("after the SMS code: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "clau_session" && ck.Value != "" {
			return nil
		}
	}
	return errors.New("no session cookie after the SMS code")
}
