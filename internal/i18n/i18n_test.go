package i18n

import (
	"strings"
	"testing"
)

func TestEveryMessageInEveryLanguage(t *testing.T) {
	c := MustLoad()
	all := map[string]bool{}
	for _, tag := range Languages {
		for _, id := range c.IDs(tag.String()) {
			all[id] = true
		}
	}
	if len(all) == 0 {
		t.Fatal("no messages loaded")
	}
	for id := range all {
		for _, tag := range Languages {
			if !c.Has(tag.String(), id) {
				t.Errorf("message %q missing in %s", id, tag)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	c := MustLoad()
	cases := []struct{ choice, accept, want string }{
		{"", "", "ca"},
		{"", "es-ES,es;q=0.9", "es"},
		{"", "en-GB,en;q=0.8", "en"},
		{"", "ca-ES", "ca"},
		{"en", "es", "en"},
		{"xx", "es", "es"},
		{"", "de-DE", "ca"},
		{"", ";;;garbage", "ca"},
	}
	for _, tc := range cases {
		if got := c.Match(tc.choice, tc.accept); got != tc.want {
			t.Errorf("Match(%q,%q) = %q, want %q", tc.choice, tc.accept, got, tc.want)
		}
	}
}

func TestTranslateWithArgs(t *testing.T) {
	c := MustLoad()
	if got := c.T("en", "input.invalid", nil); got == "input.invalid" {
		t.Fatalf("input.invalid not translated")
	}
	if got := c.T("en", "no.such.id", nil); got != "no.such.id" {
		t.Fatalf("unknown id = %q", got)
	}
}

// A message asked for without data first (and so kept) still fills in
// its data when asked with it, in every language.
func TestPlainMessagesKeptApartFromData(t *testing.T) {
	c := MustLoad()
	for _, lang := range []string{"ca", "es", "en"} {
		plain := c.T(lang, "too.many.requests", nil)
		if again := c.T(lang, "too.many.requests", nil); again != plain {
			t.Errorf("%s: second plain lookup %q, first %q", lang, again, plain)
		}
		with := c.T(lang, "too.many.requests", map[string]any{"Minutes": 7})
		if with == plain || !strings.Contains(with, "7") {
			t.Errorf("%s: with Minutes=7 got %q (plain %q)", lang, with, plain)
		}
	}
	if got := c.T("xx", "too.many.requests", map[string]any{"Minutes": 3}); !strings.Contains(got, "3") {
		t.Errorf("unknown language falls back without its data: %q", got)
	}
}
