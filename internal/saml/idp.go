package saml

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Paths.
const (
	metadataPath = "/saml/metadata"
	ssoPath      = "/saml/sso"
	sloPath      = "/saml/slo"      // announced in metadata
	loginPath    = "/saml/login"    // after the POST→303→GET hop, with the session cookie
	continuePath = "/saml/continue" // back from the sign-in pages
	scriptPath   = "/saml/autopost.js"
	bindCookie   = "clau_saml_req_" // + the request's flow ID: one per request, so two tabs do not unbind each other
)

// Flow kinds and timing.
const (
	authKind   = "saml_auth" // a pending AuthnRequest
	replayKind = "saml_rid"  // IDs of requests seen, until they could no longer be valid

	authTTL = 15 * time.Minute
	// handoffTTL bounds a sealed request in the 303 to /saml/login. It
	// must stay well under the replay record's life (requestAge + 2 ×
	// clockSkew from when the login writes it), so that the record
	// outlives every URL that could answer the request.
	handoffTTL = 2 * time.Minute
	clockSkew  = 3 * time.Minute
	requestAge = 5 * time.Minute // an AuthnRequest older than this (plus skew) has expired
)

// SPConfig declares a service provider (config's saml_sps).
type SPConfig struct {
	MetadataFile string
	MetadataURL  string
	// MetadataSigningCert is a PEM certificate file; when set, the
	// metadata must be signed by it.
	MetadataSigningCert string
	MinLoA              broker.LoA
	Methods             []string
	AllowSHA1           bool
	Refresh             time.Duration // for metadata_url; default 1 h
	// Name is shown on the sign-in pages when a request carries no signed
	// ProviderName; it overrides the metadata's OrganizationDisplayName.
	Name string
}

// Deps are what the IdP needs.
type Deps struct {
	Issuer        string // config public_url
	Store         store.Store
	Broker        *broker.Broker
	Keyring       *secure.Keyring
	SPs           []SPConfig
	Server        *httpserver.Server
	Renderer      *web.Renderer
	SessionCookie string // the SSO session cookie the sign-in pages set
	SecureCookies bool
	SignResponses bool // sign the whole Response too, for every SP
	// SignIn is the sign-in pages: the IdP starts a broker transaction
	// for the SP and hands it over (required to serve).
	SignIn     broker.SignIn
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time
}

// IdP is Clau's SAML identity provider.
type IdP struct {
	Deps
	keys                     *keys
	entityID, ssoURL, sloURL string

	mu  sync.RWMutex
	sps map[string]*SP // from config
	reg *registered    // registered at run time (`clau sp`), cached

	posts postPages // the auto-post page, cut where each response differs
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/autopost.js
var autopostJS []byte

// New loads (or on the first start creates) the signing key and reads
// every configured SP's metadata.
func New(ctx context.Context, d Deps) (*IdP, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	base := strings.TrimSuffix(d.Issuer, "/")
	p := &IdP{Deps: d, entityID: base + metadataPath, ssoURL: base + ssoPath, sloURL: base + sloPath, sps: map[string]*SP{}}
	host := base
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	k, err := loadOrCreateKeys(ctx, d.Store, d.Keyring, host, d.Now())
	if err != nil {
		return nil, err
	}
	p.keys = k
	for i, c := range d.SPs {
		sp, err := p.loadSP(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("saml_sps[%d]: %w", i, err)
		}
		if _, dup := p.sps[sp.EntityID]; dup {
			return nil, fmt.Errorf("saml_sps[%d]: entity %q declared twice", i, sp.EntityID)
		}
		p.sps[sp.EntityID] = sp
	}
	return p, nil
}

// EntityID is the IdP's entity ID (its metadata URL).
func (p *IdP) EntityID() string { return p.entityID }

// Certificate is the IdP's signing certificate, which SPs trust.
func (p *IdP) Certificate() *x509.Certificate { return p.keys.cert }

// loadSP reads one SP's metadata from its file or URL.
func (p *IdP) loadSP(ctx context.Context, c SPConfig) (*SP, error) {
	var anchor *x509.Certificate
	if c.MetadataSigningCert != "" {
		b, err := os.ReadFile(c.MetadataSigningCert)
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, errors.New("metadata_signing_cert: no PEM certificate")
		}
		if anchor, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return nil, fmt.Errorf("metadata_signing_cert: %w", err)
		}
	}
	var data []byte
	var err error
	if c.MetadataFile != "" {
		data, err = os.ReadFile(c.MetadataFile)
	} else {
		data, err = p.fetch(ctx, c.MetadataURL)
	}
	if err != nil {
		return nil, err
	}
	sp, err := parseSPMetadata(data, anchor, p.Now())
	if err != nil {
		return nil, err
	}
	sp.MinLoA, sp.Methods, sp.AllowSHA1 = c.MinLoA, slices.Clone(c.Methods), c.AllowSHA1
	if c.Name != "" {
		sp.Name = c.Name
	}
	if !sp.MinLoA.Valid() {
		sp.MinLoA = broker.Low
	}
	return sp, nil
}

