package saml

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// Service providers registered at run time (`clau sp`), next to those in
// config's saml_sps. They live in one flow of kind registryKind with a far
// expiry, read by every process (cached for registryTTL), so an SP added
// from the command line is served by every process without a restart.
// (A table of its own belongs in migration 00008 once the migrations
// before it have landed; the flow keeps the same records.)
const (
	registryKind = "saml_sp_registry"
	registryID   = "saml-sps-v1"
	registryTTL  = 5 * time.Second
	registryLife = 100 * 365 * 24 * time.Hour
)

// Registered is an SP registered at run time.
type Registered struct {
	EntityID            string     `json:"entity_id"`
	Metadata            string     `json:"metadata"`               // the XML, as read or last fetched
	MetadataURL         string     `json:"metadata_url,omitempty"` // refetched by Refresh
	MetadataSigningCert string     `json:"metadata_signing_cert,omitempty"`
	MinLoA              broker.LoA `json:"min_loa,omitempty"`
	Methods             []string   `json:"methods,omitempty"`
	AllowSHA1           bool       `json:"allow_sha1,omitempty"`
	AddedAt             time.Time  `json:"added_at"`
	AddedBy             string     `json:"added_by"`
}

// Registry manages the SPs registered at run time.
type Registry struct {
	Store      store.Store
	HTTPClient *http.Client
	Now        func() time.Time
}

func (r *Registry) now() time.Time {
	if r.Now == nil {
		return time.Now().UTC()
	}
	return r.Now().UTC()
}

func (r *Registry) load(ctx context.Context) ([]Registered, *store.Flow, error) {
	f, err := r.Store.FlowByID(ctx, registryKind, registryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	var list []Registered
	if err := json.Unmarshal(f.Data, &list); err != nil {
		return nil, nil, fmt.Errorf("saml sp registry: %w", err)
	}
	return list, f, nil
}

// List returns the registered SPs, in the order they were added.
func (r *Registry) List(ctx context.Context) ([]Registered, error) {
	list, _, err := r.load(ctx)
	return list, err
}

// Add registers an SP from its metadata (reg.Metadata, or fetched from
// reg.MetadataURL), replacing an earlier registration of the same entity.
// The metadata is checked as the IdP reads it; a bad one is refused.
func (r *Registry) Add(ctx context.Context, reg Registered, actor string) (*SP, error) {
	if reg.Metadata == "" && reg.MetadataURL != "" {
		c := &IdP{Deps: Deps{HTTPClient: r.HTTPClient}}
		if c.HTTPClient == nil {
			c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
		}
		b, err := c.fetch(ctx, reg.MetadataURL)
		if err != nil {
			return nil, err
		}
		reg.Metadata = string(b)
	}
	if reg.MinLoA != "" && !reg.MinLoA.Valid() {
		return nil, fmt.Errorf("min_loa %q is not low, substantial or high", reg.MinLoA)
	}
	for _, m := range reg.Methods {
		if !slices.Contains(broker.KnownMethods, m) {
			return nil, fmt.Errorf("method %q is not one of %v", m, broker.KnownMethods)
		}
	}
	sp, err := reg.parse(r.now())
	if err != nil {
		return nil, err
	}
	reg.EntityID, reg.AddedAt, reg.AddedBy = sp.EntityID, r.now(), actor
	err = r.update(ctx, func(list []Registered) []Registered {
		list = slices.DeleteFunc(list, func(x Registered) bool { return x.EntityID == reg.EntityID })
		return append(list, reg)
	})
	if err != nil {
		return nil, err
	}
	return sp, audit.Append(ctx, r.Store, &audit.Event{At: r.now(), Actor: actor, Action: "saml.sp_add",
		Subject: "sp:" + sp.EntityID, Outcome: "ok", Details: map[string]string{"min_loa": string(sp.MinLoA),
			"signed_requests": fmt.Sprint(sp.AuthnRequestsSigned), "encrypts": fmt.Sprint(sp.EncryptionCert != nil)}})
}

// Remove unregisters an SP; store.ErrNotFound when it is not registered.
func (r *Registry) Remove(ctx context.Context, entityID, actor string) error {
	found := false
	err := r.update(ctx, func(list []Registered) []Registered {
		n := len(list)
		list = slices.DeleteFunc(list, func(x Registered) bool { return x.EntityID == entityID })
		found = len(list) < n
		return list
	})
	if err != nil {
		return err
	}
	if !found {
		return store.ErrNotFound
	}
	return audit.Append(ctx, r.Store, &audit.Event{At: r.now(), Actor: actor, Action: "saml.sp_remove",
		Subject: "sp:" + entityID, Outcome: "ok"})
}

// update applies fn to the list, retrying when another process changed it.
func (r *Registry) update(ctx context.Context, fn func([]Registered) []Registered) error {
	for range 5 {
		list, f, err := r.load(ctx)
		if err != nil {
			return err
		}
		data, err := json.Marshal(fn(list))
		if err != nil {
			return err
		}
		if f == nil {
			err = r.Store.CreateFlow(ctx, &store.Flow{ID: registryID, Kind: registryKind, State: "active", Data: data,
				ExpiresAt: r.now().Add(registryLife)})
			var dup *store.DuplicateError
			if errors.As(err, &dup) {
				continue
			}
			return err
		}
		f.Data = data
		if err := r.Store.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
			continue
		} else {
			return err
		}
	}
	return errors.New("saml sp registry: changed five times while updating; try again")
}

