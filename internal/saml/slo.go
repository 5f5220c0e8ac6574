package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/store"
)

// Single logout. Every successful response records the SP in the session's
// participant list (a flow of kind saml_slosess named by the SessionIndex
// the SPs were given). A signed LogoutRequest from one SP names that
// SessionIndex: Clau ends the SSO session, then tells each other
// participant with a SingleLogoutService through the browser (a signed
// LogoutRequest, its signed LogoutResponse back to /saml/slo with the
// logout flow's ID as RelayState), and last answers the SP that asked,
// with Success or PartialLogout.
//
//	LogoutRequest ──► session ended ──► for each other SP: LogoutRequest ──►
//	   ◄── LogoutResponse ──► … ──► LogoutResponse to the first SP
const (
	sloSessKind = "saml_slosess"
	logoutKind  = "saml_logout"
	sloSessTTL  = 24 * time.Hour
	logoutTTL   = 10 * time.Minute

	statusUnknownPrincipal = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"
)

// participant is an SP a session's citizen was asserted to.
type participant struct {
	SP        string `json:"sp"`
	SessionIx string `json:"session_index"` // the one this SP was given
	NameID    string `json:"nameid"`
	Format    string `json:"format"`
}

type sloSession struct {
	SessionID    string        `json:"session_id"`
	Participants []participant `json:"participants"`
}

// logoutState is one single logout in progress.
type logoutState struct {
	Origin      string        `json:"origin"` // the SP that asked
	OriginReqID string        `json:"origin_req_id"`
	OriginRelay string        `json:"origin_relay,omitempty"`
	SessionIx   string        `json:"session_index"`
	Pending     []participant `json:"pending,omitempty"`
	Current     string        `json:"current,omitempty"` // the SP being told
	CurrentReq  string        `json:"current_req,omitempty"`
	Partial     bool          `json:"partial,omitempty"`
}

func (p *IdP) mountSLO() {
	p.Server.HandleFunc("GET "+sloPath, p.slo)
	p.Server.HandleFunc("POST "+sloPath, p.slo)
	p.Server.AllowCrossOrigin("POST " + sloPath)
}

// errParticipantsRace: another response changed the session's
// participants during the transaction; the caller runs it again.
var errParticipantsRace = errors.New("saml: session participants changed while recording")

// rememberSP adds the response's SP to the session's participants, in
// the caller's transaction.
func (p *IdP) rememberSP(ctx context.Context, tx store.Tx, o *outcome) error {
	pt := participant{SP: o.sp.EntityID, SessionIx: o.sessionIx, NameID: o.nameID, Format: o.nameIDFormat}
	carried, err := p.carryOver(ctx, tx, o)
	if err != nil {
		return err
	}
	f, err := tx.FlowByID(ctx, sloSessKind, o.sessionIx)
	if errors.Is(err, store.ErrNotFound) {
		data, err := json.Marshal(sloSession{SessionID: o.sessionID, Participants: merge(carried, pt)})
		if err != nil {
			return err
		}
		err = tx.CreateFlow(ctx, &store.Flow{ID: o.sessionIx, Kind: sloSessKind, State: "active",
			Subject: o.citizen.ID, Data: data, ExpiresAt: p.now().Add(sloSessTTL)})
		var dup *store.DuplicateError
		if errors.As(err, &dup) {
			return errParticipantsRace
		}
		return err
	} else if err != nil {
		return err
	}
	var ss sloSession
	if err := json.Unmarshal(f.Data, &ss); err != nil {
		return err
	}
	if len(carried) == 0 && len(ss.Participants) > 0 && ss.Participants[len(ss.Participants)-1] == pt {
		// The SP asked again in this session and was the last to: merging
		// would give the same list, so there is nothing to write.
		return nil
	}
	ss.Participants = merge(append(ss.Participants, carried...), pt)
	if f.Data, err = json.Marshal(ss); err != nil {
		return err
	}
	if err := tx.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
		return errParticipantsRace
	} else {
		return err
	}
}

// merge adds pt to ps, one entry per SP (the newest wins).
func merge(ps []participant, pt participant) []participant {
	var out []participant
	for _, x := range ps {
		if x.SP != pt.SP && !slices.ContainsFunc(out, func(y participant) bool { return y.SP == x.SP }) {
			out = append(out, x)
		}
	}
	return append(out, pt)
}

