package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/problem"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func newServer(t *testing.T, ready error, proxies ...string) *httpserver.Server {
	t.Helper()
	s, err := httpserver.New(httpserver.Options{MaxBodyBytes: 1024, ShutdownTimeout: 5 * time.Second, TrustedProxies: proxies},
		slog.New(slog.NewTextHandler(io.Discard, nil)), i18n.MustLoad(), pinger{ready})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHealthAndReadiness(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ready  error
		status int
	}{{"store up", nil, 200}, {"store down", errors.New("connection refused"), 503}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(newServer(t, tc.ready).Handler())
			defer ts.Close()
			res, err := http.Get(ts.URL + "/healthz")
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("healthz: %v %v", res, err)
			}
			res, _ = http.Get(ts.URL + "/readyz")
			if res.StatusCode != tc.status {
				t.Fatalf("readyz = %d, want %d", res.StatusCode, tc.status)
			}
			body, _ := io.ReadAll(res.Body)
			if strings.Contains(string(body), "connection refused") {
				t.Fatal("readyz leaks the internal error")
			}
		})
	}
}

func TestMetricsCountByRoute(t *testing.T) {
	s := newServer(t, nil)
	s.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	http.Get(ts.URL + "/things/12345678Z")
	res, _ := http.Get(ts.URL + "/metrics")
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), `clau_http_requests_total{code="200",method="GET",route="GET /things/{id}"} 1`) {
		t.Fatalf("metrics lack the route-labelled counter:\n%s", grep(string(body), "clau_http_requests_total"))
	}
	if strings.Contains(string(body), "12345678Z") {
		t.Fatal("a raw path (personal data) reached the metrics")
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	ts := httptest.NewServer(newServer(t, nil).Handler())
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "attacker-chosen-id")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Header
	for _, name := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if h.Get(name) == "" {
			t.Errorf("missing %s", name)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", h.Get("Content-Security-Policy"))
	}
	if id := h.Get("X-Request-ID"); len(id) < 16 || id == "attacker-chosen-id" {
		t.Errorf("request id = %q: an untrusted client must not choose it", id)
	}
}

func TestBodyLimitAndCrossOrigin(t *testing.T) {
	s := newServer(t, nil)
	s.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			s.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	res, _ := http.Post(ts.URL+"/form", "text/plain", strings.NewReader("small"))
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("small body = %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/form", strings.NewReader(strings.Repeat("x", 4096)))
	req.Header.Set("Accept-Language", "ca")
	res, _ = http.DefaultClient.Do(req)
	var p httpserver.ProblemBody
	json.NewDecoder(res.Body).Decode(&p)
	if res.StatusCode != http.StatusRequestEntityTooLarge || p.Code != "request.too_large" || !strings.Contains(p.Title, "massa grans") {
		t.Fatalf("oversized body = %d %+v", res.StatusCode, p)
	}
	// A chunked body without Content-Length is cut off while reading.
	req, _ = http.NewRequest("POST", ts.URL+"/form", io.NopCloser(strings.NewReader(strings.Repeat("x", 4096))))
	req.ContentLength = -1
	res, _ = http.DefaultClient.Do(req)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body = %d", res.StatusCode)
	}
	req, _ = http.NewRequest("POST", ts.URL+"/form", strings.NewReader("x"))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, _ = http.DefaultClient.Do(req)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST = %d, want 403", res.StatusCode)
	}
}

func TestProblemsInTheReadersLanguage(t *testing.T) {
	s := newServer(t, nil)
	s.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		s.WriteError(w, r, problem.Invalid(problem.Field{Name: "document", MsgID: "document.letter"}))
	})
	s.HandleFunc("GET /crash", func(w http.ResponseWriter, r *http.Request) {
		s.WriteError(w, r, errors.New("pq: password authentication failed for user clau"))
	})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, lang := range []string{"ca", "es", "en"} {
		req, _ := http.NewRequest("GET", ts.URL+"/fail", nil)
		req.Header.Set("Accept-Language", lang)
		res, _ := http.DefaultClient.Do(req)
		var p httpserver.ProblemBody
		json.NewDecoder(res.Body).Decode(&p)
		if res.StatusCode != 422 || len(p.Fields) != 1 || p.Fields[0].Name != "document" || p.Fields[0].Message == "document.letter" ||
			res.Header.Get("Content-Language") != lang {
			t.Fatalf("%s: %d %+v", lang, res.StatusCode, p)
		}
	}
	res, _ := http.Get(ts.URL + "/crash")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 500 || strings.Contains(string(body), "password") || !strings.Contains(string(body), "request_id") {
		t.Fatalf("internal error shown as %d %s", res.StatusCode, body)
	}
}

func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		xff     string
		want    string
	}{
		{"no proxies: header ignored", nil, "203.0.113.9", "127.0.0.1"},
		{"trusted proxy: rightmost untrusted hop", []string{"127.0.0.0/8"}, "198.51.100.1, 203.0.113.9", "203.0.113.9"},
		{"spoofed first hop ignored", []string{"127.0.0.0/8", "10.0.0.0/8"}, "1.2.3.4, 203.0.113.9, 10.0.0.5", "203.0.113.9"},
		{"garbage header", []string{"127.0.0.0/8"}, "not-an-ip", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, nil, tc.proxies...)
			var got string
			s.HandleFunc("GET /ip", func(w http.ResponseWriter, r *http.Request) { got = httpserver.ClientIP(r.Context()) })
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			req, _ := http.NewRequest("GET", ts.URL+"/ip", nil)
			req.Header.Set("X-Forwarded-For", tc.xff)
			http.DefaultClient.Do(req)
			if got != tc.want {
				t.Fatalf("client ip = %q, want %q", got, tc.want)
			}
		})
	}
}

// Shutdown lets a request in flight finish.
func TestGracefulShutdown(t *testing.T) {
	s := newServer(t, nil)
	started := make(chan struct{})
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("done"))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		got <- string(b)
	}()
	<-started
	cancel()
	if body := <-got; body != "done" {
		t.Fatalf("request in flight got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}
