package demosp

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// ClientID is the demo service's client ID.
const ClientID = "ajuntament-demo"

// Path is where the demo service lives.
const Path = "/demo-sp/"

// Service is the demo relying party.
type Service struct {
	issuer, base, secret string
	srv                  *httpserver.Server
	r                    *web.Renderer

	once     sync.Once
	provider *gooidc.Provider
	err      error
}

// New returns the demo service for an issuer (Clau's public URL) with its
// client secret.
func New(issuer, secret string, srv *httpserver.Server, r *web.Renderer) (*Service, error) {
	if err := r.AddPages(templates, "templates/*.html"); err != nil {
		return nil, err
	}
	return &Service{issuer: issuer, base: issuer + Path, secret: secret, srv: srv, r: r}, nil
}

// RedirectURI is the demo service's callback.
func RedirectURI(issuer string) string { return issuer + Path + "callback" }

// Mount registers the routes.
func (s *Service) Mount() {
	s.srv.HandleFunc("GET "+Path+"{$}", s.home)
	s.srv.HandleFunc("GET "+Path+"login", s.login)
	s.srv.HandleFunc("GET "+Path+"callback", s.callback)
}

// oauth discovers Clau lazily: at start-up the server is not answering yet.
func (s *Service) oauth(ctx context.Context) (*gooidc.Provider, *oauth2.Config, error) {
	s.once.Do(func() { s.provider, s.err = gooidc.NewProvider(context.WithoutCancel(ctx), s.issuer) })
	if s.err != nil {
		err := s.err
		s.once = sync.Once{} // try again next time
		return nil, nil, err
	}
	return s.provider, &oauth2.Config{ClientID: ClientID, ClientSecret: s.secret, Endpoint: s.provider.Endpoint(),
		RedirectURL: RedirectURI(s.issuer), Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "phone"}}, nil
}

func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	s.r.Render(w, r, http.StatusOK, "demosp_home.html", "demosp.title", nil)
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type pending struct {
	State, Nonce, Verifier string
}

const cookie = "demosp_pending"

func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	_, conf, err := s.oauth(r.Context())
	if err != nil {
		s.srv.WriteError(w, r, err)
		return
	}
	p := pending{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	v, _ := json.Marshal(p)
	http.SetCookie(w, &http.Cookie{Name: cookie, Value: base64.RawURLEncoding.EncodeToString(v), Path: Path,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 900, Secure: r.TLS != nil})
	loa := "low"
	if r.URL.Query().Get("loa") == "substantial" {
		loa = "substantial"
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier),
		oauth2.SetAuthURLParam("acr_values", "http://eidas.europa.eu/LoA/"+loa)}
	if r.URL.Query().Get("fresh") == "1" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	http.Redirect(w, r, conf.AuthCodeURL(p.State, opts...), http.StatusFound)
}

// Claim is one claim to show.
type Claim struct{ Name, Value string }

func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	provider, conf, err := s.oauth(ctx)
	if err != nil {
		s.srv.WriteError(w, r, err)
		return
	}
	var p pending
	if c, err := r.Cookie(cookie); err == nil {
		if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			_ = json.Unmarshal(raw, &p)
		}
	}
	show := func(status int, errText string, claims []Claim) {
		s.r.Render(w, r, status, "demosp_result.html", "demosp.title", struct {
			Error  string
			Claims []Claim
		}{errText, claims})
	}
	if e := r.URL.Query().Get("error"); e != "" {
		show(http.StatusOK, e+": "+r.URL.Query().Get("error_description"), nil)
		return
	}
	if p.State == "" || r.URL.Query().Get("state") != p.State {
		show(http.StatusBadRequest, "state mismatch", nil)
		return
	}
	tok, err := conf.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		show(http.StatusBadGateway, "token exchange failed: "+err.Error(), nil)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: ClientID}).Verify(ctx, raw)
	if err != nil || idt.Nonce != p.Nonce {
		show(http.StatusBadGateway, "ID token rejected", nil)
		return
	}
	var all map[string]any
	_ = idt.Claims(&all)
	if ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		var more map[string]any
		if ui.Claims(&more) == nil {
			for k, v := range more {
				if _, ok := all[k]; !ok {
					all[k] = v
				}
			}
		}
	}
	var claims []Claim
	for k, v := range all {
		b, _ := json.Marshal(v)
		claims = append(claims, Claim{k, string(b)})
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i].Name < claims[j].Name })
	http.SetCookie(w, &http.Cookie{Name: cookie, Value: "", Path: Path, MaxAge: -1})
	show(http.StatusOK, "", claims)
}
