package desk

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Office staff management: supervisors add officers to their own office
// and disable or re-enable them, or give them a new TOTP seed; admins do
// it for any office. Nobody manages their own account here, and only
// admins touch admins.

var errNotManager = problem.New(http.StatusForbidden, "desk.officers.forbidden")

type officerView struct {
	ID, Username, Name, Office, Role, Status string
	Active, TOTP, Self, Manage               bool
	Version                                  int64
	// Button labels naming the officer, for screen readers.
	DisableLabel, EnableLabel, TOTPLabel string
}

// mayManage reports whether s may change officer o.
func (s *signedIn) mayManage(o *identity.Officer) bool {
	switch {
	case o.ID == s.Officer.ID:
		return false
	case s.admin():
		return true
	case s.Officer.Role == identity.RoleSupervisor:
		return o.OfficeID == s.Office.ID && o.Role != identity.RoleAdmin
	}
	return false
}

func (d *Desk) officerFields(ctx context.Context, s *signedIn) ([]field, error) {
	roles := []option{{Value: "officer", Label: "desk.role.officer"}, {Value: "supervisor", Label: "desk.role.supervisor"}}
	fields := []field{
		{Name: "username", Label: "desk.field.username", Hint: "desk.hint.username", Type: "text", Required: true, Autocomplete: "off", Size: "short"},
		{Name: "display_name", Label: "desk.field.display_name", Type: "text", Required: true, Autocomplete: "off"},
	}
	if s.admin() {
		roles = append(roles, option{Value: "admin", Label: "desk.role.admin"})
		offices, err := d.d.Store.ListOffices(ctx, true)
		if err != nil {
			return nil, err
		}
		opts := []option{}
		for _, o := range offices {
			opts = append(opts, option{Value: o.Code, Text: o.Code + " · " + o.Name})
		}
		fields = append(fields, field{Name: "office", Label: "desk.field.office", Type: "select", Required: true, Options: opts})
	}
	return append(fields, field{Name: "role", Label: "desk.field.role", Type: "select", Required: true, Options: roles}), nil
}

func (d *Desk) renderOfficers(w http.ResponseWriter, r *http.Request, s *signedIn, status int, form *web.Form, notice string, pageErr error) {
	ctx, lang := r.Context(), d.lang(r)
	scope := s.Office.ID
	if s.admin() {
		scope = ""
	}
	list, err := d.d.Store.ListOfficers(ctx, scope)
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	offices, err := d.d.Store.ListOffices(ctx, false)
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	codes := map[string]string{}
	for _, o := range offices {
		codes[o.ID] = o.Code
	}
	sort.SliceStable(list, func(i, j int) bool {
		if codes[list[i].OfficeID] != codes[list[j].OfficeID] {
			return codes[list[i].OfficeID] < codes[list[j].OfficeID]
		}
		return list[i].Username < list[j].Username
	})
	v := &view{Lang: lang, Me: d.me(lang, s)}
	for i := range list {
		o := &list[i]
		v.Officers = append(v.Officers, officerView{ID: o.ID, Username: o.Username, Name: o.DisplayName, Office: codes[o.OfficeID],
			Role: "desk.role." + string(o.Role), Status: "desk.officer_status." + string(o.Status),
			Active: o.Status == identity.OfficerActive, TOTP: o.TOTPSecretSealed != "", Self: o.ID == s.Officer.ID,
			Manage: s.mayManage(o), Version: o.Version,
			DisableLabel: d.t(lang, "desk.officers.disable_label", map[string]any{"Username": o.Username}),
			EnableLabel:  d.t(lang, "desk.officers.enable_label", map[string]any{"Username": o.Username}),
			TOTPLabel:    d.t(lang, "desk.officers.totp_label", map[string]any{"Username": o.Username})})
	}
	fields, err := d.officerFields(ctx, s)
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	if form == nil {
		form = web.NewForm(map[string]string{"office": s.Office.Code, "role": "officer"})
	}
	v.Form = d.buildForm(lang, form, fields)
	d.setMessages(v, lang, notice, pageErr)
	d.render(w, at(r, "/desk/officers"), status, "desk_officers.html", "desk.officers.title", v)
}

