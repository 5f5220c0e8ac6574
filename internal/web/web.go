// Package web renders Clau's pages: the shared layout, the language switch
// (Catalan, Spanish, English) and the static assets. Page handlers of each
// audience (citizens, officers, the public office directory) live in their
// own packages and render through a Renderer. Templates hold no literal
// user-facing text: every string comes from the i18n catalogue by ID.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Renderer renders pages in the reader's language.
type Renderer struct {
	srv   *httpserver.Server
	cat   *i18n.Catalog
	pages map[string]*template.Template
	log   *slog.Logger
}

// Page is what every page template receives.
type Page struct {
	Lang      string
	Title     string // message ID
	Path      string // current path, for the language switch
	Languages []string
	Data      any
}

// NewRenderer parses the embedded templates.
func NewRenderer(srv *httpserver.Server, log *slog.Logger) (*Renderer, error) {
	r := &Renderer{srv: srv, cat: srv.Catalog(), pages: map[string]*template.Template{}, log: log}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		if err := r.addPage(templateFiles, n); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// AddPages parses the page templates matching pattern in another
// package's files; each defines "content" (or a part that a partial's
// "content" frames) and renders inside the shared layout, together with
// the package's partials (files of templates its pages share, e.g.
// "templates/partials.tmpl"). Page names must be unique across packages.
func (r *Renderer) AddPages(fsys fs.FS, pattern string, partials ...string) error {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := r.addPage(fsys, n, partials...); err != nil {
			return err
		}
	}
	return nil
}

func (r *Renderer) addPage(fsys fs.FS, name string, partials ...string) error {
	t := template.New("layout.html").Funcs(template.FuncMap{
		"t":       func(lang, id string) string { return r.cat.T(lang, id, nil) },
		"tArgs":   func(lang, id string, args map[string]any) string { return r.cat.T(lang, id, args) },
		"langURL": func(path, lang string) string { return path + "?lang=" + url.QueryEscape(lang) },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				if k, ok := kv[i].(string); ok {
					m[k] = kv[i+1]
				}
			}
			return m
		},
		// list makes a slice for a partial to range over, e.g. a
		// table's column headings.
		"list": func(v ...any) []any { return v },
		"field": func(f *Form, name string) []string {
			if f == nil {
				return nil
			}
			return f.Errors[name]
		},
		"value": func(f *Form, name string) string {
			if f == nil {
				return ""
			}
			return f.Values[name]
		},
	})
	t, err := t.ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return err
	}
	if t, err = t.ParseFS(fsys, append([]string{name}, partials...)...); err != nil {
		return err
	}
	key := path.Base(name)
	if _, dup := r.pages[key]; dup {
		return fmt.Errorf("web: two page templates named %s", key)
	}
	r.pages[key] = t
	return nil
}

// Render writes page name with data, in the reader's language, and keeps
// an explicit language choice (?lang=) in a cookie.
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, name, title string, data any) {
	lang := r.srv.Lang(req)
	if q := req.URL.Query().Get("lang"); q != "" && q == lang {
		http.SetCookie(w, &http.Cookie{Name: httpserver.LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: req.TLS != nil})
	}
	var b bytes.Buffer
	if err := r.Execute(&b, lang, req.URL.Path, name, title, data); err != nil {
		r.srv.WriteError(w, req, err)
		return
	}
	WriteHTML(w, lang, status, b.Bytes())
}

// Lang is the language Render writes req's page in.
func (r *Renderer) Lang(req *http.Request) string { return r.srv.Lang(req) }

// Execute writes page name as Render does for a reader of lang at path,
// without the response: for a page that is partly computed once and
// reused (saml's auto-post form).
func (r *Renderer) Execute(w io.Writer, lang, path, name, title string, data any) error {
	t, ok := r.pages[name]
	if !ok {
		return errUnknownPage(name)
	}
	return t.Execute(w, Page{Lang: lang, Title: title, Path: path, Languages: []string{"ca", "es", "en"}, Data: data})
}

// WriteHTML sends a page body with the headers Render sends. The length
// goes in Content-Length: a page is whole before it is sent, and without
// the header net/http sends it chunked, in one more write to the socket.
func WriteHTML(w http.ResponseWriter, lang string, status int, body ...[]byte) {
	n := 0
	for _, b := range body {
		n += len(b)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(status)
	for _, b := range body {
		_, _ = w.Write(b)
	}
}

type errUnknownPage string

func (e errUnknownPage) Error() string { return "web: no page template " + string(e) }

// Mount adds the static assets and the home page.
func Mount(srv *httpserver.Server, r *Renderer) {
	sub, _ := fs.Sub(staticFiles, "static")
	srv.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	srv.HandleFunc("GET /{$}", func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, http.StatusOK, "home.html", "home.title", nil)
	})
}
