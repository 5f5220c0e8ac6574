package desk

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/web"
)

// Letters: the printing office downloads the letters queued up to a
// moment as one PDF, prints and posts them, then marks that same batch
// sent, which wipes the codes. The moment travels with the download link
// and the form, so letters requested meanwhile wait for the next batch.
// Officers at the front desk raise a citizen registered by letter to
// level advanced after checking their identity document in person.

// LetterPrinter lays out a print batch as one PDF.
type LetterPrinter interface {
	Batch(letters []registration.PrintLetter) ([]byte, error)
}

var (
	errNoPrint = problem.New(http.StatusForbidden, "desk.letters.forbidden")
	errUntil   = problem.New(http.StatusBadRequest, "desk.letters.bad_batch")
)

type lettersView struct {
	Queued int
	Until  string // Unix microseconds: the batch's end
	Ticket string
}

// roleRank orders roles for the print permission.
func roleRank(r identity.Role) int {
	switch r {
	case identity.RoleAdmin:
		return 3
	case identity.RoleSupervisor:
		return 2
	case identity.RoleOfficer:
		return 1
	}
	return 0
}

// mayPrint reports whether the officer may print letters.
func (d *Desk) mayPrint(s *signedIn) bool {
	if d.d.Letters == nil || !d.d.Registration.LettersEnabled() {
		return false
	}
	need := d.d.PrintRole
	if need == "" {
		need = identity.RoleAdmin
	}
	return roleRank(s.Officer.Role) >= roleRank(need)
}

// refuseNoPrint answers 403 (audited) to whoever may not print.
func (d *Desk) refuseNoPrint(w http.ResponseWriter, r *http.Request, s *signedIn, action string) bool {
	if d.mayPrint(s) {
		return false
	}
	_ = d.trail.Record(r.Context(), audit.Event{Actor: "officer:" + s.Officer.Username, Action: action, Subject: "letters",
		Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied, Details: map[string]string{"reason": "role"}})
	d.fail(w, r, "/desk", errNoPrint)
	return true
}

func parseUntil(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, errUntil
	}
	return time.UnixMicro(n).UTC(), nil
}

func (d *Desk) lettersPage(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.refuseNoPrint(w, r, s, "letter.print") {
		return
	}
	ctx, lang := r.Context(), d.lang(r)
	until := d.now().Add(time.Microsecond)
	queued, err := d.d.Store.QueuedLetters(ctx, until)
	if err != nil {
		d.fail(w, r, "/desk", err)
		return
	}
	v := &view{Lang: lang, Me: d.me(lang, s), Letters: &lettersView{Queued: len(queued), Until: strconv.FormatInt(until.UnixMicro(), 10)}}
	if len(queued) > 0 {
		if v.Letters.Ticket, err = d.newTicket(ctx, s, "letters_sent", v.Letters.Until); err != nil {
			d.fail(w, r, "/desk", err)
			return
		}
	}
	switch r.URL.Query().Get("done") {
	case "sent":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		v.Notice = d.t(lang, "desk.letters.sent_done", map[string]any{"Count": n})
	case "empty":
		v.Notice = d.t(lang, "desk.letters.empty", nil)
	}
	d.render(w, at(r, "/desk/letters"), http.StatusOK, "desk_letters.html", "desk.letters.title", v)
}

