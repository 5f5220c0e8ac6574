package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/clau-eid/clau/internal/broker"
)

// What Clau reads from an authorization request beyond what the library
// parses: the claims parameter (OIDC Core section 5.5), whose acr member
// asks for levels like acr_values, and, when marked essential, must be
// met or the request fails.

// claimsRequest is the part of the claims parameter Clau uses.
type claimsRequest struct {
	IDToken  map[string]*claimAsk `json:"id_token"`
	Userinfo map[string]*claimAsk `json:"userinfo"`
}

type claimAsk struct {
	Essential bool     `json:"essential"`
	Value     string   `json:"value"`
	Values    []string `json:"values"`
}

// requestExtras travel in the request's context from authorize to
// CreateAuthRequest.
type requestExtras struct {
	acr          []string // the acr values asked in claims
	acrEssential bool
	err          error
}

type extrasKey struct{}

func parseExtras(r *http.Request) requestExtras {
	raw := r.Form.Get("claims")
	if raw == "" {
		return requestExtras{}
	}
	var cr claimsRequest
	if err := json.Unmarshal([]byte(raw), &cr); err != nil {
		return requestExtras{err: errors.New("the claims parameter is not a JSON object as OIDC Core 5.5 describes")}
	}
	var ex requestExtras
	for _, m := range []map[string]*claimAsk{cr.IDToken, cr.Userinfo} {
		if a := m["acr"]; a != nil {
			if a.Value != "" {
				ex.acr = append(ex.acr, a.Value)
			}
			ex.acr = append(ex.acr, a.Values...)
			ex.acrEssential = ex.acrEssential || a.Essential
		}
	}
	return ex
}

func extrasFrom(ctx context.Context) requestExtras {
	ex, _ := ctx.Value(extrasKey{}).(requestExtras)
	return ex
}

// lowestLoA is the least level among values (minimum semantics: the
// service accepts any level it lists); unknown values are ignored.
func lowestLoA(values []string) (broker.LoA, bool) {
	var low broker.LoA
	for _, v := range values {
		if l, ok := broker.ParseLoA(v); ok && (low == "" || low.AtLeast(l)) {
			low = l
		}
	}
	return low, low != ""
}

// errUnmet is the error of a request whose level no allowed method
// reaches (OpenID Connect Core Unmet Authentication Requirements 1.0).
func errUnmet(desc string) *oidc.Error {
	return &oidc.Error{ErrorType: "unmet_authentication_requirements", Description: desc}
}

// requestLoA is the level a request needs: the client's minimum, raised by
// acr_values and by the claims parameter's acr, and whether some method
// the client allows can reach it.
func (p *Provider) requestLoA(c *client, acrValues []string, ex requestExtras) (broker.LoA, *oidc.Error) {
	need := c.minLoA
	if l, ok := lowestLoA(acrValues); ok && l.AtLeast(need) {
		need = l
	}
	if len(ex.acr) > 0 {
		l, ok := lowestLoA(ex.acr)
		switch {
		case !ok && ex.acrEssential:
			return "", errUnmet("none of the essential acr values is a level Clau knows (use the eIDAS LoA URIs)")
		case ok && l.AtLeast(need):
			need = l
		}
	}
	if reach := p.reach(c); !reach.AtLeast(need) {
		return "", errUnmet("no sign-in method this service allows reaches " + need.URI())
	}
	return need, nil
}

// allowedMethods are the methods both offered and allowed to the client.
func (p *Provider) allowedMethods(c *client) []string {
	var out []string
	for _, m := range broker.KnownMethods {
		if _, offered := p.Methods[m]; offered && (len(c.methods) == 0 || slices.Contains(c.methods, m)) {
			out = append(out, m)
		}
	}
	return out
}

// reach is the highest level a method the client allows reaches.
func (p *Provider) reach(c *client) broker.LoA {
	var best broker.LoA
	for _, m := range p.allowedMethods(c) {
		if l := p.Methods[m]; best == "" || l.AtLeast(best) {
			best = l
		}
	}
	return best
}