func (p *IdP) fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := p.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metadata %s: HTTP %d", u, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetadataBytes {
		return nil, errTooLarge
	}
	return b, nil
}

// Refresh re-reads the metadata of the SPs declared by URL, in config
// and registered at run time, every Refresh interval (at most an hour)
// until ctx ends. A fetch that fails or does not verify keeps the
// metadata already loaded, and is logged.
func (p *IdP) Refresh(ctx context.Context) {
	every := time.Hour
	for _, c := range p.SPs {
		if c.MetadataURL != "" && c.Refresh > 0 && c.Refresh < every {
			every = c.Refresh
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.RefreshNow(ctx)
	}
}

// RefreshNow fetches every SP's metadata declared by URL once.
func (p *IdP) RefreshNow(ctx context.Context) {
	p.refreshConfigured(ctx)
	p.refreshRegistered(ctx)
	p.mu.Lock()
	p.reg = nil // read the registry again at the next lookup
	p.mu.Unlock()
}

func (p *IdP) refreshConfigured(ctx context.Context) {
	for _, c := range p.SPs {
		if c.MetadataURL == "" {
			continue
		}
		sp, err := p.loadSP(ctx, c)
		if err != nil {
			p.Log.Warn("saml: metadata refresh failed; keeping the last good one", "url", c.MetadataURL, "error", err.Error())
			continue
		}
		p.mu.Lock()
		p.sps[sp.EntityID] = sp
		p.mu.Unlock()
	}
}

// sp finds a service provider: those in config first, then those
// registered at run time.
func (p *IdP) sp(entityID string) *SP {
	p.mu.RLock()
	sp := p.sps[entityID]
	p.mu.RUnlock()
	if sp != nil || entityID == "" {
		return sp
	}
	return p.registeredSP(context.Background(), entityID)
}

// Mount registers the IdP's routes. The two binding endpoints receive
// cross-site POSTs by design (an SP's auto-submitting form), so exactly
// they are exempt from cross-origin protection; they rely on message
// signatures instead.
func (p *IdP) Mount() {
	s := p.Server
	s.HandleFunc("GET "+metadataPath, p.serveMetadata)
	s.HandleFunc("GET "+ssoPath, p.sso)
	s.HandleFunc("POST "+ssoPath, p.sso)
	s.AllowCrossOrigin("POST " + ssoPath)
	s.HandleFunc("GET "+loginPath, p.login)
	s.HandleFunc("GET "+continuePath, p.continueLogin)
	s.HandleFunc("GET "+scriptPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(autopostJS)
	})
	p.mountSLO()
}

// AddPages registers the IdP's page templates with the renderer.
func AddPages(r *web.Renderer) error { return r.AddPages(templateFiles, "templates/*.html") }

func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	b, err := p.metadata(p.now())
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

func (p *IdP) now() time.Time { return p.Now().UTC() }

// authState is a pending AuthnRequest, kept as a flow.
type authState struct {
	Req        authnRequest `json:"req"`
	ACS        string       `json:"acs"`
	RelayState string       `json:"relay_state,omitempty"`
	MinLoA     broker.LoA   `json:"min_loa"`
	Allowed    []broker.LoA `json:"allowed"`
	Methods    []string     `json:"methods"`
	Rounds     int          `json:"rounds,omitempty"`
	// PrevSession is the SSO session (store ID) the browser had before
	// the sign-in pages rotated it.
	PrevSession string    `json:"prev_session,omitempty"`
	Started     time.Time `json:"started"`
	// Signed: the request was signed, so its ProviderName is the SP's.
	Signed bool `json:"signed,omitempty"`
	// Until is set only while the request rides sealed in the login URL.
	Until time.Time `json:"until,omitzero"`
	// TxID is the broker transaction of the last trip to the sign-in pages.
	TxID string `json:"tx,omitempty"`
}