func (d *Desk) lettersBatch(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.refuseNoPrint(w, r, s, "letter.print") {
		return
	}
	until, err := parseUntil(r.URL.Query().Get("until"))
	if err != nil {
		d.fail(w, r, "/desk/letters", err)
		return
	}
	batch, err := d.d.Registration.PrintBatch(r.Context(), s.actor(r), until)
	if err != nil {
		d.fail(w, r, "/desk/letters", err)
		return
	}
	if len(batch) == 0 {
		http.Redirect(w, r, "/desk/letters?done=empty", http.StatusSeeOther)
		return
	}
	pdf, err := d.d.Letters.Batch(batch)
	if err != nil {
		d.fail(w, r, "/desk/letters", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="clau-letters-%s.pdf"`,
		until.In(d.loc).Format("2006-01-02-1504")))
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	_, _ = w.Write(pdf)
}

func (d *Desk) lettersSent(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.refuseNoPrint(w, r, s, "letter.sent") {
		return
	}
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	raw := r.PostFormValue("until")
	until, err := parseUntil(raw)
	if err == nil {
		err = d.spendTicket(ctx, s, r.PostFormValue("ticket"), "letters_sent", raw)
	}
	n := 0
	if err == nil {
		n, err = d.d.Registration.MarkLettersSent(ctx, s.actor(r), until)
	}
	if err != nil {
		d.fail(w, r, "/desk/letters", err)
		return
	}
	seeOther(w, r, "/desk/letters?done=sent&n="+strconv.Itoa(n))
}

// upgradeFields is the form that raises a letter registration to level
// advanced.
func upgradeFields() []field {
	shown := []option{{Value: "", Label: "desk.field.choose"}}
	for _, s := range documentsShown {
		shown = append(shown, option{Value: s, Label: "desk.shown." + s})
	}
	return []field{
		{Name: "document_shown", Label: "desk.field.document_shown", Type: "select", Required: true, Options: shown},
		{Name: "document_checked", Label: "desk.field.document_checked", Type: "checkbox", Value: "1", Required: true},
	}
}

func (d *Desk) upgradeSubmit(w http.ResponseWriter, r *http.Request, s *signedIn) {
	ctx, lang := r.Context(), d.lang(r)
	if err := r.ParseForm(); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	id := r.PathValue("id")
	checked := r.PostFormValue("document_checked") != ""
	form := web.NewForm(map[string]string{"document_shown": r.PostFormValue("document_shown"), "document_checked": r.PostFormValue("document_checked")})
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version <= 0 {
		err = registration.ErrStale
	} else {
		_, err = d.d.Registration.UpgradeToAdvanced(ctx, s.actor(r), id, version,
			registration.DocumentCheck{Shown: r.PostFormValue("document_shown"), Checked: checked})
	}
	if err != nil {
		o := citizenOpts{upgrade: form}
		if p, ok := problem.As(err); ok && len(p.Fields) > 0 {
			d.failForm(lang, form, err, upgradeFields())
		} else {
			o.err = err
		}
		if errors.Is(err, registration.ErrNotFound) {
			d.fail(w, r, "/desk", err)
			return
		}
		d.afterAction(w, r, s, err, o)
		return
	}
	seeOther(w, r, "/desk/citizens/"+id+"?done=upgraded")
}

// The desk API's letters and upgrade, for printing offices' scripts.

type apiLetters struct {
	Queued int    `json:"queued"`
	Until  string `json:"until"` // Unix microseconds; pass it to batch.pdf and sent
}

func (d *Desk) apiRefuseNoPrint(w http.ResponseWriter, r *http.Request, s *signedIn, action string) bool {
	if d.mayPrint(s) {
		return false
	}
	_ = d.trail.Record(r.Context(), audit.Event{Actor: "officer:" + s.Officer.Username, Action: action, Subject: "letters",
		Office: s.Office.Code, Source: s.actor(r).Source, Outcome: audit.Denied, Details: map[string]string{"reason": "role"}})
	d.d.Server.WriteError(w, r, errNoPrint)
	return true
}

func (d *Desk) apiLetters(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.apiRefuseNoPrint(w, r, s, "letter.print") {
		return
	}
	until := d.now().Add(time.Microsecond)
	queued, err := d.d.Store.QueuedLetters(r.Context(), until)
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiLetters{Queued: len(queued), Until: strconv.FormatInt(until.UnixMicro(), 10)})
}

func (d *Desk) apiLettersBatch(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.apiRefuseNoPrint(w, r, s, "letter.print") {
		return
	}
	until, err := parseUntil(r.URL.Query().Get("until"))
	var batch []registration.PrintLetter
	if err == nil {
		batch, err = d.d.Registration.PrintBatch(r.Context(), s.actor(r), until)
	}
	if err == nil && len(batch) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var pdf []byte
	if err == nil {
		pdf, err = d.d.Letters.Batch(batch)
	}
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	_, _ = w.Write(pdf)
}

func (d *Desk) apiLettersSent(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if d.apiRefuseNoPrint(w, r, s, "letter.sent") {
		return
	}
	var in struct {
		Until string `json:"until"`
	}
	if err := decode(r, &in); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	until, err := parseUntil(in.Until)
	n := 0
	if err == nil {
		n, err = d.d.Registration.MarkLettersSent(r.Context(), s.actor(r), until)
	}
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]int{"sent": n})
}

func (d *Desk) apiUpgrade(w http.ResponseWriter, r *http.Request, s *signedIn) {
	var in struct {
		Version         int64  `json:"version"`
		DocumentShown   string `json:"document_shown"`
		DocumentChecked bool   `json:"document_checked"`
	}
	if err := decodeVersioned(r, &in, &in.Version); err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	c, err := d.d.Registration.UpgradeToAdvanced(r.Context(), s.actor(r), r.PathValue("id"), in.Version,
		registration.DocumentCheck{Shown: in.DocumentShown, Checked: in.DocumentChecked})
	if err != nil {
		d.d.Server.WriteError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, d.apiCitizenOf(r, c))
}
