package certificate

import (
	"strings"
	"testing"
)

// The subject serialNumber is outside input: any string gives a document
// or an error, never a panic, and a document is always a valid one.
func FuzzDocumentFromSerialNumber(f *testing.F) {
	for _, s := range []string{"IDCES-12345678Z", "12345678Z", "IDCFR-12345678Z", "idces-x1234567l", "IDCES-", "ID", "IDCES-123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := documentFromSerialNumber(s)
		if err == nil && (len(d.Number) != 9 || strings.ContainsAny(d.Number, " -")) {
			t.Fatalf("%q gave %q", s, d.Number)
		}
	})
}
