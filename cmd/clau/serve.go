package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/account"
	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/config"
	"github.com/clau-eid/clau/internal/desk"
	"github.com/clau-eid/clau/internal/devtools"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/method/permanent"
	"github.com/clau-eid/clau/internal/method/pin"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/offices"
	"github.com/clau-eid/clau/internal/oidc"
	"github.com/clau-eid/clau/internal/registration"
	"github.com/clau-eid/clau/internal/saml"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/selfservice"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/web"

	"github.com/prometheus/client_golang/prometheus"
)

func cmdServe(ctx context.Context, args []string, out io.Writer) error {
	fs, cfgPath := flagSet("serve")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, out, serveOptions{tuneGC: true})
}

// tuneGC gives the garbage collector room for password hashing
// (secure.Hasher.GCMemoryLimit and GCPercent) unless the operator set GOGC or GOMEMLIMIT.
func tuneGC(a *app) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		a.log.Info("garbage collector as GOGC and GOMEMLIMIT set it", "hashing_slots", a.hasher.Slots())
		return
	}
	limit, percent := a.hasher.GCMemoryLimit(), a.hasher.GCPercent()
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(percent)
	a.log.Info("garbage collector sized for password hashing", "memory_limit_mib", limit>>20, "gc_percent", percent,
		"hashing_slots", a.hasher.Slots())
}

// serve runs the server until ctx ends. ready, when set, is called once
// the listener is open (demo prints its guide then).
// serveOptions are what `demo` adds to a plain `serve`.
type serveOptions struct {
	listener net.Listener                                                // already open; nil: listen on cfg.Listen
	mount    func(a *app, srv *httpserver.Server, r *web.Renderer) error // extra routes
	ready    func(a *app, addr string) error                             // called once listening
	tuneGC   bool                                                        // a process of its own: size the GC (tuneGC)
}

func serve(ctx context.Context, cfg *config.Config, out io.Writer, opt serveOptions) error {
	a, err := openApp(ctx, cfg, modeFor(cfg))
	if err != nil {
		return err
	}
	defer a.close()
	if opt.tuneGC {
		tuneGC(a)
	}

	srv, err := httpserver.New(httpserver.Options{
		ReadTimeout: cfg.Server.ReadTimeout, ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		WriteTimeout: cfg.Server.WriteTimeout, IdleTimeout: cfg.Server.IdleTimeout,
		ShutdownTimeout: cfg.Server.ShutdownTimeout, MaxBodyBytes: cfg.Server.MaxBodyBytes,
		TrustedProxies: cfg.Server.TrustedProxies, HSTS: strings.HasPrefix(cfg.PublicURL, "https://"),
	}, a.log, a.catalog, a.store)
	if err != nil {
		return err
	}
	renderer, err := web.NewRenderer(srv, a.log)
	if err != nil {
		return err
	}
	web.Mount(srv, renderer)
	sv := a.services()
	if ce := (*config.Error)(nil); errors.As(sv.passkeyErr, &ce) {
		return ce // passkey.levels[i].roots
	}
	if sv.passkeyErr != nil {
		return &config.Error{Problems: []config.Problem{{Key: "passkey.rp_id", Message: sv.passkeyErr.Error()}}}
	}
	if cfg.Passkey.Enabled && sv.passkey == nil {
		a.log.Warn("passkeys are off: WebAuthn needs a host name, not an IP address, in public_url (or passkey.rp_id)",
			"public_url", cfg.PublicURL)
	}
	if err := mountCitizenPages(a, srv, renderer, sv); err != nil {
		return err
	}
	if err := mountLetters(a, srv, renderer, sv); err != nil {
		return err
	}
	d, err := mountDesk(a, srv, renderer)
	if err != nil {
		return err
	}
	op, err := mountOIDC(ctx, a, srv, renderer, sv)
	if err != nil {
		return err
	}
	op.MountAdminAPI(srv, d.AdminAPI) // /api/admin/v1/oidc/clients
	if err := mountSAML(ctx, a, srv, renderer, sv, d); err != nil {
		return err
	}
	serveCert, err := mountCertificate(a, srv, renderer, sv)
	if err != nil {
		return err
	}
	dir, err := offices.New(a.store, srv, renderer)
	if err != nil {
		return err
	}
	dir.Booking = a.appointments()
	dir.Mount()
	if cfg.Dev.OutboxAPI {
		devtools.Mount(srv, a.store)
		a.log.Warn("dev.outbox_api is on: GET /dev/outbox shows every SMS and email; never enable it in production")
	}

	srv.Registry().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clau_password_hash_waiting",
			Help: "Password checks waiting for a hashing slot."}, func() float64 { return float64(a.hasher.Waiting()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "clau_password_hash_refused_total",
			Help: "Password checks turned away by admission control (security.max_hash_wait)."},
			func() float64 { return float64(a.hasher.Refused()) }))

	dispatcher, err := newDispatcher(a, srv.Registry())
	if err != nil {
		return err
	}

	if cfg.Server.PprofListen != "" {
		if err := servePprof(ctx, cfg.Server.PprofListen, a.log); err != nil {
			return fmt.Errorf("cannot listen on %s (server.pprof_listen): %w", cfg.Server.PprofListen, err)
		}
	}
	if opt.mount != nil {
		if err := opt.mount(a, srv, renderer); err != nil {
			return err
		}
	}
	l := opt.listener
	if l == nil {
		if l, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("cannot listen on %s (listen): %w", cfg.Listen, err)
		}
	}
	a.log.Info("clau listening", "listen", l.Addr().String(), "public_url", cfg.PublicURL,
		"storage", cfg.Storage.Driver, "version", version)

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	if dispatcher != nil {
		go dispatcher.Run(bg, 2*time.Second)
	}
	go housekeeping(bg, a)
	go op.RunLogouts(bg, 2*time.Second) // back-channel logouts to services
	go pinNotices(bg, a, sv.pin)
	go passwordNotices(bg, a, sv.permanent)
	if serveCert != nil {
		go func() {
			if err := serveCert(bg); err != nil && bg.Err() == nil {
				a.log.Error("certificate listener stopped", "error", err.Error())
			}
		}()
	}

	if opt.ready != nil {
		if err := opt.ready(a, l.Addr().String()); err != nil {
			l.Close()
			return err
		}
	}
	return srv.Serve(ctx, l)
}

