package saml

import (
	"bytes"
	"math/rand/v2"
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
		[]byte(`<:a/>`), []byte(`<a :b="1"/>`), []byte(`<a>]]></a>`), []byte("<a>\r\n\t x &amp; &lt; &#xD; &#34;</a>"),
		[]byte(`<a:b xmlns:a="u"></a:b>`), []byte(`<a></a:b:c>`), []byte(`<a></1>`), []byte(`<a.b></a.b>`), []byte(`<a>x</a >`),
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

// FuzzRoundTrips: parseXML's round-trip check and xrv.Validate agree.
func FuzzRoundTrips(f *testing.F) {
	f.Add([]byte(seedRequest))
	f.Add([]byte(`<x:y:z xmlns:x="a">t</x:y:z>`))
	f.Add([]byte("<a>\r\n\t x &amp; &#xD; &lt;</a>"))
	f.Add([]byte(`<a:b xmlns:a="u"></a:b>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		want := xrv.Validate(bytes.NewReader(data)) == nil
		if got := roundTrips(data) == nil; got != want {
			t.Fatalf("roundTrips(%q) ok=%v, xrv.Validate ok=%v", data, got, want)
		}
	})
}

// TestRoundTripsMutations: roundTrips and xrv.Validate agree on
// thousands of small documents mutated at random towards what
// encoding/xml gets wrong (colons, odd bytes, entities, bad names).
func TestRoundTripsMutations(t *testing.T) {
	seeds := []string{`<a:b xmlns:a="u" c="d">t &amp; u</a:b>`, `<x y:z="1" xmlns:y="v"><w>&#xD;</w></x>`,
		"<p:q xmlns:p=\"u\">\r\n\t<r/></p:q>", `<a><b.c-d_e>x</b.c-d_e></a>`}
	alphabet := []string{"<", ">", ":", "/", `"`, "'", "&", ";", "#x", " ", "\r", "\n", "\t", "\xff", "\x00", "\x7f", "a", "Z", "0",
		"-", ".", "_", "=", "xmlns", "é", "]]>", "&lt;", "&#0;", "&#xFFFE;", "</a>", ":b:", "\u2028"}
	rng := rand.New(rand.NewPCG(1, 2))
	agreeOK, agreeBad := 0, 0
	for i := range 6000 {
		b := []byte(seeds[i%len(seeds)])
		for range 1 + rng.IntN(3) {
			at := rng.IntN(len(b) + 1)
			switch rng.IntN(3) {
			case 0, 1:
				ins := alphabet[rng.IntN(len(alphabet))]
				b = append(b[:at:at], append([]byte(ins), b[at:]...)...)
			default:
				if at < len(b) {
					b = append(b[:at:at], b[at+1:]...)
				}
			}
		}
		want := xrv.Validate(bytes.NewReader(b)) == nil
		if got := roundTrips(b) == nil; got != want {
			t.Fatalf("roundTrips(%q) ok=%v, xrv.Validate ok=%v", b, got, want)
		}
		if want {
			agreeOK++
		} else {
			agreeBad++
		}
	}
	if agreeOK < 500 || agreeBad < 500 {
		t.Fatalf("mutations too one-sided to compare: %d accepted, %d refused", agreeOK, agreeBad)
	}
	t.Logf("%d accepted and %d refused by both", agreeOK, agreeBad)
}
