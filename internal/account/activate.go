package account

import (
	"errors"
	"net/http"

	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/web"
)

func (p *Pages) activateStart(w http.ResponseWriter, r *http.Request) {
	const name, title = "activate_start.html", "activate.title"
	if r.Method == http.MethodGet {
		p.render(w, r, name, title, http.StatusOK, page{Form: web.NewForm(nil), Step: 1})
		return
	}
	f := web.NewForm(map[string]string{"document": r.PostFormValue("document"), "email": r.PostFormValue("email")})
	a, err := p.Registration.StartActivation(r.Context(), r.PostFormValue("document"), r.PostFormValue("email"),
		r.PostFormValue("code"), httpserver.ClientIP(r.Context()))
	if err != nil {
		p.fail(w, r, name, title, f, err, page{Step: 1})
		return
	}
	p.bind(w, "/activate/"+a.ID)
	http.Redirect(w, r, "/activate/"+a.ID+"/sms", http.StatusSeeOther)
}

// activation loads the flow of the request, bound to this browser, and
// sends the citizen to the page of the step it is at when they are on
// another (the back button, a reload after a step).
func (p *Pages) activation(w http.ResponseWriter, r *http.Request, want string) (*registration.Activation, bool) {
	a, err := p.Registration.Activation(r.Context(), r.PathValue("id"))
	if err == nil && !bound(r) {
		err = errNotThisBrowser
	}
	if err != nil {
		f := web.NewForm(nil)
		p.fail(w, r, "activate_start.html", "activate.title", f, err, page{Step: 1})
		return nil, false
	}
	if a.State != want {
		next := map[string]string{registration.StateSMSSent: "sms", registration.StateSMSOK: "password",
			registration.StateDone: "done"}[a.State]
		http.Redirect(w, r, "/activate/"+a.ID+"/"+next, http.StatusSeeOther)
		return nil, false
	}
	return a, true
}

func (p *Pages) activateSMS(w http.ResponseWriter, r *http.Request) {
	const name, title = "activate_sms.html", "activate.sms_title"
	a, ok := p.activation(w, r, registration.StateSMSSent)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, r, name, title, http.StatusOK, page{Form: web.NewForm(nil), Step: 2, Any: a})
		return
	}
	if _, err := p.Registration.ConfirmSMS(r.Context(), a.ID, r.PostFormValue("code"), httpserver.ClientIP(r.Context())); err != nil {
		p.fail(w, r, name, title, web.NewForm(nil), err, page{Step: 2, Any: a})
		return
	}
	http.Redirect(w, r, "/activate/"+a.ID+"/password", http.StatusSeeOther)
}

func (p *Pages) activateResend(w http.ResponseWriter, r *http.Request) {
	const name, title = "activate_sms.html", "activate.sms_title"
	a, ok := p.activation(w, r, registration.StateSMSSent)
	if !ok {
		return
	}
	f := web.NewForm(nil)
	if _, err := p.Registration.ResendSMS(r.Context(), a.ID, httpserver.ClientIP(r.Context())); err != nil {
		p.fail(w, r, name, title, f, err, page{Step: 2, Any: a})
		return
	}
	http.Redirect(w, r, "/activate/"+a.ID+"/sms?resent=1", http.StatusSeeOther)
}

func (p *Pages) activatePassword(w http.ResponseWriter, r *http.Request) {
	const name, title = "activate_password.html", "activate.password_title"
	a, ok := p.activation(w, r, registration.StateSMSOK)
	if !ok {
		return
	}
	rules := p.Policy.MessageArgs()
	if r.Method == http.MethodGet {
		p.render(w, r, name, title, http.StatusOK, page{Form: web.NewForm(nil), Step: 3, Any: rules})
		return
	}
	_, err := p.Registration.SetPassword(r.Context(), a.ID, r.PostFormValue("password"), r.PostFormValue("password_again"),
		httpserver.ClientIP(r.Context()))
	if errors.Is(err, registration.ErrFlowStep) {
		http.Redirect(w, r, "/activate/"+a.ID+"/done", http.StatusSeeOther) // a double submit that lost the race
		return
	}
	if err != nil {
		p.fail(w, r, name, title, web.NewForm(nil), err, page{Step: 3, Any: rules})
		return
	}
	http.Redirect(w, r, "/activate/"+a.ID+"/done", http.StatusSeeOther)
}

func (p *Pages) activateDone(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.activation(w, r, registration.StateDone); !ok {
		return
	}
	p.render(w, r, "activate_done.html", "activate.done_title", http.StatusOK, page{Step: 4})
}
