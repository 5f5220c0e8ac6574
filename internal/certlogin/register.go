package certlogin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Registration states.
const (
	RegContact = "contact"    // waiting for the mobile and email
	RegCodes   = "codes_sent" // codes sent to both
	RegDone    = "done"
)

// RegistrationTTL bounds a certificate registration.
const RegistrationTTL = 30 * time.Minute

// The confirmation codes: 6 digits, 10 minutes, 3 tries each.
var (
	SMSSpec   = secure.CodeSpec{Purpose: "certreg_sms", Kind: secure.Numeric, Digits: 6, TTL: 10 * time.Minute, MaxAttempts: 3}
	EmailSpec = secure.CodeSpec{Purpose: "certreg_email", Kind: secure.Numeric, Digits: 6, TTL: 10 * time.Minute, MaxAttempts: 3}
)

// registration is a certificate registration's data: what the
// certificate proved, then the contact data typed.
type registration struct {
	Document      identity.Document `json:"document"`
	GivenName     string            `json:"given_name"`
	FirstSurname  string            `json:"first_surname"`
	SecondSurname string            `json:"second_surname,omitempty"`
	Profile       string            `json:"profile"`
	LoA           broker.LoA        `json:"loa"`
	AMR           []string          `json:"amr"`
	Serial        string            `json:"serial"`
	Issuer        string            `json:"issuer"`
	Email         string            `json:"email,omitempty"`
	Mobile        string            `json:"mobile,omitempty"`

	flow *store.Flow
}

func (h *Handlers) openRegistration(ctx context.Context, t *broker.Transaction, res *certificate.Result, source string) (string, error) {
	if !res.Profile.LoA.AtLeast(t.Request.MinLoA) {
		ref := certificate.Refuse(res.Cert, certificate.ReasonLevel, "registration below the service's level")
		h.Method.Refuse(ctx, "", ref, res, source)
		return "", ref
	}
	reg := registration{Document: res.Document, GivenName: res.GivenName, FirstSurname: res.FirstSurname,
		SecondSurname: res.SecondSurname, Profile: res.Profile.Name, LoA: res.Profile.LoA, AMR: res.AMR(),
		Serial: res.Serial, Issuer: res.Issuer}
	data, err := json.Marshal(reg)
	if err != nil {
		return "", err
	}
	f := &store.Flow{ID: store.NewID(), Kind: KindRegistration, State: RegContact, Subject: t.ID, Data: data,
		ExpiresAt: h.Now().Add(RegistrationTTL)}
	if err := h.Store.CreateFlow(ctx, f); err != nil {
		return "", err
	}
	_ = audit.New(h.Store, h.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: "citizen.register.start",
		Source: source, Details: map[string]string{"channel": string(identity.ChannelCertificate), "document": res.Document.Masked(),
			"profile": res.Profile.Name, "serial": res.Serial, "issuer": res.Issuer, "sp": t.Request.SP}})
	return f.ID, nil
}

