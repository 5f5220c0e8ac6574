package reference_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/reference"
)

// FuzzParse feeds arbitrary bytes to the registry CSV reader (files come
// from outside: another administration's export). It must never panic,
// must answer either a *FileError or rows and rejections, and never both
// a good row and a rejection for the same line; every good row holds a
// valid document and every line it names is in the file.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		header,
		good,
		strings.ReplaceAll(good, ",", ";"),
		"\xef\xbb\xbf" + good,
		header + "12345678Z,2031-06-30\n",
		header + "\"12345678Z,\n",
		header + "12345678Z,2031-06-30,,,N\xfaria,Ib\xe1\xf1ez,Puig,1980-02-29,Pau 3,,08001,Barcelona,Barcelona,\n",
		header + "12345678Z,2031-06-30,,,A,B,,1980-02-29,C,,08001,X,Y,\n12345678Z,2031-06-30,,,A,B,,1980-02-29,C,,08001,X,Y,\n",
		"document\n1\n",
	} {
		f.Add([]byte(seed))
	}
	today := identity.DateOf(now)
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, rejected, err := reference.Parse(data, today)
		if err != nil {
			var fe *reference.FileError
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Fatalf("error %v (%T) is not a *FileError with a message", err, err)
			}
			if rows != nil {
				t.Fatal("rows returned with a file error")
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		bad := map[int]bool{}
		for _, r := range rejected {
			if r.Line < 1 || r.Line > lines || len(r.Fields) == 0 {
				t.Fatalf("rejection %+v: line outside the file (%d lines) or no reason", r, lines)
			}
			bad[r.Line] = true
		}
		for _, r := range rows {
			if r.Line < 2 || r.Line > lines || bad[r.Line] {
				t.Fatalf("good row at line %d (file of %d lines, rejected there: %v)", r.Line, lines, bad[r.Line])
			}
			if _, err := identity.ParseDocument(r.Ref.Document.Number); err != nil {
				t.Fatalf("good row at line %d holds an invalid document %q", r.Line, r.Ref.Document.Number)
			}
		}
	})
}
