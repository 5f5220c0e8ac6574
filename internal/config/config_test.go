package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// problemsOf returns the problems of an *Error, failing the test for any
// other error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	return e.Problems
}

func hasProblem(ps []Problem, key, substr string) bool {
	for _, p := range ps {
		if p.Key == key && strings.Contains(p.Message, substr) {
			return true
		}
	}
	return false
}

func TestDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load with no file: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(\"\", nil) = %+v\nwant Default() = %+v", c, Default())
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	want := map[string]any{
		"listen":                      "127.0.0.1:8080",
		"public_url":                  "http://127.0.0.1:8080",
		"data_dir":                    "./clau-data",
		"storage.driver":              "sqlite",
		"storage.dsn":                 filepath.Join("clau-data", "clau.db"),
		"storage.migrate_on_start":    true,
		"storage.max_open_conns":      20,
		"server.read_timeout":         15 * time.Second,
		"server.read_header_timeout":  5 * time.Second,
		"server.write_timeout":        30 * time.Second,
		"server.idle_timeout":         120 * time.Second,
		"server.shutdown_timeout":     20 * time.Second,
		"server.max_body_bytes":       int64(1 << 20),
		"server.trusted_proxies":      []string(nil),
		"log.level":                   "info",
		"log.format":                  "json",
		"security.keyring_file":       filepath.Join("clau-data", "keyring.json"),
		"security.argon2.memory_kib":  uint32(65536),
		"security.argon2.iterations":  uint32(3),
		"security.argon2.parallelism": uint8(2),
		"notify.sms.driver":           "outbox",
		"notify.email.driver":         "outbox",
		"notify.email.smtp.port":      587,
		"notify.email.smtp.tls":       "starttls",
		"notify.email.smtp.timeout":   15 * time.Second,
		"notify.max_attempts":         8,
		"notify.retry_base":           30 * time.Second,
		"notify.retry_max":            time.Hour,
		"dev.outbox_api":              false,
	}
	for key, w := range want {
		if got := get(t, c, key); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", key, got, w)
		}
	}
}

// get reads a key's value from c.
func get(t *testing.T, c *Config, key string) any {
	t.Helper()
	for _, l := range leaves() {
		if l.key == key {
			return reflect.ValueOf(c).Elem().FieldByIndex(l.index).Interface()
		}
	}
	t.Fatalf("no key %q", key)
	return nil
}

