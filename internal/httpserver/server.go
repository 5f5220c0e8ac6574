package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clau-eid/clau/internal/i18n"
)

// Options configure the server.
type Options struct {
	ReadTimeout, ReadHeaderTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	MaxBodyBytes                                                               int64
	TrustedProxies                                                             []string // CIDRs
	HSTS                                                                       bool     // public URL is https
}

// Pinger is what /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server is Clau's HTTP server.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	log      *slog.Logger
	catalog  *i18n.Catalog
	registry *prometheus.Registry
	proxies  []netip.Prefix
	cop      *http.CrossOriginProtection

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a server with /healthz, /readyz and /metrics mounted.
func New(opts Options, log *slog.Logger, catalog *i18n.Catalog, ready Pinger) (*Server, error) {
	s := &Server{opts: opts, mux: http.NewServeMux(), log: log, catalog: catalog,
		registry: prometheus.NewRegistry(), cop: http.NewCrossOriginProtection()}
	for _, c := range opts.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", c, err)
		}
		s.proxies = append(s.proxies, p.Masked())
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clau_http_requests_total",
		Help: "HTTP requests by route, method and status code."}, []string{"route", "method", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clau_http_request_duration_seconds",
		Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	s.registry.MustRegister(s.requests, s.duration)

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready.Ping(ctx); err != nil {
			s.log.Error("readyz: store unreachable", "request_id", RequestID(r.Context()), "error", err.Error())
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": "unreachable"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": "ok"})
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return s, nil
}

// Handle mounts a handler on a Go 1.22 pattern such as "POST /desk/citizens".
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc mounts a handler function.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// AllowCrossOrigin exempts a pattern from cross-origin protection: only
// for endpoints that receive cross-site POSTs by design and check their
// own signatures (the SAML bindings).
func (s *Server) AllowCrossOrigin(pattern string) { s.cop.AddInsecureBypassPattern(pattern) }

// Registry is where packages register their own metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Catalog returns the message catalogue.
func (s *Server) Catalog() *i18n.Catalog { return s.catalog }

// Handler is the full middleware stack around the routes.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = s.cop.Handler(h)
	h = s.limitBody(h)
	h = s.securityHeaders(h)
	h = s.observe(h)
	h = s.recoverPanics(h)
	h = s.withRequestContext(h)
	return h
}

// Serve serves on l until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish within ShutdownTimeout, and
// returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadTimeout:       s.opts.ReadTimeout,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing requests in flight", "timeout", s.opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// clientIP is the peer address, or the address a trusted proxy says it
// forwarded for: the rightmost X-Forwarded-For entry that is not itself a
// trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing beyond it
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
