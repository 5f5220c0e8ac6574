package account

import (
	"net/http"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// passkeyLoginPage is the data of the passkey sign-in page.
type passkeyLoginPage struct {
	T       *broker.Transaction
	Options string // JSON for navigator.credentials.get
}

// loginPasskey is /login/{id}/passkey: the browser's passkey prompt, no
// document typed. Every answer uses the challenge up; a failure shows a
// fresh one.
func (p *Pages) loginPasskey(w http.ResponseWriter, r *http.Request) {
	t, ok := p.transaction(w, r, broker.StateStarted)
	if !ok || !p.methodOffered(w, r, t, passkey.Name) {
		return
	}
	ctx := r.Context()
	var failure error
	if r.Method == http.MethodPost {
		failure = p.Passkey.FinishLogin(ctx, t, r.PostFormValue("response"), httpserver.ClientIP(ctx))
		if failure == nil && t.State == broker.StateDone {
			p.finish(w, r, t)
			return
		}
		if failure == nil { // a level the passkey does not reach is not offered
			failure = ErrMethodNotOffered
			t.State, t.CitizenID = broker.StateStarted, ""
		}
	}
	opts, err := p.Passkey.BeginLogin(t)
	if err == nil {
		err = p.Broker.Save(ctx, p.Store, t)
	}
	if isStale(err) {
		http.Redirect(w, r, "/login/"+t.ID+"/passkey", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	data := page{Any: passkeyLoginPage{T: t, Options: opts}}
	if failure != nil {
		p.fail(w, r, "login_passkey.html", "passkey.title", web.NewForm(nil), failure, data)
		return
	}
	data.Form = web.NewForm(nil)
	p.render(w, r, "login_passkey.html", "passkey.title", http.StatusOK, data)
}

// mePasskeysPage is the data of the account's passkey page.
type mePasskeysPage struct {
	Passkeys []passkeyRow
	Ceremony *passkey.Ceremony
	Done     string
}

type passkeyRow struct {
	ID, Name, Created, LastUsed string
	LoA                         string // the level a sign-in with it reaches now
	Certified                   bool   // its attestation verified to a configured vendor root
}

// mePasskeys is /me/passkeys: the citizen's passkeys, a form to add one
// and a button to remove each. It needs a session at substantial.
func (p *Pages) mePasskeys(w http.ResponseWriter, r *http.Request) {
	c, ok := p.substantialCitizen(w, r, "/me/passkeys")
	if !ok {
		return
	}
	ctx := r.Context()
	f := web.NewForm(map[string]string{"name": r.PostFormValue("name")})
	var failure error
	if r.Method == http.MethodPost {
		_, failure = p.Passkey.FinishRegistration(ctx, c, r.PostFormValue("ceremony"), r.PostFormValue("name"),
			r.PostFormValue("response"), httpserver.ClientIP(ctx))
		if failure == nil {
			http.Redirect(w, r, "/me/passkeys?done=added", http.StatusSeeOther)
			return
		}
	}
	p.showPasskeys(w, r, c, f, failure)
}

func (p *Pages) showPasskeys(w http.ResponseWriter, r *http.Request, c *identity.Citizen, f *web.Form, failure error) {
	ctx := r.Context()
	keys, err := p.Passkey.ListWithLevels(ctx, c.ID)
	var cer *passkey.Ceremony
	if err == nil {
		cer, err = p.Passkey.BeginRegistration(ctx, c)
	}
	if err != nil {
		p.Server.WriteError(w, r, err)
		return
	}
	data := mePasskeysPage{Ceremony: cer, Done: r.URL.Query().Get("done")}
	for _, k := range keys {
		data.Passkeys = append(data.Passkeys, passkeyRow{ID: k.ID, Name: k.Name,
			Created: k.CreatedAt.In(madrid).Format("02/01/2006"), LastUsed: dayOrEmpty(k.Passkey),
			LoA: string(k.LoA), Certified: k.Attestation.Verified})
	}
	if failure != nil {
		p.fail(w, r, "me_passkeys.html", "me_passkeys.title", f, failure, page{Any: data})
		return
	}
	p.render(w, r, "me_passkeys.html", "me_passkeys.title", http.StatusOK, page{Form: f, Any: data})
}

func dayOrEmpty(k store.Passkey) string {
	if k.LastUsedAt.IsZero() {
		return ""
	}
	return k.LastUsedAt.In(madrid).Format("02/01/2006 15:04")
}

// mePasskeyRemove is POST /me/passkeys/{pk}/remove.
func (p *Pages) mePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	c, ok := p.substantialCitizen(w, r, "/me/passkeys")
	if !ok {
		return
	}
	ctx := r.Context()
	if err := p.Passkey.Remove(ctx, c, r.PathValue("pk"), httpserver.ClientIP(ctx)); err != nil {
		p.showPasskeys(w, r, c, web.NewForm(nil), err)
		return
	}
	http.Redirect(w, r, "/me/passkeys?done=removed", http.StatusSeeOther)
}

// substantialCitizen returns the signed-in citizen when the session is at
// substantial or above; otherwise it sends the browser to sign in (or step
// up) and come back to back.
func (p *Pages) substantialCitizen(w http.ResponseWriter, r *http.Request, back string) (*identity.Citizen, bool) {
	ctx := r.Context()
	se, err := p.Broker.SessionFor(ctx, sessionToken(r))
	if err != nil {
		p.Server.WriteError(w, r, err)
		return nil, false
	}
	if se == nil || !broker.LoA(se.LoA).AtLeast(broker.Substantial) {
		http.Redirect(w, r, "/login?continue="+back+"&loa=substantial", http.StatusSeeOther)
		return nil, false
	}
	c, err := p.Store.CitizenByID(ctx, se.Subject)
	if err != nil {
		p.Server.WriteError(w, r, err)
		return nil, false
	}
	return c, true
}
