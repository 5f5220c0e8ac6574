package offices

import (
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
