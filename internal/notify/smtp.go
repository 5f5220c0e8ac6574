package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTP TLS modes for SMTPConfig.TLS.
const (
	SMTPStartTLS = "starttls" // STARTTLS is mandatory (the default)
	SMTPTLS      = "tls"      // implicit TLS from the first byte, usually port 465
	SMTPNoTLS    = "none"     // plain text; only for local relays and tests
)

// DefaultSMTPTimeout is used when SMTPConfig.Timeout is zero. It bounds
// the dial and every single SMTP command; ctx bounds the whole send.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig configures an SMTPSender.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // SMTP AUTH is used only when set
	Password string
	// TLS is "starttls" (default), "tls" (implicit TLS, port 465) or
	// "none" (plain, only for local relays/tests).
	TLS string
	// From is the sender, e.g. "Clau <no-reply@example.org>".
	From               string
	Timeout            time.Duration
	InsecureSkipVerify bool           // tests only
	RootCAs            *x509.CertPool // optional; nil means the system pool
}

// SMTPSender delivers Email messages through an SMTP submission server.
// It is safe for concurrent use: every Send opens its own connection.
type SMTPSender struct {
	host     string
	port     int
	username string
	password string
	mode     string
	from     string
	timeout  time.Duration
	tlsConf  *tls.Config
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender validates cfg and returns a sender.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	host := strings.TrimSpace(cfg.Host)
	switch {
	case host == "":
		return nil, errors.New("notify: smtp: host is required")
	case strings.Contains(host, "://") || strings.ContainsAny(host, " \t\r\n/"):
		return nil, fmt.Errorf("notify: smtp: invalid host %q", cfg.Host)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify: smtp: port %d out of range 1..65535", cfg.Port)
	}
	mode := strings.ToLower(strings.TrimSpace(cfg.TLS))
	switch mode {
	case "":
		mode = SMTPStartTLS
	case SMTPStartTLS, SMTPTLS, SMTPNoTLS:
	default:
		return nil, fmt.Errorf("notify: smtp: unknown TLS mode %q (want starttls, tls or none)", cfg.TLS)
	}
	if cfg.From == "" {
		return nil, errors.New("notify: smtp: from address is required")
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("notify: smtp: invalid from address %q: %w", cfg.From, err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("notify: smtp: negative timeout")
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("notify: smtp: password set without username")
	}
	// go-mail only lets PLAIN/LOGIN credentials go over an unencrypted
	// connection to these exact names; refuse such a config up front
	// rather than failing on every message.
	if mode == SMTPNoTLS && cfg.Username != "" && host != "localhost" && host != "127.0.0.1" && host != "::1" {
		return nil, errors.New("notify: smtp: refusing SMTP AUTH without TLS to a non-local host")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultSMTPTimeout
	}
	s := &SMTPSender{
		host:     host,
		port:     cfg.Port,
		username: cfg.Username,
		password: cfg.Password,
		mode:     mode,
		from:     cfg.From,
		timeout:  timeout,
		tlsConf: &tls.Config{
			ServerName:         host,
			RootCAs:            cfg.RootCAs,
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, tests only
			MinVersion:         tls.VersionTLS12,
		},
	}
	// Build one client now so any option go-mail rejects surfaces here.
	if _, err := s.newClient(context.Background()); err != nil {
		return nil, fmt.Errorf("notify: smtp: %w", err)
	}
	return s, nil
}

// newClient returns a fresh go-mail client for one delivery. The dialer
// closes the connection when sendCtx ends, because go-mail only watches
// the context while dialling.
func (s *SMTPSender) newClient(sendCtx context.Context) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tlsConf.Clone()),
		mail.WithDialContextFunc(s.dialer(sendCtx)),
	}
	if s.mode == SMTPStartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		// "tls" is handled by our dialer; "none" never upgrades.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.username != "" {
		// PLAIN or LOGIN when offered, else the strongest mechanism
		// go-mail discovers. go-mail refuses PLAIN/LOGIN over an
		// unencrypted connection except to localhost.
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.username),
			mail.WithPassword(s.password),
		)
	}
	return mail.NewClient(s.host, opts...)
}