// services are the sign-in and registration services every front-end
// shares.
type services struct {
	codes     *secure.OneTimeCodes
	broker    *broker.Broker
	permanent *permanent.Method
	reg       *registration.Service
	pin       *pin.Method      // nil when pin.enabled is off
	passkey   *passkey.Method  // nil when passkeys are off
	methods   *broker.Registry // what the sign-in chooser may offer
	signIn    broker.SignIn    // the sign-in pages, once mounted; the protocol front-ends hand over to them
	self      *selfservice.Service

	passkeyErr error // passkey.rp_id does not fit public_url
}

func (a *app) services() *services {
	codes := secure.NewOneTimeCodes(a.keyring, a.now, nil)
	b := broker.New(a.store, broker.Options{Now: a.now, Sealer: a.keyring})
	sv := &services{
		codes:     codes,
		broker:    b,
		permanent: permanent.New(a.store, a.hasher, codes, a.notifier, a.now),
		reg: registration.New(a.store, codes, a.hasher, a.notifier, registration.Options{Now: a.now,
			BaseURL: a.cfg.PublicURL,
			// A deregistered citizen's services hear of it (OIDC back-channel logout).
			EndSessions: func(ctx context.Context, tx store.Tx, citizenID string) (int, error) {
				return b.EndSessions(ctx, tx, citizenID, "")
			}}),
		pin: a.pinMethod(codes),
	}
	sv.permanent.SetLifecycle(permanent.Lifecycle{Policy: secure.DefaultPasswordPolicy(),
		Lifetime: a.cfg.Password.Lifetime, Warning: a.cfg.Password.ExpiryWarning, BaseURL: a.cfg.PublicURL})
	sv.passkey, sv.passkeyErr = a.passkeyMethod()
	sv.self = selfservice.New(a.store, codes, a.hasher, a.notifier, sv.permanent, sv.broker, selfservice.Options{Now: a.now})
	if sv.passkey != nil {
		sv.passkey.OnRegister(sv.self.PasskeyAdded)
	}
	sv.methods = methodRegistry(a, sv)
	a.enableLetters(sv.reg)
	return sv
}