// carryOver moves the participants of the session the sign-in pages
// rotated away to the new one, and points the old SessionIndex at the new
// session, so a LogoutRequest naming either ends the live session.
func (p *IdP) carryOver(ctx context.Context, tx store.Tx, o *outcome) ([]participant, error) {
	if o.prevSessionID == "" || o.prevSessionID == o.sessionID {
		return nil, nil
	}
	f, err := tx.FlowByID(ctx, sloSessKind, p.sessionIndex(o.prevSessionID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var ss sloSession
	if err := json.Unmarshal(f.Data, &ss); err != nil {
		return nil, err
	}
	carried := ss.Participants
	ss.SessionID = o.sessionID
	f.Data, _ = json.Marshal(ss)
	if err := tx.UpdateFlow(ctx, f); err != nil && !errors.Is(err, store.ErrStale) {
		return nil, err
	}
	return carried, nil
}

// slo receives LogoutRequests and LogoutResponses over both bindings.
func (p *IdP) slo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	param := "SAMLRequest"
	if r.FormValue("SAMLResponse") != "" {
		param = "SAMLResponse"
	}
	v, relay := r.FormValue(param), r.FormValue("RelayState")
	if v == "" {
		p.refusePage(w, r, "", refuse("saml.err.missing", "no SAMLRequest or SAMLResponse"))
		return
	}
	var (
		raw []byte
		err error
		q   *signedQuery
	)
	if r.Method == http.MethodPost {
		raw, err = decodePOST(v)
	} else if raw, err = decodeRedirect(v); err == nil {
		q, err = redirectSignature(r.URL.RawQuery, param)
	}
	if err != nil {
		p.refusePage(w, r, "", asRefusal(err))
		return
	}
	el, sp, signed, ref := p.verifyMessage(raw, q)
	if ref == nil {
		if d := el.SelectAttrValue("Destination", ""); d != p.sloURL && (d != "" || signed) {
			ref = refuse("saml.err.destination", "Destination %q is not %s", d, p.sloURL)
		}
	}
	if ref == nil {
		t, err := time.Parse(time.RFC3339Nano, el.SelectAttrValue("IssueInstant", ""))
		if err != nil || t.After(p.now().Add(clockSkew)) || t.Before(p.now().Add(-requestAge-clockSkew)) {
			ref = refuse("saml.err.expired", "IssueInstant missing or outside the accepted window")
		}
	}
	if ref == nil && !validID(el.SelectAttrValue("ID", "")) {
		ref = refuse("saml.err.malformed", "ID missing or not an xs:ID")
	}
	if ref == nil {
		ref = storeRefusal(p.notReplayed(ctx, p.Store, sp, el.SelectAttrValue("ID", "")))
	}
	if ref != nil {
		issuer := ""
		if sp != nil {
			issuer = sp.EntityID
		}
		p.refusePage(w, r, issuer, ref)
		return
	}
	switch {
	case param == "SAMLRequest" && is(el, nsSAMLP, "LogoutRequest"):
		p.logoutRequest(w, r, sp, el, relay)
	case param == "SAMLResponse" && is(el, nsSAMLP, "LogoutResponse"):
		p.logoutResponse(w, r, sp, el, relay)
	default:
		p.refusePage(w, r, sp.EntityID, refuse("saml.err.malformed", "not a LogoutRequest or LogoutResponse"))
	}
}

// logoutRequest ends the session a verified LogoutRequest names and starts
// telling the other participants.
func (p *IdP) logoutRequest(w http.ResponseWriter, r *http.Request, sp *SP, el *etree.Element, relay string) {
	ctx := r.Context()
	st := &logoutState{Origin: sp.EntityID, OriginReqID: el.SelectAttrValue("ID", ""), OriginRelay: relay,
		SessionIx: text(child(el, nsSAMLP, "SessionIndex"))}
	nameID := text(child(el, nsSAML, "NameID"))
	var ss sloSession
	f, err := p.Store.FlowByID(ctx, sloSessKind, st.SessionIx)
	if err == nil {
		err = json.Unmarshal(f.Data, &ss)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.Server.WriteError(w, r, err)
		return
	}
	known := err == nil && slices.ContainsFunc(ss.Participants, func(x participant) bool {
		return x.SP == sp.EntityID && x.NameID == nameID
	})
	if known && p.sessionIndex(ss.SessionID) != st.SessionIx {
		// The index was carried over to a newer session: its flow has
		// every participant.
		cur, err := p.Store.FlowByID(ctx, sloSessKind, p.sessionIndex(ss.SessionID))
		if err == nil && json.Unmarshal(cur.Data, &ss) == nil {
			f = cur
		}
	}
	if !known {
		// Nothing to end for this SP and name: say so, signed.
		p.audit(ctx, r, "saml.logout", sp.EntityID, "", "denied", map[string]string{"reason": "unknown session or name"})
		p.sendLogoutResponse(w, r, sp, st.OriginReqID, relay, statusRequester, statusUnknownPrincipal)
		return
	}
	if err := p.Broker.EndSession(ctx, ss.SessionID, broker.Meta{Source: httpserver.ClientIP(ctx), UserAgent: r.UserAgent()},
		"sp:"+sp.EntityID); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	if c, err := r.Cookie(p.SessionCookie); err == nil && c.Value != "" {
		http.SetCookie(w, &http.Cookie{Name: p.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
	}
	for _, x := range ss.Participants {
		if other := p.sp(x.SP); x.SP != sp.EntityID && other != nil {
			if _, ok := other.slo(); ok {
				st.Pending = append(st.Pending, x)
			}
		}
	}
	f.State = "ended"
	_ = p.Store.UpdateFlow(ctx, f) // best effort: the session itself is already revoked
	p.audit(ctx, r, "saml.logout", sp.EntityID, "citizen:"+f.Subject, "ok", map[string]string{"others": strconv.Itoa(len(st.Pending))})
	id := store.NewID()
	data, _ := json.Marshal(st)
	lf := &store.Flow{ID: id, Kind: logoutKind, State: "running", Data: data, ExpiresAt: p.now().Add(logoutTTL)}
	if err := p.Store.CreateFlow(ctx, lf); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	p.nextLogout(w, r, st, lf)
}

// logoutResponse takes another participant's answer and goes on.
func (p *IdP) logoutResponse(w http.ResponseWriter, r *http.Request, sp *SP, el *etree.Element, relay string) {
	ctx := r.Context()
	f, err := p.Store.FlowByID(ctx, logoutKind, relay)
	var st logoutState
	if err == nil {
		err = json.Unmarshal(f.Data, &st)
	}
	if err != nil || f.State != "running" || !p.now().Before(f.ExpiresAt) || st.Current != sp.EntityID ||
		el.SelectAttrValue("InResponseTo", "") != st.CurrentReq {
		p.refusePage(w, r, sp.EntityID, refuse("saml.err.tx_unknown", "LogoutResponse to no logout in progress from this SP"))
		return
	}
	status := ""
	if sc := child(child(el, nsSAMLP, "Status"), nsSAMLP, "StatusCode"); sc != nil {
		status = sc.SelectAttrValue("Value", "")
	}
	if status != statusSuccess {
		st.Partial = true
	}
	p.audit(ctx, r, "saml.logout_response", sp.EntityID, "", map[bool]string{true: "ok", false: "failed"}[status == statusSuccess],
		map[string]string{"status": status})
	p.nextLogout(w, r, &st, f)
}

// nextLogout tells the next participant, or answers the SP that asked.
func (p *IdP) nextLogout(w http.ResponseWriter, r *http.Request, st *logoutState, f *store.Flow) {
	ctx := r.Context()
	for len(st.Pending) > 0 {
		x := st.Pending[0]
		st.Pending = st.Pending[1:]
		sp := p.sp(x.SP)
		if sp == nil {
			st.Partial = true
			continue
		}
		ep, _ := sp.slo()
		req := p.newLogoutRequest(ep.Location, x)
		st.Current, st.CurrentReq = x.SP, req.SelectAttrValue("ID", "")
		f.Data, _ = json.Marshal(st)
		if err := p.Store.UpdateFlow(ctx, f); err != nil {
			p.staleOrError(w, r, err)
			return
		}
		p.send(w, r, ep, "SAMLRequest", req, f.ID)
		return
	}
	f.State = "done"
	f.Data, _ = json.Marshal(st)
	if err := p.Store.UpdateFlow(ctx, f); err != nil {
		p.staleOrError(w, r, err)
		return
	}
	origin := p.sp(st.Origin)
	if origin == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	top, second := statusSuccess, ""
	if st.Partial {
		top, second = statusResponder, statusPartialLogout
	}
	p.sendLogoutResponse(w, r, origin, st.OriginReqID, st.OriginRelay, top, second)
}

func (p *IdP) newLogoutRequest(dest string, x participant) *etree.Element {
	req := etree.NewElement("samlp:LogoutRequest")
	req.CreateAttr("xmlns:samlp", nsSAMLP)
	req.CreateAttr("xmlns:saml", nsSAML)
	req.CreateAttr("ID", newID())
	req.CreateAttr("Version", "2.0")
	req.CreateAttr("IssueInstant", stamp(p.now()))
	req.CreateAttr("Destination", dest)
	req.CreateAttr("NotOnOrAfter", stamp(p.now().Add(logoutTTL)))
	p.issuer(req)
	nid := req.CreateElement("saml:NameID")
	nid.CreateAttr("Format", x.Format)
	if x.Format == nameIDPersistent {
		nid.CreateAttr("NameQualifier", p.entityID)
		nid.CreateAttr("SPNameQualifier", x.SP)
	}
	nid.SetText(x.NameID)
	req.CreateElement("samlp:SessionIndex").SetText(x.SessionIx)
	return req
}

// sendLogoutResponse answers an SP's LogoutRequest at its SLO endpoint.
func (p *IdP) sendLogoutResponse(w http.ResponseWriter, r *http.Request, sp *SP, inResponseTo, relay, top, second string) {
	ep, ok := sp.slo()
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	res := etree.NewElement("samlp:LogoutResponse")
	res.CreateAttr("xmlns:samlp", nsSAMLP)
	res.CreateAttr("xmlns:saml", nsSAML)
	res.CreateAttr("ID", newID())
	res.CreateAttr("Version", "2.0")
	res.CreateAttr("IssueInstant", stamp(p.now()))
	res.CreateAttr("Destination", ep.Location)
	res.CreateAttr("InResponseTo", inResponseTo)
	p.issuer(res)
	sc := res.CreateElement("samlp:Status").CreateElement("samlp:StatusCode")
	sc.CreateAttr("Value", top)
	if second != "" {
		sc.CreateElement("samlp:StatusCode").CreateAttr("Value", second)
	}
	p.send(w, r, ep, "SAMLResponse", res, relay)
}

// send delivers a message to an SP endpoint: signed XML in an
// auto-submitting form (HTTP-POST), or a signed query (HTTP-Redirect).
func (p *IdP) send(w http.ResponseWriter, r *http.Request, ep endpoint, param string, msg *etree.Element, relay string) {
	doc := etree.NewDocument()
	doc.SetRoot(msg)
	if ep.Binding == bindRedir {
		b, err := doc.WriteToBytes()
		if err == nil {
			var u string
			if u, err = p.redirectURL(ep.Location, param, b, relay); err == nil {
				http.Redirect(w, r, u, http.StatusSeeOther)
				return
			}
		}
		p.Server.WriteError(w, r, err)
		return
	}
	if err := p.keys.sign(msg); err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	p.postForm(w, r, ep.Location, param, b, relay)
}

// redirectURL encodes a message for the HTTP-Redirect binding, signed
// with RSA-SHA256 over the query octets.
func (p *IdP) redirectURL(loc, param string, msg []byte, relay string) (string, error) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(msg)
	fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relay != "" {
		q += "&RelayState=" + url.QueryEscape(relay)
	}
	q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
	sum := sha256.Sum256([]byte(q))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.keys.rsa, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	sep := "?"
	if u, err := url.Parse(loc); err == nil && u.RawQuery != "" {
		sep = "&"
	}
	return loc + sep + q, nil
}
