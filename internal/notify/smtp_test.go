package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// ---- in-process SMTP server -------------------------------------------

// received is one message the test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
}

// testBackend collects messages and can be told to require AUTH or to
// reject recipients or data with given SMTP replies.
type testBackend struct {
	user, pass string                     // when user != "", AUTH PLAIN is required
	rcptErr    map[string]*smtp.SMTPError // by recipient address
	dataErr    *smtp.SMTPError

	mu   sync.Mutex
	msgs []received
}

func (b *testBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &testSession{b: b}, nil
}

func (b *testBackend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type testSession struct {
	b      *testBackend
	authed bool
	cur    received
}

var _ smtp.AuthSession = (*testSession)(nil)

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if s.b.user == "" || user != s.b.user || pass != s.b.pass {
			return smtp.ErrAuthFailed // 535 5.7.8
		}
		s.authed = true
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && !s.authed {
		return smtp.ErrAuthRequired // 502 5.7.0
	}
	s.cur = received{From: from}
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err, ok := s.b.rcptErr[to]; ok {
		return err
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	s.cur.Data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.cur = received{} }
func (s *testSession) Logout() error { return nil }

// startSMTP serves be on 127.0.0.1:0 in the given TLS mode ("none",
// "starttls" or "tls") and returns the port and a pool trusting its
// self-signed certificate.
func startSMTP(t *testing.T, be *testBackend, mode string) (int, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSignedCert(t)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "none":
		srv.AllowInsecureAuth = true // PLAIN to 127.0.0.1 in clear
	case "starttls":
		srv.TLSConfig = tlsConf
	case "tls":
		ln = tls.NewListener(ln, tlsConf)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, pool
}

func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "clau test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func newTestSMTPSender(t *testing.T, cfg SMTPConfig) *SMTPSender {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.From == "" {
		cfg.From = "Clau <no-reply@clau.example>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := NewSMTPSender(cfg)
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	return s
}

func emailMessage(to string) Message {
	return Message{
		ID:       "msg-0001",
		Channel:  Email,
		To:       to,
		Subject:  "Codi d'activació",
		Body:     "Hola,\n\nEl vostre codi d'activació és 123456.\nCaduca d'aquí a 10 minuts.\n",
		Language: "ca",
		EventKey: "activation:42",
		Attempt:  1,
	}
}

// parsed is a received message decoded for assertions.
type parsed struct {
	header netmail.Header
	body   string
}

func parseReceived(t *testing.T, r received) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, r.Data)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{header: msg.Header, body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}

// ---- tests ----------------------------------------------------------------

func TestSMTPSenderDeliversPlainTextUTF8Message(t *testing.T) {
	for _, mode := range []string{"none", "starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			be := &testBackend{}
			port, pool := startSMTP(t, be, mode)
			cfg := SMTPConfig{Port: port, TLS: mode, RootCAs: pool}
			if mode == "tls" {
				cfg.RootCAs, cfg.InsecureSkipVerify = nil, true
			}
			s := newTestSMTPSender(t, cfg)

			m := emailMessage("Citizen@Example.org")
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}

			msgs := be.messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			r := msgs[0]
			if r.From != "no-reply@clau.example" {
				t.Errorf("envelope from = %q", r.From)
			}
			if len(r.To) != 1 || r.To[0] != "Citizen@Example.org" {
				t.Errorf("envelope to = %q", r.To)
			}
			p := parseReceived(t, r)
			dec := new(mime.WordDecoder)
			subject, err := dec.DecodeHeader(p.header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct{ name, got, want string }{
				{"Subject", subject, "Codi d'activació"},
				{"To", p.header.Get("To"), "<Citizen@Example.org>"},
				{"From", p.header.Get("From"), `"Clau" <no-reply@clau.example>`},
				{"Message-ID", p.header.Get("Message-ID"), "<msg-0001@clau>"},
				{"X-Clau-Message-ID", p.header.Get("X-Clau-Message-ID"), "msg-0001"},
				{"body", strings.TrimRight(p.body, "\n"), strings.TrimRight(m.Body, "\n")},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
			if ct := p.header.Get("Content-Type"); !strings.Contains(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
				t.Errorf("Content-Type = %q, want text/plain UTF-8", ct)
			}
			if p.header.Get("Date") == "" {
				t.Error("no Date header")
			}
		})
	}
}

