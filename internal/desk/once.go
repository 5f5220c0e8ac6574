package desk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// What a desk_once flow holds.
const (
	onceReceipt = "receipt" // an activation code on a printable receipt
	onceOfficer = "officer" // a new officer's password and TOTP seed
)

type onceData struct {
	Kind    string       `json:"kind"`
	Receipt *receiptView `json:"receipt,omitempty"`
	Secret  *secretView  `json:"secret,omitempty"`
}

// receiptView is the printable receipt, in the citizen's language.
type receiptView struct {
	Reissue       bool   `json:"reissue"`
	CitizenID     string `json:"citizen_id"`
	Lang          string `json:"lang"`
	Name          string `json:"name"`
	Document      string `json:"document"`
	DocumentType  string `json:"document_type"`
	MaskedMobile  string `json:"masked_mobile"`
	MaskedEmail   string `json:"masked_email"`
	Code          string `json:"code"`
	IssuedAt      string `json:"issued_at"`
	ExpiresAt     string `json:"expires_at"`
	OfficeName    string `json:"office_name"`
	OfficeAddress string `json:"office_address"`
	OfficeTown    string `json:"office_town"`
	OfficePhone   string `json:"office_phone"`
	OfficeCode    string `json:"office_code"`
	ActivationURL string `json:"activation_url"`
}

// Args are the receipt's values for its messages.
func (rv *receiptView) Args() map[string]any {
	return map[string]any{"Expires": rv.ExpiresAt, "Mobile": rv.MaskedMobile, "Email": rv.MaskedEmail}
}

// secretView is a new officer's credentials, shown once to the
// supervisor who made them.
type secretView struct {
	Username   string       `json:"username"`
	Name       string       `json:"name"`
	Password   string       `json:"password,omitempty"` // empty when only the TOTP seed was reset
	TOTPSecret string       `json:"totp_secret"`
	TOTPURI    string       `json:"totp_uri"`
	QR         template.URL `json:"-"` // data: URI of the QR code PNG, made when shown
}

// activationURL is where the receipt sends the citizen: Deps.ActivationURL,
// or, when that is a path, that path on the host the officer reached.
func (d *Desk) activationURL(r *http.Request) string {
	u := d.d.ActivationURL
	if !strings.HasPrefix(u, "/") {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + u
}

func (d *Desk) receiptOf(r *http.Request, is *registration.Issued, reissue bool) *receiptView {
	c, o := is.Citizen, is.Office
	name := c.GivenName + " " + c.FirstSurname
	if c.SecondSurname != "" {
		name += " " + c.SecondSurname
	}
	return &receiptView{Reissue: reissue, CitizenID: c.ID, Lang: c.Language, Name: name, Document: c.Document.Number,
		DocumentType: string(c.Document.Type), MaskedMobile: secure.MaskPhone(c.Mobile), MaskedEmail: secure.MaskEmail(c.Email),
		Code: is.Code, IssuedAt: d.dateTime(is.IssuedAt), ExpiresAt: d.date(is.ExpiresAt),
		OfficeName: o.Name, OfficeAddress: o.Address, OfficeTown: o.PostalCode + " " + o.Municipality,
		OfficePhone: o.Phone, OfficeCode: o.Code, ActivationURL: d.activationURL(r)}
}

// onceAAD binds a sealed one-time page to its flow.
func onceAAD(id string) []byte {
	return store.SealedValue{Table: "flows", Column: "data.sealed", RowID: id}.AAD() // see sqlstore.resealFlows
}

type sealedData struct {
	Sealed string `json:"sealed"`
}

// keepOnce stores data sealed in a desk_once flow for officer s and
// returns its ID. The flow lives onceTTL; key rotation does not re-seal
// it, so a key retired within that time makes it unreadable, as if
// expired.
func (d *Desk) keepOnce(ctx context.Context, s *signedIn, data onceData) (string, error) {
	plain, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	id := store.NewID()
	sealed, err := d.d.Keyring.Seal(plain, onceAAD(id))
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(sealedData{Sealed: sealed})
	now := d.now()
	return id, d.d.Store.CreateFlow(ctx, &store.Flow{ID: id, Kind: flowOnce, State: "ready", Subject: s.Officer.ID,
		Data: body, CreatedAt: now, ExpiresAt: now.Add(onceTTL)})
}

// errShown is a one-time page asked for again.
var errShown = problem.New(http.StatusGone, "desk.once.gone")

// takeOnce consumes the flow: the first caller gets the data, every later
// one (a reload, the back button, a second tab) errShown.
func (d *Desk) takeOnce(ctx context.Context, s *signedIn, id string) (*onceData, error) {
	f, err := d.d.Store.FlowByID(ctx, flowOnce, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.Subject != s.Officer.ID) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	if f.State != "ready" || !d.now().Before(f.ExpiresAt) {
		return nil, errShown
	}
	var sd sealedData
	if err := json.Unmarshal(f.Data, &sd); err != nil {
		return nil, err
	}
	f.State, f.Data = "shown", []byte("{}")
	if err := d.d.Store.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
		return nil, errShown
	} else if err != nil {
		return nil, err
	}
	plain, err := d.d.Keyring.Open(sd.Sealed, onceAAD(id))
	if err != nil {
		if errors.Is(err, secure.ErrSealed) {
			return nil, errShown
		}
		return nil, err
	}
	var data onceData
	if err := json.Unmarshal(plain, &data); err != nil {
		return nil, err
	}
	return &data, nil
}

