package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// The admin API for OpenID Connect services mirrors `clau sp oidc`:
//
//	GET    /api/admin/v1/oidc/clients        every client, config and database ones, with source
//	GET    /api/admin/v1/oidc/clients/{id}   one client
//	POST   /api/admin/v1/oidc/clients        register one; 201 with the secret, shown once
//	DELETE /api/admin/v1/oidc/clients/{id}   remove a registered one
//
// Requests carry an admin officer's desk API token (the guard is given by
// the caller, so this package knows nothing of officers). Secrets are
// never shown but once, in the answer to the POST that generated them.
// Every call, answered or refused, is audited with the officer as actor.
const adminClientsPath = "/api/admin/v1/oidc/clients"

// maxAdminBody bounds a registration (a JWK set is the largest member).
const maxAdminBody = 256 << 10

var (
	errAPIMalformed = problem.New(http.StatusBadRequest, "oidc.api.malformed")
	errAPIUnknown   = problem.New(http.StatusNotFound, "oidc.api.unknown")
	errAPIConfig    = problem.New(http.StatusConflict, "oidc.api.config_client")
)

// Client sources in the API.
const (
	SourceConfig   = "config"
	SourceDatabase = "database"
)

// APIClient is an OpenID Connect client as the admin API shows and takes
// it: the settings of `clau sp oidc add`, with the names of config's
// oidc_clients keys.
type APIClient struct {
	ID                      string          `json:"id"`
	Name                    string          `json:"name,omitempty"`   // shown on the sign-in pages
	Source                  string          `json:"source,omitempty"` // shown only
	RedirectURIs            []string        `json:"redirect_uris"`
	MinLoA                  string          `json:"min_loa,omitempty"`
	Methods                 []string        `json:"methods,omitempty"`
	Public                  bool            `json:"public,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"` // a JWK set object (or a string holding one)
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	RequirePAR              bool            `json:"require_par,omitempty"`
	BackchannelLogoutURI    string          `json:"backchannel_logout_uri,omitempty"`
	Scopes                  []string        `json:"scopes,omitempty"`
	SubjectType             string          `json:"subject_type,omitempty"`
	SectorIdentifier        string          `json:"sector_identifier,omitempty"`
	AccessTokenFormat       string          `json:"access_token_format,omitempty"`
	IDTokenAlg              string          `json:"id_token_signed_response_alg,omitempty"`
	// RegisteredAt is when a database client was registered (shown only).
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	// ClientSecret is set only in the answer to a registration, once.
	ClientSecret string `json:"client_secret,omitempty"`
}

func apiClient(cc ClientConfig, source string) APIClient {
	a := APIClient{ID: cc.ID, Name: cc.Name, Source: source, RedirectURIs: cc.RedirectURIs, MinLoA: string(cc.MinLoA),
		Methods: cc.Methods, Public: cc.Public, TokenEndpointAuthMethod: cc.AuthMethod, JWKSURI: cc.JWKSURI,
		RequirePAR: cc.RequirePAR, BackchannelLogoutURI: cc.BackchannelLogoutURI, Scopes: cc.Scopes,
		SubjectType: cc.SubjectType, SectorIdentifier: cc.SectorIdentifier, AccessTokenFormat: "opaque",
		IDTokenAlg: cc.IDTokenAlg}
	if a.MinLoA == "" {
		a.MinLoA = string(broker.Low)
	}
	if a.IDTokenAlg == "" {
		a.IDTokenAlg = DefaultAlg
	}
	if a.SubjectType == "" {
		a.SubjectType = "pairwise"
	}
	if cc.JWTAccessTokens {
		a.AccessTokenFormat = "jwt"
	}
	if cc.JWKS != "" && json.Valid([]byte(cc.JWKS)) {
		a.JWKS = json.RawMessage(cc.JWKS)
	}
	if a.RedirectURIs == nil {
		a.RedirectURIs = []string{}
	}
	return a
}

// storedAPIClient shows a client registered in the store.
func storedAPIClient(rec store.OIDCClientRecord) (APIClient, error) {
	var cc ClientConfig
	if err := json.Unmarshal(rec.Settings, &cc); err != nil {
		return APIClient{}, fmt.Errorf("oidc: client %s settings: %w", rec.ID, err)
	}
	cc.ID, cc.Secret = rec.ID, ""
	a := apiClient(cc, SourceDatabase)
	a.RegisteredAt = rec.CreatedAt
	return a, nil
}

