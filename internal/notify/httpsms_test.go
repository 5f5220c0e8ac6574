package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// capturedRequest is what the fake provider saw.
type capturedRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// fakeProvider is an httptest SMS provider that records requests and
// answers with a fixed status and body.
type fakeProvider struct {
	*httptest.Server
	status int
	reply  string
	delay  time.Duration

	mu   sync.Mutex
	reqs []capturedRequest
}

func newFakeProvider(t *testing.T, status int, reply string) *fakeProvider {
	t.Helper()
	p := &fakeProvider{status: status, reply: reply}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.reqs = append(p.reqs, capturedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		p.mu.Unlock()
		if p.delay > 0 {
			select {
			case <-time.After(p.delay):
			case <-r.Context().Done():
				return
			}
		}
		if p.status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(p.status)
		_, _ = io.WriteString(w, p.reply)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *fakeProvider) requests() []capturedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]capturedRequest(nil), p.reqs...)
}

func smsMessage() Message {
	return Message{
		ID:       "msg-0042",
		Channel:  SMS,
		To:       "+34600111222",
		Body:     "Your code is 123456",
		Language: "en",
		EventKey: "otp:42",
		Attempt:  1,
	}
}

func newTestHTTPSMSSender(t *testing.T, cfg HTTPSMSConfig) *HTTPSMSSender {
	t.Helper()
	s, err := NewHTTPSMSSender(cfg)
	if err != nil {
		t.Fatalf("NewHTTPSMSSender: %v", err)
	}
	return s
}

func TestHTTPSMSSenderPostsJSONByDefault(t *testing.T) {
	p := newFakeProvider(t, http.StatusAccepted, `{"id":"prov-1"}`)
	s := newTestHTTPSMSSender(t, HTTPSMSConfig{
		URL:     p.URL + "/v1/sms",
		Headers: map[string]string{"Authorization": "Bearer tok-123"},
	})

	m := smsMessage()
	m.Body = `Codi "123456" — vàlid 10 min <&>`
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("provider got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	var got map[string]any
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	want := map[string]any{"to": m.To, "text": m.Body, "reference": m.ID}
	if len(got) != len(want) {
		t.Errorf("body = %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%q] = %v, want %q", k, got[k], v)
		}
	}
	checks := []struct{ name, got, want string }{
		{"method", r.Method, http.MethodPost},
		{"path", r.Path, "/v1/sms"},
		{"Content-Type", r.Header.Get("Content-Type"), "application/json"},
		{"Authorization", r.Header.Get("Authorization"), "Bearer tok-123"},
		{"Idempotency-Key", r.Header.Get("Idempotency-Key"), m.ID},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestHTTPSMSSenderCustomFormTemplate(t *testing.T) {
	p := newFakeProvider(t, http.StatusOK, "OK")
	s := newTestHTTPSMSSender(t, HTTPSMSConfig{
		URL:          p.URL + "/send",
		Method:       "put",
		ContentType:  "application/x-www-form-urlencoded",
		Headers:      map[string]string{"X-Api-Key": "k-9"},
		BodyTemplate: `to={{urlquery .To}}&msg={{urlquery .Body}}&ref={{urlquery .ID}}&lang={{urlquery .Language}}`,
	})

	m := smsMessage()
	m.Body = "El codi és 123456 & caduca"
	m.Language = "ca"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("provider got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	form, err := url.ParseQuery(r.Body)
	if err != nil {
		t.Fatalf("body %q is not a form: %v", r.Body, err)
	}
	checks := []struct{ name, got, want string }{
		{"method", r.Method, http.MethodPut},
		{"Content-Type", r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"},
		{"X-Api-Key", r.Header.Get("X-Api-Key"), "k-9"},
		{"Idempotency-Key", r.Header.Get("Idempotency-Key"), m.ID},
		{"to", form.Get("to"), m.To},
		{"msg", form.Get("msg"), m.Body},
		{"ref", form.Get("ref"), m.ID},
		{"lang", form.Get("lang"), "ca"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestHTTPSMSSenderRetriesWithSameIdempotencyKey(t *testing.T) {
	p := newFakeProvider(t, http.StatusServiceUnavailable, "busy")
	s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL})

	m := smsMessage()
	for attempt := 1; attempt <= 2; attempt++ {
		m.Attempt = attempt
		if err := s.Send(context.Background(), m); err == nil || IsPermanent(err) {
			t.Fatalf("attempt %d: err = %v, want retryable", attempt, err)
		}
	}
	reqs := p.requests()
	if len(reqs) != 2 {
		t.Fatalf("provider got %d requests, want 2", len(reqs))
	}
	if a, b := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); a != m.ID || b != m.ID {
		t.Errorf("Idempotency-Key = %q then %q, want %q both times", a, b, m.ID)
	}
}

func TestHTTPSMSSenderClassifiesResponses(t *testing.T) {
	const secret = "123456" // the one-time code inside the SMS body
	tests := []struct {
		status        int
		reply         string
		wantErr       bool
		wantPermanent bool
	}{
		{status: 200, reply: `{"status":"queued"}`},
		{status: 201, reply: `{"id":"x"}`},
		{status: 204},
		{status: 500, reply: `{"error":"internal"}`, wantErr: true},
		{status: 502, reply: "<html>Bad Gateway</html>", wantErr: true},
		{status: 503, reply: "maintenance", wantErr: true},
		{status: 429, reply: `{"error":"rate limited"}`, wantErr: true},
		{status: 408, reply: "request timeout", wantErr: true},
		{status: 400, reply: `{"error":"invalid number"}`, wantErr: true, wantPermanent: true},
		{status: 401, reply: `{"error":"bad token"}`, wantErr: true, wantPermanent: true},
		{status: 403, reply: `{"error":"forbidden"}`, wantErr: true, wantPermanent: true},
		{status: 404, reply: "not found", wantErr: true, wantPermanent: true},
		{status: 422, reply: `{"error":"unprocessable","text":"Your code is 123456"}`, wantErr: true, wantPermanent: true},
		{status: 302, reply: "moved", wantErr: true, wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			p := newFakeProvider(t, tt.status, tt.reply)
			s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL})

			err := s.Send(context.Background(), smsMessage())
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			if got := IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v (err: %v)", got, tt.wantPermanent, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, http.StatusText(tt.status)) || !strings.Contains(msg, "msg-0042") {
				t.Errorf("error %q should name the status and the message ID", msg)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error %q contains the SMS body", msg)
			}
			if len(p.requests()) != 1 {
				t.Errorf("provider got %d requests, want 1 (no redirects followed)", len(p.requests()))
			}
		})
	}
}