func TestLoadSources(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(secret, []byte("postgres://clau:s3cret@db:5432/clau\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	crlf := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(crlf, []byte("pa ss\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		yaml string
		env  []string
		want map[string]any
	}{
		{
			name: "yaml overrides",
			yaml: `
listen: "0.0.0.0:9000"
data_dir: /var/lib/clau
storage:
  driver: postgres
  dsn: postgres://clau@127.0.0.1:5432/clau
  max_open_conns: 50
server:
  write_timeout: 1m
  trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]
log: {level: debug, format: text}
notify:
  sms:
    driver: http
    http:
      url: https://sms.example.org/send
      headers: {Authorization: Bearer abc}
dev:
  outbox_api: true
`,
			want: map[string]any{
				"listen":                      "0.0.0.0:9000",
				"public_url":                  "http://localhost:9000",
				"storage.driver":              "postgres",
				"storage.dsn":                 "postgres://clau@127.0.0.1:5432/clau",
				"storage.max_open_conns":      50,
				"server.write_timeout":        time.Minute,
				"server.read_timeout":         15 * time.Second,
				"server.trusted_proxies":      []string{"10.0.0.0/8", "2001:db8::/32"},
				"log.level":                   "debug",
				"log.format":                  "text",
				"security.keyring_file":       "/var/lib/clau/keyring.json",
				"notify.sms.http.url":         "https://sms.example.org/send",
				"notify.sms.http.headers":     map[string]string{"Authorization": "Bearer abc"},
				"notify.sms.http.method":      "POST",
				"dev.outbox_api":              true,
				"security.argon2.parallelism": uint8(2),
			},
		},
		{
			name: "derived defaults follow listen and data_dir",
			yaml: "listen: \"[::1]:8443\"\ndata_dir: /srv/clau\n",
			want: map[string]any{
				"public_url":            "http://[::1]:8443",
				"storage.dsn":           "/srv/clau/clau.db",
				"security.keyring_file": "/srv/clau/keyring.json",
			},
		},
		{
			name: "empty listen host derives localhost",
			yaml: "listen: \":8080\"\n",
			want: map[string]any{"public_url": "http://localhost:8080"},
		},
		{
			name: "explicit values beat derived ones; trailing slash trimmed",
			yaml: "public_url: https://clau.example.org/id/\nstorage: {dsn: /tmp/x.db}\nsecurity: {keyring_file: /etc/clau/keys.json}\n",
			want: map[string]any{
				"public_url":            "https://clau.example.org/id",
				"storage.dsn":           "/tmp/x.db",
				"security.keyring_file": "/etc/clau/keys.json",
			},
		},
		{
			name: "zero and empty values take defaults",
			yaml: "storage: {max_open_conns: 0}\nlog: {level: \"\"}\nserver: {read_timeout: 0s}\n",
			want: map[string]any{
				"storage.max_open_conns": 20,
				"log.level":              "info",
				"server.read_timeout":    15 * time.Second,
			},
		},
		{
			name: "migrate_on_start false from yaml",
			yaml: "storage:\n  migrate_on_start: false\n",
			want: map[string]any{"storage.migrate_on_start": false},
		},
		{
			name: "migrate_on_start false from env",
			env:  []string{"CLAU_STORAGE_MIGRATE_ON_START=false"},
			want: map[string]any{"storage.migrate_on_start": false},
		},
		{
			name: "env beats yaml",
			yaml: "listen: 127.0.0.1:9000\nlog: {level: debug}\n",
			env:  []string{"CLAU_LISTEN=127.0.0.1:7000", "CLAU_LOG_LEVEL=warn"},
			want: map[string]any{
				"listen":     "127.0.0.1:7000",
				"public_url": "http://127.0.0.1:7000",
				"log.level":  "warn",
			},
		},
		{
			name: "env of every kind",
			env: []string{
				"PATH=/usr/bin",
				"CLAU_DATA_DIR=/data",
				"CLAU_STORAGE_MAX_OPEN_CONNS=5",
				"CLAU_SERVER_MAX_BODY_BYTES=2048",
				"CLAU_DEV_OUTBOX_API=true",
				"CLAU_SERVER_IDLE_TIMEOUT=90s",
				"CLAU_SERVER_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16,",
				"CLAU_SECURITY_ARGON2_MEMORY_KIB=131072",
				"CLAU_SECURITY_ARGON2_PARALLELISM=4",
				"CLAU_NOTIFY_SMS_HTTP_HEADERS=Authorization=Bearer a=b, X-Account=42",
				"CLAU_NOTIFY_RETRY_MAX=2h",
			},
			want: map[string]any{
				"data_dir":                    "/data",
				"storage.dsn":                 "/data/clau.db",
				"storage.max_open_conns":      5,
				"server.max_body_bytes":       int64(2048),
				"dev.outbox_api":              true,
				"server.idle_timeout":         90 * time.Second,
				"server.trusted_proxies":      []string{"10.0.0.0/8", "192.168.0.0/16"},
				"security.argon2.memory_kib":  uint32(131072),
				"security.argon2.parallelism": uint8(4),
				"notify.sms.http.headers":     map[string]string{"Authorization": "Bearer a=b", "X-Account": "42"},
				"notify.retry_max":            2 * time.Hour,
			},
		},
		{
			name: "empty env counts as unset; first duplicate wins",
			env:  []string{"CLAU_LISTEN=", "CLAU_LOG_LEVEL=error", "CLAU_LOG_LEVEL=debug"},
			want: map[string]any{"listen": "127.0.0.1:8080", "log.level": "error"},
		},
		{
			name: "secret from file",
			env:  []string{"CLAU_STORAGE_DRIVER=postgres", "CLAU_STORAGE_DSN_FILE=" + secret},
			want: map[string]any{"storage.dsn": "postgres://clau:s3cret@db:5432/clau"},
		},
		{
			name: "secret file trims exactly one line ending",
			env:  []string{"CLAU_NOTIFY_EMAIL_SMTP_PASSWORD_FILE=" + crlf},
			want: map[string]any{"notify.email.smtp.password": "pa ss\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadBytes([]byte(tt.yaml), tt.env)
			if err != nil {
				t.Fatalf("LoadBytes: %v", err)
			}
			for key, w := range tt.want {
				if got := get(t, c, key); !reflect.DeepEqual(got, w) {
					t.Errorf("%s = %#v, want %#v", key, got, w)
				}
			}
		})
	}
}

func TestLoadProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	secret := filepath.Join(t.TempDir(), "conns")
	if err := os.WriteFile(secret, []byte("many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct{ key, msg string }
	tests := []struct {
		name string
		yaml string
		env  []string
		want []want
	}{
		{
			name: "unknown top-level key",
			yaml: "listen: 127.0.0.1:8080\nlisten_addr: x\n",
			want: []want{{"listen_addr", "unknown key (line 2)"}},
		},
		{
			name: "unknown nested key with its path",
			yaml: "notify:\n  sms:\n    http:\n      urll: https://x\n",
			want: []want{{"notify.sms.http.urll", "unknown key (line 4)"}},
		},
		{
			name: "unknown key holding a block",
			yaml: "storage:\n  pool:\n    size: 3\n",
			want: []want{{"storage.pool", "unknown key (line 2)"}},
		},
		{
			name: "wrong types",
			yaml: "storage:\n  max_open_conns: lots\nserver:\n  idle_timeout: 30\n  trusted_proxies:\n    - a: b\nsecurity: {argon2: {parallelism: 300}}\n",
			want: []want{
				{"storage.max_open_conns", "cannot unmarshal !!str `lots` into int (line 2)"},
				{"server.idle_timeout", "write durations as strings"},
				{"server.trusted_proxies", "cannot unmarshal !!map into string (line 6)"},
				{"security.argon2.parallelism", "into uint8"},
			},
		},
		{
			name: "duplicate key",
			yaml: "log:\n  level: debug\n  level: info\n",
			want: []want{{"log.level", `already defined at line 2`}},
		},
		{
			name: "syntax error",
			yaml: "listen: [\n",
			want: []want{{"", "configuration: yaml:"}},
		},
		{
			name: "not a mapping",
			yaml: "- listen\n",
			want: []want{{"", "cannot unmarshal !!seq into config.Config (line 1)"}},
		},
		{
			name: "two documents",
			yaml: "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n",
			want: []want{{"", "more than one YAML document"}},
		},
		{
			name: "postgres without dsn",
			yaml: "storage: {driver: postgres}\n",
			want: []want{{"storage.dsn", "required when storage.driver is postgres"}},
		},
		{
			name: "bad env values name the variable and the key",
			env: []string{
				"CLAU_STORAGE_MAX_OPEN_CONNS=abc",
				"CLAU_DEV_OUTBOX_API=yes please",
				"CLAU_SERVER_READ_TIMEOUT=10",
				"CLAU_SECURITY_ARGON2_PARALLELISM=256",
				"CLAU_NOTIFY_SMS_HTTP_HEADERS=Authorization",
			},
			want: []want{
				{"storage.max_open_conns", `CLAU_STORAGE_MAX_OPEN_CONNS: "abc" is not an integer`},
				{"dev.outbox_api", `CLAU_DEV_OUTBOX_API: "yes please" is not a boolean`},
				{"server.read_timeout", `CLAU_SERVER_READ_TIMEOUT: "10" is not a duration`},
				{"security.argon2.parallelism", `CLAU_SECURITY_ARGON2_PARALLELISM: "256" is not within range (0 to 255)`},
				{"notify.sms.http.headers", "CLAU_NOTIFY_SMS_HTTP_HEADERS: the value is not a list of key=value pairs"},
			},
		},
		{
			name: "both variable and file",
			env:  []string{"CLAU_STORAGE_DSN=a", "CLAU_STORAGE_DSN_FILE=" + secret},
			want: []want{{"storage.dsn", "both CLAU_STORAGE_DSN and CLAU_STORAGE_DSN_FILE are set"}},
		},
		{
			name: "missing secret file",
			env:  []string{"CLAU_NOTIFY_EMAIL_SMTP_PASSWORD_FILE=" + missing},
			want: []want{{"notify.email.smtp.password", "CLAU_NOTIFY_EMAIL_SMTP_PASSWORD_FILE: open " + missing}},
		},
		{
			name: "bad secret file content is not echoed",
			env:  []string{"CLAU_STORAGE_MAX_OPEN_CONNS_FILE=" + secret},
			want: []want{{"storage.max_open_conns", "CLAU_STORAGE_MAX_OPEN_CONNS_FILE: the content of " + secret + " is not an integer"}},
		},
		{
			name: "every validation problem at once",
			yaml: `
listen: localhost
public_url: ftp://clau.example.org/?x=1
storage: {driver: mysql, max_open_conns: -1}
server:
  shutdown_timeout: -1s
  max_body_bytes: 100
  trusted_proxies: [10.0.0.0/8, 10.0.0.1, nonsense]
log: {level: verbose, format: xml}
security:
  argon2: {memory_kib: 1024}
  max_concurrent_hashes: -2
notify:
  sms: {driver: carrier-pigeon}
  email:
    driver: smtp
    smtp: {port: 70000, tls: ssl, from: "not an address", username: u}
  max_attempts: -1
  retry_base: 2h
  retry_max: 1h
`,
			want: []want{
				{"listen", "is not host:port"},
				{"public_url", "absolute http or https URL"},
				{"storage.driver", `"mysql" is not one of sqlite, postgres`},
				{"storage.max_open_conns", "at least 1"},
				{"server.shutdown_timeout", "greater than zero"},
				{"server.max_body_bytes", "between 1024"},
				{"server.trusted_proxies", `"10.0.0.1" is not a CIDR`},
				{"server.trusted_proxies", `"nonsense" is not a CIDR`},
				{"log.level", `"verbose" is not one of`},
				{"log.format", `"xml" is not one of json, text`},
				{"security.argon2.memory_kib", "at least 8192"},
				{"security.max_concurrent_hashes", "at least 0"},
				{"notify.sms.driver", `"carrier-pigeon" is not one of outbox, http`},
				{"notify.email.smtp.host", "required"},
				{"notify.email.smtp.port", "between 1 and 65535"},
				{"notify.email.smtp.from", "not an email address"},
				{"notify.email.smtp.password", "required when notify.email.smtp.username is set"},
				{"notify.email.smtp.tls", `"ssl" is not one of starttls, tls, none`},
				{"notify.max_attempts", "at least 1"},
				{"notify.retry_base", "longer than notify.retry_max"},
			},
		},
		{
			name: "public_url shape",
			yaml: "public_url: https://user:pw@clau.example.org/#top\n",
			want: []want{
				{"public_url", "must not have a query or a fragment"},
				{"public_url", "must not contain a user name or password"},
			},
		},
		{
			name: "http sms driver needs a url",
			yaml: "notify: {sms: {driver: http, http: {method: DELETE, content_type: '???'}}}\n",
			want: []want{
				{"notify.sms.http.url", "absolute http or https URL"},
				{"notify.sms.http.method", `"DELETE" is not one of`},
				{"notify.sms.http.content_type", "is not a media type"},
			},
		},
		{
			name: "smtp password in clear to a remote server",
			yaml: "notify: {email: {driver: smtp, smtp: {host: mail.example.org, tls: none, from: a@example.org, username: u, password: p}}}\n",
			want: []want{{"notify.email.smtp.tls", "unencrypted"}},
		},
		{
			name: "yaml and env problems together",
			yaml: "lisen: x\n",
			env:  []string{"CLAU_LOG_FORMAT=xml"},
			want: []want{{"lisen", "unknown key"}, {"log.format", "is not one of"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadBytes([]byte(tt.yaml), tt.env)
			if err == nil {
				t.Fatalf("LoadBytes = %+v, want an error", c)
			}
			if c != nil {
				t.Errorf("LoadBytes returned a config with an error")
			}
			ps := problemsOf(t, err)
			for _, w := range tt.want {
				if !hasProblem(ps, w.key, w.msg) {
					t.Errorf("no problem %q containing %q in:\n%v", w.key, w.msg, err)
				}
			}
			if len(ps) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps), len(tt.want), err)
			}
		})
	}
}

