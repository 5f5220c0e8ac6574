package letters

import (
	"embed"
	"net/http"
	"strconv"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Pages serves the letter request pages.
type Pages struct {
	reg      *registration.Service
	srv      *httpserver.Server
	renderer *web.Renderer
}

// New parses the templates.
func New(reg *registration.Service, srv *httpserver.Server, r *web.Renderer) (*Pages, error) {
	if err := r.AddPages(templates, "templates/*.html"); err != nil {
		return nil, err
	}
	return &Pages{reg: reg, srv: srv, renderer: r}, nil
}

// Mount registers the routes.
func (p *Pages) Mount() {
	p.srv.HandleFunc("GET /register/letter", p.request)
	p.srv.HandleFunc("POST /register/letter", p.request)
}

type formView struct {
	Form      *web.Form
	Languages []string
	Language  string
}

func (p *Pages) request(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !p.reg.LettersEnabled() {
		// letters.enabled is off: the home page's link says where to go.
		p.srv.WriteError(w, r, registration.ErrLettersOff)
		return
	}
	lang := p.srv.Lang(r)
	form := web.NewForm(nil)
	status := http.StatusOK
	chosen := lang
	if r.Method == http.MethodPost {
		in := map[string]string{}
		for _, k := range []string{"document", "check", "mobile", "email", "language"} {
			in[k] = r.PostFormValue(k)
		}
		form = web.NewForm(in)
		chosen = in["language"]
		err := p.reg.RequestLetter(r.Context(), registration.LetterRequest{Document: in["document"], Check: in["check"],
			Email: in["email"], Mobile: in["mobile"], Language: in["language"], Source: httpserver.ClientIP(r.Context())})
		if err == nil {
			p.renderer.Render(w, r, http.StatusOK, "letters_requested.html", "letter.done_title", nil)
			return
		}
		if _, ok := problem.As(err); !ok {
			p.srv.WriteError(w, r, err)
			return
		}
		form.Fail(p.srv.Catalog(), lang, err)
		status = problem.Status(err)
		if pe, _ := problem.As(err); pe.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfter(pe))
		}
	}
	p.renderer.Render(w, r, status, "letters_request.html", "letter.title",
		formView{Form: form, Languages: []string{"ca", "es", "en"}, Language: chosen})
}

func retryAfter(p *problem.Error) string {
	return strconv.Itoa(max(1, int(p.RetryAfter.Seconds())))
}
