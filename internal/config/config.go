package config

import (
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Values of the driver and mode keys.
const (
	DriverSQLite   = "sqlite"   // storage.driver: embedded, pure Go
	DriverPostgres = "postgres" // storage.driver: PostgreSQL or a compatible database
	DriverOutbox   = "outbox"   // notify.{sms,email}.driver: keep messages in the store only
	DriverHTTP     = "http"     // notify.sms.driver: an SMS provider's HTTP API
	DriverSMTP     = "smtp"     // notify.email.driver: a mail server

	TLSStartTLS = "starttls" // notify.email.smtp.tls: plain connection upgraded with STARTTLS
	TLSImplicit = "tls"      // notify.email.smtp.tls: TLS from the first byte (port 465)
	TLSNone     = "none"     // notify.email.smtp.tls: no encryption (a local relay only)
)

// Config is everything `clau serve` needs to run. The yaml tags are the
// keys; see the package documentation for how they map to environment
// variables.
type Config struct {
	// Listen is the host:port the HTTP server binds.
	Listen string `yaml:"listen"`
	// PublicURL is the issuer and the base of every link, without a
	// trailing slash. Default: "http://" + Listen ("localhost" standing in
	// for an empty or unspecified host).
	PublicURL string `yaml:"public_url"`
	// DataDir holds the SQLite database and the keyring by default.
	DataDir  string   `yaml:"data_dir"`
	Storage  Storage  `yaml:"storage"`
	Server   Server   `yaml:"server"`
	Log      Log      `yaml:"log"`
	Security Security `yaml:"security"`
	Notify   Notify   `yaml:"notify"`
	Letters  Letters  `yaml:"letters"`
	// OIDCClients are the OpenID Connect relying parties declared in the
	// file. From the environment, CLAU_OIDC_CLIENTS (or _FILE) holds the
	// whole list as YAML or JSON.
	OIDCClients []OIDCClient `yaml:"oidc_clients"`
	// SAMLSPs are the SAML service providers declared in the file (see
	// saml.go). From the environment, CLAU_SAML_SPS (or _FILE) holds the
	// whole list as YAML or JSON.
	SAMLSPs []SAMLSP `yaml:"saml_sps"`
	// OIDC tunes the OpenID provider.
	OIDC    OIDC    `yaml:"oidc"`
	PIN     PIN     `yaml:"pin"`
	Passkey Passkey `yaml:"passkey"`
	// Password is the permanent password's lifetime and expiry warning.
	Password Password `yaml:"password"`
	// Certificate is sign-in with an electronic certificate or the DNIe
	// over a mutual-TLS listener of its own.
	Certificate Certificate `yaml:"certificate"`
	Dev         Dev         `yaml:"dev"`
}

// OIDC tunes the OpenID provider's signing keys.
type OIDC struct {
	// KeyRotation rotates the signing key automatically once it has
	// signed that long (e.g. 2160h, 90 days); 0 (the default) rotates
	// only with `clau keys oidc-rotate`.
	KeyRotation time.Duration `yaml:"key_rotation"`
	// KeyPrepublish is how long a new key is in the JWKS before it signs,
	// so services that cache the JWKS have it before they meet it.
	KeyPrepublish time.Duration `yaml:"key_prepublish"`
	// KeyReload is how often each process rereads the key set from the
	// store (rotations by another process or the CLI reach it then).
	KeyReload time.Duration `yaml:"key_reload"`
}

// Certificate configures the certificate sign-in listener and whose
// certificates it trusts.
type Certificate struct {
	// Enabled starts the mutual-TLS listener.
	Enabled bool `yaml:"enabled"`
	// Listen is the host:port of the TLS listener that asks browsers for a
	// client certificate; it must differ from listen.
	Listen string `yaml:"listen"`
	// PublicURL is where browsers reach that listener (https://).
	PublicURL string `yaml:"public_url"`
	// TLSCertFile and TLSKeyFile are the listener's server certificate
	// and key (PEM). `clau demo` generates a self-signed pair.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// FailClosed refuses a certificate when neither OCSP nor the CRL gives
	// a usable answer; off, it is accepted and audited as unchecked.
	FailClosed bool `yaml:"fail_closed"`
	// RequireNonce refuses OCSP answers that do not echo Clau's nonce.
	RequireNonce bool `yaml:"require_nonce"`
	// Timeout bounds each OCSP or CRL request.
	Timeout time.Duration `yaml:"timeout"`
	// RegistrationServices lets a first sign-in with a valid certificate
	// register the citizen (level advanced) for these services: OIDC
	// client IDs, SAML SP entity IDs, "local" for Clau's own pages, "*"
	// for every service; empty: nobody.
	RegistrationServices []string `yaml:"registration_services"`
	// Profiles are the kinds of certificate accepted. From the environment,
	// CLAU_CERTIFICATE_PROFILES holds the whole list as YAML or JSON.
	Profiles []CertProfile `yaml:"profiles"`
}

// CertProfile is one kind of citizen certificate: its CAs, what it must
// carry and the level it gives.
type CertProfile struct {
	// Name identifies the profile in the audit trail ("dnie", "fnmt").
	Name string `yaml:"name"`
	// Roots and Intermediates are PEM files of the trust anchors and the
	// issuing CAs.
	Roots         []string `yaml:"roots"`
	Intermediates []string `yaml:"intermediates"`
	// Policies are certificate policy OIDs; the certificate must carry one
	// (empty: any).
	Policies []string `yaml:"policies"`
	// AnyExtKeyUsage accepts certificates without the TLS client
	// authentication extended key usage.
	AnyExtKeyUsage bool `yaml:"any_ext_key_usage"`
	// LoA is the level reached: substantial or high.
	LoA string `yaml:"loa"`
	// AMR is "hwk" (key on a card) or "swk" (software key).
	AMR string `yaml:"amr"`
}

// OIDCClient is one OpenID Connect relying party (a service provider).
type OIDCClient struct {
	// ID is the client_id; unique.
	ID string `yaml:"id"`
	// Name is what the sign-in pages show ("Signing in to …"); empty: the ID.
	Name string `yaml:"name"`
	// Secret authenticates a confidential client at the token endpoint
	// (client_secret_basic or client_secret_post). Required unless Public.
	Secret string `yaml:"secret"`
	// RedirectURIs are matched exactly; absolute URLs.
	RedirectURIs []string `yaml:"redirect_uris"`
	// MinLoA is the least level the service accepts: low, substantial or
	// high (or the eIDAS URI); empty means low.
	MinLoA string `yaml:"min_loa"`
	// Methods the service allows (empty: all).
	Methods []string `yaml:"methods"`
	// Public marks a client that cannot keep a secret (a mobile or
	// browser app): no secret, PKCE required.
	Public bool `yaml:"public"`
	// AccessTokenFormat is "opaque" (the default) or "jwt" (access
	// tokens signed like ID tokens, verifiable by resource servers).
	AccessTokenFormat string `yaml:"access_token_format"`
	// TokenEndpointAuthMethod is client_secret_basic, client_secret_post,
	// private_key_jwt or none; empty: none for a public client, else
	// either secret method.
	TokenEndpointAuthMethod string `yaml:"token_endpoint_auth_method"`
	// JWKS is the client's public JWK set as JSON text, for private_key_jwt.
	JWKS string `yaml:"jwks"`
	// JWKSURI is where the client publishes its JWK set (instead of JWKS).
	JWKSURI string `yaml:"jwks_uri"`
	// RequirePAR refuses authorization requests not pushed first to
	// /oidc/par (RFC 9126).
	RequirePAR bool `yaml:"require_par"`
	// BackchannelLogoutURI receives a signed logout_token (OpenID
	// Back-Channel Logout 1.0) when an SSO session it signed into ends.
	BackchannelLogoutURI string `yaml:"backchannel_logout_uri"`
	// Scopes the service may ask for beyond openid (empty: profile, email,
	// phone); document_number (the DNI/NIE) only when listed here.
	Scopes []string `yaml:"scopes"`
	// SubjectType is pairwise (default: sub differs per service) or public.
	SubjectType string `yaml:"subject_type"`
	// SectorIdentifier groups pairwise services: those sharing it get the
	// same sub for a citizen.
	SectorIdentifier string `yaml:"sector_identifier"`
	// IDTokenSignedResponseAlg signs the service's ID tokens (and its JWT
	// access and logout tokens): ES256 (default) or RS256.
	IDTokenSignedResponseAlg string `yaml:"id_token_signed_response_alg"`
}

// Storage selects and tunes the store.
type Storage struct {
	// Driver is DriverSQLite or DriverPostgres.
	Driver string `yaml:"driver"`
	// DSN defaults to <data_dir>/clau.db for SQLite; PostgreSQL needs one,
	// e.g. postgres://clau@127.0.0.1:5432/clau.
	DSN string `yaml:"dsn"`
	// MigrateOnStart applies pending migrations when the server starts.
	MigrateOnStart bool `yaml:"migrate_on_start"`
	// MaxOpenConns bounds the connection pool.
	MaxOpenConns int `yaml:"max_open_conns"`
}

// Server tunes the HTTP server.
type Server struct {
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long in-flight requests get on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxBodyBytes caps every request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed; with
	// none, the client address is the TCP peer.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// PprofListen serves Go's profiler (net/http/pprof) on this loopback
	// address for operators; empty (the default) turns it off.
	PprofListen string `yaml:"pprof_listen"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or text.
	Format string `yaml:"format"`
}

// Security holds key material locations and hashing cost.
type Security struct {
	// KeyringFile holds the server's keys; generated on first start.
	// Default: <data_dir>/keyring.json.
	KeyringFile string `yaml:"keyring_file"`
	Argon2      Argon2 `yaml:"argon2"`
	// MaxConcurrentHashes bounds simultaneous password hashes so a burst of
	// logins cannot exhaust memory; 0 means the CPUs the Go runtime uses
	// (GOMAXPROCS: the container's CPU limit, if any) divided by the
	// argon2 lanes (parallelism), at least one.
	MaxConcurrentHashes int `yaml:"max_concurrent_hashes"`
	// MaxHashWait is admission control for password checks: a sign-in that
	// would queue longer than this for a hashing slot gets a "busy, retry
	// in N seconds" page (503 + Retry-After) at once instead.
	MaxHashWait time.Duration `yaml:"max_hash_wait"`
}

// Argon2 is the argon2id cost for new password hashes. Raising it rehashes
// each password at its next successful login.
type Argon2 struct {
	MemoryKiB   uint32 `yaml:"memory_kib"`
	Iterations  uint32 `yaml:"iterations"`
	Parallelism uint8  `yaml:"parallelism"`
}

// Notify configures SMS and email delivery.
type Notify struct {
	SMS   SMS   `yaml:"sms"`
	Email Email `yaml:"email"`
	// MaxAttempts is how many times a message is tried before it is given up.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBase is the first retry delay; each retry doubles it up to RetryMax.
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
}

// SMS selects the SMS driver.
type SMS struct {
	// Driver is DriverOutbox or DriverHTTP.
	Driver string  `yaml:"driver"`
	HTTP   SMSHTTP `yaml:"http"`
}

// SMSHTTP describes an SMS provider's HTTP API.
type SMSHTTP struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]string `yaml:"headers"`
	// ContentType is the request body's media type.
	ContentType string `yaml:"content_type"`
	// BodyTemplate is the request body, a template the notify package
	// fills with the message; empty means its built-in body.
	BodyTemplate string        `yaml:"body_template"`
	Timeout      time.Duration `yaml:"timeout"`
}

// Email selects the email driver.
type Email struct {
	// Driver is DriverOutbox or DriverSMTP.
	Driver string `yaml:"driver"`
	SMTP   SMTP   `yaml:"smtp"`
}

// SMTP describes the mail server.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// TLS is TLSStartTLS, TLSImplicit or TLSNone.
	TLS string `yaml:"tls"`
	// From is the sender, e.g. "Clau <no-reply@example.org>".
	From    string        `yaml:"from"`
	Timeout time.Duration `yaml:"timeout"`
}

// Dev holds switches meant for development and demos only.
type Dev struct {
	// OutboxAPI serves GET /dev/outbox with the sent messages.
	OutboxAPI bool `yaml:"outbox_api"`
}

// Letters tunes registration by letter.
type Letters struct {
	// Enabled serves /register/letter, where citizens matched against the
	// reference registry (`clau registry import`) ask for a letter.
	Enabled bool `yaml:"enabled"`
	// PrintRole is the least desk role that may download the day's print
	// batch and mark it sent: officer, supervisor or admin.
	PrintRole string `yaml:"print_role"`
	// CodeTTL is how long a letter's activation code lasts.
	CodeTTL time.Duration `yaml:"code_ttl"`
}

// Default returns the configuration `clau serve` runs on without a file or
// environment variables.
func Default() *Config {
	c := base()
	c.derive()
	return c
}

// base returns the defaults of every key that has a fixed one. Loading
// starts from it (so a boolean that defaults to true can still be set to
// false) and refills zero values from it afterwards.
func base() *Config {
	return &Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./clau-data",
		Storage: Storage{
			Driver:         DriverSQLite,
			MigrateOnStart: true,
			MaxOpenConns:   20,
		},
		Server: Server{
			ReadTimeout:       15 * time.Second,
			ReadHeaderTimeout: 5 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
			MaxBodyBytes:      1 << 20,
		},
		Log: Log{Level: "info", Format: "json"},
		OIDC: OIDC{
			KeyPrepublish: 24 * time.Hour,
			KeyReload:     time.Minute,
		},
		Certificate: Certificate{
			Listen:       "127.0.0.1:8443",
			FailClosed:   true,
			RequireNonce: true,
			Timeout:      5 * time.Second,
		},
		Security: Security{
			Argon2:      Argon2{MemoryKiB: 64 * 1024, Iterations: 3, Parallelism: 2},
			MaxHashWait: 500 * time.Millisecond,
		},
		Notify: Notify{
			SMS: SMS{
				Driver: DriverOutbox,
				HTTP: SMSHTTP{
					Method:      "POST",
					ContentType: "application/json",
					Timeout:     10 * time.Second,
				},
			},
			Email: Email{
				Driver: DriverOutbox,
				SMTP:   SMTP{Port: 587, TLS: TLSStartTLS, Timeout: 15 * time.Second},
			},
			MaxAttempts: 8,
			RetryBase:   30 * time.Second,
			RetryMax:    time.Hour,
		},
		PIN:      PIN{Enabled: true, Validity: 365 * 24 * time.Hour, NoticeBefore: 15 * 24 * time.Hour, LoA: "low"},
		Passkey:  Passkey{Enabled: true, LoA: "substantial", Attestation: "none"},
		Password: Password{ExpiryWarning: 30 * 24 * time.Hour},
		Letters:  Letters{Enabled: true, PrintRole: "admin", CodeTTL: 45 * 24 * time.Hour},
	}
}

// derive fills the defaults computed from other keys and normalises
// public_url.
func (c *Config) derive() {
	if c.PublicURL == "" {
		if host, port, err := net.SplitHostPort(c.Listen); err == nil {
			// A wildcard address is not somewhere a browser can go.
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
				host = "localhost"
			}
			c.PublicURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Storage.DSN == "" && c.Storage.Driver == DriverSQLite && c.DataDir != "" {
		c.Storage.DSN = filepath.Join(c.DataDir, "clau.db")
	}
	if c.Certificate.PublicURL == "" {
		if host, port, err := net.SplitHostPort(c.Certificate.Listen); err == nil {
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) || host == "127.0.0.1" {
				host = "localhost"
			}
			c.Certificate.PublicURL = "https://" + net.JoinHostPort(host, port)
		}
	}
	c.Certificate.PublicURL = strings.TrimRight(c.Certificate.PublicURL, "/")
	if c.Security.KeyringFile == "" && c.DataDir != "" {
		c.Security.KeyringFile = filepath.Join(c.DataDir, "keyring.json")
	}
}