// parse reads a registration as the IdP serves it.
func (reg *Registered) parse(now time.Time) (*SP, error) {
	var anchor *x509.Certificate
	if reg.MetadataSigningCert != "" {
		blk, _ := pem.Decode([]byte(reg.MetadataSigningCert))
		if blk == nil {
			return nil, errors.New("metadata signing certificate: no PEM certificate")
		}
		var err error
		if anchor, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return nil, fmt.Errorf("metadata signing certificate: %w", err)
		}
	}
	sp, err := parseSPMetadata([]byte(reg.Metadata), anchor, now)
	if err != nil {
		return nil, err
	}
	sp.MinLoA, sp.Methods, sp.AllowSHA1 = reg.MinLoA, slices.Clone(reg.Methods), reg.AllowSHA1
	if !sp.MinLoA.Valid() {
		sp.MinLoA = broker.Low
	}
	return sp, nil
}

// registered is the IdP's cached view of the registry.
type registered struct {
	at  time.Time
	sps map[string]*SP
}

// registeredSP looks an entity up among the SPs registered at run time,
// reading the registry again when the cache is older than registryTTL.
func (p *IdP) registeredSP(ctx context.Context, entityID string) *SP {
	p.mu.RLock()
	c := p.reg
	p.mu.RUnlock()
	if c == nil || p.now().Sub(c.at) > registryTTL {
		list, _, err := (&Registry{Store: p.Store}).load(ctx)
		if err != nil {
			p.Log.Error("saml: reading the SP registry", "error", err.Error())
			if c == nil {
				return nil
			}
		} else {
			c = &registered{at: p.now(), sps: map[string]*SP{}}
			for _, reg := range list {
				sp, err := reg.parse(p.now())
				if err != nil {
					p.Log.Warn("saml: a registered SP's metadata no longer reads", "sp", reg.EntityID, "error", err.Error())
					continue
				}
				c.sps[sp.EntityID] = sp
			}
			p.mu.Lock()
			p.reg = c
			p.mu.Unlock()
		}
	}
	return c.sps[entityID]
}

// refreshRegistered fetches again the metadata of SPs registered by URL
// and keeps what changed and still reads; a failed fetch keeps the last
// good copy and is logged.
func (p *IdP) refreshRegistered(ctx context.Context) {
	r := &Registry{Store: p.Store, HTTPClient: p.HTTPClient, Now: p.Now}
	list, err := r.List(ctx)
	if err != nil {
		p.Log.Warn("saml: reading the SP registry", "error", err.Error())
		return
	}
	for _, reg := range list {
		if reg.MetadataURL == "" {
			continue
		}
		b, err := p.fetch(ctx, reg.MetadataURL)
		if err == nil && string(b) != reg.Metadata {
			fresh := reg
			fresh.Metadata = string(b)
			var sp *SP
			if sp, err = fresh.parse(p.now()); err == nil && sp.EntityID != reg.EntityID {
				err = fmt.Errorf("the entity ID changed to %q", sp.EntityID)
			}
			if err == nil {
				err = r.update(ctx, func(list []Registered) []Registered {
					for i := range list {
						if list[i].EntityID == reg.EntityID && list[i].MetadataURL == reg.MetadataURL {
							list[i].Metadata = fresh.Metadata
						}
					}
					return list
				})
			}
		}
		if err != nil {
			p.Log.Warn("saml: metadata refresh failed; keeping the last good one", "sp", reg.EntityID,
				"url", reg.MetadataURL, "error", err.Error())
		}
	}
}
