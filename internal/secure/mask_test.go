package secure

import "testing"

func TestMaskDocument(t *testing.T) {
	tests := []struct{ in, want string }{
		{"12345678Z", "***4567*"},
		{"X1234567L", "***3456*"},
		{"1234567Z", "***4567*"},
		{"1234567", "***"},
		{"", "***"},
		{"ñ2345678Z", "***4567*"},
	}
	for _, tt := range tests {
		if got := MaskDocument(tt.in); got != tt.want {
			t.Errorf("MaskDocument(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+34612345678", "+34*****678"},
		{"+447911123456", "+44*****456"},
		{"+3461234", "***"},
		{"+34612345", "+34*****345"},
		{"612345678", "*****678"},
		{"612345", "***"},
		{"", "***"},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"juan.perez@example.org", "j***@example.org"},
		{"j@example.org", "j***@example.org"},
		{"ñandú@example.es", "ñ***@example.es"},
		{"@example.org", "***@example.org"},
		{"a@b@example.org", "a***@example.org"},
		{"no-at-sign", "***"},
		{"", "***"},
	}
	for _, tt := range tests {
		if got := MaskEmail(tt.in); got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