// sso receives an AuthnRequest over HTTP-POST or HTTP-Redirect. Until
// the SP and its assertion consumer service are established from a
// verified request, refusals are an error page; after, a SAML error
// response to the SP.
func (p *IdP) sso(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var (
		raw   []byte
		err   error
		relay string
		q     *signedQuery
	)
	if r.Method == http.MethodPost {
		v := r.PostFormValue("SAMLRequest")
		if v == "" {
			p.refusePage(w, r, "", refuse("saml.err.missing", "no SAMLRequest"))
			return
		}
		relay = r.PostFormValue("RelayState")
		raw, err = decodePOST(v)
	} else {
		v := r.URL.Query().Get("SAMLRequest")
		if v == "" {
			p.refusePage(w, r, "", refuse("saml.err.missing", "no SAMLRequest"))
			return
		}
		relay = r.URL.Query().Get("RelayState")
		if raw, err = decodeRedirect(v); err == nil {
			q, err = redirectSignature(r.URL.RawQuery, "SAMLRequest")
		}
	}
	if err != nil {
		p.refusePage(w, r, "", asRefusal(err))
		return
	}
	if len(relay) > 1024 {
		p.refusePage(w, r, "", refuse("saml.err.malformed", "RelayState longer than 1024 bytes"))
		return
	}
	st, sp, ref := p.readRequest(raw, q)
	if ref != nil {
		issuer := ""
		if sp != nil {
			issuer = sp.EntityID
		}
		p.refusePage(w, r, issuer, ref)
		return
	}
	st.RelayState = relay
	if o := p.policy(st, sp); o != nil {
		// The replay record and the refusal's audit event commit together.
		err = p.Store.InTx(ctx, func(tx store.Tx) error {
			if err := p.notReplayed(ctx, tx, sp, st.Req.ID); err != nil {
				return err
			}
			return audit.Append(ctx, tx, p.event(ctx, "saml.authn_request", sp.EntityID, "", "denied",
				map[string]string{"request": st.Req.ID, "status": o.status}))
		})
		if err != nil {
			p.refusePage(w, r, sp.EntityID, storeRefusal(err))
			return
		}
		p.respond(w, r, o)
		return
	}
	// A 303 to a GET on our own site: the browser then sends the SSO
	// session cookie (SameSite=Lax), which it withholds on a cross-site
	// POST. The verified request rides in that URL, sealed, and nothing
	// is written yet: most requests are answered from the SSO session,
	// and the answer's one transaction records the request ID against
	// replay (see login). A request too large for a URL is kept as a
	// flow now, as one that needs the sign-in pages is at the login.
	st.Until = p.now().Add(handoffTTL)
	if sealed, err := p.sealHandoff(st); err == nil && len(sealed) <= maxHandoff {
		http.Redirect(w, r, loginPath+"?"+handoffParam+"="+sealed, http.StatusSeeOther)
		return
	}
	st.Until = time.Time{}
	f, err := p.keepRequest(ctx, st, sp)
	if err != nil {
		p.refusePage(w, r, sp.EntityID, storeRefusal(err))
		return
	}
	http.Redirect(w, r, loginPath+"?id="+f.ID, http.StatusSeeOther)
}

// The sealed request in the 303 from /saml/sso to /saml/login.
const (
	handoffParam = "r"
	// maxHandoff keeps the login URL well inside what proxies accept in
	// a request line (nginx: 8 KB by default).
	maxHandoff = 3000
)

var handoffAAD = []byte("clau saml login handoff v1")

func (p *IdP) sealHandoff(st *authState) (string, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return p.Keyring.Seal(data, handoffAAD)
}

// openHandoff is the request sealHandoff sealed, if it is still within
// its time.
func (p *IdP) openHandoff(v string, now time.Time) (*authState, bool) {
	data, err := p.Keyring.Open(v, handoffAAD)
	if err != nil {
		return nil, false
	}
	var st authState
	if json.Unmarshal(data, &st) != nil || !now.Before(st.Until) {
		return nil, false
	}
	st.Until = time.Time{}
	return &st, true
}

// keepRequest keeps a verified request as a pending flow, with its replay
// record and its audit event in the same transaction: no request kept
// without its audit event, and a replay refused (as a *refusal).
func (p *IdP) keepRequest(ctx context.Context, st *authState, sp *SP) (*store.Flow, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	f := &store.Flow{ID: store.NewID(), Kind: authKind, State: "pending", Data: data, ExpiresAt: p.now().Add(authTTL)}
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		if err := p.notReplayed(ctx, tx, sp, st.Req.ID); err != nil {
			return err
		}
		if err := tx.CreateFlow(ctx, f); err != nil { // sets only what a retry sets again
			return err
		}
		return audit.Append(ctx, tx, p.event(ctx, "saml.authn_request", sp.EntityID, "", "ok", map[string]string{"request": st.Req.ID,
			"min_loa": string(st.MinLoA), "force_authn": strconv.FormatBool(st.Req.ForceAuthn), "is_passive": strconv.FormatBool(st.Req.IsPassive)}))
	})
	return f, err
}

