package config

import (
	"crypto/x509"
	"encoding/json"
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

	ps.password(c)
	ps.oneOf("letters.print_role", c.Letters.PrintRole, "officer", "supervisor", "admin")
	ps.positive("letters.code_ttl", int64(c.Letters.CodeTTL))

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
	ps.samlSPs(c.SAMLSPs)
	o := c.OIDC
	if o.KeyRotation < 0 {
		ps.add("oidc.key_rotation", "must not be negative (0 turns automatic rotation off)")
	}
	if o.KeyPrepublish < 0 {
		ps.add("oidc.key_prepublish", "must not be negative")
	}
	ps.positive("oidc.key_reload", int64(o.KeyReload))
	if o.KeyReload > 0 && o.KeyPrepublish > 0 && o.KeyPrepublish < o.KeyReload {
		ps.add("oidc.key_prepublish", fmt.Sprintf("%s is shorter than oidc.key_reload (%s): a process could sign with a key others do not publish yet", o.KeyPrepublish, o.KeyReload))
	}
	if o.KeyRotation > 0 && o.KeyRotation <= o.KeyPrepublish {
		ps.add("oidc.key_rotation", fmt.Sprintf("%s must be longer than oidc.key_prepublish (%s)", o.KeyRotation, o.KeyPrepublish))
	}
	ps.quickSignIn(c)
	ps.certificate(c)
	return ps
}

// certificate checks the certificate sign-in listener when it is on.
func (ps *problems) certificate(c *Config) {
	cc := c.Certificate
	ps.positive("certificate.timeout", int64(cc.Timeout))
	if !cc.Enabled {
		return
	}
	if ps.hostPort("certificate.listen", cc.Listen) && cc.Listen == c.Listen {
		ps.add("certificate.listen", "must differ from listen: the TLS handshake itself asks for the certificate")
	}
	if u, ok := ps.httpURL("certificate.public_url", cc.PublicURL); ok && u.Scheme != "https" {
		ps.add("certificate.public_url", "must be an https:// URL")
	}
	if len(cc.Profiles) == 0 {
		ps.add("certificate.profiles", "list at least one certificate profile (e.g. dnie) when certificate.enabled is true")
	}
	seen := map[string]bool{}
	for i, p := range cc.Profiles {
		key := fmt.Sprintf("certificate.profiles[%d]", i)
		switch {
		case p.Name == "":
			ps.add(key+".name", "is required")
		case seen[p.Name]:
			ps.add(key+".name", fmt.Sprintf("%q is declared twice", p.Name))
		}
		seen[p.Name] = true
		if len(p.Roots) == 0 {
			ps.add(key+".roots", "list at least one PEM file of a trust anchor")
		}
		ps.oneOf(key+".loa", p.LoA, "substantial", "high")
		ps.oneOf(key+".amr", p.AMR, "hwk", "swk")
		for _, o := range p.Policies {
			if _, err := x509.ParseOID(o); err != nil {
				ps.add(key+".policies", fmt.Sprintf("%q is not an OID (e.g. 2.16.724.1.2.2.2.3)", o))
			}
		}
	}
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
		m := cl.TokenEndpointAuthMethod
		ps.oneOf(key+".token_endpoint_auth_method", m, "", "client_secret_basic", "client_secret_post", "private_key_jwt", "none")
		if cl.Public && m != "" && m != "none" {
			ps.add(key+".token_endpoint_auth_method", "a public client authenticates with none")
		}
		if m == "none" && !cl.Public {
			ps.add(key+".token_endpoint_auth_method", "none is for public clients (set public: true)")
		}
		secretless := cl.Public || m == "private_key_jwt"
		if secretless && cl.Secret != "" {
			ps.add(key+".secret", "a public client has no secret, nor does a private_key_jwt one")
		}
		if !secretless && len(cl.Secret) < 16 {
			ps.add(key+".secret", "is required (at least 16 characters) unless public is true or the method is private_key_jwt")
		}
		switch {
		case m == "private_key_jwt" && (cl.JWKS == "") == (cl.JWKSURI == ""):
			ps.add(key+".jwks", "private_key_jwt needs exactly one of jwks and jwks_uri")
		case m != "private_key_jwt" && (cl.JWKS != "" || cl.JWKSURI != ""):
			ps.add(key+".jwks", "jwks and jwks_uri are only for token_endpoint_auth_method private_key_jwt")
		case cl.JWKS != "" && !json.Valid([]byte(cl.JWKS)):
			ps.add(key+".jwks", "is not JSON (a JWK set: {\"keys\": [...]})")
		}
		if u := cl.BackchannelLogoutURI; u != "" {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.Fragment != "" {
				ps.add(key+".backchannel_logout_uri", fmt.Sprintf("%q is not an absolute http(s) URL without fragment", u))
			}
		}
		for _, sc := range cl.Scopes {
			ps.oneOf(key+".scopes", sc, "openid", "profile", "email", "phone", "document_number")
		}
		ps.oneOf(key+".subject_type", cl.SubjectType, "", "pairwise", "public")
		ps.oneOf(key+".id_token_signed_response_alg", cl.IDTokenSignedResponseAlg, "", "ES256", "RS256")
		if cl.SubjectType == "public" && cl.SectorIdentifier != "" {
			ps.add(key+".sector_identifier", "groups pairwise subjects only; remove it or subject_type: public")
		}
		if cl.JWKSURI != "" {
			if u, err := url.Parse(cl.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				ps.add(key+".jwks_uri", fmt.Sprintf("%q is not an http(s) URL", cl.JWKSURI))
			}
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
		ps.oneOf(key+".access_token_format", cl.AccessTokenFormat, "", "opaque", "jwt")
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
