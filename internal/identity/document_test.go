package identity

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/problem"
)

// refLetter computes the control letter independently of ControlLetter:
// X/Y/Z are replaced by their digit and the remainder read from a table.
func refLetter(t testing.TB, body string) byte {
	t.Helper()
	body = strings.NewReplacer("X", "0", "Y", "1", "Z", "2").Replace(body)
	n, err := strconv.ParseInt(body, 10, 64)
	if err != nil {
		t.Fatalf("refLetter(%q): %v", body, err)
	}
	table := map[int64]byte{
		0: 'T', 1: 'R', 2: 'W', 3: 'A', 4: 'G', 5: 'M', 6: 'Y', 7: 'F', 8: 'P', 9: 'D', 10: 'X', 11: 'B',
		12: 'N', 13: 'J', 14: 'Z', 15: 'S', 16: 'Q', 17: 'V', 18: 'H', 19: 'L', 20: 'C', 21: 'K', 22: 'E',
	}
	return table[n%23]
}

func fieldMsg(t *testing.T, err error) (string, string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *problem.Error", err, err)
	}
	if p.Status != 422 || len(p.Fields) != 1 {
		t.Fatalf("problem = %+v, want 422 with one field", p)
	}
	return p.Fields[0].Name, p.Fields[0].MsgID
}

func TestControlLetterReference(t *testing.T) {
	// Known published examples and the independent reference.
	known := map[int]byte{12345678: 'Z', 0: 'T', 1234567: 'L', 11234567: 'X', 21234567: 'R', 99999999: 'R'}
	for n, want := range known {
		if got := ControlLetter(n); got != want {
			t.Errorf("ControlLetter(%d) = %c, want %c", n, got, want)
		}
	}
	for n := 0; n < 2000; n += 7 {
		if got, want := ControlLetter(n), refLetter(t, strconv.Itoa(n)); got != want {
			t.Errorf("ControlLetter(%d) = %c, want %c", n, got, want)
		}
	}
	if got := ControlLetter(-1); got != 'E' {
		t.Errorf("ControlLetter(-1) = %c, want E", got)
	}
}

func TestParseDocument(t *testing.T) {
	// Valid numbers, with the letter computed by the reference.
	valid := func(body string) string { return body + string(refLetter(t, body)) }
	ok := []struct {
		in   string
		typ  DocumentType
		want string
	}{
		{"12345678Z", DNI, "12345678Z"},
		{"00000000T", DNI, "00000000T"},
		{"12345678z", DNI, "12345678Z"},
		{" 12.345.678-z ", DNI, "12345678Z"},
		{"1234 5678 Z", DNI, "12345678Z"},
		{valid("87654321"), DNI, valid("87654321")},
		{valid("99999999"), DNI, valid("99999999")},
		{"X1234567L", NIE, "X1234567L"},
		{"Y1234567X", NIE, "Y1234567X"},
		{"Z1234567R", NIE, "Z1234567R"},
		{"x-1234567-l", NIE, "X1234567L"},
		{"\tY 1234567 x\n", NIE, "Y1234567X"},
		{valid("X7654321"), NIE, valid("X7654321")},
		{valid("Z0000000"), NIE, valid("Z0000000")},
	}
	for _, tc := range ok {
		d, err := ParseDocument(tc.in)
		if err != nil {
			t.Errorf("ParseDocument(%q): %v", tc.in, err)
			continue
		}
		if d.Type != tc.typ || d.Number != tc.want {
			t.Errorf("ParseDocument(%q) = %+v, want %s %s", tc.in, d, tc.typ, tc.want)
		}
	}

	bad := []struct{ in, msg string }{
		{"", "document.empty"},
		{"   ", "document.empty"},
		{" - . ", "document.empty"},
		{"12345678A", "document.letter"},       // wrong letter
		{"X1234567A", "document.letter"},       // wrong letter
		{"Y1234567L", "document.letter"},       // X's letter on a Y
		{"12345678I", "document.letter"},       // not a control letter at all
		{"1234567Z", "document.format"},        // 7 digits
		{"1234567L", "document.format"},        // 7 digits, letter right for 01234567
		{"123456789Z", "document.format"},      // 9 digits
		{"1234A678Z", "document.format"},       // letter in the middle
		{"X12345678L", "document.format"},      // NIE with 8 digits
		{"A1234567L", "document.format"},       // not X/Y/Z
		{"123456789", "document.format"},       // no letter
		{"12345678", "document.format"},        // no letter
		{"ZZZZZZZZZ", "document.format"},       //
		{"12345678Ñ", "document.format"},       // non-ASCII letter
		{"١٢٣٤٥٦٧٨Z", "document.format"},       // non-ASCII digits
		{"12345678_Z", "document.format"},      // other punctuation
		{"X1234567LL", "document.format"},      // too long
		{"\u00a0", "document.empty"},           // only a no-break space
		{"12345678Z\u200b", "document.format"}, // zero-width space is not whitespace
	}
	for _, tc := range bad {
		d, err := ParseDocument(tc.in)
		if err == nil {
			t.Errorf("ParseDocument(%q) = %+v, want %s", tc.in, d, tc.msg)
			continue
		}
		if !d.IsZero() {
			t.Errorf("ParseDocument(%q) returned %+v with an error", tc.in, d)
		}
		name, msg := fieldMsg(t, err)
		if name != "document" || msg != tc.msg {
			t.Errorf("ParseDocument(%q): field %s %s, want document %s", tc.in, name, msg, tc.msg)
		}
	}
}

