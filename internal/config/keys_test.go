package config

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"listen", "storage.dsn", "notify.sms.http.url", "dev.outbox_api", "server.trusted_proxies"} {
		if !slices.Contains(keys, k) {
			t.Errorf("Keys() lacks %q", k)
		}
	}
	for _, tt := range []struct{ key, env string }{
		{"storage.dsn", "CLAU_STORAGE_DSN"},
		{"notify.sms.http.url", "CLAU_NOTIFY_SMS_HTTP_URL"},
		{"security.argon2.memory_kib", "CLAU_SECURITY_ARGON2_MEMORY_KIB"},
		{"a-b.c", "CLAU_A_B_C"},
	} {
		if got := EnvName(tt.key); got != tt.env {
			t.Errorf("EnvName(%q) = %q, want %q", tt.key, got, tt.env)
		}
	}

	// Every variable must name exactly one thing.
	seen := map[string]string{EnvConfig: "CLAU_CONFIG"}
	for _, k := range keys {
		for _, name := range []string{EnvName(k), EnvName(k) + FileSuffix} {
			if other, dup := seen[name]; dup {
				t.Errorf("%s is the variable of both %q and %q", name, k, other)
			}
			seen[name] = k
		}
	}
}

func TestStructShape(t *testing.T) {
	for _, l := range leaves() {
		for part := range strings.SplitSeq(l.key, ".") {
			if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Errorf("key %q: every field needs a snake_case yaml tag", l.key)
			}
		}
		// Every leaf must be settable from the environment.
		if err := setString(reflect.New(l.typ).Elem(), ""); err != nil && !errors.As(err, new(errBadValue)) {
			t.Errorf("key %q: %v", l.key, err)
		}
	}
}

func TestExampleFile(t *testing.T) {
	const path = "../../clau.example.yaml"
	c, err := Load(path, nil)
	if err != nil {
		t.Fatalf("clau.example.yaml does not load:\n%v", err)
	}
	// The example documents the defaults, so it must describe exactly them.
	d := reflect.ValueOf(Default()).Elem()
	got := reflect.ValueOf(c).Elem()
	for _, l := range leaves() {
		g, w := got.FieldByIndex(l.index), d.FieldByIndex(l.index)
		if (g.Kind() == reflect.Slice || g.Kind() == reflect.Map) && g.Len() == 0 && w.Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			t.Errorf("%s is %#v in the example, but the default is %#v", l.key, g.Interface(), w.Interface())
		}
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, key := range keyLines(data) {
		present[key] = true
	}
	for _, k := range Keys() {
		if !present[k] {
			t.Errorf("clau.example.yaml does not document %q", k)
		}
	}
	for _, rule := range []string{"CLAU_STORAGE_DSN", "_FILE", "CLAU_CONFIG"} {
		if !strings.Contains(string(data), rule) {
			t.Errorf("clau.example.yaml does not explain %s", rule)
		}
	}
}