func (d *Desk) officersPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.manages() {
		d.fail(w, r, "/desk", errNotManager)
		return
	}
	notice := ""
	switch r.URL.Query().Get("done") {
	case "disabled":
		notice = "desk.officers.disabled_done"
	case "active":
		notice = "desk.officers.enabled_done"
	}
	d.renderOfficers(w, r, s, http.StatusOK, nil, notice, nil)
}

// generatePassword makes a 128-bit random password (crypto/rand.Text:
// 26 base32 characters), grouped for reading aloud.
func generatePassword() string {
	t := rand.Text()
	return t[:7] + "-" + t[7:13] + "-" + t[13:19] + "-" + t[19:]
}

func (d *Desk) officerAdd(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if !s.manages() {
		d.fail(w, r, "/desk", errNotManager)
		return
	}
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	form := web.NewForm(map[string]string{"username": r.PostFormValue("username"), "display_name": r.PostFormValue("display_name"),
		"role": r.PostFormValue("role"), "office": r.PostFormValue("office")})
	fields, err := d.officerFields(ctx, s)
	if err != nil {
		d.fail(w, r, "/desk/officers", err)
		return
	}
	office := s.Office
	var bad []problem.Field
	if s.admin() {
		o, err := d.d.Store.OfficeByCode(ctx, r.PostFormValue("office"))
		if err != nil || !o.Active {
			bad = append(bad, problem.Field{Name: "office", MsgID: "officer.office"})
		} else {
			office = o
		}
	}
	role := identity.Role(r.PostFormValue("role"))
	if role == identity.RoleAdmin && !s.admin() {
		bad = append(bad, problem.Field{Name: "role", MsgID: "officer.role"})
	}
	o := &identity.Officer{ID: store.NewID(), Username: r.PostFormValue("username"), DisplayName: r.PostFormValue("display_name"),
		OfficeID: office.ID, Role: role, Status: identity.OfficerActive}
	roleBad := len(bad) > 0 && bad[len(bad)-1].Name == "role"
	if p, ok := problem.As(o.Normalise()); ok {
		for _, f := range p.Fields {
			if f.Name == "display_name" || f.Name == "username" || (f.Name == "role" && !roleBad) {
				bad = append(bad, f)
			}
		}
	}
	fail := func(err error) {
		if _, ok := problem.As(err); !ok {
			d.fail(w, r, "/desk/officers", err)
			return
		}
		d.failForm(lang, form, err, fields)
		d.renderOfficers(w, r, s, problem.Status(err), form, "", nil)
	}
	if len(bad) > 0 {
		fail(problem.Invalid(bad...))
		return
	}
	password := generatePassword()
	hash, err := d.d.Hasher.Hash(ctx, password)
	if err != nil {
		fail(err)
		return
	}
	o.PasswordHash = hash
	secret, uri, err := SealNewTOTP(d.d.Keyring, o)
	if err != nil {
		fail(err)
		return
	}
	err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
		c := *o
		if err := tx.CreateOfficer(ctx, &c); err != nil {
			return store.DuplicateProblem(err)
		}
		return audit.Append(ctx, tx, &audit.Event{At: d.now(), Actor: "officer:" + s.Officer.Username, Action: "officer.create",
			Subject: "officer:" + o.Username, Office: office.Code, Source: s.actor(r).Source,
			Details: map[string]string{"role": string(o.Role), "totp": "enrolled"}})
	})
	if err != nil {
		fail(err)
		return
	}
	id, err := d.keepOnce(ctx, s, onceData{Kind: onceOfficer, Secret: &secretView{Username: o.Username, Name: o.DisplayName,
		Password: password, TOTPSecret: secret, TOTPURI: uri}})
	if err != nil {
		d.fail(w, r, "/desk/officers", err)
		return
	}
	seeOther(w, r, "/desk/once/"+id)
}

