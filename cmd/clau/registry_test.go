package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const registryHeader = "document,doc_validity,doc_permanent,support_number,given_name,first_surname,second_surname,birth_date,address_line1,address_line2,postal_code,municipality,province,nationality\n"

func (e *env) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestRegistryImport(t *testing.T) {
	e := newEnv(t)
	good := e.file("people.csv", "\xEF\xBB\xBF"+registryHeader+
		"12345678Z,2031-06-30,,,Núria,Ibáñez,Puig,1980-02-29,\"Carrer de la Pau 3, 2n 1a\",,08001,Barcelona,Barcelona,\n"+
		"X1234567L,,,E12345678,Marcel·lí,O'Neill,,05/07/1975,Plaça Major 1,,8002,Barcelona,Barcelona,IT\n")
	if out := e.ok("registry", "import", "--dry-run", good); !strings.Contains(out, "2 rows, all valid: 2 would be added") {
		t.Errorf("dry run said %q", out)
	}
	if n := strings.TrimSpace(e.ok("registry", "count")); n != "0" {
		t.Fatalf("a dry run imported %s records", n)
	}
	if out := e.ok("registry", "import", good); !strings.Contains(out, "people.csv: 2 rows imported: 2 added, 0 updated") {
		t.Errorf("import said %q", out)
	}
	if show := e.ok("registry", "show", "x-1234567-l"); !strings.Contains(show, "Marcel·lí") || !strings.Contains(show, "08002") {
		t.Errorf("registry show = %s", show)
	}
	if n := strings.TrimSpace(e.ok("citizen", "count")); n != "0" {
		t.Errorf("the reference registry registered %s citizens", n)
	}

	// The same file again is refused row by row, unless --existing=update.
	r := e.run("registry", "import", good)
	if r.code != 2 || !strings.Contains(r.stdout, "line 2 (***4567*): document: This document is already in the reference registry") ||
		!strings.Contains(r.stderr, "2 rows, 2 rejected: nothing imported") {
		t.Errorf("re-import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if out := e.ok("registry", "import", "--existing=update", good); !strings.Contains(out, "0 added, 2 updated") {
		t.Errorf("update import said %q", out)
	}

	// Bad rows: each named with its line, nothing imported, exit 2.
	bad := e.file("bad.csv", registryHeader+
		"22222222J,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n"+
		"33333333A,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,00001,Barcelona,Barcelona,\n"+
		"22222222J,2031-06-30,,,Ana,Roca,,1980-01-01,Carrer 1,,08001,Barcelona,Barcelona,\n")
	r = e.run("registry", "import", bad)
	for _, want := range []string{"line 3: document: The letter of the DNI/NIE does not match", "line 3: postal_code:",
		"line 4 (***2222*): document: The same document is already on line 2 of this file."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bad file report lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 2 {
		t.Errorf("bad file: exit %d", r.code)
	}
	if n := strings.TrimSpace(e.ok("registry", "count")); n != "2" {
		t.Errorf("a refused file changed the registry: %s records", n)
	}

	// Encodings and usage.
	latin1 := e.file("latin1.csv", registryHeader+"12345678Z,2031-06-30,,,N\xfaria,Ib\xe1\xf1ez,,1980-02-29,C 1,,08001,Barcelona,Barcelona,\n")
	if r := e.run("registry", "import", latin1); r.code != 2 || !strings.Contains(r.stderr, "line 2: the file is not UTF-8") {
		t.Errorf("Latin-1 file: exit %d: %s", r.code, r.stderr)
	}
	if r := e.run("registry", "import", "--existing=merge", good); r.code != 2 {
		t.Errorf("--existing=merge: exit %d", r.code)
	}
	if r := e.run("registry", "import", filepath.Join(e.dir, "missing.csv")); r.code != 2 {
		t.Errorf("missing file: exit %d", r.code)
	}
	if audit := e.ok("audit", "verify"); !strings.Contains(audit, "intact: 5 events") { // 3 refused imports audited too
		t.Errorf("audit verify = %s", audit)
	}
}
