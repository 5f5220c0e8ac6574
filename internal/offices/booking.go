package offices

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/problem"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// SlotView is a free slot as the booking form lists it.
type SlotView struct {
	ID, Day, Time string
	Free          int
}

const bookingDays = 14

func (d *Directory) book(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, err := d.store.OfficeByCode(ctx, strings.ToUpper(r.PathValue("code")))
	if err != nil || !o.Active {
		d.srv.WriteError(w, r, errNoOffice)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	form := web.NewForm(nil)
	status := http.StatusOK
	if r.Method == http.MethodPost {
		lang := d.srv.Lang(r)
		form = web.NewForm(map[string]string{"document": r.PostFormValue("document"), "name": r.PostFormValue("name"),
			"mobile": r.PostFormValue("mobile"), "email": r.PostFormValue("email"), "slot": r.PostFormValue("slot")})
		b, err := d.Booking.Book(ctx, o, appointments.Request{SlotID: r.PostFormValue("slot"),
			Document: r.PostFormValue("document"), Name: r.PostFormValue("name"), Mobile: r.PostFormValue("mobile"),
			Email: r.PostFormValue("email"), Language: lang, Source: httpserver.ClientIP(ctx)})
		if err == nil {
			d.renderer.Render(w, r, http.StatusOK, "offices_booked.html", "booking.done_title", struct {
				Office    string
				When      string
				Reference string
			}{o.Name, b.StartsAt.Format("02/01/2006 15:04"), b.Reference})
			return
		}
		form.Fail(d.srv.Catalog(), lang, err)
		status = problem.Status(err)
		if errors.Is(err, appointments.ErrTooMany) {
			w.Header().Set("Retry-After", "900")
		}
	}
	free, err := d.Booking.FreeSlots(ctx, o.ID, bookingDays)
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	d.renderer.Render(w, r, status, "offices_book.html", "booking.title", struct {
		Office any
		Slots  []SlotView
		Form   *web.Form
	}{o, slotViews(free), form})
}

func slotViews(slots []store.Slot) []SlotView {
	loc := madrid()
	out := make([]SlotView, 0, len(slots))
	for _, s := range slots {
		t := s.StartsAt.In(loc)
		out = append(out, SlotView{ID: s.ID, Day: t.Format("02/01/2006"), Time: t.Format("15:04"), Free: s.Capacity - s.Booked})
	}
	return out
}

func madrid() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}

func (d *Directory) cancel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	form := web.NewForm(nil)
	status, done := http.StatusOK, false
	if r.Method == http.MethodPost {
		form = web.NewForm(map[string]string{"document": r.PostFormValue("document"), "reference": r.PostFormValue("reference")})
		err := d.Booking.Cancel(r.Context(), r.PostFormValue("reference"), r.PostFormValue("document"), httpserver.ClientIP(r.Context()))
		if errors.Is(err, appointments.ErrTooMany) {
			w.Header().Set("Retry-After", "900")
		}
		if err != nil {
			form.Fail(d.srv.Catalog(), d.srv.Lang(r), err)
			status = problem.Status(err)
		} else {
			done = true
		}
	}
	d.renderer.Render(w, r, status, "offices_cancel.html", "booking.cancel_title", struct {
		Form *web.Form
		Done bool
	}{form, done})
}

