package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/clau-eid/clau/"

type pkg struct {
	dir     string
	doc     bool
	imports map[string]bool // non-test imports
}

func loadPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	root := filepath.Join("..", "..")
	pkgs := map[string]*pkg{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		p := pkgs[dir]
		if p == nil {
			p = &pkg{dir: dir, imports: map[string]bool{}}
			pkgs[dir] = p
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.ImportsOnly)
		if err != nil {
			return err
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package ") || f.Doc != nil && f.Name.Name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
			p.doc = true
		}
		if !strings.HasSuffix(path, "_test.go") {
			for _, im := range f.Imports {
				p.imports[strings.Trim(im.Path.Value, `"`)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestEveryPackageIsDocumented(t *testing.T) {
	for dir, p := range loadPackages(t) {
		if !p.doc {
			t.Errorf("%s has no package doc comment saying what it owns", dir)
		}
	}
}

// Dependencies point inward: domain and primitives know nothing of
// transport, storage drivers or the binary.
func TestDependenciesPointInward(t *testing.T) {
	forbidden := map[string][]string{
		"internal/problem":  {"internal/"},
		"internal/identity": {"internal/store", "internal/httpserver", "internal/web", "internal/secure", "internal/audit", "internal/notify"},
		"internal/config":   {"internal/"},
		"internal/store":    {"internal/store/sqlstore", "internal/audit", "internal/secure", "internal/notify", "internal/httpserver"},
		"internal/secure":   {"internal/store/sqlstore", "internal/httpserver", "internal/web", "internal/notify", "internal/audit"},
		"internal/audit":    {"internal/store/sqlstore", "internal/httpserver", "internal/web", "internal/notify"},
		"internal/notify":   {"internal/store/sqlstore", "internal/httpserver", "internal/web", "internal/audit"},
		"internal/i18n":     {"internal/"},
	}
	pkgs := loadPackages(t)
	for dir, bad := range forbidden {
		p := pkgs[filepath.FromSlash(dir)]
		if p == nil {
			t.Errorf("package %s not found", dir)
			continue
		}
		for im := range p.imports {
			for _, b := range bad {
				if strings.HasPrefix(im, module+b) {
					t.Errorf("%s imports %s: it must not depend on %s", dir, im, b)
				}
			}
		}
	}
	// Only the binary, tests and test helpers name the SQL driver.
	for dir, p := range pkgs {
		if p.imports[module+"internal/store/sqlstore"] && !strings.HasPrefix(dir, "cmd") && !strings.Contains(dir, "sqltest") {
			t.Errorf("%s imports the SQL driver; depend on internal/store's interfaces instead", dir)
		}
	}
}

// Nothing in the project names a machine path.
func TestNoMachinePaths(t *testing.T) {
	root := filepath.Join("..", "..")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != root && d.Name() != ".ci" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".sql", ".json", ".html", "":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		// Built from pieces so this file does not name them itself.
		for _, p := range []string{"/" + "work/", "/" + "farm/", "/" + "root/", "/" + "home/"} {
			if strings.Contains(string(b), p) {
				t.Errorf("%s names a machine path (%s)", path, p)
			}
		}
		return nil
	})
}