// loadRegistration returns the registration of the request's path, for
// the browser that started the transaction.
func (h *Handlers) loadRegistration(r *http.Request) (*broker.Transaction, *registration, error) {
	ctx := r.Context()
	if !account.Bound(r) {
		return nil, nil, ErrNotThisBrowser
	}
	f, err := h.Store.FlowByID(ctx, KindRegistration, r.PathValue("rid"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrRegistration
	} else if err != nil {
		return nil, nil, err
	}
	if f.Subject != r.PathValue("id") || f.State == RegDone || !h.Now().Before(f.ExpiresAt) {
		return nil, nil, ErrRegistration
	}
	t, err := h.Broker.Load(ctx, f.Subject)
	if err != nil {
		return nil, nil, err
	}
	var reg registration
	if err := json.Unmarshal(f.Data, &reg); err != nil {
		return nil, nil, err
	}
	reg.flow = f
	return t, &reg, nil
}

func (h *Handlers) saveRegistration(ctx context.Context, fl store.Flows, reg *registration, state string) error {
	data, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	reg.flow.State, reg.flow.Data = state, data
	if err := fl.UpdateFlow(ctx, reg.flow); errors.Is(err, store.ErrStale) {
		return broker.ErrTxStale
	} else if err != nil {
		return err
	}
	return nil
}

// regPage is the registration pages' data.
type regPage struct {
	Form     *web.Form
	Name     string
	Document string
	Mobile   string
	Email    string
	Service  string // the service the sign-in is for; "" for Clau's own pages
}

func (h *Handlers) page(t *broker.Transaction, reg *registration, f *web.Form) regPage {
	name := strings.TrimSpace(reg.GivenName + " " + reg.FirstSurname + " " + reg.SecondSurname)
	return regPage{Form: f, Name: name, Document: reg.Document.Masked(), Mobile: secure.MaskPhone(reg.Mobile),
		Email: secure.MaskEmail(reg.Email), Service: serviceName(t)}
}

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, name, title string, err error, data regPage) {
	status := http.StatusOK
	if err != nil {
		if _, ok := problem.As(err); !ok {
			h.Log.Error("certificate registration failed", "request_id", httpserver.RequestID(r.Context()), "error", err.Error())
		}
		data.Form.Fail(h.cat, h.Main.Lang(r), err)
		status = problem.Status(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	h.MainR.Render(w, r, status, name, title, data)
}

// register asks for the mobile and the email and sends a code to each.
func (h *Handlers) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, reg, err := h.loadRegistration(r)
	if err != nil {
		h.refused(w, r, h.MainR, err, "/login/"+r.PathValue("id"))
		return
	}
	f := web.NewForm(map[string]string{"mobile": reg.Mobile, "email": reg.Email})
	if r.Method == http.MethodGet {
		h.render(w, r, "cert_register.html", "cert.register_title", nil, h.page(t, reg, f))
		return
	}
	f.Values["mobile"], f.Values["email"] = r.PostFormValue("mobile"), r.PostFormValue("email")
	source := httpserver.ClientIP(ctx)
	err = h.sendCodes(ctx, t, reg, f.Values["mobile"], f.Values["email"], h.Main.Lang(r), source)
	if err != nil {
		if p, ok := problem.As(err); ok {
			_ = audit.New(h.Store, h.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: "citizen.register",
				Source: source, Outcome: audit.Denied, Details: map[string]string{"channel": string(identity.ChannelCertificate),
					"document": reg.Document.Masked(), "reason": p.Error(), "serial": reg.Serial, "issuer": reg.Issuer}})
		}
		h.render(w, r, "cert_register.html", "cert.register_title", err, h.page(t, reg, f))
		return
	}
	http.Redirect(w, r, r.URL.Path+"/confirm", http.StatusSeeOther)
}

func (h *Handlers) sendCodes(ctx context.Context, t *broker.Transaction, reg *registration, mobile, email, lang, source string) error {
	var fields []problem.Field
	m, err := identity.NormaliseMobile(mobile)
	if err != nil {
		fields = append(fields, problem.Field{Name: "mobile", MsgID: "mobile.format"})
	}
	e, err := identity.NormaliseEmail(email)
	if err != nil {
		fields = append(fields, problem.Field{Name: "email", MsgID: "email.format"})
	}
	if len(fields) > 0 {
		return problem.Invalid(fields...)
	}
	if _, err := h.Store.CitizenByMobile(ctx, m); err == nil {
		return problem.Invalid(problem.Field{Name: "mobile", MsgID: "duplicate.mobile"})
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	reg.Mobile, reg.Email = m, e
	rid := reg.flow.ID
	version := reg.flow.Version
	return h.Store.InTx(ctx, func(tx store.Tx) error {
		reg.flow.Version = version
		for _, c := range []struct {
			spec     secure.CodeSpec
			channel  notify.Channel
			to, tmpl string
		}{{SMSSpec, notify.SMS, m, "sms.code"}, {EmailSpec, notify.Email, e, "email.code"}} {
			code, _, err := h.Codes.Issue(ctx, tx, c.spec, rid)
			if err != nil {
				return err
			}
			live, err := tx.LiveCode(ctx, c.spec.Purpose, rid)
			if err != nil {
				return err
			}
			if _, _, err := h.Notifier.Queue(ctx, tx, notify.Request{Channel: c.channel, To: c.to, Template: c.tmpl,
				Language: lang, Data: map[string]any{"Code": code, "Minutes": int(c.spec.TTL.Minutes())},
				EventKey: c.spec.Purpose + ":" + live.ID}); err != nil {
				return err
			}
		}
		if err := h.saveRegistration(ctx, tx, reg, RegCodes); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: h.Now().UTC(), Actor: "anonymous", Action: "code.issue",
			Source: source, Details: map[string]string{"purpose": "certreg", "to": secure.MaskPhone(m) + " " + secure.MaskEmail(e),
				"tx": t.ID}})
	})
}