// managed loads the officer a management form is about, if s may change
// it at the version the form showed.
func (d *Desk) managed(r *http.Request, s *signedIn) (*identity.Officer, *identity.Office, error) {
	ctx := r.Context()
	if !s.manages() {
		return nil, nil, errNotManager
	}
	o, err := d.d.Store.OfficerByID(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errNotFound
	} else if err != nil {
		return nil, nil, err
	}
	if !s.mayManage(o) {
		return nil, nil, errNotManager
	}
	if v, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64); err != nil || v != o.Version {
		return nil, nil, problem.New(http.StatusConflict, "store.stale")
	}
	office, err := d.d.Store.OfficeByID(ctx, o.OfficeID)
	if err != nil {
		return nil, nil, err
	}
	return o, office, nil
}

func (d *Desk) officerStatus(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	o, office, err := d.managed(r, s)
	status := identity.OfficerStatus(r.PostFormValue("status"))
	if err == nil && status != identity.OfficerActive && status != identity.OfficerDisabled {
		err = problem.Invalid(problem.Field{Name: "status", MsgID: "officer.status"})
	}
	if err == nil {
		now := d.now()
		err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
			c := *o
			c.Status = status
			if err := tx.UpdateOfficer(ctx, &c); err != nil {
				return err
			}
			if status == identity.OfficerDisabled {
				// Sessions and tokens already stop working for a disabled
				// officer; revoking them keeps them dead if re-enabled.
				if err := revokeSessions(ctx, tx, o.ID, now); err != nil {
					return err
				}
			}
			action := "officer.enable"
			if status == identity.OfficerDisabled {
				action = "officer.disable"
			}
			return audit.Append(ctx, tx, &audit.Event{At: now, Actor: "officer:" + s.Officer.Username, Action: action,
				Subject: "officer:" + o.Username, Office: office.Code, Source: s.actor(r).Source})
		})
		if errors.Is(err, store.ErrStale) {
			err = problem.New(http.StatusConflict, "store.stale")
		}
	}
	if err != nil {
		d.officersRefused(w, r, s, err)
		return
	}
	seeOther(w, r, "/desk/officers?done="+string(status))
}

func (d *Desk) officerTOTP(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	o, office, err := d.managed(r, s)
	var secret, uri string
	if err == nil {
		err = d.d.Store.InTx(ctx, func(tx store.Tx) error {
			c := *o
			var err error
			if secret, uri, err = EnrollTOTP(ctx, tx, d.d.Keyring, &c); err != nil {
				return err
			}
			return audit.Append(ctx, tx, &audit.Event{At: d.now(), Actor: "officer:" + s.Officer.Username, Action: "officer.totp_enroll",
				Subject: "officer:" + o.Username, Office: office.Code, Source: s.actor(r).Source})
		})
		if errors.Is(err, store.ErrStale) {
			err = problem.New(http.StatusConflict, "store.stale")
		}
	}
	if err != nil {
		d.officersRefused(w, r, s, err)
		return
	}
	id, err := d.keepOnce(ctx, s, onceData{Kind: onceOfficer, Secret: &secretView{Username: o.Username, Name: o.DisplayName,
		TOTPSecret: secret, TOTPURI: uri}})
	if err != nil {
		d.fail(w, r, "/desk/officers", err)
		return
	}
	seeOther(w, r, "/desk/once/"+id)
}

func (d *Desk) officersRefused(w http.ResponseWriter, r *http.Request, s *signedIn, err error) {
	if _, ok := problem.As(err); !ok || errors.Is(err, errNotManager) && !s.manages() {
		d.fail(w, r, "/desk", err)
		return
	}
	d.renderOfficers(w, r, s, problem.Status(err), nil, "", err)
}