func asRefusal(err error) *refusal {
	var ref *refusal
	if errors.As(err, &ref) {
		return ref
	}
	switch {
	case errors.Is(err, errTooLarge):
		return refuse("saml.err.too_large", "%v", err)
	case errors.Is(err, errDTD), errors.Is(err, errComment), errors.Is(err, errTooDeep):
		return refuse("saml.err.forbidden_xml", "%v", err)
	}
	return refuse("saml.err.malformed", "%v", err)
}

// readRequest parses and verifies an AuthnRequest: it finds the SP, checks
// the signature (using only what was signed), then the destination, age
// and assertion consumer service. The caller records the request's ID
// against replay (notReplayed) before acting on it.
func (p *IdP) readRequest(raw []byte, q *signedQuery) (*authState, *SP, *refusal) {
	el, sp, signed, ref := p.verifyMessage(raw, q)
	if ref != nil {
		return nil, sp, ref
	}
	now := p.now()
	req, err := readAuthnRequest(el)
	if err != nil {
		return nil, sp, asRefusal(err)
	}
	if req.IssueInstant.After(now.Add(clockSkew)) || req.IssueInstant.Before(now.Add(-requestAge-clockSkew)) {
		return nil, sp, refuse("saml.err.expired", "IssueInstant %s is outside the accepted window", stamp(req.IssueInstant))
	}
	if req.Destination != p.ssoURL && (req.Destination != "" || signed) {
		return nil, sp, refuse("saml.err.destination", "Destination %q is not %s", req.Destination, p.ssoURL)
	}
	if req.Binding != "" && req.Binding != bindPOST {
		return nil, sp, refuse("saml.err.acs", "ProtocolBinding %q: responses go over HTTP-POST only", req.Binding)
	}
	acs, ok := sp.acsFor(req.ACSURL, req.ACSIndex)
	if !ok {
		return nil, sp, refuse("saml.err.acs", "the assertion consumer service %q is not in the SP's metadata", req.ACSURL)
	}
	return &authState{Req: *req, ACS: acs.Location, Started: now, Signed: signed}, sp, nil
}

// verifyMessage parses an incoming message, finds its SP and checks its
// signature, returning the element to read: the signed one when signed.
// An unsigned message is refused when the SP's metadata says it signs.
func (p *IdP) verifyMessage(raw []byte, q *signedQuery) (*etree.Element, *SP, bool, *refusal) {
	doc, err := parseXML(raw, maxMessageBytes)
	if err != nil {
		return nil, nil, false, asRefusal(err)
	}
	root := doc.Root()
	// The issuer of the unverified message only picks the key to verify with.
	sp := p.sp(text(child(root, nsSAML, "Issuer")))
	if sp == nil {
		return nil, nil, false, refuse("saml.err.unknown_sp", "unknown service provider %q", text(child(root, nsSAML, "Issuer")))
	}
	el, signed := root, false
	if q != nil {
		if err := verifyQuery(sp, q); err != nil {
			return nil, sp, false, asRefusal(err)
		}
		signed = true
		if child(root, nsDS, "Signature") != nil {
			return nil, sp, false, refuse("saml.err.signature", "an XML signature inside a Redirect-binding message")
		}
	} else {
		v, err := verifyEnveloped(sp, root, p.now())
		if err != nil {
			return nil, sp, false, asRefusal(err)
		}
		if v != nil {
			el, signed = v, true
		}
	}
	if !signed && sp.AuthnRequestsSigned {
		return nil, sp, false, refuse("saml.err.unsigned", "the message is not signed and the SP must sign")
	}
	if !sp.ValidUntil.IsZero() && !p.now().Before(sp.ValidUntil) {
		return nil, sp, false, refuse("saml.err.unknown_sp", "the SP's metadata expired at %s", stamp(sp.ValidUntil))
	}
	if text(child(el, nsSAML, "Issuer")) != sp.EntityID {
		return nil, sp, false, refuse("saml.err.unknown_sp", "issuer changed under the signature")
	}
	return el, sp, signed, nil
}

// storeRefusal is the refusal a store step returned, or an internal
// error (shown as such, and logged) for any other failure; nil for nil.
func storeRefusal(err error) *refusal {
	var ref *refusal
	if err == nil || errors.As(err, &ref) {
		return ref
	}
	return &refusal{msgID: "saml.err.internal", reason: err.Error()}
}