func TestSMTPSenderSameMessageKeepsSameMessageID(t *testing.T) {
	be := &testBackend{}
	port, _ := startSMTP(t, be, "none")
	s := newTestSMTPSender(t, SMTPConfig{Port: port, TLS: "none"})

	m := emailMessage("a@example.org")
	m.ID = "outbox:7/2" // ':' is not allowed in a Message-ID, so it is hashed
	for attempt := 1; attempt <= 2; attempt++ {
		m.Attempt = attempt
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	msgs := be.messages()
	if len(msgs) != 2 {
		t.Fatalf("got %d messages", len(msgs))
	}
	id1 := parseReceived(t, msgs[0]).header.Get("Message-ID")
	id2 := parseReceived(t, msgs[1]).header.Get("Message-ID")
	if id1 != id2 || !strings.HasSuffix(id1, "@clau>") || strings.Contains(id1, ":") {
		t.Errorf("Message-IDs %q and %q: want equal, well-formed and ending in @clau", id1, id2)
	}
	if _, err := netmail.ParseAddress("x " + id1); err != nil {
		t.Errorf("Message-ID %q does not parse as <local@domain>: %v", id1, err)
	}
	if got := parseReceived(t, msgs[0]).header.Get("X-Clau-Message-ID"); got != m.ID {
		t.Errorf("X-Clau-Message-ID = %q, want %q", got, m.ID)
	}
}

func TestSMTPSenderAuthentication(t *testing.T) {
	tests := []struct {
		name          string
		mode          string
		user, pass    string
		wantErr       bool
		wantPermanent bool
		wantInErr     string
	}{
		{name: "correct credentials over STARTTLS", mode: "starttls", user: "clau", pass: "s3cret"},
		{name: "correct credentials over implicit TLS", mode: "tls", user: "clau", pass: "s3cret"},
		{name: "correct credentials in clear to 127.0.0.1", mode: "none", user: "clau", pass: "s3cret"},
		// 535 5.7.8 is a 5xx reply: retrying with the same password cannot help.
		{name: "wrong password", mode: "starttls", user: "clau", pass: "wrong", wantErr: true, wantPermanent: true, wantInErr: "535"},
		// Without credentials the server refuses MAIL FROM with 502 5.7.0.
		{name: "no credentials", mode: "starttls", wantErr: true, wantPermanent: true, wantInErr: "502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &testBackend{user: "clau", pass: "s3cret"}
			port, pool := startSMTP(t, be, tt.mode)
			s := newTestSMTPSender(t, SMTPConfig{
				Port: port, TLS: tt.mode, RootCAs: pool,
				Username: tt.user, Password: tt.pass,
			})

			err := s.Send(context.Background(), emailMessage("citizen@example.org"))
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if n := len(be.messages()); n != 1 {
					t.Fatalf("server got %d messages, want 1", n)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			if got := IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v (err: %v)", got, tt.wantPermanent, err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantInErr)
			}
			if strings.Contains(err.Error(), tt.pass) && tt.pass != "" {
				t.Errorf("error %q leaks the password", err)
			}
			if n := len(be.messages()); n != 0 {
				t.Errorf("server got %d messages, want 0", n)
			}
		})
	}
}

func TestSMTPSenderClassifiesServerReplies(t *testing.T) {
	tests := []struct {
		name          string
		to            string
		rcptErr       *smtp.SMTPError
		dataErr       *smtp.SMTPError
		wantPermanent bool
		wantInErr     string
	}{
		{
			name:          "recipient unknown (550) is permanent",
			to:            "nobody@example.org",
			rcptErr:       &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
			wantPermanent: true, wantInErr: "550",
		},
		{
			name:          "recipient greylisted (451) is retryable",
			to:            "busy@example.org",
			rcptErr:       &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try later"},
			wantPermanent: false, wantInErr: "451",
		},
		{
			name:          "message rejected after DATA (554) is permanent",
			to:            "citizen@example.org",
			dataErr:       &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Content rejected"},
			wantPermanent: true, wantInErr: "554",
		},
		{
			name:          "mailbox full after DATA (452) is retryable",
			to:            "citizen@example.org",
			dataErr:       &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"},
			wantPermanent: false, wantInErr: "452",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &testBackend{dataErr: tt.dataErr}
			if tt.rcptErr != nil {
				be.rcptErr = map[string]*smtp.SMTPError{tt.to: tt.rcptErr}
			}
			port, pool := startSMTP(t, be, "starttls")
			s := newTestSMTPSender(t, SMTPConfig{Port: port, RootCAs: pool})

			m := emailMessage(tt.to)
			err := s.Send(context.Background(), m)
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			if got := IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v (err: %v)", got, tt.wantPermanent, err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantInErr)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q contains the message body", err)
			}
		})
	}
}

func TestSMTPSenderNetworkFailuresAreRetryable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		s := newTestSMTPSender(t, SMTPConfig{Port: closedPort(t), TLS: "none"})
		err := s.Send(context.Background(), emailMessage("citizen@example.org"))
		if err == nil || IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
	})

	t.Run("server never greets: ctx deadline ends the send", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c) // accept, then say nothing
				mu.Unlock()
			}
		}()
		defer func() {
			mu.Lock()
			for _, c := range held {
				c.Close()
			}
			mu.Unlock()
		}()

		// Per-command timeout is long; only ctx can stop it early.
		s := newTestSMTPSender(t, SMTPConfig{Port: ln.Addr().(*net.TCPAddr).Port, TLS: "none", Timeout: 30 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = s.Send(ctx, emailMessage("citizen@example.org"))
		if err == nil || IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v, want it to stop at the ctx deadline", d)
		}
	})

	t.Run("short Timeout with a silent server", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan struct{})
		defer close(done)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			<-done
			c.Close()
		}()
		s := newTestSMTPSender(t, SMTPConfig{Port: ln.Addr().(*net.TCPAddr).Port, TLS: "none", Timeout: 150 * time.Millisecond})
		err = s.Send(context.Background(), emailMessage("citizen@example.org"))
		if err == nil || IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
	})
}

