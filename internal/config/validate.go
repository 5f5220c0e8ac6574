package config

import (
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Key is the dotted key concerned ("storage.dsn"), or empty for a
	// problem with the file as a whole (such as a YAML syntax error).
	Key     string
	Message string
}

// Error lists every problem found while loading and validating.
type Error struct {
	Problems []Problem
}

// Error lists the problems one per line as "key: message".
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

type problems []Problem

func (ps *problems) add(key, msg string) { *ps = append(*ps, Problem{Key: key, Message: msg}) }

// Validate checks c as loaded (defaults and derived values already filled)
// and returns an *Error listing every problem, or nil.
func (c *Config) Validate() error {
	if ps := c.validate(); len(ps) > 0 {
		return &Error{Problems: ps}
	}
	return nil
}

func (c *Config) validate() problems {
	var ps problems
	listenOK := ps.hostPort("listen", c.Listen)
	if c.PublicURL != "" || listenOK {
		ps.baseURL("public_url", c.PublicURL)
	}
	if c.DataDir == "" {
		ps.add("data_dir", "must not be empty")
	}

	s := c.Storage
	switch s.Driver {
	case DriverSQLite:
		if s.DSN == "" {
			ps.add("storage.dsn", "must not be empty")
		}
	case DriverPostgres:
		if s.DSN == "" {
			ps.add("storage.dsn", "is required when storage.driver is postgres (e.g. postgres://clau@127.0.0.1:5432/clau)")
		}
	default:
		ps.oneOf("storage.driver", s.Driver, DriverSQLite, DriverPostgres)
	}
	ps.atLeast("storage.max_open_conns", s.MaxOpenConns, 1)

	sv := c.Server
	ps.positive("server.read_timeout", int64(sv.ReadTimeout))
	ps.positive("server.read_header_timeout", int64(sv.ReadHeaderTimeout))
	ps.positive("server.write_timeout", int64(sv.WriteTimeout))
	ps.positive("server.idle_timeout", int64(sv.IdleTimeout))
	ps.positive("server.shutdown_timeout", int64(sv.ShutdownTimeout))
	if sv.MaxBodyBytes < 1<<10 || sv.MaxBodyBytes > 1<<30 {
		ps.add("server.max_body_bytes", "must be between 1024 (1 KiB) and 1073741824 (1 GiB)")
	}
	if sv.PprofListen != "" && ps.hostPort("server.pprof_listen", sv.PprofListen) {
		host, _, _ := net.SplitHostPort(sv.PprofListen)
		if !isLoopback(host) {
			ps.add("server.pprof_listen", "the profiler may listen only on a loopback address (127.0.0.1, ::1 or localhost)")
		}
	}
	for _, p := range sv.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			ps.add("server.trusted_proxies", fmt.Sprintf("%q is not a CIDR (e.g. 10.0.0.0/8, or 192.0.2.7/32 for one address)", p))
		}
	}

	ps.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ps.oneOf("log.format", c.Log.Format, "json", "text")

	sec := c.Security
	if sec.KeyringFile == "" {
		ps.add("security.keyring_file", "must not be empty")
	}
	if sec.Argon2.MemoryKiB < 8*1024 {
		ps.add("security.argon2.memory_kib", "must be at least 8192 (8 MiB)")
	}
	ps.atLeast("security.argon2.iterations", int(sec.Argon2.Iterations), 1)
	ps.atLeast("security.argon2.parallelism", int(sec.Argon2.Parallelism), 1)
	ps.atLeast("security.max_concurrent_hashes", sec.MaxConcurrentHashes, 0)
	ps.positive("security.max_hash_wait", int64(sec.MaxHashWait))

	n := c.Notify
	switch n.SMS.Driver {
	case DriverOutbox:
	case DriverHTTP:
		h := n.SMS.HTTP
		ps.absURL("notify.sms.http.url", h.URL)
		switch strings.ToUpper(h.Method) {
		case "POST", "PUT", "PATCH": // the message travels in the body
		default:
			ps.add("notify.sms.http.method", fmt.Sprintf("%q is not one of POST, PUT, PATCH", h.Method))
		}
		if _, _, err := mime.ParseMediaType(h.ContentType); err != nil {
			ps.add("notify.sms.http.content_type", fmt.Sprintf("%q is not a media type (e.g. application/json)", h.ContentType))
		}
		ps.positive("notify.sms.http.timeout", int64(h.Timeout))
	default:
		ps.oneOf("notify.sms.driver", n.SMS.Driver, DriverOutbox, DriverHTTP)
	}
	switch n.Email.Driver {
	case DriverOutbox:
	case DriverSMTP:
		ps.smtp(n.Email.SMTP)
	default:
		ps.oneOf("notify.email.driver", n.Email.Driver, DriverOutbox, DriverSMTP)
	}
	ps.atLeast("notify.max_attempts", n.MaxAttempts, 1)
	ps.positive("notify.retry_base", int64(n.RetryBase))
	ps.positive("notify.retry_max", int64(n.RetryMax))
	if n.RetryBase > 0 && n.RetryMax > 0 && n.RetryBase > n.RetryMax {
		ps.add("notify.retry_base", fmt.Sprintf("%s is longer than notify.retry_max (%s)", n.RetryBase, n.RetryMax))
	}
	ps.oidcClients(c.OIDCClients)
	ps.quickSignIn(c)
	return ps
}

