package config

import "testing"

func TestOIDCClients(t *testing.T) {
	yaml := `oidc_clients:
  - id: ajuntament
    secret: "0123456789abcdef0123"
    redirect_uris: ["https://tramits.example.org/cb"]
    min_loa: http://eidas.europa.eu/LoA/substantial
  - id: app
    public: true
    redirect_uris: ["http://127.0.0.1/cb"]
`
	c, err := LoadBytes([]byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OIDCClients) != 2 || c.OIDCClients[0].ID != "ajuntament" || !c.OIDCClients[1].Public {
		t.Fatalf("clients = %+v", c.OIDCClients)
	}

	env := []string{`CLAU_OIDC_CLIENTS=[{"id":"x","secret":"0123456789abcdef","redirect_uris":["https://a.example/cb"]}]`}
	if c, err = LoadBytes(nil, env); err != nil || len(c.OIDCClients) != 1 || c.OIDCClients[0].ID != "x" {
		t.Fatalf("from env: %+v %v", c, err)
	}

	bad := `oidc_clients:
  - id: a
    redirect_uris: ["/relative", "https://x.example/cb#frag", "https://*.example/cb"]
    min_loa: medium
  - id: a
    secret: "0123456789abcdef"
    public: true
    redirect_uris: ["https://a.example/cb"]
  - secret: short
    redirect_uris: []
  - id: keys
    token_endpoint_auth_method: private_key_jwt
    redirect_uris: ["https://k.example/cb"]
  - id: keys2
    token_endpoint_auth_method: private_key_jwt
    jwks: "{not json"
    redirect_uris: ["https://k.example/cb"]
  - id: wrong
    secret: "0123456789abcdef"
    token_endpoint_auth_method: client_secret_jwt
    jwks_uri: "ftp://k.example/jwks"
    backchannel_logout_uri: "/relative"
    scopes: [profile, address]
    subject_type: public
    sector_identifier: hisenda
    redirect_uris: ["https://k.example/cb"]
`
	_, err = LoadBytes([]byte(bad), nil)
	ps := problemsOf(t, err)
	for _, w := range []struct{ key, msg string }{
		{"oidc_clients[0].secret", "is required"},
		{"oidc_clients[0].redirect_uris", `"/relative"`},
		{"oidc_clients[0].redirect_uris", "#frag"},
		{"oidc_clients[0].redirect_uris", "*.example"},
		{"oidc_clients[0].min_loa", "medium"},
		{"oidc_clients[1].id", "declared twice"},
		{"oidc_clients[1].secret", "public client has no secret"},
		{"oidc_clients[2].id", "is required"},
		{"oidc_clients[2].redirect_uris", "at least one"},
		{"oidc_clients[3].jwks", "exactly one of jwks and jwks_uri"},
		{"oidc_clients[4].jwks", "not JSON"},
		{"oidc_clients[5].token_endpoint_auth_method", "client_secret_jwt"},
		{"oidc_clients[5].jwks", "only for"},
		{"oidc_clients[5].jwks_uri", "ftp://"},
		{"oidc_clients[5].backchannel_logout_uri", "/relative"},
		{"oidc_clients[5].scopes", "address"},
		{"oidc_clients[5].sector_identifier", "pairwise"},
	} {
		if !hasProblem(ps, w.key, w.msg) {
			t.Errorf("no problem %s: %s in %v", w.key, w.msg, ps)
		}
	}
	good := `oidc_clients:
  - id: seu
    token_endpoint_auth_method: private_key_jwt
    jwks_uri: https://seu.example/jwks.json
    require_par: true
    redirect_uris: ["https://seu.example/cb"]
`
	if c, err := LoadBytes([]byte(good), nil); err != nil || !c.OIDCClients[0].RequirePAR {
		t.Fatalf("a private_key_jwt client: %v", err)
	}
	if _, err := LoadBytes(nil, []string{"CLAU_OIDC_CLIENTS=[{\"idd\":1}]"}); err == nil {
		t.Fatal("a bad CLAU_OIDC_CLIENTS loaded")
	}
}