func TestHTTPSMSSenderErrorIncludesShortResponseSnippet(t *testing.T) {
	reply := `{"error":"number barred"}` + strings.Repeat("x", 200<<10)
	p := newFakeProvider(t, http.StatusBadRequest, reply)
	s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL})

	err := s.Send(context.Background(), smsMessage())
	if !IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if !strings.Contains(err.Error(), "number barred") {
		t.Errorf("error %q lacks the provider's reason", err)
	}
	if n := len(err.Error()); n > 400 {
		t.Errorf("error is %d bytes long, want a short snippet", n)
	}
}

func TestHTTPSMSSenderNetworkFailuresAreRetryable(t *testing.T) {
	t.Run("provider slower than Timeout", func(t *testing.T) {
		p := newFakeProvider(t, http.StatusOK, "late")
		p.delay = 5 * time.Second
		s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL, Timeout: 100 * time.Millisecond})

		start := time.Now()
		err := s.Send(context.Background(), smsMessage())
		if err == nil || IsPermanent(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v, want about 100ms", d)
		}
		if strings.Contains(err.Error(), "123456") {
			t.Errorf("error %q contains the SMS body", err)
		}
	})

	t.Run("caller's context deadline", func(t *testing.T) {
		p := newFakeProvider(t, http.StatusOK, "late")
		p.delay = 5 * time.Second
		s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()

		err := s.Send(ctx, smsMessage())
		if err == nil || IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want retryable deadline error", err)
		}
	})

	t.Run("connection refused, URL secrets not echoed", func(t *testing.T) {
		p := newFakeProvider(t, http.StatusOK, "")
		u := p.URL + "/send?api_key=SECRET-KEY"
		p.Close()
		s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: u})

		err := s.Send(context.Background(), smsMessage())
		if err == nil || IsPermanent(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
		if strings.Contains(err.Error(), "SECRET-KEY") {
			t.Errorf("error %q leaks the URL's query", err)
		}
	})
}

