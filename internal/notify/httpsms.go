package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultSMSBodyTemplate is the request body HTTPSMSSender sends when
// HTTPSMSConfig.BodyTemplate is empty.
const DefaultSMSBodyTemplate = `{"to":{{json .To}},"text":{{json .Body}},"reference":{{json .ID}}}`

// DefaultSMSTimeout is used when HTTPSMSConfig.Timeout is zero.
const DefaultSMSTimeout = 10 * time.Second

const (
	maxSMSResponse = 64 << 10 // bytes of a provider response we read
	maxSMSSnippet  = 200      // bytes of it we put into an error
)

// HTTPSMSConfig configures an HTTPSMSSender for one SMS provider's HTTP API.
type HTTPSMSConfig struct {
	URL         string            // absolute http or https URL
	Method      string            // POST (default), PUT or PATCH
	Headers     map[string]string // e.g. "Authorization": "Bearer ..."
	ContentType string            // default "application/json"
	// BodyTemplate is a text/template for the request body. Data fields:
	// .To .Body .ID .Language. Functions: json (a string JSON-encoded,
	// quotes included) and urlquery (query-escaped).
	BodyTemplate string
	Timeout      time.Duration // per request; default 10s
	Client       *http.Client  // optional, for tests
}

// SMSTemplateData is what HTTPSMSConfig.BodyTemplate is executed with.
type SMSTemplateData struct {
	To       string
	Body     string
	ID       string
	Language string
}

// HTTPSMSSender delivers SMS messages through a provider's HTTP API. It is
// safe for concurrent use.
type HTTPSMSSender struct {
	url         string
	method      string
	headers     http.Header
	contentType string
	tmpl        *template.Template
	timeout     time.Duration
	client      *http.Client
}

var _ Sender = (*HTTPSMSSender)(nil)

var smsTemplateFuncs = template.FuncMap{
	"json": func(s string) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
	"urlquery": url.QueryEscape,
}

// NewHTTPSMSSender validates cfg and returns a sender.
func NewHTTPSMSSender(cfg HTTPSMSConfig) (*HTTPSMSSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("notify: sms: invalid URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("notify: sms: URL must be an absolute http or https URL")
	}
	method := strings.ToUpper(strings.TrimSpace(cfg.Method))
	switch method {
	case "":
		method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		// The message travels in the body; GET would drop it, and codes
		// in URLs end up in access logs.
		return nil, fmt.Errorf("notify: sms: unsupported method %q (want POST, PUT or PATCH)", cfg.Method)
	}
	contentType := cfg.ContentType
	if contentType == "" {
		contentType = "application/json"
	}
	if !validHeaderValue(contentType) {
		return nil, errors.New("notify: sms: invalid content type")
	}
	headers := make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("notify: sms: invalid header name %q", k)
		}
		if !validHeaderValue(v) {
			// The value may be a secret: do not echo it.
			return nil, fmt.Errorf("notify: sms: invalid value for header %q", k)
		}
		headers.Set(k, v)
	}
	body := cfg.BodyTemplate
	if body == "" {
		body = DefaultSMSBodyTemplate
	}
	tmpl, err := template.New("sms").Funcs(smsTemplateFuncs).Option("missingkey=error").Parse(body)
	if err != nil {
		return nil, fmt.Errorf("notify: sms: body template: %w", err)
	}
	// Execute once so references to unknown fields fail now, not per message.
	sample := SMSTemplateData{To: "+34600000000", Body: "test", ID: "id", Language: "ca"}
	if err := tmpl.Execute(io.Discard, sample); err != nil {
		return nil, fmt.Errorf("notify: sms: body template: %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("notify: sms: negative timeout")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultSMSTimeout
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{
			// A provider API does not redirect; following one would
			// turn the POST into a GET or send credentials elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &HTTPSMSSender{
		url:         u.String(),
		method:      method,
		headers:     headers,
		contentType: contentType,
		tmpl:        tmpl,
		timeout:     timeout,
		client:      client,
	}, nil
}

// Send renders the body template for m and sends it to the provider with
// the header "Idempotency-Key: <m.ID>". 2xx is success; 408, 429, 5xx and
// network errors are retryable; any other status is Permanent. Errors
// never contain m.Body.
func (s *HTTPSMSSender) Send(ctx context.Context, m Message) error {
	if m.Channel != SMS {
		return Permanent(fmt.Errorf("notify: sms: message %s has channel %q, want %q", m.ID, m.Channel, SMS))
	}
	if err := checkMessageID(m.ID); err != nil {
		return Permanent(fmt.Errorf("notify: sms: %w", err))
	}
	if m.To == "" {
		return Permanent(fmt.Errorf("notify: sms: message %s has no recipient", m.ID))
	}
	var body bytes.Buffer
	data := SMSTemplateData{To: m.To, Body: m.Body, ID: m.ID, Language: m.Language}
	if err := s.tmpl.Execute(&body, data); err != nil {
		// Template errors can quote the data; keep only the fact.
		return Permanent(fmt.Errorf("notify: sms: message %s: rendering body template failed", m.ID))
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, s.method, s.url, &body)
	if err != nil {
		return Permanent(fmt.Errorf("notify: sms: message %s: building request: %w", m.ID, err))
	}
	req.Header = s.headers.Clone()
	req.Header.Set("Content-Type", s.contentType)
	req.Header.Set("Idempotency-Key", m.ID)

	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error prints the URL, which may hold an API key in its
		// query; report the inner error and the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("notify: sms: message %s: request to %s failed: %w", m.ID, req.URL.Host, err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxSMSResponse))

	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		// The provider accepted it; a broken response body does not
		// change that, and retrying could send the SMS twice.
		return nil
	}
	err = &smsStatusError{ID: m.ID, StatusCode: code, Snippet: responseSnippet(raw, m.Body)}
	if readErr != nil {
		err = fmt.Errorf("%w (reading response: %v)", err, readErr)
	}
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || (code >= 500 && code <= 599) {
		return err
	}
	return Permanent(err)
}

// smsStatusError is a non-2xx reply from the SMS provider.
type smsStatusError struct {
	ID         string
	StatusCode int
	Snippet    string // start of the response body, sanitised
}

func (e *smsStatusError) Error() string {
	s := fmt.Sprintf("notify: sms: message %s: provider replied %d %s", e.ID, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Snippet != "" {
		s += fmt.Sprintf(": %q", e.Snippet)
	}
	return s
}

// responseSnippet returns the start of a provider response for an error
// message: valid UTF-8, control characters as spaces, whitespace collapsed,
// and any verbatim copy of the SMS text removed (some providers echo it).
func responseSnippet(raw []byte, smsBody string) string {
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	if smsBody != "" {
		s = strings.ReplaceAll(s, smsBody, "[message text]")
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if len(s) > maxSMSSnippet {
		cut := maxSMSSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		isToken := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !isToken {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