func TestSMTPSenderRejectsUnsendableMessagesPermanently(t *testing.T) {
	be := &testBackend{}
	port, _ := startSMTP(t, be, "none")
	s := newTestSMTPSender(t, SMTPConfig{Port: port, TLS: "none"})

	tests := []struct {
		name   string
		modify func(*Message)
	}{
		{"SMS channel", func(m *Message) { m.Channel = SMS; m.To = "+34600000000" }},
		{"empty channel", func(m *Message) { m.Channel = "" }},
		{"recipient is not an address", func(m *Message) { m.To = "not an address" }},
		{"no message ID", func(m *Message) { m.ID = "" }},
		{"message ID with a newline", func(m *Message) { m.ID = "a\r\nBcc: x@example.org" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := emailMessage("citizen@example.org")
			tt.modify(&m)
			err := s.Send(context.Background(), m)
			if !IsPermanent(err) {
				t.Errorf("err = %v, want a permanent error", err)
			}
		})
	}
	if n := len(be.messages()); n != 0 {
		t.Errorf("server got %d messages, want 0", n)
	}
}

func TestNewSMTPSenderValidatesConfig(t *testing.T) {
	valid := SMTPConfig{Host: "smtp.example.org", Port: 587, From: "Clau <no-reply@example.org>"}
	tests := []struct {
		name    string
		modify  func(*SMTPConfig)
		wantErr string // "" means valid
	}{
		{"valid, STARTTLS by default", func(*SMTPConfig) {}, ""},
		{"valid implicit TLS", func(c *SMTPConfig) { c.TLS = "tls"; c.Port = 465 }, ""},
		{"valid with auth", func(c *SMTPConfig) { c.Username, c.Password = "u", "p" }, ""},
		{"valid bare from address", func(c *SMTPConfig) { c.From = "no-reply@example.org" }, ""},
		{"valid plain relay on localhost with auth", func(c *SMTPConfig) { c.Host, c.TLS, c.Username = "localhost", "none", "u" }, ""},
		{"missing host", func(c *SMTPConfig) { c.Host = "" }, "host"},
		{"host is a URL", func(c *SMTPConfig) { c.Host = "smtp://smtp.example.org" }, "host"},
		{"port zero", func(c *SMTPConfig) { c.Port = 0 }, "port"},
		{"port too large", func(c *SMTPConfig) { c.Port = 65536 }, "port"},
		{"unknown TLS mode", func(c *SMTPConfig) { c.TLS = "ssl" }, "TLS mode"},
		{"missing from", func(c *SMTPConfig) { c.From = "" }, "from"},
		{"from not an address", func(c *SMTPConfig) { c.From = "Clau no-reply" }, "from"},
		{"negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, "timeout"},
		{"password without username", func(c *SMTPConfig) { c.Password = "p" }, "username"},
		{"credentials in clear to a remote host", func(c *SMTPConfig) { c.TLS, c.Username = "none", "u" }, "without TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			s, err := NewSMTPSender(cfg)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("NewSMTPSender: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewSMTPSender accepted %+v", cfg)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestSMTPSenderNeverFallsBackToAnInsecureConnection(t *testing.T) {
	t.Run("certificate not trusted", func(t *testing.T) {
		be := &testBackend{}
		port, _ := startSMTP(t, be, "starttls")
		s := newTestSMTPSender(t, SMTPConfig{Port: port}) // system roots only
		err := s.Send(context.Background(), emailMessage("citizen@example.org"))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate verification error", err)
		}
		if n := len(be.messages()); n != 0 {
			t.Errorf("server got %d messages, want 0", n)
		}
	})
	t.Run("server does not offer STARTTLS", func(t *testing.T) {
		be := &testBackend{}
		port, _ := startSMTP(t, be, "none")
		s := newTestSMTPSender(t, SMTPConfig{Port: port, TLS: "starttls"})
		err := s.Send(context.Background(), emailMessage("citizen@example.org"))
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("err = %v, want a missing STARTTLS error", err)
		}
		if n := len(be.messages()); n != 0 {
			t.Errorf("server got %d messages, want 0", n)
		}
	})
}

func TestSMTPSenderIsSafeForConcurrentUse(t *testing.T) {
	be := &testBackend{user: "clau", pass: "s3cret"}
	port, pool := startSMTP(t, be, "starttls")
	s := newTestSMTPSender(t, SMTPConfig{Port: port, RootCAs: pool, Username: "clau", Password: "s3cret"})

	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			m := emailMessage("citizen@example.org")
			m.ID = "msg-" + string(rune('a'+i))
			errs <- s.Send(context.Background(), m)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(be.messages()); got != n {
		t.Errorf("server got %d messages, want %d", got, n)
	}
}
