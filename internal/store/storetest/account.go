package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/store"
)

// testAuditBySubject is the query behind a citizen's sign-in history:
// one subject's events of some exact actions, newest first, in pages.
func testAuditBySubject(t *testing.T, s store.Store) {
	for i, a := range []string{"login.ok", "login.fail", "code.issue", "login.ok", "login.okay", "login.ok", "logout"} {
		subject := "citizen:me"
		if i == 3 {
			subject = "citizen:other"
		}
		if err := s.AppendAudit(ctx(), &store.AuditEvent{Actor: "x", Action: a, Subject: subject}, sealWith); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(es []store.AuditEvent) string {
		out := ""
		for _, e := range es {
			out += fmt.Sprintf("%d ", e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want string
	}{
		{"subject and actions", store.AuditFilter{Subject: "citizen:me", Actions: []string{"login.ok", "login.fail"}}, "6 2 1 "},
		{"one action", store.AuditFilter{Subject: "citizen:me", Actions: []string{"logout"}}, "7 "},
		{"first page", store.AuditFilter{Subject: "citizen:me", Actions: []string{"login.ok", "login.fail"}, Limit: 2}, "6 2 "},
		{"next page", store.AuditFilter{Subject: "citizen:me", Actions: []string{"login.ok", "login.fail"}, Limit: 2, Before: 2}, "1 "},
		{"with a prefix", store.AuditFilter{Actions: []string{"login.ok", "code.issue"}, Action: "login."}, "6 4 1 "},
		{"nobody's", store.AuditFilter{Subject: "citizen:nobody", Actions: []string{"login.ok"}}, ""},
	} {
		got, err := s.ListAudit(ctx(), tc.f)
		if err != nil || seqs(got) != tc.want {
			t.Errorf("%s: seqs %q, %v; want %q", tc.name, seqs(got), err, tc.want)
		}
	}
}

// testPasswordNotices: passwords due for an expiry notice are found by
// when they were set, marked once, and a new password is due again.
func testPasswordNotices(t *testing.T, s store.Store) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ps []*store.Password
	for i := range 3 {
		c := mustCitizen(t, s, 10+i)
		p := &store.Password{CitizenID: c.ID, Hash: "h", SetAt: base.Add(time.Duration(i) * 24 * time.Hour)}
		if err := s.SetPassword(ctx(), p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	due, err := s.PasswordsToNotify(ctx(), base, base.Add(48*time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].CitizenID != ps[0].CitizenID || due[1].CitizenID != ps[1].CitizenID {
		t.Fatalf("due = %+v, %v; want the first two, oldest first", due, err)
	}
	if err := s.MarkPasswordNotice(ctx(), &due[0], base); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPasswordNotice(ctx(), ps[0], base); !errors.Is(err, store.ErrStale) {
		t.Fatalf("second mark = %v, want ErrStale", err)
	}
	if got, _ := s.PasswordOf(ctx(), ps[0].CitizenID); !got.NoticeAt.Equal(base) {
		t.Fatalf("notice time = %v", got.NoticeAt)
	}
	due, _ = s.PasswordsToNotify(ctx(), base, base.Add(72*time.Hour), 1)
	if len(due) != 1 || due[0].CitizenID != ps[1].CitizenID {
		t.Fatalf("after the mark, due = %+v", due)
	}
	// A new password: due again once its own time comes.
	p := &store.Password{CitizenID: ps[0].CitizenID, Hash: "h2", SetAt: base.Add(5 * 24 * time.Hour)}
	if err := s.SetPassword(ctx(), p); err != nil {
		t.Fatal(err)
	}
	due, _ = s.PasswordsToNotify(ctx(), base.Add(5*24*time.Hour), base.Add(6*24*time.Hour), 10)
	if len(due) != 1 || due[0].CitizenID != ps[0].CitizenID || !due[0].NoticeAt.IsZero() {
		t.Fatalf("new password due = %+v", due)
	}
}