// notReplayed records a message ID through fl (the store or a
// transaction), refusing one already seen from the SP while it could
// still be valid: the error is then a *refusal.
func (p *IdP) notReplayed(ctx context.Context, fl store.Flows, sp *SP, id string) error {
	sum := sha256.Sum256([]byte(sp.EntityID + "\x00" + id))
	err := fl.CreateFlow(ctx, &store.Flow{ID: hex.EncodeToString(sum[:]), Kind: replayKind, State: "seen",
		ExpiresAt: p.now().Add(requestAge + 2*clockSkew)})
	var dup *store.DuplicateError
	if errors.As(err, &dup) {
		return refuse("saml.err.replay", "message ID %s was already used", id)
	}
	return err
}

// policy settles what the request may get: the levels, the methods, the
// NameID format and attributes. It returns the error response when the
// request cannot be met at all.
func (p *IdP) policy(st *authState, sp *SP) *outcome {
	fail := func(top, status, msg string) *outcome {
		return &outcome{req: &st.Req, sp: sp, acs: st.ACS, top: top, status: status, message: msg, relay: st.RelayState}
	}
	switch st.Req.NameIDFormat {
	case "", nameIDPersistent, nameIDTransient, nameIDUnspecified:
	default:
		return fail(statusRequester, statusInvalidNameID, "NameID format not supported: "+st.Req.NameIDFormat)
	}
	minLoA, allowed, ok := st.Req.levels()
	if !ok {
		return fail(statusRequester, statusNoAuthnContext, "no eIDAS level of assurance in RequestedAuthnContext")
	}
	if !minLoA.AtLeast(sp.MinLoA) {
		minLoA = sp.MinLoA
	}
	allowed = slices.DeleteFunc(allowed, func(l broker.LoA) bool { return !l.AtLeast(minLoA) })
	if len(allowed) == 0 {
		return fail(statusRequester, statusNoAuthnContext, "the levels asked are below the service's minimum "+string(sp.MinLoA))
	}
	switch st.Req.SPType {
	case "", "public", "private":
	default:
		return fail(statusRequester, statusRequestDenied, "SPType must be public or private")
	}
	for _, a := range st.Req.Attributes {
		if a.Required && !knownAttribute(a.Name) {
			return fail(statusResponder, statusRequestDenied, "mandatory attribute not available: "+a.Name)
		}
	}
	methods := sp.Methods
	if len(methods) == 0 {
		methods = broker.KnownMethods
	}
	methods = slices.DeleteFunc(slices.Clone(methods), func(m string) bool { return slices.Contains(st.Req.ExcludedMeths, m) })
	if len(methods) == 0 {
		return fail(statusRequester, statusRequestDenied, "every sign-in method is excluded")
	}
	st.MinLoA, st.Allowed, st.Methods = minLoA, allowed, methods
	return nil
}

func (p *IdP) loadAuth(ctx context.Context, id string) (*authState, *store.Flow, error) {
	f, err := p.Store.FlowByID(ctx, authKind, id)
	if err != nil {
		return nil, nil, err
	}
	var st authState
	if err := json.Unmarshal(f.Data, &st); err != nil {
		return nil, nil, err
	}
	return &st, f, nil
}

func (p *IdP) saveAuth(ctx context.Context, st *authState, f *store.Flow) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	f.Data = data
	return p.Store.UpdateFlow(ctx, f)
}

