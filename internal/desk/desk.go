package desk

import (
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/audit"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"
)

// Deps is what the desk needs; cmd/clau builds it.
type Deps struct {
	Store        store.Store
	Keyring      *secure.Keyring
	Hasher       *secure.Hasher
	Registration *registration.Service
	PIN          *pin.Method // nil: no PIN service on this deployment
	Server       *httpserver.Server
	Renderer     *web.Renderer
	Log          *slog.Logger
	Now          func() time.Time // nil: time.Now
	// SecureCookies sets Secure on the desk's cookies: on whenever the
	// public URL is https.
	SecureCookies bool
	// ActivationURL is the citizens' activation page, printed on receipts:
	// public_url + "/activate". A path alone ("/activate", the default) is
	// printed on the host the officer's browser reached.
	ActivationURL string
	// Location is where dates on pages and receipts are read; default
	// Europe/Madrid (UTC when the system has no time zone data).
	Location *time.Location
	// UserThrottle limits failures per username (default: 5 in 15 min lock
	// for 5 min, doubling); SourceThrottle per client address (default: 30,
	// so one office behind one NAT address is not locked out by a few typos).
	UserThrottle, SourceThrottle secure.ThrottlePolicy
	// Appointments, when set, gives supervisors the schedule page.
	Appointments *appointments.Service
	// Letters prints registration letters; nil: no print pages.
	Letters LetterPrinter
	// PrintRole is the least role that may print letters (default admin).
	PrintRole identity.Role
}

// Desk serves the desk pages and the desk API.
type Desk struct {
	d       Deps
	cat     *i18n.Catalog
	users   *secure.Throttle
	sources *secure.Throttle
	trail   *audit.Trail
	loc     *time.Location
}

// Lifetimes.
const (
	SessionCookie = "clau_desk"       // the desk session token
	loginCookie   = "clau_desk_login" // the sign-in flow token, between password and TOTP

	SessionTTL      = 8 * time.Hour    // absolute lifetime of a desk session
	SessionIdle     = 30 * time.Minute // idle timeout of a desk session
	DefaultTokenTTL = 8 * time.Hour    // API token lifetime unless asked otherwise
	MaxTokenTTL     = 90 * 24 * time.Hour

	loginFlowTTL    = 5 * time.Minute  // time to type the TOTP code
	onceTTL         = 15 * time.Minute // a receipt not shown by then is gone
	formTTL         = time.Hour        // a one-use form ticket
	maxTOTPAttempts = 5
	touchEvery      = time.Minute // write last_seen_at at most this often
)

// Flow kinds this package owns.
const (
	flowLogin = "desk_login"
	flowOnce  = "desk_once"
	flowForm  = "desk_form"
)

//go:embed templates
var templateFiles embed.FS