// oidcClients checks the declared relying parties: unique IDs, a secret
// unless public, exact absolute redirect URIs, a known level.
func (ps *problems) oidcClients(cs []OIDCClient) {
	seen := map[string]bool{}
	for i, cl := range cs {
		key := fmt.Sprintf("oidc_clients[%d]", i)
		switch {
		case cl.ID == "":
			ps.add(key+".id", "is required")
		case seen[cl.ID]:
			ps.add(key+".id", fmt.Sprintf("%q is declared twice", cl.ID))
		}
		seen[cl.ID] = true
		if cl.Public && cl.Secret != "" {
			ps.add(key+".secret", "a public client has no secret")
		}
		if !cl.Public && len(cl.Secret) < 16 {
			ps.add(key+".secret", "is required (at least 16 characters) unless public is true")
		}
		if len(cl.RedirectURIs) == 0 {
			ps.add(key+".redirect_uris", "needs at least one URI")
		}
		for _, u := range cl.RedirectURIs {
			p, err := url.Parse(u)
			web := err == nil && (p.Scheme == "http" || p.Scheme == "https")
			if err != nil || !p.IsAbs() || web && p.Host == "" || p.Fragment != "" || strings.Contains(u, "*") {
				ps.add(key+".redirect_uris", fmt.Sprintf("%q must be an absolute URL without fragment or wildcard (matched exactly)", u))
			}
		}
		switch strings.TrimPrefix(strings.ToLower(cl.MinLoA), "http://eidas.europa.eu/loa/") {
		case "", "low", "substantial", "high":
		default:
			ps.add(key+".min_loa", fmt.Sprintf("%q is not one of low, substantial, high", cl.MinLoA))
		}
	}
}

func (ps *problems) smtp(s SMTP) {
	const p = "notify.email.smtp."
	if s.Host == "" {
		ps.add(p+"host", "is required when notify.email.driver is smtp")
	}
	if s.Port < 1 || s.Port > 65535 {
		ps.add(p+"port", "must be between 1 and 65535")
	}
	if s.From == "" {
		ps.add(p+"from", `is required when notify.email.driver is smtp (e.g. "Clau <no-reply@example.org>")`)
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		ps.add(p+"from", fmt.Sprintf("%q is not an email address (e.g. \"Clau <no-reply@example.org>\")", s.From))
	}
	if s.Username != "" && s.Password == "" {
		ps.add(p+"password", "is required when notify.email.smtp.username is set")
	}
	switch s.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		// Credentials in clear are only acceptable to a relay on this host.
		if s.Username != "" && s.Host != "" && !isLoopback(s.Host) {
			ps.add(p+"tls", "none would send the password unencrypted to a remote server; use starttls or tls")
		}
	default:
		ps.oneOf(p+"tls", s.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	ps.positive(p+"timeout", int64(s.Timeout))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (ps *problems) oneOf(key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	ps.add(key, fmt.Sprintf("%q is not one of %s", value, strings.Join(allowed, ", ")))
}

func (ps *problems) atLeast(key string, n, least int) {
	if n < least {
		ps.add(key, fmt.Sprintf("must be at least %d", least))
	}
}

func (ps *problems) positive(key string, d int64) {
	if d <= 0 {
		ps.add(key, "must be greater than zero")
	}
}

// hostPort checks a listen address and reports whether it is usable.
func (ps *problems) hostPort(key, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		ps.add(key, fmt.Sprintf("%q is not host:port with a numeric port (e.g. 127.0.0.1:8080 or :8080)", addr))
		return false
	}
	return true
}

// baseURL checks public_url: the issuer and the prefix of every link, so
// it must be an absolute http(s) URL that paths can be appended to. The
// value is not echoed, as it is a URL that might embed credentials.
func (ps *problems) baseURL(key, raw string) {
	u, ok := ps.httpURL(key, raw)
	if !ok {
		return
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		ps.add(key, "must not have a query or a fragment")
	}
	if u.User != nil {
		ps.add(key, "must not contain a user name or password")
	}
}

func (ps *problems) absURL(key, raw string) { ps.httpURL(key, raw) }

func (ps *problems) httpURL(key, raw string) (*url.URL, bool) {
	if raw == "" {
		ps.add(key, "must be set to an absolute http or https URL")
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		ps.add(key, "must be an absolute http or https URL (e.g. https://clau.example.org)")
		return nil, false
	}
	return u, true
}