// pending loads a request still waiting for its answer, or shows why not.
func (p *IdP) pending(w http.ResponseWriter, r *http.Request) (*authState, *store.Flow, *SP, bool) {
	st, f, err := p.loadAuth(r.Context(), r.URL.Query().Get("id"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.Server.WriteError(w, r, err)
		return nil, nil, nil, false
	}
	if err != nil || f.State != "pending" || !p.now().Before(f.ExpiresAt) {
		p.refusePage(w, r, "", refuse("saml.err.tx_unknown", "sign-in request unknown, answered or expired"))
		return nil, nil, nil, false
	}
	sp := p.sp(st.Req.Issuer)
	if sp == nil {
		p.refusePage(w, r, st.Req.Issuer, refuse("saml.err.unknown_sp", "the service provider is no longer configured"))
		return nil, nil, nil, false
	}
	return st, f, sp, true
}

// handoff opens the request sealed in the login URL, or shows why not.
func (p *IdP) handoff(w http.ResponseWriter, r *http.Request, v string) (*authState, *SP, bool) {
	st, ok := p.openHandoff(v, p.now())
	if !ok {
		p.refusePage(w, r, "", refuse("saml.err.tx_unknown", "sign-in request unknown, altered or expired"))
		return nil, nil, false
	}
	sp := p.sp(st.Req.Issuer)
	if sp == nil {
		p.refusePage(w, r, st.Req.Issuer, refuse("saml.err.unknown_sp", "the service provider is no longer configured"))
		return nil, nil, false
	}
	return st, sp, true
}

// login answers a request from the SSO session when it holds what the
// request needs, and IsPassive from the session alone; otherwise it keeps
// the request (if it came sealed in the URL), ties it to this browser and
// hands over to the sign-in pages.
func (p *IdP) login(w http.ResponseWriter, r *http.Request) {
	var (
		st *authState
		f  *store.Flow // nil while the request is only in the URL
		sp *SP
		ok bool
	)
	if v := r.URL.Query().Get(handoffParam); v != "" {
		st, sp, ok = p.handoff(w, r, v)
	} else {
		st, f, sp, ok = p.pending(w, r)
	}
	if !ok {
		return
	}
	se, err := p.session(r)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	enough := se != nil && !st.Req.ForceAuthn && broker.LoA(se.LoA).AtLeast(st.MinLoA) && broker.AllowsAMR(st.Methods, se.AMR)
	switch {
	case enough:
		// SSO: the session already holds what the request needs.
		p.success(w, r, st, f, sp, se)
	case st.Req.IsPassive:
		p.finishWith(w, r, st, f, &outcome{req: &st.Req, sp: sp, acs: st.ACS, relay: st.RelayState, top: statusResponder,
			status: statusNoPassive, message: "no session at the level asked; IsPassive forbids asking the citizen"})
	default:
		if se != nil {
			// The sign-in pages rotate the session; remember this one so
			// its single-logout participants carry over.
			st.PrevSession = se.ID
		}
		if f == nil {
			if f, err = p.keepRequest(r.Context(), st, sp); err != nil {
				p.refusePage(w, r, sp.EntityID, storeRefusal(err))
				return
			}
		}
		p.toSignIn(w, r, st, f, sp, st.Req.ForceAuthn)
	}
}

// toSignIn starts a broker transaction for the SP, with what the request
// needs, and hands it to the sign-in pages, which do SSO, step-up or a
// full sign-in; they come back to continueLogin.
func (p *IdP) toSignIn(w http.ResponseWriter, r *http.Request, st *authState, f *store.Flow, sp *SP, force bool) {
	if st.Rounds >= 3 { // a sign-in that never reaches what the request needs
		p.finishWith(w, r, st, f, &outcome{req: &st.Req, sp: sp, acs: st.ACS, relay: st.RelayState, top: statusResponder,
			status: statusAuthnFailed, message: "the sign-in did not reach the level or method asked"})
		return
	}
	if p.SignIn == nil {
		p.Server.WriteError(w, r, errors.New("saml: no sign-in pages (Deps.SignIn)"))
		return
	}
	t := p.Broker.Prepare(broker.Request{SP: sp.EntityID, SPName: p.spName(st, sp), MinLoA: st.MinLoA,
		Methods: st.Methods, ForceAuthn: force, ContinueURL: continuePath + "?id=" + url.QueryEscape(f.ID)})
	st.Rounds++
	st.TxID = t.ID
	if err := p.saveAuth(r.Context(), st, f); err != nil {
		p.staleOrError(w, r, err)
		return
	}
	// Only a request that goes through the sign-in pages needs tying to
	// this browser; finishWith unties it, so cookies do not pile up.
	http.SetCookie(w, &http.Cookie{Name: bindCookie + f.ID, Value: p.bindValue(f.ID), Path: "/saml/", HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(authTTL.Seconds())})
	p.SignIn.Begin(w, r, t)
}

// spName is the name the sign-in pages show: the request's ProviderName
// when the SP signed it, else the SP's configured name (saml_sps name, or
// the OrganizationDisplayName of its metadata), else its entity ID.
func (p *IdP) spName(st *authState, sp *SP) string {
	provider := ""
	if st.Signed {
		provider = st.Req.ProviderName
	}
	return broker.DisplayName(provider, sp.Name, sp.EntityID)
}

// continueLogin takes the outcome of the transaction toSignIn started
// (done, for this SP, for the citizen of the browser's session), checks
// the session meets the request, and answers the SP.
func (p *IdP) continueLogin(w http.ResponseWriter, r *http.Request) {
	st, f, sp, ok := p.pending(w, r)
	if !ok {
		return
	}
	if c, err := r.Cookie(bindCookie + f.ID); err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.bindValue(f.ID))) != 1 {
		p.refusePage(w, r, sp.EntityID, refuse("saml.err.other_browser", "the sign-in was started in another browser"))
		return
	}
	se, err := p.session(r)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	t, err := p.Broker.Outcome(r.Context(), st.TxID, sp.EntityID)
	if _, known := problem.As(err); err != nil && !known && !errors.Is(err, broker.ErrTxPending) {
		p.Server.WriteError(w, r, err)
		return
	}
	switch {
	case t == nil || se == nil || se.Subject != t.CitizenID || !broker.LoA(se.LoA).AtLeast(st.MinLoA):
		// Not this request's sign-in (never finished, another tab's, or
		// the session changed since), or not enough: a new round.
		p.toSignIn(w, r, st, f, sp, st.Req.ForceAuthn)
	case st.Req.ForceAuthn && se.AuthTime.Before(st.Started.Add(-time.Second)):
		p.toSignIn(w, r, st, f, sp, true)
	case !broker.AllowsAMR(st.Methods, se.AMR):
		p.toSignIn(w, r, st, f, sp, true)
	default:
		p.success(w, r, st, f, sp, se)
	}
}

