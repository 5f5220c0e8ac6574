package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

func templates(t *testing.T) *notify.Templates {
	t.Helper()
	tm, err := notify.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestTemplatesInEveryLanguage(t *testing.T) {
	tm := templates(t)
	langs := tm.Languages()
	if len(langs) != 3 {
		t.Fatalf("languages = %v, want ca, en, es", langs)
	}
	for _, id := range tm.IDs("ca") {
		for _, l := range langs {
			if _, _, used, err := tm.Render(id, l, map[string]any{"Code": "123456", "Minutes": 5, "Time": "now", "Office": "OAC", "Address": "Plaça 1", "When": "01/06/2026 09:00", "Reference": "ABCD2345", "Link": "https://clau.example.org/appointments/change?ref=ABCD2345", "Calendar": "https://clau.example.org/appointments/calendar.ics?ref=ABCD2345", "Until": "30/04/2027", "Document": "***4567*", "Date": "02/03/2026", "URL": "https://clau.example/activate", "Expires": "01/04/2026", "New": "n***@example.org", "Name": "Portàtil"}); err != nil || used != l {
				t.Errorf("template %s in %s: used %s, %v", id, l, used, err)
			}
		}
	}
	for _, l := range langs {
		if len(tm.IDs(l)) != len(tm.IDs("ca")) {
			t.Errorf("%s has %d templates, ca has %d", l, len(tm.IDs(l)), len(tm.IDs("ca")))
		}
	}
}

func TestOutboxDriverKeepsMessageOnce(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	n := notify.NewNotifier(templates(t), []notify.Channel{notify.SMS, notify.Email}, nil)
	req := notify.Request{Channel: notify.SMS, To: "+34600000001", Template: "sms.code", Language: "es",
		Data: map[string]any{"Code": "482913", "Minutes": 5}, EventKey: "sms_otp:abc"}
	id, ok, err := n.Queue(ctx, s, req)
	if err != nil || !ok {
		t.Fatalf("queue: %v %v", ok, err)
	}
	if _, ok, _ := n.Queue(ctx, s, req); ok {
		t.Fatal("the same event queued two messages")
	}
	m, err := s.MessageByID(ctx, id)
	if err != nil || m.Status != store.MsgSent || m.Driver != "outbox" || m.Language != "es" {
		t.Fatalf("message = %+v %v", m, err)
	}
	if want := "Clau: su código es 482913. Caduca en 5 minutos."; m.Body[:len(want)] != want {
		t.Fatalf("body = %q", m.Body)
	}
	if _, _, err := n.Queue(ctx, s, notify.Request{Channel: notify.SMS, To: "+34600000001", Template: "sms.code",
		Language: "ca", Data: map[string]any{}, EventKey: "x"}); err == nil {
		t.Fatal("a template with missing data was rendered")
	}
}

// A notice to a person's email and mobile: one message per address set,
// each once however often the event is queued.
func TestQueueBothSendsToEachAddressOnce(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	n := notify.NewNotifier(templates(t), []notify.Channel{notify.SMS, notify.Email}, nil)
	req := notify.Request{Template: "sms.code", Language: "ca", Data: map[string]any{"Code": "482913", "Minutes": 5},
		EventKey: "notice:1"}
	for range 2 {
		if err := n.QueueBoth(ctx, s, "anna@example.org", "+34600000001", req); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.QueueBoth(ctx, s, "", "+34600000002", notify.Request{Template: "sms.code", Language: "ca",
		Data: req.Data, EventKey: "notice:2"}); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.ListMessages(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range msgs {
		got[m.EventKey] = m.Channel + " " + m.Recipient
	}
	want := map[string]string{"notice:1:email": "email anna@example.org", "notice:1:sms": "sms +34600000001",
		"notice:2:sms": "sms +34600000002"}
	if len(msgs) != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages %v, want %v", got, want)
	}
}

// A provider that fails twice with 503, then accepts: the message is sent
// once, on the third attempt, with the same idempotency key each time.
func TestDispatcherRetriesTransientFailures(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	var (
		mu   sync.Mutex
		keys []string
	)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if len(keys) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer provider.Close()
	sms, err := notify.NewHTTPSMSSender(notify.HTTPSMSConfig{URL: provider.URL})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	n := notify.NewNotifier(templates(t), []notify.Channel{notify.Email}, clock)
	d := notify.NewDispatcher(s, map[notify.Channel]notify.Sender{notify.SMS: sms}, map[notify.Channel]string{notify.SMS: "http"},
		notify.RetryPolicy{MaxAttempts: 5, Base: 30 * time.Second, Max: time.Hour}, clock, nil)
	id, _, err := n.Queue(ctx, s, notify.Request{Channel: notify.SMS, To: "+34600000001", Template: "sms.test",
		Language: "en", Data: map[string]any{"Time": "10:00"}, EventKey: "test:1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		tried, err := d.RunOnce(ctx)
		if err != nil || tried != 1 {
			t.Fatalf("round %d: tried %d, %v", i, tried, err)
		}
		if tried, _ := d.RunOnce(ctx); tried != 0 {
			t.Fatalf("round %d: a message was retried before its backoff", i)
		}
		now = now.Add(2 * time.Minute)
	}
	m, _ := s.MessageByID(ctx, id)
	if m.Status != store.MsgSent || m.Attempts != 3 || m.Driver != "http" {
		t.Fatalf("after retries: %+v", m)
	}
	if len(keys) != 3 || keys[0] != id || keys[1] != id || keys[2] != id {
		t.Fatalf("idempotency keys = %v, want %s three times", keys, id)
	}
	if tried, _ := d.RunOnce(ctx); tried != 0 {
		t.Fatal("a sent message was sent again")
	}
}

func TestDispatcherGivesUpOnPermanentFailure(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	calls := 0
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, "invalid number", http.StatusBadRequest)
	}))
	defer provider.Close()
	sms, _ := notify.NewHTTPSMSSender(notify.HTTPSMSConfig{URL: provider.URL})
	n := notify.NewNotifier(templates(t), nil, nil)
	d := notify.NewDispatcher(s, map[notify.Channel]notify.Sender{notify.SMS: sms}, map[notify.Channel]string{notify.SMS: "http"},
		notify.RetryPolicy{MaxAttempts: 5, Base: time.Millisecond, Max: time.Millisecond}, nil, nil)
	var outcomes []string
	d.Observe = func(ch, drv, outcome string) { outcomes = append(outcomes, outcome) }
	id, _, _ := n.Queue(ctx, s, notify.Request{Channel: notify.SMS, To: "+34600000001", Template: "sms.test",
		Language: "ca", Data: map[string]any{"Time": "x"}, EventKey: "test:2"})
	d.RunOnce(ctx)
	time.Sleep(5 * time.Millisecond)
	d.RunOnce(ctx)
	m, _ := s.MessageByID(ctx, id)
	if m.Status != store.MsgFailed || calls != 1 || m.LastError == "" || len(outcomes) != 1 || outcomes[0] != "failed" {
		t.Fatalf("permanent failure: status %s, calls %d, error %q, outcomes %v", m.Status, calls, m.LastError, outcomes)
	}
}