func (s *SMTPSender) dialer(sendCtx context.Context) mail.DialContextFunc {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
		d := net.Dialer{}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := raw
		if s.mode == SMTPTLS {
			tc := tls.Client(raw, s.tlsConf.Clone())
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			// Returned as *tls.Conn so go-mail's SMTP client knows
			// the connection is encrypted.
			conn = tc
		}
		context.AfterFunc(sendCtx, func() { _ = raw.Close() })
		return conn, nil
	}
}

// Send delivers m as a plain-text UTF-8 email. A 5xx SMTP reply (e.g. 550
// no such user, 535 bad credentials) gives a Permanent error; 4xx
// replies, network failures and timeouts give retryable errors.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if m.Channel != Email {
		return Permanent(fmt.Errorf("notify: smtp: message %s has channel %q, want %q", m.ID, m.Channel, Email))
	}
	if err := checkMessageID(m.ID); err != nil {
		return Permanent(fmt.Errorf("notify: smtp: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: smtp: message %s: %w", m.ID, err)
	}

	msg := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	if err := msg.From(s.from); err != nil {
		return Permanent(fmt.Errorf("notify: smtp: message %s: from: %w", m.ID, err))
	}
	if err := msg.To(m.To); err != nil {
		return Permanent(fmt.Errorf("notify: smtp: message %s: invalid recipient: %w", m.ID, err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(messageIDLocalPart(m.ID) + "@clau")
	msg.SetGenHeader(mail.Header("X-Clau-Message-ID"), m.ID)
	msg.SetDate()
	msg.SetUserAgent("Clau")
	msg.SetBodyString(mail.TypeTextPlain, m.Body)

	sendCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, err := s.newClient(sendCtx)
	if err != nil {
		return Permanent(fmt.Errorf("notify: smtp: %w", err))
	}
	err = client.DialAndSendWithContext(sendCtx, msg)
	if err == nil {
		return nil
	}
	if msg.IsDelivered() {
		// The server accepted the message (250 after DATA); what failed
		// was RSET or QUIT. Retrying would deliver it twice.
		return nil
	}
	err = fmt.Errorf("notify: smtp: message %s: %w", m.ID, err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		// Our dialer closed the connection; say why.
		return errors.Join(err, ctxErr)
	}
	if smtpPermanent(err) {
		return Permanent(err)
	}
	return err
}

// smtpPermanent reports whether err carries a 5xx SMTP reply or a
// go-mail failure that retrying the same message cannot fix.
func smtpPermanent(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return true
		}
		if c := se.ErrorCode(); c != 0 {
			return c >= 500 && c <= 599
		}
	}
	// Replies during the greeting, EHLO, STARTTLS or AUTH are not wrapped
	// in a SendError.
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code <= 599
	}
	return false
}

// maxMessageIDLen bounds Message.ID so it fits headers and idempotency keys.
const maxMessageIDLen = 200

// checkMessageID requires a non-empty ID of printable ASCII without spaces,
// so it can go into mail headers and HTTP headers verbatim.
func checkMessageID(id string) error {
	if id == "" {
		return errors.New("message has no ID")
	}
	if len(id) > maxMessageIDLen {
		return fmt.Errorf("message ID longer than %d bytes", maxMessageIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("message ID %q has a character outside printable ASCII", id)
		}
	}
	return nil
}

// messageIDLocalPart returns id when it is a valid dot-atom for the left
// side of a Message-ID, and otherwise a stable hash of it, so the same
// Message always gets the same Message-ID.
func messageIDLocalPart(id string) string {
	ok := !strings.HasPrefix(id, ".") && !strings.HasSuffix(id, ".") && !strings.Contains(id, "..")
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h." + hex.EncodeToString(sum[:16])
}
