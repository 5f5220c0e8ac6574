package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/browsertest"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/web"
)

type ready struct{}

func (ready) Ping(context.Context) error { return nil }

// startServer runs the real stack (middleware, CSP, cross-origin
// protection, renderer, home page) on 127.0.0.1, with extra test-only
// pages from mount.
func startServer(t *testing.T, mount func(*httpserver.Server)) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := httpserver.New(httpserver.Options{MaxBodyBytes: 64 << 10, ShutdownTimeout: 5 * time.Second},
		log, i18n.MustLoad(), ready{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := web.NewRenderer(srv, log)
	if err != nil {
		t.Fatal(err)
	}
	web.Mount(srv, r)
	if mount != nil {
		mount(srv)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// checkHome checks that the home page is shown in lang.
func checkHome(t *testing.T, b *browsertest.Browser, cat *i18n.Catalog, lang string) {
	t.Helper()
	var got string
	b.Eval(t, `document.documentElement.lang`, &got)
	if got != lang {
		t.Errorf("<html lang=%q>, want %q", got, lang)
	}
	if h1, want := b.Text(t, "h1"), cat.T(lang, "home.title", nil); h1 != want {
		t.Errorf("h1 = %q, want %q", h1, want)
	}
	b.Eval(t, `document.querySelector("nav a[aria-current]").hreflang`, &got)
	if got != lang {
		t.Errorf("the language link marked current is %q, want %q", got, lang)
	}
}

func TestHomeInEveryLanguage(t *testing.T) {
	base := startServer(t, nil)
	cat := i18n.MustLoad()
	b := browsertest.New(t)
	for _, lang := range []string{"ca", "es", "en"} {
		t.Run(lang, func(t *testing.T) {
			b.SetLanguage(t, lang+",en;q=0.1")
			b.Open(t, base+"/")
			checkHome(t, b, cat, lang)
			b.AssertAccessible(t)
		})
	}
	t.Run("screenshot", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shots", "home.png")
		if dir := os.Getenv("CLAU_SCREENSHOTS"); dir != "" {
			path = filepath.Join(dir, "home.png") // to look at it
		}
		b.Screenshot(t, path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("the screenshot is not a PNG (%d bytes): %v", len(data), err)
		}
		if cfg.Width < 100 || cfg.Height < 100 {
			t.Fatalf("the screenshot is %dx%d", cfg.Width, cfg.Height)
		}
	})
}

func TestLanguageLinksSwitchAndTheChoiceSticks(t *testing.T) {
	base := startServer(t, nil)
	cat := i18n.MustLoad()
	b := browsertest.New(t)
	b.SetLanguage(t, "ca")
	b.Open(t, base+"/")
	checkHome(t, b, cat, "ca")

	for _, lang := range []string{"en", "es"} {
		link := fmt.Sprintf(`nav a[hreflang=%q]`, lang)
		if got, want := b.Text(t, link), cat.T(lang, "layout.lang_name", nil); got != want {
			t.Fatalf("link %s reads %q, want %q", link, got, want)
		}
		b.Click(t, link)
		if got, want := b.URL(t), base+"/?lang="+lang; got != want {
			t.Errorf("after clicking %s the URL is %s, want %s", link, got, want)
		}
		checkHome(t, b, cat, lang)
		b.AssertAccessible(t)

		// Accept-Language still says Catalan: the cookie wins.
		b.Open(t, base+"/")
		checkHome(t, b, cat, lang)
	}
}

// testPages mounts pages for the helpers' own tests.
func testPages(srv *httpserver.Server) {
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, body)
		}
	}
	srv.HandleFunc("GET /bt/form", page(`<!doctype html><html lang="en"><head><title>Form</title></head><body><main>
<h1>Form</h1>
<form method="post" action="/bt/echo">
<label for="name">Name</label> <input id="name" name="name" maxlength="8">
<label for="lang">Language</label> <select id="lang" name="lang"><option value="ca">Català</option><option value="en">English</option></select>
<button type="submit" name="action" value="go">Send</button>
</form>
<p><a id="down" href="#end">Down</a></p>
<p id="end" style="margin-top:2000px">End</p>
</main></body></html>`))
	srv.HandleFunc("POST /bt/echo", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Echo</title></head><body><main><h1>Echo</h1><p id="got">%s</p></main></body></html>`,
			html.EscapeString(fmt.Sprintf("name=%s lang=%s action=%s", r.PostForm.Get("name"), r.PostForm.Get("lang"), r.PostForm.Get("action"))))
	})
	// No lang, an image without alt text, a field without a label, and an
	// inline script that the CSP must block.
	srv.HandleFunc("GET /bt/bad", page(`<!doctype html><html><head><title>Bad</title></head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input type="text" name="q"></form>
<script>document.title = "script ran"</script>
</body></html>`))
}

// TestHelpers checks the helpers and axe against test pages served by the
// real stack, in one browser.
func TestHelpers(t *testing.T) {
	base := startServer(t, testPages)
	b := browsertest.New(t)
	t.Run("form", func(t *testing.T) { testForm(t, b, base) })
	t.Run("axe despite the CSP", func(t *testing.T) { testAxe(t, b, base) })
}

func testForm(t *testing.T, b *browsertest.Browser, base string) {

	b.Open(t, base+"/bt/form")
	b.Fill(t, "#name", "Núria")
	b.Fill(t, "#lang", "en")
	b.Click(t, `button[type="submit"]`)
	if got, want := b.URL(t), base+"/bt/echo"; got != want {
		t.Errorf("after the click the URL is %s, want %s", got, want)
	}
	if got, want := b.Text(t, "#got"), "name=Núria lang=en action=go"; got != want {
		t.Errorf("echo = %q, want %q", got, want)
	}

	b.Open(t, base+"/bt/form")
	b.Fill(t, "#name", "Pau")
	b.Fill(t, "#name", "Jordi") // replaces, does not append
	b.Submit(t, "form")
	if got, want := b.Text(t, "#got"), "name=Jordi lang=ca action="; got != want {
		t.Errorf("echo = %q, want %q", got, want)
	}
	var title string
	b.Eval(t, `Promise.resolve(document.title)`, &title)
	if title != "Echo" {
		t.Errorf("title = %q, want Echo", title)
	}

	// A click that stays in the document returns without waiting for a
	// load that never comes.
	b.Open(t, base+"/bt/form")
	start := time.Now()
	b.Click(t, "#down")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a same-document click took %s", d)
	}
	if got := b.URL(t); !strings.HasSuffix(got, "/bt/form#end") {
		t.Errorf("after the fragment click the URL is %s", got)
	}
	b.WaitVisible(t, "#end")
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func testAxe(t *testing.T, b *browsertest.Browser, base string) {
	b.Open(t, base+"/bt/bad")

	var title string
	b.Eval(t, `document.title`, &title)
	if title != "Bad" {
		t.Fatalf("the inline script ran (title %q): the CSP is not in force, so this test proves nothing", title)
	}

	found := map[string]string{}
	for _, v := range b.Axe(t) {
		found[v.ID] = v.Impact
		if len(v.Nodes) == 0 || len(v.Nodes[0].Target) == 0 {
			t.Errorf("violation %s names no element", v.ID)
		}
	}
	for id, impact := range map[string]string{"html-has-lang": "serious", "image-alt": "critical", "label": "critical"} {
		if found[id] != impact {
			t.Errorf("axe found %s with impact %q, want %q (all: %v)", id, found[id], impact, found)
		}
	}

	rec := &recorder{TB: t}
	b.AssertAccessible(rec)
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "image-alt") || !strings.Contains(rec.errors[0], "/bt/bad") {
		t.Errorf("AssertAccessible reported %q, want one failure naming image-alt and the page", rec.errors)
	}
}