// change lets a citizen move their appointment to another free slot of
// the same office: first the reference (from the message's link or typed)
// and the document, then the new time. The old appointment stays until
// the new one is booked.
func (d *Directory) change(w http.ResponseWriter, r *http.Request) {
	ctx, lang, src := r.Context(), d.srv.Lang(r), httpserver.ClientIP(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	ref, doc := r.URL.Query().Get("ref"), ""
	if r.Method == http.MethodPost {
		ref, doc = r.PostFormValue("reference"), r.PostFormValue("document")
	}
	form := web.NewForm(map[string]string{"reference": ref, "document": doc, "slot": r.PostFormValue("slot")})
	type page struct {
		Form              *web.Form
		Step              string // ask, pick, done
		Office, When, Ref string
		Slots             []SlotView
		Query             string
	}
	render := func(status int, p page) {
		p.Form = form
		d.renderer.Render(w, r, status, "offices_change.html", "booking.change_title", p)
	}
	if r.Method != http.MethodPost {
		render(http.StatusOK, page{Step: "ask"})
		return
	}
	fail := func(err error, p page) {
		if _, ok := problem.As(err); !ok {
			d.srv.WriteError(w, r, err)
			return
		}
		form.Fail(d.srv.Catalog(), lang, err)
		if errors.Is(err, appointments.ErrTooMany) {
			w.Header().Set("Retry-After", "900")
		}
		render(problem.Status(err), p)
	}
	a, _, err := d.Booking.Lookup(ctx, ref, doc, src, "appointment.change")
	if err != nil {
		fail(err, page{Step: "ask"})
		return
	}
	o, err := d.Booking.OfficeOf(ctx, a)
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	pick := func() page {
		free, _ := d.Booking.FreeSlots(ctx, o.ID, bookingDays)
		return page{Step: "pick", Office: o.Name, When: a.StartsAt.In(madrid()).Format("02/01/2006 15:04"), Ref: ref,
			Slots: slotViews(free)}
	}
	if r.PostFormValue("slot") == "" && r.PostFormValue("step") != "pick" {
		render(http.StatusOK, pick())
		return
	}
	b, err := d.Booking.Change(ctx, o, ref, doc, r.PostFormValue("slot"), src)
	if err != nil {
		fail(err, pick())
		return
	}
	render(http.StatusOK, page{Step: "done", Office: o.Name, When: b.StartsAt.Format("02/01/2006 15:04"),
		Ref: b.Reference})
}

// calendar answers the appointment of a reference as an iCalendar file.
func (d *Directory) calendar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, err := d.Booking.Calendar(ctx, r.URL.Query().Get("ref"), httpserver.ClientIP(ctx))
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	o, err := d.Booking.OfficeOf(ctx, a)
	if err != nil {
		d.srv.WriteError(w, r, err)
		return
	}
	cat, lang := d.srv.Catalog(), a.Language
	summary := cat.T(lang, "booking.ics_summary", map[string]any{"Office": o.Name})
	desc := cat.T(lang, "booking.ics_description", map[string]any{"Reference": strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("ref")))})
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="clau-appointment.ics"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(appointments.ICS(a, o, summary, desc, hostOnly(r.Host), d.Booking.Now()))
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// wait queues a citizen for the office's next freed place.
func (d *Directory) wait(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, err := d.store.OfficeByCode(ctx, strings.ToUpper(r.PathValue("code")))
	if err != nil || !o.Active {
		d.srv.WriteError(w, r, errNoOffice)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	form := web.NewForm(nil)
	status, done := http.StatusOK, false
	if r.Method == http.MethodPost {
		form = web.NewForm(map[string]string{"document": r.PostFormValue("document"), "name": r.PostFormValue("name"),
			"mobile": r.PostFormValue("mobile"), "email": r.PostFormValue("email")})
		err := d.Booking.JoinWaitlist(ctx, o, appointments.Request{Document: r.PostFormValue("document"),
			Name: r.PostFormValue("name"), Mobile: r.PostFormValue("mobile"), Email: r.PostFormValue("email"),
			Language: d.srv.Lang(r), Source: httpserver.ClientIP(ctx)})
		if err == nil {
			done = true
		} else if _, ok := problem.As(err); !ok {
			d.srv.WriteError(w, r, err)
			return
		} else {
			form.Fail(d.srv.Catalog(), d.srv.Lang(r), err)
			status = problem.Status(err)
			if errors.Is(err, appointments.ErrTooMany) {
				w.Header().Set("Retry-After", "900")
			}
		}
	}
	d.renderer.Render(w, r, status, "offices_wait.html", "booking.wait_title", struct {
		Office any
		Form   *web.Form
		Done   bool
	}{o, form, done})
}