// confirm checks both codes; then the citizen exists (level advanced,
// channel certificate, active) and is signed in.
func (h *Handlers) confirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, reg, err := h.loadRegistration(r)
	if err == nil && reg.flow.State != RegCodes {
		http.Redirect(w, r, strings.TrimSuffix(r.URL.Path, "/confirm"), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.refused(w, r, h.MainR, err, "/login/"+r.PathValue("id"))
		return
	}
	f := web.NewForm(nil)
	if r.Method == http.MethodGet {
		h.render(w, r, "cert_confirm.html", "cert.confirm_title", nil, h.page(t, reg, f))
		return
	}
	source := httpserver.ClientIP(ctx)
	rid := reg.flow.ID
	var fields []problem.Field
	var ids []string
	for _, c := range []struct {
		spec  secure.CodeSpec
		field string
	}{{SMSSpec, "code"}, {EmailSpec, "email_code"}} {
		res, err := h.Codes.Verify(ctx, h.Store, c.spec, rid, r.PostFormValue(c.field))
		if err != nil {
			h.render(w, r, "cert_confirm.html", "cert.confirm_title", err, h.page(t, reg, f))
			return
		}
		if res.Err != nil {
			p, _ := problem.As(res.Err)
			fields = append(fields, problem.Field{Name: c.field, MsgID: p.MsgID, Args: map[string]any{"Remaining": res.Remaining}})
			continue
		}
		ids = append(ids, res.CodeID)
	}
	if len(fields) > 0 {
		_ = audit.New(h.Store, h.Now).Record(ctx, audit.Event{Actor: "anonymous", Action: "citizen.register",
			Source: source, Outcome: audit.Denied, Details: map[string]string{"channel": string(identity.ChannelCertificate),
				"document": reg.Document.Masked(), "reason": "wrong confirmation code", "serial": reg.Serial, "issuer": reg.Issuer}})
		h.render(w, r, "cert_confirm.html", "cert.confirm_title", problem.Invalid(fields...), h.page(t, reg, f))
		return
	}
	now := h.Now().UTC()
	c := &identity.Citizen{ID: store.NewID(), Document: reg.Document, GivenName: reg.GivenName, FirstSurname: reg.FirstSurname,
		SecondSurname: reg.SecondSurname, Email: reg.Email, Mobile: reg.Mobile, Language: h.Main.Lang(r),
		Level: identity.LevelAdvanced, Channel: identity.ChannelCertificate, Status: identity.StatusActive}
	if reg.Document.Type == identity.DNI {
		c.Nationality = "ES"
	}
	version := reg.flow.Version
	err = h.Store.InTx(ctx, func(tx store.Tx) error {
		reg.flow.Version = version
		for _, id := range ids {
			if err := tx.ConsumeCode(ctx, id, now); err != nil {
				return err
			}
		}
		if err := tx.CreateCitizen(ctx, c); err != nil {
			return err
		}
		if err := h.saveRegistration(ctx, tx, reg, RegDone); err != nil {
			return err
		}
		return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "citizen:" + c.ID, Action: "citizen.register",
			Subject: "citizen:" + c.ID, Source: source, Details: map[string]string{"channel": string(identity.ChannelCertificate),
				"level": string(identity.LevelAdvanced), "document": c.Document.Masked(), "profile": reg.Profile,
				"serial": reg.Serial, "issuer": reg.Issuer, "mobile": secure.MaskPhone(c.Mobile), "email": secure.MaskEmail(c.Email)}})
	})
	if errors.Is(err, store.ErrStale) {
		err = broker.ErrTxStale
	}
	if err != nil {
		h.render(w, r, "cert_confirm.html", "cert.confirm_title", store.DuplicateProblem(err), h.page(t, reg, f))
		return
	}
	t.Identified(c.ID, certificate.Name, reg.LoA, reg.AMR, now)
	h.complete(w, r, t)
}