// New checks the dependencies and parses the desk's page templates into
// the shared renderer.
func New(d Deps) (*Desk, error) {
	var missing []error
	for name, v := range map[string]bool{"Store": d.Store == nil, "Keyring": d.Keyring == nil, "Hasher": d.Hasher == nil,
		"Registration": d.Registration == nil, "Server": d.Server == nil, "Renderer": d.Renderer == nil} {
		if v {
			missing = append(missing, fmt.Errorf("desk: Deps.%s is required", name))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.ActivationURL == "" {
		d.ActivationURL = "/activate"
	}
	if d.UserThrottle.MaxFailures == 0 {
		d.UserThrottle = secure.DefaultThrottlePolicy()
	}
	if d.SourceThrottle.MaxFailures == 0 {
		d.SourceThrottle = secure.DefaultThrottlePolicy()
		d.SourceThrottle.MaxFailures = 30
	}
	loc := d.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation("Europe/Madrid"); err != nil {
			loc = time.UTC
		}
	}
	if err := d.Renderer.AddPages(templateFiles, "templates/desk_*.html", "templates/partials.tmpl"); err != nil {
		return nil, fmt.Errorf("desk: templates: %w", err)
	}
	return &Desk{d: d, cat: d.Server.Catalog(), loc: loc,
		users:   secure.NewThrottle(d.Store, d.UserThrottle, d.Now),
		sources: secure.NewThrottle(d.Store, d.SourceThrottle, d.Now),
		trail:   audit.New(d.Store, d.Now),
	}, nil
}

// Mount registers every desk route on the server.
func (d *Desk) Mount() {
	s := d.d.Server
	page := func(pattern string, h http.HandlerFunc) { s.Handle(pattern, noStore(h)) }
	signed := func(pattern string, h officerHandler) { s.Handle(pattern, noStore(d.requireOfficer(h))) }

	page("GET /desk/login", d.loginForm)
	page("POST /desk/login", d.loginSubmit)
	page("GET /desk/login/totp", d.totpForm)
	page("POST /desk/login/totp", d.totpSubmit)
	page("POST /desk/logout", d.logout)
	page("GET /desk/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/desk", http.StatusMovedPermanently)
	})

	signed("GET /desk", d.home)
	signed("GET /desk/search", d.search)
	signed("GET /desk/register", d.registerForm)
	signed("POST /desk/register", d.registerSubmit)
	signed("GET /desk/once/{id}", d.showOnce)
	signed("GET /desk/citizens/{id}", d.citizenPage)
	signed("POST /desk/citizens/{id}/code", d.reissueSubmit)
	signed("POST /desk/citizens/{id}/contact", d.contactSubmit)
	signed("POST /desk/citizens/{id}/deregister", d.deregisterSubmit)
	if d.d.PIN != nil {
		signed("POST /desk/citizens/{id}/pin", d.pinSubmit)
	}
	signed("GET /desk/officers", d.officersPage)
	signed("POST /desk/officers", d.officerAdd)
	signed("POST /desk/officers/{id}/status", d.officerStatus)
	signed("POST /desk/officers/{id}/totp", d.officerTOTP)
	signed("GET /desk/appointments", d.appointmentsPage)
	signed("POST /desk/appointments/{id}/status", d.appointmentStatus)
	signed("GET /desk/schedule", d.schedulePage)
	signed("POST /desk/schedule/hours", d.scheduleHours)
	signed("POST /desk/schedule/closures", d.scheduleClosureAdd)
	signed("POST /desk/schedule/closures/{day}/delete", d.scheduleClosureRemove)
	signed("GET /desk/letters", d.lettersPage)
	signed("GET /desk/letters/batch.pdf", d.lettersBatch)
	signed("POST /desk/letters/sent", d.lettersSent)
	signed("POST /desk/citizens/{id}/upgrade", d.upgradeSubmit)
	signed("GET /desk/offices", d.officesPage)
	signed("POST /desk/offices", d.officeAdd)
	signed("POST /desk/offices/{id}/status", d.officeStatus)

	api := func(pattern string, h apiHandler) { s.Handle(pattern, d.requireToken(h)) }
	api("GET /api/desk/v1/me", d.apiMe)
	api("POST /api/desk/v1/citizens", d.apiRegister)
	api("GET /api/desk/v1/citizens", d.apiFind)
	api("GET /api/desk/v1/citizens/{id}", d.apiGet)
	api("POST /api/desk/v1/citizens/{id}/activation-code", d.apiReissue)
	api("PUT /api/desk/v1/citizens/{id}/contact", d.apiContact)
	api("POST /api/desk/v1/citizens/{id}/deregistration", d.apiDeregister)
	if d.d.PIN != nil {
		api("POST /api/desk/v1/citizens/{id}/pin-service", d.apiPIN)
	}
	api("POST /api/desk/v1/citizens/{id}/upgrade", d.apiUpgrade)
	api("GET /api/desk/v1/letters", d.apiLetters)
	api("GET /api/desk/v1/letters/batch.pdf", d.apiLettersBatch)
	api("POST /api/desk/v1/letters/sent", d.apiLettersSent)
	api("GET /api/desk/v1/appointments", d.apiAppointments)
	api("POST /api/desk/v1/appointments/{id}/status", d.apiAppointmentStatus)
	api("GET /api/desk/v1/schedule", d.apiScheduleGet)
	api("PUT /api/desk/v1/schedule/hours", d.apiScheduleHours)
	api("POST /api/desk/v1/schedule/closures", d.apiClosureAdd)
	api("DELETE /api/desk/v1/schedule/closures/{day}", d.apiClosureRemove)
}

// noStore keeps desk pages, which hold personal data and one-time codes,
// out of every cache, including the browser's back/forward history.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// now is the desk's clock in UTC.
func (d *Desk) now() time.Time { return d.d.Now().UTC() }

// t translates id in lang.
func (d *Desk) t(lang, id string, args map[string]any) string { return d.cat.T(lang, id, args) }

// seeOther answers a POST with a redirect the browser follows with GET.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