// success answers the SP with an assertion for the session's citizen.
func (p *IdP) success(w http.ResponseWriter, r *http.Request, st *authState, f *store.Flow, sp *SP, se *broker.Session) {
	ctx := r.Context()
	loa, ok := answerLoA(broker.LoA(se.LoA), st.Allowed)
	if !ok {
		p.finishWith(w, r, st, f, &outcome{req: &st.Req, sp: sp, acs: st.ACS, relay: st.RelayState, top: statusResponder,
			status: statusNoAuthnContext, message: "the level reached is not one the request accepts"})
		return
	}
	c, err := p.Store.CitizenByID(ctx, se.Subject)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	o := &outcome{req: &st.Req, sp: sp, acs: st.ACS, relay: st.RelayState, citizen: c, loa: loa, authTime: se.AuthTime,
		sessionIx: p.sessionIndex(se.ID), sessionID: se.ID, prevSessionID: st.PrevSession}
	p.finishWith(w, r, st, f, o)
}

// finishWith builds and signs the response, then in one transaction
// marks the request answered (once: a second tab or a reload loses) or,
// for a request answered straight from the login URL (f nil), records
// its ID against replay, which a reload of that URL then meets; records
// the SP among the session's single-logout participants and audits the
// response; last it posts the response to the SP. Signing comes first so
// that no write transaction waits on it.
func (p *IdP) finishWith(w http.ResponseWriter, r *http.Request, st *authState, f *store.Flow, o *outcome) {
	ctx := r.Context()
	if o.citizen != nil {
		o.nameIDFormat, o.nameID = p.nameID(o)
	}
	b, err := p.buildResponse(o, p.now())
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	var data []byte
	if f != nil {
		if data, err = json.Marshal(st); err != nil {
			p.Server.WriteError(w, r, err)
			return
		}
	}
	for range 3 {
		err = p.Store.InTx(ctx, func(tx store.Tx) error {
			if f == nil {
				if err := p.notReplayed(ctx, tx, o.sp, st.Req.ID); err != nil {
					return err
				}
			} else {
				g := *f // a retried transaction starts from the version read
				g.State, g.Data = "answered", data
				if err := tx.UpdateFlow(ctx, &g); err != nil {
					return fmt.Errorf("%w: %w", errAuthFlow, err)
				}
			}
			if o.citizen != nil {
				if err := p.rememberSP(ctx, tx, o); err != nil {
					return err
				}
			}
			ev := p.responseEvent(ctx, o)
			if f == nil {
				// No saml.authn_request event was written for this
				// request: its answer's event says what it asked.
				ev.Details["min_loa"] = string(st.MinLoA)
				ev.Details["force_authn"] = strconv.FormatBool(st.Req.ForceAuthn)
				ev.Details["is_passive"] = strconv.FormatBool(st.Req.IsPassive)
			}
			return audit.Append(ctx, tx, ev)
		})
		if !errors.Is(err, errParticipantsRace) {
			break
		}
	}
	var ref *refusal
	if errors.Is(err, errAuthFlow) {
		p.staleOrError(w, r, err)
		return
	} else if errors.As(err, &ref) {
		p.refusePage(w, r, o.sp.EntityID, ref)
		return
	} else if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if f != nil {
		if _, err := r.Cookie(bindCookie + f.ID); err == nil {
			http.SetCookie(w, &http.Cookie{Name: bindCookie + f.ID, Value: "", Path: "/saml/", MaxAge: -1, HttpOnly: true,
				Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
		}
	}
	p.postForm(w, r, o.acs, "SAMLResponse", b, o.relay)
}

// errAuthFlow marks a failure to mark the pending request answered.
var errAuthFlow = errors.New("saml: marking the request answered")

func (p *IdP) staleOrError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrStale) {
		p.refusePage(w, r, "", refuse("saml.err.tx_unknown", "the sign-in request was already answered"))
		return
	}
	p.Server.WriteError(w, r, err)
}