// appointments is the booking service, in the offices' time zone.
func (a *app) appointments() *appointments.Service {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		loc = time.UTC
	}
	svc := appointments.New(a.store, a.keyring, a.notifier, loc, a.now)
	svc.BaseURL = strings.TrimRight(a.cfg.PublicURL, "/") // links in confirmations
	return svc
}

func mountCitizenPages(a *app, srv *httpserver.Server, r *web.Renderer, sv *services) error {
	pages, err := account.New(account.Deps{Store: a.store, Broker: sv.broker, Permanent: sv.permanent,
		Methods: sv.methods, PIN: sv.pin, Passkey: sv.passkey,
		Registration: sv.reg, SelfService: sv.self, Server: srv, Renderer: r, Policy: secure.DefaultPasswordPolicy(), Log: a.log,
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://")})
	if err != nil {
		return err
	}
	pages.Mount()
	sv.signIn = pages
	return nil
}

// mountDesk adds the officers' desk pages (/desk) and the desk API (/api/desk/v1).
func mountDesk(a *app, srv *httpserver.Server, r *web.Renderer) (*desk.Desk, error) {
	sv := a.services()
	d, err := desk.New(desk.Deps{Store: a.store, Keyring: a.keyring, Hasher: a.hasher, Registration: sv.reg, PIN: sv.pin,
		Server: srv, Renderer: r, Log: a.log, Now: a.now,
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://"), Appointments: a.appointments(),
		// A path: printed on the host the officer reached, which stays
		// right when demo --listen picks the port after this runs.
		ActivationURL: "/activate",
		Letters:       a.deskLetterPrinter(), PrintRole: identity.Role(a.cfg.Letters.PrintRole)})
	if err != nil {
		return nil, err
	}
	d.Mount()
	return d, nil
}

// mountOIDC adds the OpenID provider (discovery at the issuer root, the
// rest under /oidc/) for the clients declared in oidc_clients. It shares
// the citizen pages' broker: sign-in, SSO and step-up happen there.
func mountOIDC(ctx context.Context, a *app, srv *httpserver.Server, renderer *web.Renderer, sv *services) (*oidc.Provider, error) {
	var clients []oidc.ClientConfig
	for _, c := range a.cfg.OIDCClients {
		loa, _ := broker.ParseLoA(c.MinLoA)
		clients = append(clients, oidc.ClientConfig{ID: c.ID, Name: c.Name, Secret: c.Secret, RedirectURIs: c.RedirectURIs,
			MinLoA: loa, Methods: c.Methods, Public: c.Public, JWTAccessTokens: c.AccessTokenFormat == "jwt",
			AuthMethod: c.TokenEndpointAuthMethod, JWKS: c.JWKS, JWKSURI: c.JWKSURI, RequirePAR: c.RequirePAR,
			BackchannelLogoutURI: c.BackchannelLogoutURI, Scopes: c.Scopes, SubjectType: c.SubjectType,
			SectorIdentifier: c.SectorIdentifier, IDTokenAlg: c.IDTokenSignedResponseAlg})
	}
	p, err := oidc.New(ctx, oidc.Deps{Issuer: a.cfg.PublicURL, Store: a.store, Broker: sv.broker, Keyring: a.keyring,
		Clients: clients, Server: srv, Renderer: renderer, SessionCookie: account.SessionCookie,
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://"), Log: a.log, Now: a.now, Keys: oidcKeyOptions(a),
		Methods: sv.methods.Levels(), SignIn: sv.signIn})
	if err != nil {
		return nil, err
	}
	p.Mount()
	return p, nil
}

func oidcKeyOptions(a *app) oidc.KeyOptions {
	o := a.cfg.OIDC
	return oidc.KeyOptions{Prepublish: o.KeyPrepublish, RotateAfter: o.KeyRotation, Reload: o.KeyReload}
}

// mountSAML adds the SAML identity provider (/saml/...) for the service
// providers declared in saml_sps, sharing the citizen pages' broker like
// the OpenID provider. Metadata declared by URL is refreshed until ctx ends.
// The admin API for run-time SPs takes admin officers' desk API tokens.
func mountSAML(ctx context.Context, a *app, srv *httpserver.Server, r *web.Renderer, sv *services, d *desk.Desk) error {
	var sps []saml.SPConfig
	for _, c := range a.cfg.SAMLSPs {
		loa, _ := broker.ParseLoA(c.MinLoA)
		sps = append(sps, saml.SPConfig{MetadataFile: c.MetadataFile, MetadataURL: c.MetadataURL,
			MetadataSigningCert: c.MetadataSigningCert, MinLoA: loa, Methods: c.Methods, AllowSHA1: c.AllowSHA1,
			Refresh: c.Refresh, Name: c.Name})
	}
	if err := saml.AddPages(r); err != nil {
		return err
	}
	p, err := saml.New(ctx, saml.Deps{Issuer: a.cfg.PublicURL, Store: a.store, Broker: sv.broker, Keyring: a.keyring,
		SPs: sps, Server: srv, Renderer: r, SessionCookie: account.SessionCookie, SignIn: sv.signIn,
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://"), Log: a.log, Now: a.now})
	if err != nil {
		return err
	}
	p.Mount()
	(&saml.Registry{Store: a.store, Now: a.now}).MountAdminAPI(srv, d.AdminAPI)
	go p.Refresh(ctx)
	return nil
}

// newDispatcher builds delivery for the channels whose driver is not the
// outbox; nil when every channel is the outbox.
func newDispatcher(a *app, reg *prometheus.Registry) (*notify.Dispatcher, error) {
	cfg := a.cfg
	senders := map[notify.Channel]notify.Sender{}
	drivers := map[notify.Channel]string{}
	if cfg.Notify.SMS.Driver == config.DriverHTTP {
		h := cfg.Notify.SMS.HTTP
		s, err := notify.NewHTTPSMSSender(notify.HTTPSMSConfig{URL: h.URL, Method: h.Method, Headers: h.Headers,
			ContentType: h.ContentType, BodyTemplate: h.BodyTemplate, Timeout: h.Timeout})
		if err != nil {
			return nil, &config.Error{Problems: []config.Problem{{Key: "notify.sms.http", Message: err.Error()}}}
		}
		senders[notify.SMS], drivers[notify.SMS] = s, config.DriverHTTP
	}
	if cfg.Notify.Email.Driver == config.DriverSMTP {
		m := cfg.Notify.Email.SMTP
		s, err := notify.NewSMTPSender(notify.SMTPConfig{Host: m.Host, Port: m.Port, Username: m.Username,
			Password: m.Password, TLS: m.TLS, From: m.From, Timeout: m.Timeout})
		if err != nil {
			return nil, &config.Error{Problems: []config.Problem{{Key: "notify.email.smtp", Message: err.Error()}}}
		}
		senders[notify.Email], drivers[notify.Email] = s, config.DriverSMTP
	}
	if len(senders) == 0 {
		return nil, nil
	}
	d := notify.NewDispatcher(a.store, senders, drivers, notify.RetryPolicy{MaxAttempts: cfg.Notify.MaxAttempts,
		Base: cfg.Notify.RetryBase, Max: cfg.Notify.RetryMax}, nil, a.log)
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clau_notify_attempts_total",
		Help: "Delivery attempts by channel, driver and outcome (sent, retry, failed)."}, []string{"channel", "driver", "outcome"})
	if reg != nil {
		reg.MustRegister(attempts)
	}
	d.Observe = func(ch, drv, outcome string) { attempts.WithLabelValues(ch, drv, outcome).Inc() }
	return d, nil
}

// housekeeping removes expired codes and idle counters now and then. Any
// process may do it; the deletes are idempotent.
func housekeeping(ctx context.Context, a *app) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	appts := a.appointments()
	for {
		now := time.Now()
		// Day-before reminders (once per appointment across processes) and
		// slots kept four weeks ahead of each office's schedule.
		if n, err := appts.SendReminders(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: appointment reminders", "error", err.Error())
		} else if n > 0 {
			a.log.Info("housekeeping: appointment reminders queued", "count", n)
		}
		if err := appts.ExtendSchedules(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: office schedules", "error", err.Error())
		}
		if _, err := a.store.DeleteCodesBefore(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: codes", "error", err.Error())
		}
		if _, err := a.store.DeleteCountersBefore(ctx, now.Add(-secure.DefaultThrottlePolicy().ForgetAfter)); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: counters", "error", err.Error())
		}
		if _, err := a.store.DeleteFlowsBefore(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: flows", "error", err.Error())
		}
		if _, err := a.store.DeleteSessionsBefore(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			a.log.Warn("housekeeping: sessions", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
