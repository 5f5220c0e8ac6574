package config

import (
	"errors"
	"testing"
)

// FuzzLoadYAML feeds arbitrary bytes to the loader: it must never panic,
// must return either a config or an *Error, and whatever it accepts must
// validate.
func FuzzLoadYAML(f *testing.F) {
	for _, seed := range []string{
		"",
		"# only a comment\n",
		"listen: 127.0.0.1:8080\n",
		"storage: {driver: postgres, dsn: postgres://clau@db/clau, migrate_on_start: false}\n",
		"server:\n  trusted_proxies: [10.0.0.0/8]\n  read_timeout: 1m\n",
		"notify:\n  sms:\n    http:\n      headers: {A: b}\n",
		"nope: 1\n",
		"a: &x [*x]\n",
		"- 1\n",
		"---\n---\n",
		"security: {argon2: {parallelism: 999}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadBytes(data, nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %v (%T) is not an *Error with problems", err, err)
			}
			if c != nil {
				t.Fatal("a config returned with an error")
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
	})
}
