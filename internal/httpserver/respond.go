package httpserver

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/clau-eid/clau/internal/problem"
)

var errTooLarge = problem.New(http.StatusRequestEntityTooLarge, "request.too_large")

// LangCookie holds the reader's explicit language choice.
const LangCookie = "clau_lang"

// Lang returns the language for r: ?lang=, then the cookie, then
// Accept-Language.
func (s *Server) Lang(r *http.Request) string {
	choice := r.URL.Query().Get("lang")
	if choice == "" {
		if c, err := r.Cookie(LangCookie); err == nil {
			choice = c.Value
		}
	}
	return s.catalog.Match(choice, r.Header.Get("Accept-Language"))
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ProblemBody is the RFC 9457 problem+json body Clau's APIs return.
type ProblemBody struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Code      string         `json:"code"`
	Fields    []ProblemField `json:"fields,omitempty"`
	RequestID string         `json:"request_id"`
}

// ProblemField is one input at fault, with its message translated.
type ProblemField struct {
	Name    string `json:"name"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError answers with err as problem+json in the reader's language.
// Errors that are not a *problem.Error are internal: logged with the
// request ID, shown only as "something went wrong" and the ID.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errTooLarge
	}
	p, ok := problem.As(err)
	if !ok {
		s.log.Error("internal error", "request_id", RequestID(r.Context()), "method", r.Method,
			"route", r.Pattern, "error", err.Error())
		p = problem.New(http.StatusInternalServerError, "internal.error")
	} else if p.Cause != nil {
		s.log.Warn("request refused", "request_id", RequestID(r.Context()), "code", p.MsgID, "cause", p.Cause.Error())
	}
	lang := s.Lang(r)
	body := ProblemBody{Type: "about:blank", Title: s.catalog.T(lang, p.MsgID, nil), Status: p.Status,
		Code: p.MsgID, RequestID: RequestID(r.Context())}
	if body.Status == 0 {
		body.Status = http.StatusInternalServerError
	}
	for _, f := range p.Fields {
		body.Fields = append(body.Fields, ProblemField{Name: f.Name, Code: f.MsgID, Message: s.catalog.T(lang, f.MsgID, f.Args)})
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(body.Status)
	_ = json.NewEncoder(w).Encode(body)
}
