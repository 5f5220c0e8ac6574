package saml

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// The admin API for SAML service providers mirrors `clau sp`:
//
//	GET    /api/admin/v1/saml/sps                  the registered SPs
//	POST   /api/admin/v1/saml/sps                  register (or replace) one
//	DELETE /api/admin/v1/saml/sps?entity_id=…      remove one
//
// Requests carry an admin officer's desk API token (the guard is given by
// the caller, so this package knows nothing of officers).
const adminPath = "/api/admin/v1/saml/sps"

var (
	errAPIMalformed = problem.New(http.StatusBadRequest, "saml.api.malformed")
	errAPIMetadata  = problem.New(http.StatusUnprocessableEntity, "saml.api.metadata")
	errAPIUnknown   = problem.New(http.StatusNotFound, "saml.api.unknown")
)

// apiSP is an SP as the admin API shows and takes it.
type apiSP struct {
	EntityID            string    `json:"entity_id,omitempty"`
	Metadata            string    `json:"metadata,omitempty"`
	MetadataURL         string    `json:"metadata_url,omitempty"`
	MetadataSigningCert string    `json:"metadata_signing_cert,omitempty"`
	MinLoA              string    `json:"min_loa,omitempty"`
	Methods             []string  `json:"methods,omitempty"`
	AllowSHA1           bool      `json:"allow_sha1,omitempty"`
	AddedAt             time.Time `json:"added_at,omitzero"`
	AddedBy             string    `json:"added_by,omitempty"`
}

// MountAdminAPI registers the admin endpoints behind guard.
func (r *Registry) MountAdminAPI(srv *httpserver.Server, guard func(func(http.ResponseWriter, *http.Request, string)) http.Handler) {
	srv.Handle("GET "+adminPath, guard(func(w http.ResponseWriter, req *http.Request, _ string) {
		list, err := r.List(req.Context())
		if err != nil {
			srv.WriteError(w, req, err)
			return
		}
		out := []apiSP{}
		for _, x := range list {
			out = append(out, apiSP{EntityID: x.EntityID, MetadataURL: x.MetadataURL, MinLoA: string(x.MinLoA),
				Methods: x.Methods, AllowSHA1: x.AllowSHA1, AddedAt: x.AddedAt, AddedBy: x.AddedBy})
		}
		httpserver.WriteJSON(w, http.StatusOK, out)
	}))
	srv.Handle("POST "+adminPath, guard(func(w http.ResponseWriter, req *http.Request, actor string) {
		var in apiSP
		dec := json.NewDecoder(io.LimitReader(req.Body, maxMetadataBytes+64<<10))
		dec.DisallowUnknownFields()
		if !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") || dec.Decode(&in) != nil ||
			(in.Metadata == "") == (in.MetadataURL == "") {
			srv.WriteError(w, req, errAPIMalformed)
			return
		}
		loa := broker.LoA("")
		if in.MinLoA != "" {
			l, ok := broker.ParseLoA(in.MinLoA)
			if !ok {
				srv.WriteError(w, req, problem.Invalid(problem.Field{Name: "min_loa", MsgID: "saml.api.min_loa"}))
				return
			}
			loa = l
		}
		sp, err := r.Add(req.Context(), Registered{Metadata: in.Metadata, MetadataURL: in.MetadataURL,
			MetadataSigningCert: in.MetadataSigningCert, MinLoA: loa, Methods: in.Methods, AllowSHA1: in.AllowSHA1}, actor)
		if err != nil {
			e := errAPIMetadata.Wrap(err)
			e.Fields = []problem.Field{{Name: "metadata", MsgID: "saml.api.metadata_reason", Args: map[string]any{"Reason": err.Error()}}}
			srv.WriteError(w, req, e)
			return
		}
		httpserver.WriteJSON(w, http.StatusCreated, apiSP{EntityID: sp.EntityID, MinLoA: string(sp.MinLoA),
			Methods: sp.Methods, AllowSHA1: sp.AllowSHA1, AddedBy: actor})
	}))
	srv.Handle("DELETE "+adminPath, guard(func(w http.ResponseWriter, req *http.Request, actor string) {
		err := r.Remove(req.Context(), req.URL.Query().Get("entity_id"), actor)
		if errors.Is(err, store.ErrNotFound) {
			srv.WriteError(w, req, errAPIUnknown)
			return
		} else if err != nil {
			srv.WriteError(w, req, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}