func TestDocumentMaskingAndLogging(t *testing.T) {
	d, err := ParseDocument("12345678Z")
	if err != nil {
		t.Fatal(err)
	}
	if d.String() != "12345678Z" {
		t.Errorf("String = %q", d.String())
	}
	if got := d.Masked(); got != "***4567*" {
		t.Errorf("Masked = %q, want ***4567*", got)
	}
	n, _ := ParseDocument("X1234567L")
	if got := n.Masked(); got != "***3456*" {
		t.Errorf("NIE Masked = %q, want ***3456*", got)
	}
	if (Document{}).Masked() != "" || !(Document{}).IsZero() || d.IsZero() {
		t.Error("zero Document handling")
	}
	if got := (Document{Number: "123"}).Masked(); strings.Contains(got, "123") {
		t.Errorf("odd-length number not hidden: %q", got)
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("registered", "document", d, slog.Any("doc", d))
	text := slog.New(slog.NewTextHandler(&buf, nil))
	text.Info("registered", "document", d)
	out := buf.String()
	if strings.Contains(out, "12345678") || strings.Contains(out, "5678Z") {
		t.Errorf("document logged in clear: %s", out)
	}
	if !strings.Contains(out, "***4567*") {
		t.Errorf("masked document missing from log: %s", out)
	}
}

func FuzzParseDocument(f *testing.F) {
	for _, s := range []string{
		"12345678Z", "00000000T", "12.345.678-z", "X1234567L", "Y1234567X", "Z1234567R",
		"x 1234567 l", "12345678A", "1234567Z", "", "ñ", "X12345678L", "99999999R",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDocument(s)
		if err != nil {
			if _, ok := problem.As(err); !ok {
				t.Fatalf("error is not a problem: %v", err)
			}
			if !d.IsZero() {
				t.Fatalf("document %+v returned with an error", d)
			}
			return
		}
		if len(d.Number) != 9 {
			t.Fatalf("Number %q is not 9 characters", d.Number)
		}
		if d.Type != DNI && d.Type != NIE {
			t.Fatalf("Type %q", d.Type)
		}
		again, err := ParseDocument(d.Number)
		if err != nil || again != d {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", d.Number, again, err, d)
		}
		body := strings.NewReplacer("X", "0", "Y", "1", "Z", "2").Replace(d.Number[:8])
		n, err := strconv.Atoi(body)
		if err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if ControlLetter(n) != d.Number[8] {
			t.Fatalf("letter of %q does not match ControlLetter(%d) = %c", d.Number, n, ControlLetter(n))
		}
		if d.Type == DNI && !isDigit(d.Number[0]) || d.Type == NIE && isDigit(d.Number[0]) {
			t.Fatalf("type %s does not match %q", d.Type, d.Number)
		}
	})
}
