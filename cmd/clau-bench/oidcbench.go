package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// oidcEndpoints drives OpenID Connect flows against the server as a
// relying party would, with one confidential client declared through
// CLAU_OIDC_CLIENTS.
type oidcEndpoints struct {
	issuer                  string
	authorize, token, uinfo string

	mu       sync.Mutex
	tokenLat []time.Duration

	// extraClients are ID token algorithms: one more client is declared
	// for each (benchClientFor), asking for it.
	extraClients []string
}

const (
	benchClient   = "bench-rp"
	benchSecret   = "bench-secret-0123456789abcdef"
	benchRedirect = "http://127.0.0.1:1/callback" // never fetched: the flow stops at the redirect
)

// serverEnv fixes the server's port (the issuer must name it) and
// declares the client.
func (o *oidcEndpoints) serverEnv() ([]string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	o.issuer = "http://" + addr
	clients, _ := json.Marshal([]map[string]any{{"id": benchClient, "secret": benchSecret,
		"redirect_uris": []string{benchRedirect}, "min_loa": "low",
		// The password only, so the sign-in form comes in the first answer
		// (no method chooser), as before the chooser existed.
		"methods": []string{"permanent"}}})
	if len(o.extraClients) > 0 {
		var list []map[string]any
		json.Unmarshal(clients, &list)
		for _, alg := range o.extraClients {
			list = append(list, map[string]any{"id": benchClientFor(alg), "secret": benchSecret,
				"redirect_uris": []string{benchRedirect}, "min_loa": "low", "methods": []string{"permanent"},
				"id_token_signed_response_alg": alg})
		}
		clients, _ = json.Marshal(list)
	}
	return []string{"CLAU_LISTEN=" + addr, "CLAU_PUBLIC_URL=" + o.issuer, "CLAU_OIDC_CLIENTS=" + string(clients)}, nil
}

func (o *oidcEndpoints) discover(base string) error {
	res, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var d struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Userinfo      string `json:"userinfo_endpoint"`
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil || d.Token == "" {
		return fmt.Errorf("discovery: %v", err)
	}
	o.authorize, o.token, o.uinfo = d.Authorization, d.Token, d.Userinfo
	return nil
}

// flow is one citizen signing in to the service: authorize (into the
// sign-in form), the password, the code at the redirect URI, the token
// exchange with PKCE, and userinfo.
func (o *oidcEndpoints) flow(_ string, doc string, tr http.RoundTripper) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), benchRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"client_id": {benchClient}, "redirect_uri": {benchRedirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s" + strconv.Itoa(int(time.Now().UnixNano()))}, "nonce": {"n"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	action, err := passwordForm(c, o.authorize+"?"+q.Encode(), "authorize")
	if err != nil {
		return err
	}
	res, err := sendPassword(c, o.issuer+action, doc)
	if err != nil {
		return err
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	code := ""
	if loc != nil {
		code = loc.Query().Get("code")
	}
	if code == "" {
		return fmt.Errorf("no code: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect},
		"code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", o.token, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(benchClient, benchSecret)
	t0 := time.Now()
	res, err = c.Do(req)
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	el := time.Since(t0)
	if err != nil || res.StatusCode != 200 || tok.IDToken == "" {
		return fmt.Errorf("token: %d %v", res.StatusCode, err)
	}
	o.mu.Lock()
	o.tokenLat = append(o.tokenLat, el)
	o.mu.Unlock()
	req, _ = http.NewRequest("GET", o.uinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("userinfo: %d", res.StatusCode)
	}
	return nil
}

func (o *oidcEndpoints) tokenPercentile(p float64) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := slices.Clone(o.tokenLat)
	slices.Sort(l)
	return percentile(l, p)
}