func TestSecretsNotEchoed(t *testing.T) {
	// A malformed headers value may hold a token; a public_url may hold a
	// password. Neither may appear in the error.
	_, err := LoadBytes([]byte("public_url: https://u:hunter2@x/?q\n"),
		[]string{"CLAU_NOTIFY_SMS_HTTP_HEADERS=tok3n"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"hunter2", "tok3n"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows %q:\n%v", s, err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "clau.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:9100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("\nstorag: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("path argument", func(t *testing.T) {
		c, err := Load(path, nil)
		if err != nil || c.Listen != "127.0.0.1:9100" {
			t.Fatalf("Load = %+v, %v", c, err)
		}
	})
	t.Run("CLAU_CONFIG when no path", func(t *testing.T) {
		c, err := Load("", []string{"CLAU_CONFIG=" + path})
		if err != nil || c.Listen != "127.0.0.1:9100" {
			t.Fatalf("Load = %+v, %v", c, err)
		}
	})
	t.Run("path argument beats CLAU_CONFIG", func(t *testing.T) {
		c, err := Load(path, []string{"CLAU_CONFIG=" + bad})
		if err != nil || c.Listen != "127.0.0.1:9100" {
			t.Fatalf("Load = %+v, %v", c, err)
		}
	})
	t.Run("problems name the file", func(t *testing.T) {
		_, err := Load(bad, nil)
		if ps := problemsOf(t, err); !hasProblem(ps, "storag", "unknown key ("+bad+" line 2)") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "missing.yaml"), nil)
		var e *Error
		if !errors.Is(err, os.ErrNotExist) || errors.As(err, &e) {
			t.Errorf("error = %v, want a plain not-exist error", err)
		}
	})
}

func TestErrorString(t *testing.T) {
	e := &Error{Problems: []Problem{
		{Key: "listen", Message: "is bad"},
		{Message: "configuration: yaml: broken"},
		{Key: "log.level", Message: "is worse"},
	}}
	want := "listen: is bad\nconfiguration: yaml: broken\nlog.level: is worse"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