// respond builds, signs and posts a Response to the SP's assertion
// consumer service, and audits it.
func (p *IdP) respond(w http.ResponseWriter, r *http.Request, o *outcome) {
	b, err := p.buildResponse(o, p.now())
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if err := audit.Append(r.Context(), p.Store, p.responseEvent(r.Context(), o)); err != nil {
		p.Log.Error("saml audit", "request_id", httpserver.RequestID(r.Context()), "error", err.Error())
	}
	p.postForm(w, r, o.acs, "SAMLResponse", b, o.relay)
}

// responseEvent is the audit event of a response.
func (p *IdP) responseEvent(ctx context.Context, o *outcome) *audit.Event {
	subject, outcomeWord := "", "ok"
	d := map[string]string{"acs": o.acs}
	if o.req != nil {
		d["request"] = o.req.ID
	}
	if o.citizen != nil {
		subject = "citizen:" + o.citizen.ID
		d["loa"] = string(o.loa)
		d["encrypted"] = strconv.FormatBool(o.sp.EncryptionCert != nil)
	} else {
		outcomeWord = "denied"
		d["status"] = o.status
		d["message"] = o.message
	}
	return p.event(ctx, "saml.response", o.sp.EntityID, subject, outcomeWord, d)
}

// postForm renders the HTTP-POST binding page: a form the script
// submits at once, with a visible button for browsers without JavaScript.
func (p *IdP) postForm(w http.ResponseWriter, r *http.Request, action, param string, msg []byte, relay string) {
	origin := action
	if u, err := url.Parse(action); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' "+origin)
	w.Header().Set("Cache-Control", "no-store")
	if p.writePostPage(w, r, action, param, msg, relay) {
		return
	}
	p.Renderer.Render(w, r, http.StatusOK, "saml_post.html", "saml.post_title",
		postData(action, param, base64.StdEncoding.EncodeToString(msg), relay))
}

// refusePage shows why a message was refused, in the reader's language,
// and audits it. It never answers 500 for bad input.
func (p *IdP) refusePage(w http.ResponseWriter, r *http.Request, sp string, ref *refusal) {
	status := http.StatusBadRequest
	if ref.msgID == "saml.err.internal" {
		p.Log.Error("saml", "request_id", httpserver.RequestID(r.Context()), "error", ref.reason)
		status = http.StatusInternalServerError
	}
	p.audit(r.Context(), r, "saml.refused", sp, "", "denied", map[string]string{"reason": ref.reason, "code": ref.msgID})
	w.Header().Set("Cache-Control", "no-store")
	p.Renderer.Render(w, r, status, "saml_error.html", "saml.error_title", map[string]string{"MsgID": ref.msgID,
		"RequestID": httpserver.RequestID(r.Context())})
}

// audit records a protocol event in its own transaction; failures are
// logged, not fatal.
func (p *IdP) audit(ctx context.Context, r *http.Request, action, sp, subject, outcome string, d map[string]string) {
	if err := audit.Append(ctx, p.Store, p.event(ctx, action, sp, subject, outcome, d)); err != nil {
		p.Log.Error("saml audit", "request_id", httpserver.RequestID(r.Context()), "error", err.Error())
	}
}

// event is a protocol event about an SP, for audit.Append.
func (p *IdP) event(ctx context.Context, action, sp, subject, outcome string, d map[string]string) *audit.Event {
	if subject == "" {
		subject = "sp:" + sp
	}
	if d == nil {
		d = map[string]string{}
	}
	d["sp"] = sp
	return &audit.Event{At: p.now(), Actor: "sp:" + sp, Action: action, Subject: subject,
		Source: httpserver.ClientIP(ctx), Outcome: outcome, Details: d}
}

func (p *IdP) session(r *http.Request) (*broker.Session, error) {
	c, err := r.Cookie(p.SessionCookie)
	if err != nil {
		return nil, nil
	}
	return p.Broker.SessionFor(r.Context(), c.Value)
}

func (p *IdP) bindValue(id string) string {
	_, mac, _ := strings.Cut(p.Keyring.Hash("saml_bind", []byte(id)), ".")
	return mac
}

// sessionIndex names an SSO session to SPs without revealing its ID.
func (p *IdP) sessionIndex(sessionID string) string {
	m := hmac.New(sha256.New, p.keys.nameKey)
	m.Write([]byte("session\x00" + sessionID))
	return "_" + hex.EncodeToString(m.Sum(nil)[:20])
}
