package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
)

// Transaction states.
const (
	StateStarted      = "started"
	StateSecondFactor = "second_factor"
	StateDone         = "done"
	StateFailed       = "failed"
)

// FlowKind is the store.Flow kind of login transactions.
const FlowKind = "login"

// Request is what a front-end asks for.
type Request struct {
	SP          string   `json:"sp"`                   // service provider ID; LocalSP for Clau's own pages
	SPName      string   `json:"sp_name"`              // shown to the citizen
	MinLoA      LoA      `json:"min_loa"`              // the least level the SP accepts
	Methods     []string `json:"methods"`              // methods the SP allows; empty: all
	Preselect   string   `json:"preselect,omitempty"`  // a method to open at once instead of the chooser
	ForceAuthn  bool     `json:"force_authn"`          // re-authenticate even with a session
	ContinueURL string   `json:"continue_url"`         // where the citizen goes when done
	Extra       string   `json:"extra,omitempty"`      // the front-end's own state (JSON)
	LoginHint   string   `json:"login_hint,omitempty"` // a DNI/NIE the service already knows, to prefill
	Lang        string   `json:"lang,omitempty"`       // the pages' language the service asked (ca, es, en)
}

// Transaction is one login.
type Transaction struct {
	ID        string    `json:"-"`
	State     string    `json:"-"`
	Request   Request   `json:"request"`
	CitizenID string    `json:"citizen_id,omitempty"`
	LoA       LoA       `json:"loa,omitempty"` // reached so far
	AMR       []string  `json:"amr,omitempty"` // methods used so far (RFC 8176)
	Method    string    `json:"method,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	Failures  int       `json:"failures,omitempty"`
	// Pending is what a method started in this transaction and has not
	// finished, in the method's own terms (e.g. the PIN sent, and to whom).
	Pending string `json:"pending,omitempty"`

	Version   int64     `json:"-"`
	ExpiresAt time.Time `json:"-"`
}

// Errors a front-end shows.
var (
	ErrTxUnknown = problem.New(http.StatusNotFound, "login.tx_unknown")
	ErrTxExpired = problem.New(http.StatusGone, "login.tx_expired")
	ErrTxDone    = problem.New(http.StatusConflict, "login.tx_done")
	ErrTxStale   = problem.New(http.StatusConflict, "login.tx_stale")
)

// Options tune the broker.
type Options struct {
	TxTTL       time.Duration // a login must finish within this; default 15 min
	SessionTTL  time.Duration // absolute SSO session lifetime; default 8 h
	SessionIdle time.Duration // idle timeout; default 30 min
	Now         func() time.Time
	// Sealer seals the transactions the browser holds until their first
	// write (Hold); secure.Keyring is one. Without it Hold stores them.
	Sealer Sealer
}

// Sealer is authenticated encryption under the server's keys.
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// Broker runs login transactions and SSO sessions.
type Broker struct {
	store    store.Store
	opts     Options
	onLogout []LogoutHook
}

// LogoutHook runs inside the transaction that ends a citizen's SSO session
// at Logout (a front-end telling the services the session signed into);
// its error rolls the logout back.
type LogoutHook func(ctx context.Context, tx store.Tx, se *store.Session) error

// OnLogout registers h; call it while wiring, before serving.
func (b *Broker) OnLogout(h LogoutHook) { b.onLogout = append(b.onLogout, h) }

// New returns a broker.
func New(s store.Store, o Options) *Broker {
	if o.TxTTL == 0 {
		o.TxTTL = 15 * time.Minute
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.SessionIdle == 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Broker{store: s, opts: o}
}

// Now is the broker's clock.
func (b *Broker) Now() time.Time { return b.opts.Now() }

// Start records a new transaction.
func (b *Broker) Start(ctx context.Context, r Request) (*Transaction, error) {
	t := b.Prepare(r)
	if err := b.Save(ctx, b.store, t); err != nil {
		return nil, err
	}
	return t, nil
}

// Prepare returns a new transaction without storing it, so a sign-in
// begins with no write: a page view that goes no further costs the store
// nothing, and the first step that writes anyway (a password checked, a
// PIN sent) stores it with its own write. Until then the sign-in pages
// keep it in the browser, sealed (Hold, Resume).
func (b *Broker) Prepare(r Request) *Transaction {
	if !r.MinLoA.Valid() {
		r.MinLoA = Low
	}
	return &Transaction{ID: store.NewID(), State: StateStarted, Request: r, ExpiresAt: b.opts.Now().Add(b.opts.TxTTL)}
}

// Stored reports whether t has been written (Prepare's have not, until
// their first Save).
func (t *Transaction) Stored() bool { return t.Version != 0 }

// maxHeld bounds a held transaction, which travels in a cookie: a bigger
// one is stored instead.
const maxHeld = 3000

// held is a transaction as the browser holds it.
type held struct {
	ID        string       `json:"id"`
	ExpiresAt time.Time    `json:"exp"`
	T         *Transaction `json:"t"`
}

// heldAAD binds a held transaction to its ID, so it cannot stand for
// another.
func heldAAD(id string) []byte { return []byte("clau login transaction\x00" + id) }

// Hold returns a new transaction t, not yet stored, sealed for the
// browser to keep until Resume finds it no longer stored elsewhere. It
// returns "" once t is stored, and stores t itself when there is no
// sealer or t is too big for a cookie.
func (b *Broker) Hold(ctx context.Context, t *Transaction) (string, error) {
	if t.Stored() {
		return "", nil
	}
	if t.State != StateStarted {
		return "", fmt.Errorf("broker: holding a transaction in state %s", t.State)
	}
	if b.opts.Sealer != nil {
		data, err := json.Marshal(held{ID: t.ID, ExpiresAt: t.ExpiresAt, T: t})
		if err != nil {
			return "", err
		}
		sealed, err := b.opts.Sealer.Seal(data, heldAAD(t.ID))
		if err != nil {
			return "", err
		}
		if len(sealed) <= maxHeld {
			return sealed, nil
		}
	}
	return "", b.Save(ctx, b.store, t)
}

// Resume is Load for the sign-in pages: the stored transaction id, or,
// while it has never been stored, the browser's sealed copy of it
// (Hold). A copy that does not open, or is of another ID, is unknown.
func (b *Broker) Resume(ctx context.Context, id, sealed string) (*Transaction, error) {
	t, err := b.Load(ctx, id)
	if !errors.Is(err, ErrTxUnknown) || sealed == "" || b.opts.Sealer == nil {
		return t, err
	}
	data, err := b.opts.Sealer.Open(sealed, heldAAD(id))
	if err != nil {
		return nil, ErrTxUnknown
	}
	var h held
	if err := json.Unmarshal(data, &h); err != nil || h.ID != id || h.T == nil {
		return nil, ErrTxUnknown
	}
	t = h.T
	t.ID, t.State, t.Version, t.ExpiresAt = h.ID, StateStarted, 0, h.ExpiresAt
	if !b.opts.Now().Before(t.ExpiresAt) {
		return t, ErrTxExpired
	}
	return t, nil
}

// Load returns a live transaction: not expired, not finished.
func (b *Broker) Load(ctx context.Context, id string) (*Transaction, error) {
	t, err := b.load(ctx, b.store, id)
	if err != nil {
		return nil, err
	}
	if t.State == StateDone || t.State == StateFailed {
		return t, ErrTxDone
	}
	if !b.opts.Now().Before(t.ExpiresAt) {
		return t, ErrTxExpired
	}
	return t, nil
}

func (b *Broker) load(ctx context.Context, s store.Flows, id string) (*Transaction, error) {
	f, err := s.FlowByID(ctx, FlowKind, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTxUnknown
	}
	if err != nil {
		return nil, err
	}
	var t Transaction
	if err := json.Unmarshal(f.Data, &t); err != nil {
		return nil, fmt.Errorf("login transaction %s: %w", id, err)
	}
	t.ID, t.State, t.Version, t.ExpiresAt = f.ID, f.State, f.Version, f.ExpiresAt
	return &t, nil
}

// Save writes t if nobody changed it meanwhile; ErrTxStale otherwise (a
// double submit or a second tab). A transaction never stored (Prepare) is
// created, and then only once: the second of two first steps is stale.
func (b *Broker) Save(ctx context.Context, s store.Flows, t *Transaction) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	f := &store.Flow{ID: t.ID, Kind: FlowKind, State: t.State, Subject: t.CitizenID, Data: data,
		Version: t.Version, ExpiresAt: t.ExpiresAt}
	if !t.Stored() {
		err = s.CreateFlow(ctx, f)
	} else {
		err = s.UpdateFlow(ctx, f)
	}
	var dup *store.DuplicateError
	if errors.Is(err, store.ErrStale) || errors.As(err, &dup) {
		return ErrTxStale
	} else if err != nil {
		return err
	}
	t.Version = f.Version
	return nil
}

// Allows reports whether the SP allows a method.
func (t *Transaction) Allows(method string) bool {
	return len(t.Request.Methods) == 0 || slices.Contains(t.Request.Methods, method)
}

// Identified records that a method identified the citizen at a level with
// the given methods (RFC 8176 amr values). When the level is enough it
// completes the transaction; otherwise it moves it to second_factor.
func (t *Transaction) Identified(citizenID, method string, loa LoA, amr []string, at time.Time) {
	t.CitizenID, t.Method, t.LoA, t.AuthTime = citizenID, method, loa, at
	for _, a := range amr {
		if !slices.Contains(t.AMR, a) {
			t.AMR = append(t.AMR, a)
		}
	}
	if loa.AtLeast(t.Request.MinLoA) {
		t.State = StateDone
	} else {
		t.State = StateSecondFactor
	}
}

// Session is a live SSO session with the token the browser holds.
type Session struct {
	store.Session
	Token string // only set when the session was just created or rotated
}

// hashToken is what the store keeps of a session token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Meta is where a request came from, for sessions and the audit trail.
type Meta struct {
	Source    string
	UserAgent string
}

// Complete finishes a done transaction: it records the outcome and gives
// the citizen a fresh SSO session token (rotated at every sign-in, so a
// token planted before sign-in is worthless), ending the old session of
// the same browser if there was one. Everything commits together, with
// what also writes (a method consuming the code that finished t).
func (b *Broker) Complete(ctx context.Context, t *Transaction, oldToken string, m Meta, also ...func(store.Tx) error) (*Session, error) {
	if t.State != StateDone {
		return nil, fmt.Errorf("broker: completing a transaction in state %s", t.State)
	}
	var se *Session
	err := b.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		se, err = b.CompleteIn(ctx, tx, t, oldToken, m, also...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return se, nil
}

// CompleteIn is Complete inside the caller's store transaction, for a
// method whose last check writes too (an SMS code's attempt): the check
// and the sign-in it allows then commit once. The caller must not use
// the session unless its transaction commits.
func (b *Broker) CompleteIn(ctx context.Context, tx store.Tx, t *Transaction, oldToken string, m Meta, also ...func(store.Tx) error) (*Session, error) {
	if t.State != StateDone {
		return nil, fmt.Errorf("broker: completing a transaction in state %s", t.State)
	}
	now := b.opts.Now().UTC()
	token := newToken()
	se := &store.Session{ID: hashToken(token), Kind: store.SessionCitizen, Subject: t.CitizenID, LoA: string(t.LoA),
		AMR: t.AMR, AuthTime: t.AuthTime, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(b.opts.SessionTTL),
		Source: m.Source, UserAgent: truncate(m.UserAgent, 200)}
	if err := b.Save(ctx, tx, t); err != nil {
		return nil, err
	}
	for _, f := range also {
		if err := f(tx); err != nil {
			return nil, err
		}
	}
	if oldToken != "" {
		if err := tx.RevokeSession(ctx, hashToken(oldToken), now); err != nil {
			return nil, err
		}
	}
	if err := tx.CreateSession(ctx, se); err != nil {
		return nil, err
	}
	err := audit.Append(ctx, tx, &audit.Event{At: now, Actor: "citizen:" + t.CitizenID, Action: "login.ok",
		Subject: "citizen:" + t.CitizenID, Source: m.Source, Details: map[string]string{
			"sp": t.Request.SP, "sp_name": t.Request.SPName, "method": t.Method, "loa": string(t.LoA),
			"amr": fmt.Sprint(t.AMR), "tx": t.ID, "ua": truncate(m.UserAgent, 200)}})
	if err != nil {
		return nil, err
	}
	return &Session{Session: *se, Token: token}, nil
}

// Fail ends a transaction as failed.
func (b *Broker) Fail(ctx context.Context, t *Transaction) error {
	t.State = StateFailed
	return b.Save(ctx, b.store, t)
}

// SessionFor returns the live SSO session for a browser's token, sliding
// its idle timeout; nil when there is none (unknown, expired, revoked).
func (b *Broker) SessionFor(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, nil
	}
	se, err := b.store.SessionByID(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := b.opts.Now().UTC()
	if se.Kind != store.SessionCitizen || !se.RevokedAt.IsZero() || !now.Before(se.ExpiresAt) ||
		now.Sub(se.LastSeenAt) > b.opts.SessionIdle {
		return nil, nil
	}
	if now.Sub(se.LastSeenAt) > time.Minute { // write at most once a minute per session
		se.LastSeenAt = now
		if err := b.store.UpdateSession(ctx, se); err != nil && !errors.Is(err, store.ErrStale) {
			return nil, err
		}
	}
	return &Session{Session: *se}, nil
}

// TrySSO completes t from the browser's session when the session is at
// the level asked, came from a method the service allows, and force_authn
// is off. It reports whether it did.
func (b *Broker) TrySSO(ctx context.Context, t *Transaction, se *Session) bool {
	if se == nil || t.Request.ForceAuthn || !LoA(se.LoA).AtLeast(t.Request.MinLoA) || !AllowsAMR(t.Request.Methods, se.AMR) {
		return false
	}
	t.CitizenID, t.LoA, t.AMR, t.AuthTime, t.Method, t.State = se.Subject, LoA(se.LoA), se.AMR, se.AuthTime, "sso", StateDone
	return true
}

// StepUpFrom prepares t to raise an existing session's level: the citizen
// is known and what they already proved counts, so the method only asks
// for the missing factor. Only a session of the same method is stepped up
// (an SMS code adds nothing to a PIN, which came by SMS too).
func (b *Broker) StepUpFrom(t *Transaction, se *Session, method string) bool {
	if se == nil || t.Request.ForceAuthn || LoA(se.LoA).AtLeast(t.Request.MinLoA) || MethodOfAMR(se.AMR) != method ||
		!t.Allows(method) {
		return false
	}
	t.Identified(se.Subject, method, LoA(se.LoA), se.AMR, se.AuthTime)
	return t.State == StateSecondFactor
}

// Logout ends the browser's session.
func (b *Broker) Logout(ctx context.Context, token string, m Meta) error {
	if token == "" {
		return nil
	}
	id := hashToken(token)
	se, err := b.store.SessionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return b.end(ctx, se, m, nil)
}

// end revokes se and runs the logout hooks (unless it had ended before),
// with its audit event, in one transaction.
func (b *Broker) end(ctx context.Context, se *store.Session, m Meta, details map[string]string) error {
	now := b.opts.Now().UTC()
	return b.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.RevokeSession(ctx, se.ID, now); err != nil {
			return err
		}
		for _, h := range b.onLogout {
			if !se.RevokedAt.IsZero() {
				break // ended before: its hooks ran then
			}
			if err := h(ctx, tx, se); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "citizen:" + se.Subject, Action: "logout",
			Subject: "citizen:" + se.Subject, Source: m.Source, Details: details})
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