// config turns a registration into settings, checking each member and
// naming every one at fault.
func (a APIClient) config(configIDs []string) (ClientConfig, []problem.Field) {
	var bad []problem.Field
	field := func(name, msgID string, args map[string]any) {
		bad = append(bad, problem.Field{Name: name, MsgID: msgID, Args: args})
	}
	cc := ClientConfig{ID: a.ID, Name: a.Name, RedirectURIs: a.RedirectURIs, Methods: a.Methods, Public: a.Public,
		AuthMethod: a.TokenEndpointAuthMethod, JWKSURI: a.JWKSURI, RequirePAR: a.RequirePAR,
		BackchannelLogoutURI: a.BackchannelLogoutURI, Scopes: a.Scopes, SubjectType: a.SubjectType,
		SectorIdentifier: a.SectorIdentifier, IDTokenAlg: a.IDTokenAlg}
	switch {
	case strings.TrimSpace(a.ID) == "":
		field("id", "oidc.api.id_missing", nil)
	case len(a.ID) > 200 || strings.ContainsFunc(a.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		field("id", "oidc.api.id_form", nil)
	case slices.Contains(configIDs, a.ID):
		field("id", "oidc.api.id_config", map[string]any{"ID": a.ID})
	}
	if len(a.RedirectURIs) == 0 {
		field("redirect_uris", "oidc.api.redirect_missing", nil)
	}
	for _, u := range a.RedirectURIs {
		if !redirectURIOK(u) {
			field("redirect_uris", "oidc.api.redirect_uri", map[string]any{"URI": u})
		}
	}
	switch loa, ok := broker.ParseLoA(a.MinLoA); {
	case a.MinLoA == "":
		cc.MinLoA = broker.Low
	case !ok:
		field("min_loa", "oidc.api.min_loa", map[string]any{"Value": a.MinLoA})
	default:
		cc.MinLoA = loa
	}
	for _, m := range a.Methods {
		if !slices.Contains(broker.KnownMethods, m) {
			field("methods", "oidc.api.method", map[string]any{"Value": m, "Known": strings.Join(broker.KnownMethods, ", ")})
		}
	}
	for _, s := range a.Scopes {
		if s != oidc.ScopeOpenID && !slices.Contains(defaultScopes, s) && !slices.Contains(extraScopes, s) {
			field("scopes", "oidc.api.scope", map[string]any{"Value": s})
		}
	}
	switch a.TokenEndpointAuthMethod {
	case "", MethodSecretBasic, MethodSecretPost, MethodPrivateKey, MethodNone:
	default:
		field("token_endpoint_auth_method", "oidc.api.auth_method", map[string]any{"Value": a.TokenEndpointAuthMethod})
	}
	switch a.SubjectType {
	case "", "public":
	case "pairwise":
		cc.SubjectType = ""
	default:
		field("subject_type", "oidc.api.subject_type", map[string]any{"Value": a.SubjectType})
	}
	switch a.AccessTokenFormat {
	case "", "opaque":
	case "jwt":
		cc.JWTAccessTokens = true
	default:
		field("access_token_format", "oidc.api.access_token_format", map[string]any{"Value": a.AccessTokenFormat})
	}
	if j := bytes.TrimSpace(a.JWKS); len(j) > 0 && !bytes.Equal(j, []byte("null")) {
		var s string
		switch {
		case j[0] == '"' && json.Unmarshal(j, &s) == nil:
			cc.JWKS = s
		case j[0] == '{':
			cc.JWKS = string(j)
		default:
			field("jwks", "oidc.api.jwks", nil)
		}
	}
	return cc, bad
}

// settingsField names the member a settings error from ValidateClient is
// about, for the checks config() leaves to it.
func settingsField(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.HasPrefix(msg, "jwks_uri"):
		return "jwks_uri"
	case strings.Contains(msg, "jwks"):
		return "jwks"
	case strings.Contains(msg, "backchannel_logout_uri"):
		return "backchannel_logout_uri"
	case strings.Contains(msg, "sector_identifier"):
		return "sector_identifier"
	case strings.Contains(msg, "id_token_signed_response_alg"):
		return "id_token_signed_response_alg"
	case strings.Contains(msg, "subject_type"):
		return "subject_type"
	case strings.Contains(msg, "token_endpoint_auth_method"), strings.Contains(msg, "public client"),
		strings.Contains(msg, "has no secret"):
		return "token_endpoint_auth_method"
	case strings.Contains(msg, "redirect"):
		return "redirect_uris"
	case strings.Contains(msg, "scope"):
		return "scopes"
	case strings.Contains(msg, "method"):
		return "methods"
	}
	return "settings"
}

// MountAdminAPI registers the admin endpoints behind guard, which runs the
// handler only for an admin and gives it the actor to audit as.
func (p *Provider) MountAdminAPI(srv *httpserver.Server, guard func(func(http.ResponseWriter, *http.Request, string)) http.Handler) {
	srv.Handle("GET "+adminClientsPath, guard(p.apiList))
	srv.Handle("GET "+adminClientsPath+"/{id}", guard(p.apiShow))
	srv.Handle("POST "+adminClientsPath, guard(p.apiRegister))
	srv.Handle("DELETE "+adminClientsPath+"/{id}", guard(p.apiRemove))
}

func (p *Provider) configIDs() []string {
	ids := make([]string, 0, len(p.Clients))
	for _, c := range p.Clients {
		ids = append(ids, c.ID)
	}
	return ids
}

