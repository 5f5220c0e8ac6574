package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// Services registered at run time (`clau sp oidc add`) live in the store as
// store.OIDCClientRecord: their settings as JSON (ClientConfig without the
// secret) and a keyring hash of the secret. Every process looks a client
// up there when config does not declare it, and keeps what it found (or
// did not) for storedClientTTL, so an added or removed service takes
// effect everywhere within that time.
const storedClientTTL = 30 * time.Second

type storedClients struct {
	mu    sync.Mutex
	cache map[string]storedEntry
}

type storedEntry struct {
	c  *client // nil: not in the store
	at time.Time
}

// lookup finds a client: config first, then the store.
func (p *Provider) lookup(ctx context.Context, id string) (*client, bool) {
	if c, ok := p.clients[id]; ok {
		return c, true
	}
	if id == "" {
		return nil, false
	}
	now := p.now()
	p.stored.mu.Lock()
	e, ok := p.stored.cache[id]
	p.stored.mu.Unlock()
	if ok && now.Sub(e.at) < storedClientTTL && !now.Before(e.at) {
		return e.c, e.c != nil
	}
	c, err := p.loadStored(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.Log.Error("oidc: loading a registered client", "client_id", id, "error", err.Error())
		if ok {
			return e.c, e.c != nil // keep what we had
		}
		return nil, false
	}
	p.stored.mu.Lock()
	if p.stored.cache == nil || len(p.stored.cache) > 10000 {
		p.stored.cache = map[string]storedEntry{}
	}
	p.stored.cache[id] = storedEntry{c: c, at: now}
	p.stored.mu.Unlock()
	return c, c != nil
}

func (p *Provider) loadStored(ctx context.Context, id string) (*client, error) {
	rec, err := p.Store.OIDCClientByID(ctx, id)
	if err != nil {
		return nil, err
	}
	var cc ClientConfig
	if err := json.Unmarshal(rec.Settings, &cc); err != nil {
		return nil, fmt.Errorf("client %s settings: %w", id, err)
	}
	cc.ID, cc.Secret = rec.ID, ""
	if rec.SecretHash != "" {
		cc.Secret = "set" // setAuth checks that secret methods have one
	}
	c, err := newClient(cc)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", id, err)
	}
	c.secretHash = rec.SecretHash
	return c, nil
}

// RegisterClient stores a service (`clau sp oidc add`): it checks the settings
// as the provider will load them, refuses an ID config already declares
// (configIDs), and returns the generated secret, shown once, for clients
// that authenticate with one.
func RegisterClient(ctx context.Context, s store.OIDCClients, kr *secure.Keyring, cc ClientConfig, configIDs []string) (string, error) {
	for _, id := range configIDs {
		if id == cc.ID {
			return "", fmt.Errorf("client %q is declared in config (oidc_clients)", cc.ID)
		}
	}
	if cc.ID == "" {
		return "", errors.New("a client needs an id")
	}
	secretless := cc.Public || cc.AuthMethod == MethodPrivateKey
	secret, hash := "", ""
	if !secretless {
		var b [32]byte
		_, _ = rand.Read(b[:])
		secret = base64.RawURLEncoding.EncodeToString(b[:])
		hash = kr.Hash(secretPurpose, []byte(secret))
	}
	cc.Secret = secret
	if err := ValidateClient(cc); err != nil {
		return "", &settingsError{err}
	}
	cc.Secret = ""
	settings, err := json.Marshal(cc)
	if err != nil {
		return "", err
	}
	if err := s.CreateOIDCClient(ctx, &store.OIDCClientRecord{ID: cc.ID, Settings: settings, SecretHash: hash}); err != nil {
		if _, dup := store.IsDuplicate(err); dup {
			return "", fmt.Errorf("client %q is %w", cc.ID, errDuplicateClient)
		}
		return "", err
	}
	return secret, nil
}

// errDuplicateClient: the ID is already registered in the store.
var errDuplicateClient = errors.New("already registered")

// settingsError: the settings would not load (bad redirect URI, method…).
type settingsError struct{ err error }

func (e *settingsError) Error() string { return e.err.Error() }
func (e *settingsError) Unwrap() error { return e.err }

// StoredClient returns a registered service's settings (no secret).
func StoredClient(ctx context.Context, s store.OIDCClients, id string) (ClientConfig, error) {
	rec, err := s.OIDCClientByID(ctx, id)
	if err != nil {
		return ClientConfig{}, err
	}
	var cc ClientConfig
	err = json.Unmarshal(rec.Settings, &cc)
	cc.ID, cc.Secret = rec.ID, ""
	return cc, err
}
