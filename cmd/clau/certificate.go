package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/certlogin"
	"github.com/clau-eid/clau/internal/config"
	"github.com/clau-eid/clau/internal/httpserver"
	"github.com/clau-eid/clau/internal/method/certificate"
	"github.com/clau-eid/clau/internal/web"
)

// mountCertificate opens the certificate listener (mutual TLS) when
// certificate.enabled is on, adds /login/{id}/certificate to the main
// site, and returns what serves the listener until ctx ends.
func mountCertificate(a *app, srv *httpserver.Server, r *web.Renderer, sv *services) (func(ctx context.Context) error, error) {
	cc := a.cfg.Certificate
	if !cc.Enabled {
		return nil, nil
	}
	profiles, err := certProfiles(cc.Profiles)
	if err != nil {
		return nil, err
	}
	v, err := certificate.NewValidator(profiles, certificate.Options{FailClosed: cc.FailClosed,
		RequireNonce: cc.RequireNonce, Timeout: cc.Timeout, Now: a.now})
	if err != nil {
		return nil, &config.Error{Problems: []config.Problem{{Key: "certificate.profiles", Message: err.Error()}}}
	}
	tlsCert, err := listenerCertificate(a)
	if err != nil {
		return nil, err
	}
	ls, err := httpserver.New(httpserver.Options{
		ReadTimeout: a.cfg.Server.ReadTimeout, ReadHeaderTimeout: a.cfg.Server.ReadHeaderTimeout,
		WriteTimeout: a.cfg.Server.WriteTimeout, IdleTimeout: a.cfg.Server.IdleTimeout,
		ShutdownTimeout: a.cfg.Server.ShutdownTimeout, MaxBodyBytes: a.cfg.Server.MaxBodyBytes,
		TrustedProxies: a.cfg.Server.TrustedProxies, HSTS: true,
	}, a.log, a.catalog, a.store)
	if err != nil {
		return nil, err
	}
	lr, err := web.NewRenderer(ls, a.log)
	if err != nil {
		return nil, err
	}
	web.Mount(ls, lr)
	h, err := certlogin.New(certlogin.Deps{Store: a.store, Broker: sv.broker, Method: certificate.New(a.store, v, a.now),
		Codes: sv.codes, Notifier: a.notifier, Main: srv, MainR: r, Listener: ls, ListenerR: lr,
		MainURL: a.cfg.PublicURL, CertURL: cc.PublicURL, RegistrationServices: cc.RegistrationServices,
		SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https://"), Log: a.log, Now: a.now})
	if err != nil {
		return nil, err
	}
	h.Mount()
	l, err := net.Listen("tcp", cc.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (certificate.listen): %w", cc.Listen, err)
	}
	// The handshake asks for a certificate but lets any through: the
	// method validates it and tells the citizen what is wrong, which a
	// failed handshake cannot.
	tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{tlsCert}, ClientAuth: tls.RequestClientCert,
		MinVersion: tls.VersionTLS12})
	a.log.Info("certificate listener", "listen", l.Addr().String(), "public_url", cc.PublicURL, "profiles", len(profiles))
	return func(ctx context.Context) error { return ls.Serve(ctx, tl) }, nil
}

// certProfiles reads the profiles' PEM files.
func certProfiles(cs []config.CertProfile) ([]*certificate.Profile, error) {
	var out []*certificate.Profile
	var ps []config.Problem
	for i, c := range cs {
		key := fmt.Sprintf("certificate.profiles[%d]", i)
		loa, _ := broker.ParseLoA(c.LoA)
		p := &certificate.Profile{Name: c.Name, AnyExtKeyUsage: c.AnyExtKeyUsage, LoA: loa, AMR: c.AMR}
		for _, f := range c.Roots {
			certs, err := certificate.LoadPEM(f)
			if err != nil {
				ps = append(ps, config.Problem{Key: key + ".roots", Message: err.Error()})
			}
			p.Roots = append(p.Roots, certs...)
		}
		for _, f := range c.Intermediates {
			certs, err := certificate.LoadPEM(f)
			if err != nil {
				ps = append(ps, config.Problem{Key: key + ".intermediates", Message: err.Error()})
			}
			p.Intermediates = append(p.Intermediates, certs...)
		}
		for _, o := range c.Policies {
			oid, err := x509.ParseOID(o)
			if err != nil {
				ps = append(ps, config.Problem{Key: key + ".policies", Message: err.Error()})
			}
			p.Policies = append(p.Policies, oid)
		}
		out = append(out, p)
	}
	if len(ps) > 0 {
		return nil, &config.Error{Problems: ps}
	}
	return out, nil
}

// listenerCertificate loads the listener's TLS certificate, or, when
// none is configured, makes a self-signed one in data_dir (for demos and
// development; browsers warn about it).
func listenerCertificate(a *app) (tls.Certificate, error) {
	cc := a.cfg.Certificate
	if cc.TLSCertFile != "" || cc.TLSKeyFile != "" {
		c, err := tls.LoadX509KeyPair(cc.TLSCertFile, cc.TLSKeyFile)
		if err != nil {
			return c, &config.Error{Problems: []config.Problem{{Key: "certificate.tls_cert_file", Message: err.Error()}}}
		}
		return c, nil
	}
	certFile := filepath.Join(a.cfg.DataDir, "certificate-listener.pem")
	keyFile := filepath.Join(a.cfg.DataDir, "certificate-listener-key.pem")
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		return c, nil
	}
	a.log.Warn("certificate.tls_cert_file is not set: using a self-signed certificate; set one for production",
		"file", certFile)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	host := "localhost"
	if u := strings.TrimPrefix(cc.PublicURL, "https://"); u != "" {
		if h, _, err := net.SplitHostPort(u); err == nil {
			host = h
		} else {
			host = strings.SplitN(u, "/", 2)[0]
		}
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}