func (d *Desk) showOnce(w http.ResponseWriter, r *http.Request, s *signedIn) {
	data, err := d.takeOnce(r.Context(), s, r.PathValue("id"))
	if errors.Is(err, errShown) {
		lang := d.lang(r)
		d.render(w, at(r, "/desk"), http.StatusGone, "desk_gone.html", "desk.once.gone_title", &view{Lang: lang, Me: d.me(lang, s)})
		return
	} else if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	switch {
	case data.Kind == onceReceipt && data.Receipt != nil:
		// The receipt is the citizen's: it speaks their language. The
		// request is re-read as if the citizen's browser had asked (no
		// language cookie or query), and its language links lead back to
		// the desk home, since this page cannot be shown again.
		rc := r.Clone(r.Context())
		rc.Header = r.Header.Clone()
		rc.Header.Del("Cookie")
		rc.Header.Set("Accept-Language", data.Receipt.Lang)
		rc.URL = &url.URL{Path: "/desk"}
		title := "desk.receipt.title"
		if data.Receipt.Reissue {
			title = "desk.receipt.title_reissue"
		}
		d.render(w, rc, http.StatusOK, "desk_receipt.html", title, &view{Lang: data.Receipt.Lang, Receipt: data.Receipt})
	case data.Kind == onceOfficer && data.Secret != nil:
		png, err := secure.TOTPQRCode(data.Secret.TOTPURI, 264)
		if err != nil {
			d.fail(w, r, "/desk/officers", err)
			return
		}
		// A data: URI made here from our own PNG bytes: safe to mark trusted.
		data.Secret.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
		lang := d.lang(r)
		r2 := r.Clone(r.Context())
		r2.URL = &url.URL{Path: "/desk/officers"}
		d.render(w, r2, http.StatusOK, "desk_secret.html", "desk.secret.title", &view{Lang: lang, Me: d.me(lang, s), Secret: data.Secret})
	default:
		d.fail(w, r, "/desk", errNotFound)
	}
}

// Form tickets: a one-use token in a form whose double submit would do
// the thing twice (issuing a code). Spending it is a compare-and-swap on
// the flow's version, so of two submits exactly one goes through.

type ticketData struct {
	Action string `json:"action"`
	Target string `json:"target"`
}

// errTicket is a form sent twice, or too late.
var errTicket = problem.New(http.StatusConflict, "desk.form.used")

func (d *Desk) newTicket(ctx context.Context, s *signedIn, action, target string) (string, error) {
	body, _ := json.Marshal(ticketData{Action: action, Target: target})
	now := d.now()
	id := store.NewID()
	return id, d.d.Store.CreateFlow(ctx, &store.Flow{ID: id, Kind: flowForm, State: "open", Subject: s.Officer.ID,
		Data: body, CreatedAt: now, ExpiresAt: now.Add(formTTL)})
}

func (d *Desk) spendTicket(ctx context.Context, s *signedIn, id, action, target string) error {
	if id == "" || len(id) > 64 {
		return errTicket
	}
	f, err := d.d.Store.FlowByID(ctx, flowForm, id)
	if errors.Is(err, store.ErrNotFound) {
		return errTicket
	} else if err != nil {
		return err
	}
	var td ticketData
	if err := json.Unmarshal(f.Data, &td); err != nil {
		return err
	}
	if f.Subject != s.Officer.ID || td.Action != action || td.Target != target || f.State != "open" || !d.now().Before(f.ExpiresAt) {
		return errTicket
	}
	f.State = "used"
	if err := d.d.Store.UpdateFlow(ctx, f); errors.Is(err, store.ErrStale) {
		return errTicket
	} else if err != nil {
		return err
	}
	return nil
}
