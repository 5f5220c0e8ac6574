// Package httpserver is the HTTP stack every page and API runs in: request
// IDs, JSON access logs, Prometheus metrics, security headers and CSP,
// cross-origin protection for state-changing requests, body size limits,
// client addresses that trust X-Forwarded-For only from configured proxies,
// problem+json errors in the reader's language, the health endpoints, and a
// graceful shutdown that lets requests in flight finish.
//
// It owns transport concerns only: handlers for citizens, officers and
// service providers live in their own packages and are mounted on it.
package httpserver