// apiRecord audits an admin call; a failure to audit fails the call.
func (p *Provider) apiRecord(r *http.Request, actor, action, id, outcome string, details map[string]string) error {
	e := &audit.Event{At: p.now(), Actor: actor, Action: action, Source: httpserver.ClientIP(r.Context()),
		Outcome: outcome, Details: details}
	if id != "" {
		e.Subject = "client:" + id
	}
	return audit.Append(r.Context(), p.Store, e)
}

// apiRefuse audits a refused call and answers with its problem.
func (p *Provider) apiRefuse(w http.ResponseWriter, r *http.Request, actor, action, id string, e *problem.Error) {
	d := map[string]string{"reason": e.MsgID}
	for _, f := range e.Fields {
		d["field."+f.Name] = f.MsgID
	}
	if err := p.apiRecord(r, actor, action, id, audit.Denied, d); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	p.Server.WriteError(w, r, e)
}

func (p *Provider) apiList(w http.ResponseWriter, r *http.Request, actor string) {
	out := []APIClient{}
	for _, c := range p.Clients {
		out = append(out, apiClient(c, SourceConfig))
	}
	recs, err := p.Store.ListOIDCClients(r.Context())
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	for _, rec := range recs {
		a, err := storedAPIClient(rec)
		if err != nil {
			p.Server.WriteError(w, r, err)
			return
		}
		out = append(out, a)
	}
	if err := p.apiRecord(r, actor, "oidc.client_list", "", audit.OK, nil); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

func (p *Provider) apiShow(w http.ResponseWriter, r *http.Request, actor string) {
	id := r.PathValue("id")
	var out APIClient
	if i := slices.IndexFunc(p.Clients, func(c ClientConfig) bool { return c.ID == id }); i >= 0 {
		out = apiClient(p.Clients[i], SourceConfig)
	} else {
		rec, err := p.Store.OIDCClientByID(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			p.apiRefuse(w, r, actor, "oidc.client_view", id, errAPIUnknown)
			return
		} else if err != nil {
			p.Server.WriteError(w, r, err)
			return
		}
		if out, err = storedAPIClient(*rec); err != nil {
			p.Server.WriteError(w, r, err)
			return
		}
	}
	if err := p.apiRecord(r, actor, "oidc.client_view", id, audit.OK, nil); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

func (p *Provider) apiRegister(w http.ResponseWriter, r *http.Request, actor string) {
	const action = "oidc.client_add"
	var in APIClient
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") || dec.Decode(&in) != nil || dec.More() ||
		in.Source != "" || in.ClientSecret != "" || !in.RegisteredAt.IsZero() {
		p.apiRefuse(w, r, actor, action, "", errAPIMalformed)
		return
	}
	cc, bad := in.config(p.configIDs())
	if len(bad) > 0 {
		p.apiRefuse(w, r, actor, action, in.ID, problem.Invalid(bad...))
		return
	}
	secret, err := RegisterClient(r.Context(), p.Store, p.Keyring, cc, nil)
	switch {
	case errors.Is(err, errDuplicateClient):
		p.apiRefuse(w, r, actor, action, cc.ID, problem.Invalid(problem.Field{Name: "id", MsgID: "oidc.api.id_taken",
			Args: map[string]any{"ID": cc.ID}}))
		return
	case errors.As(err, new(*settingsError)):
		p.apiRefuse(w, r, actor, action, cc.ID, problem.Invalid(problem.Field{Name: settingsField(err),
			MsgID: "oidc.api.settings", Args: map[string]any{"Reason": err.Error()}}).Wrap(err))
		return
	case err != nil:
		p.Server.WriteError(w, r, err)
		return
	}
	p.forget(cc.ID)
	details := map[string]string{"min_loa": string(cc.MinLoA), "redirect_uris": strings.Join(cc.RedirectURIs, " ")}
	if err := p.apiRecord(r, actor, action, cc.ID, audit.OK, details); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	out := apiClient(cc, SourceDatabase)
	if rec, err := p.Store.OIDCClientByID(r.Context(), cc.ID); err == nil {
		out.RegisteredAt = rec.CreatedAt
	}
	out.ClientSecret = secret
	httpserver.WriteJSON(w, http.StatusCreated, out)
}

func (p *Provider) apiRemove(w http.ResponseWriter, r *http.Request, actor string) {
	const action = "oidc.client_remove"
	id := r.PathValue("id")
	if slices.Contains(p.configIDs(), id) {
		p.apiRefuse(w, r, actor, action, id, errAPIConfig)
		return
	}
	err := p.Store.DeleteOIDCClient(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		p.apiRefuse(w, r, actor, action, id, errAPIUnknown)
		return
	} else if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	p.forget(id)
	if err := p.apiRecord(r, actor, action, id, audit.OK, nil); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// forget drops what this process cached about a client, so a change made
// through this process takes effect here at once (others within
// storedClientTTL).
func (p *Provider) forget(id string) {
	p.stored.mu.Lock()
	delete(p.stored.cache, id)
	p.stored.mu.Unlock()
}
