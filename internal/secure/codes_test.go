package secure

import (
	"strings"
	"testing"
)

func TestNewActivationCode(t *testing.T) {
	for range 100 {
		code, err := NewActivationCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != ActivationCodeLen {
			t.Fatalf("code %q has %d symbols, want %d", code, len(code), ActivationCodeLen)
		}
		for _, r := range code {
			if !strings.ContainsRune(ActivationAlphabet, r) {
				t.Fatalf("code %q has %q outside the alphabet", code, r)
			}
		}
	}
}

func TestActivationAlphabetHasNoLookAlikes(t *testing.T) {
	if len(ActivationAlphabet) != 32 {
		t.Fatalf("alphabet has %d symbols, want 32", len(ActivationAlphabet))
	}
	if strings.ContainsAny(ActivationAlphabet, "0O1I") {
		t.Fatal("alphabet holds a look-alike")
	}
}

func TestActivationCodeMapsEveryByteUniformly(t *testing.T) {
	// Every byte value once: each symbol must come out exactly 8 times.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	r := repeating(all...)
	counts := map[rune]int{}
	for range 256 / ActivationCodeLen {
		code, err := NewActivationCode(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range code {
			counts[c]++
		}
	}
	for _, c := range ActivationAlphabet {
		if counts[c] != 8 {
			t.Fatalf("symbol %q came out %d times from all 256 bytes, want 8", c, counts[c])
		}
	}
}

func TestActivationCodeRoughlyUniform(t *testing.T) {
	const codes = 1250 // 20000 symbols, 625 expected each, σ ≈ 25
	counts := map[rune]int{}
	for range codes {
		code, err := NewActivationCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range code {
			counts[c]++
		}
	}
	for _, c := range ActivationAlphabet {
		if n := counts[c]; n < 450 || n > 800 {
			t.Errorf("symbol %q came out %d times in 20000, want about 625", c, n)
		}
	}
}

func TestNewActivationCodeBrokenRandomness(t *testing.T) {
	if _, err := NewActivationCode(failingReader{}); err == nil {
		t.Fatal("NewActivationCode with a broken random source succeeded")
	}
}

func TestFormatActivationCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABCDEFGHJKLMNPQR", "ABCD-EFGH-JKLM-NPQR"},
		{"ABCDEF", "ABCD-EF"},
		{"ABCD", "ABCD"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FormatActivationCode(tt.in); got != tt.want {
			t.Errorf("FormatActivationCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatNormaliseRoundTrip(t *testing.T) {
	for range 50 {
		code, err := NewActivationCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := NormaliseActivationCode(FormatActivationCode(code))
		if !ok || got != code {
			t.Fatalf("Normalise(Format(%q)) = %q, %v", code, got, ok)
		}
	}
}

func TestNormaliseActivationCode(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		ok       bool
	}{
		{"canonical", "ABCDEFGHJKLMNPQR", "ABCDEFGHJKLMNPQR", true},
		{"formatted", "ABCD-EFGH-JKLM-NPQR", "ABCDEFGHJKLMNPQR", true},
		{"lower case", "abcd-efgh-jklm-npqr", "ABCDEFGHJKLMNPQR", true},
		{"mixed case and spaces", " aBcD eFgH  JkLm nPqR ", "ABCDEFGHJKLMNPQR", true},
		{"dots", "ABCD.EFGH.JKLM.NPQR", "ABCDEFGHJKLMNPQR", true},
		{"tab and no-break space", "ABCD\tEFGH\u00a0JKLM NPQR", "ABCDEFGHJKLMNPQR", true},
		{"digits", "2345-6789-2345-6789", "2345678923456789", true},
		{"empty", "", "", false},
		{"one short", "ABCD-EFGH-JKLM-NPQ", "", false},
		{"one long", "ABCD-EFGH-JKLM-NPQRS", "", false},
		{"letter O", "ABCD-EFGH-JKLM-NPQO", "", false},
		{"digit 0", "ABCD-EFGH-JKLM-NPQ0", "", false},
		{"letter I", "ABCD-EFGH-JKLM-NPQI", "", false},
		{"digit 1", "ABCD-EFGH-JKLM-NPQ1", "", false},
		{"underscore", "ABCD_EFGH_JKLM_NPQR", "", false},
		{"long s is not S", "ABCD-EFGH-JKLM-NPQſ", "", false},
		{"accented letter", "ÁBCD-EFGH-JKLM-NPQR", "", false},
		{"huge input", strings.Repeat("-", 1000) + "ABCDEFGHJKLMNPQR", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormaliseActivationCode(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("NormaliseActivationCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNewNumericCode(t *testing.T) {
	for digits := 4; digits <= 10; digits++ {
		code, err := NewNumericCode(nil, digits)
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != digits || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("NewNumericCode(%d) = %q, want %d digits", digits, code, digits)
		}
	}
}

func TestNewNumericCodeDeterministic(t *testing.T) {
	tests := []struct {
		name   string
		random []byte
		digits int
		want   string
	}{
		{"zeros keep leading zeros", []byte{0}, 6, "000000"},
		{"byte value modulo ten", []byte{0, 1, 12, 123, 249}, 5, "01239"},
		{"bytes 250 to 255 are skipped", []byte{250, 251, 252, 253, 254, 255, 7}, 4, "7777"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewNumericCode(repeating(tt.random...), tt.digits)
			if err != nil || got != tt.want {
				t.Fatalf("NewNumericCode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNewNumericCodeErrors(t *testing.T) {
	for _, digits := range []int{-1, 0, 3, 11, 100} {
		if code, err := NewNumericCode(nil, digits); err == nil {
			t.Errorf("NewNumericCode(%d) = %q, want an error", digits, code)
		}
	}
	if _, err := NewNumericCode(failingReader{}, 6); err == nil {
		t.Error("NewNumericCode with a broken random source succeeded")
	}
	// A source that only yields rejected bytes must not loop forever.
	if _, err := NewNumericCode(repeating(255), 6); err == nil {
		t.Error("NewNumericCode with a source of only 255 succeeded")
	}
}

func TestNumericCodeRoughlyUniform(t *testing.T) {
	counts := map[rune]int{}
	for range 2500 { // 20000 digits, 2000 expected each, σ ≈ 42
		code, err := NewNumericCode(nil, 8)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range code {
			counts[c]++
		}
	}
	for c := '0'; c <= '9'; c++ {
		if n := counts[c]; n < 1700 || n > 2300 {
			t.Errorf("digit %q came out %d times in 20000, want about 2000", c, n)
		}
	}
}
