package saml

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// TestRoundTripsAsValidator: parseXML's round-trip check accepts and
// refuses exactly what xrv.Validate does, on the fuzz corpus and on
// inputs that encoding/xml mangles.
func TestRoundTripsAsValidator(t *testing.T) {
	inputs := [][]byte{[]byte(seedRequest), []byte(seedMetadata),
		[]byte(`<x:y:z xmlns:x="a">t</x:y:z>`),       // colons in a name
		[]byte(`<a xmlns:x="u" x:b:c="1"/>`),         // colons in an attribute name
		[]byte(`<a><b></a>`),                         // not well formed
		[]byte(`<a xmlns="urn:x"><b xmlns=""/></a>`), // namespace undeclared
		[]byte("<a>\xff</a>"),                        // not UTF-8
		[]byte(`<a>&#0;</a>`),                        // not an XML character
		[]byte(`<:a/>`), []byte(`<a :b="1"/>`), []byte(`<a>]]></a>`), []byte("<a>\r\n\t x &amp; &lt;</a>"),
	}
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The corpus files quote their input as a Go literal on the last line.
		lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
		last := string(lines[len(lines)-1])
		for _, pre := range []string{"[]byte(", "string("} {
			if len(last) > len(pre) && last[:len(pre)] == pre {
				if s, err := strconv.Unquote(last[len(pre) : len(last)-1]); err == nil {
					inputs = append(inputs, []byte(s))
				}
			}
		}
	}
	if len(inputs) < 20 {
		t.Fatalf("only %d inputs: the fuzz corpus was not read", len(inputs))
	}
	for _, in := range inputs {
		want := xrv.Validate(bytes.NewReader(in)) == nil
		if got := roundTrips(in) == nil; got != want {
			t.Errorf("roundTrips(%q) ok=%v, xrv.Validate ok=%v", in, got, want)
		}
	}
}

func BenchmarkParseXML(b *testing.B) {
	data := []byte(seedRequest)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseXML(data, maxMessageBytes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoundTripValidator(b *testing.B) {
	data := []byte(seedRequest)
	b.Run("xrv.Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := xrv.Validate(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("roundTrips", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := roundTrips(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