func TestHTTPSMSSenderRejectsUnsendableMessagesPermanently(t *testing.T) {
	p := newFakeProvider(t, http.StatusOK, "")
	s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL})

	tests := []struct {
		name   string
		modify func(*Message)
	}{
		{"email channel", func(m *Message) { m.Channel = Email; m.To = "a@example.org" }},
		{"empty channel", func(m *Message) { m.Channel = "" }},
		{"no recipient", func(m *Message) { m.To = "" }},
		{"no message ID", func(m *Message) { m.ID = "" }},
		{"message ID with a newline", func(m *Message) { m.ID = "a\r\nX-Evil: 1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := smsMessage()
			tt.modify(&m)
			err := s.Send(context.Background(), m)
			if !IsPermanent(err) {
				t.Errorf("err = %v, want permanent", err)
			}
			if err != nil && strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q contains the SMS body", err)
			}
		})
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("provider got %d requests, want 0", n)
	}
}

func TestNewHTTPSMSSenderValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HTTPSMSConfig
		wantErr string // "" means valid
	}{
		{"valid defaults", HTTPSMSConfig{URL: "https://sms.example.org/v1/messages"}, ""},
		{"valid http with port and PATCH", HTTPSMSConfig{URL: "http://127.0.0.1:8080/sms", Method: "PATCH"}, ""},
		{"empty URL", HTTPSMSConfig{}, "URL"},
		{"relative URL", HTTPSMSConfig{URL: "/v1/messages"}, "URL"},
		{"not a URL", HTTPSMSConfig{URL: "sms.example.org v1"}, "URL"},
		{"ftp URL", HTTPSMSConfig{URL: "ftp://sms.example.org/"}, "URL"},
		{"URL without host", HTTPSMSConfig{URL: "https:///v1"}, "URL"},
		{"unparsable URL", HTTPSMSConfig{URL: "https://exa mple.org/%zz"}, "URL"},
		{"GET method", HTTPSMSConfig{URL: "https://sms.example.org", Method: "GET"}, "method"},
		{"unknown method", HTTPSMSConfig{URL: "https://sms.example.org", Method: "SEND"}, "method"},
		{"template does not parse", HTTPSMSConfig{URL: "https://sms.example.org", BodyTemplate: `{"to":{{json .To}`}, "template"},
		{"template uses an unknown field", HTTPSMSConfig{URL: "https://sms.example.org", BodyTemplate: `{{.Phone}}`}, "template"},
		{"template uses an unknown function", HTTPSMSConfig{URL: "https://sms.example.org", BodyTemplate: `{{xml .To}}`}, "template"},
		{"header value with newline", HTTPSMSConfig{URL: "https://sms.example.org", Headers: map[string]string{"Authorization": "Bearer x\r\nX-Evil: 1"}}, "header"},
		{"bad header name", HTTPSMSConfig{URL: "https://sms.example.org", Headers: map[string]string{"Bad Header": "x"}}, "header"},
		{"negative timeout", HTTPSMSConfig{URL: "https://sms.example.org", Timeout: -time.Second}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewHTTPSMSSender(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("NewHTTPSMSSender: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewHTTPSMSSender accepted %+v", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "Bearer x") {
				t.Errorf("error %q echoes a header value", err)
			}
		})
	}
}

func TestHTTPSMSSenderIsSafeForConcurrentUse(t *testing.T) {
	p := newFakeProvider(t, http.StatusOK, "")
	s := newTestHTTPSMSSender(t, HTTPSMSConfig{URL: p.URL, Headers: map[string]string{"Authorization": "Bearer t"}})

	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			m := smsMessage()
			m.ID = "msg-" + string(rune('a'+i))
			errs <- s.Send(context.Background(), m)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	keys := map[string]bool{}
	for _, r := range p.requests() {
		keys[r.Header.Get("Idempotency-Key")] = true
	}
	if len(keys) != n {
		t.Errorf("provider saw %d distinct Idempotency-Keys, want %d", len(keys), n)
	}
}
