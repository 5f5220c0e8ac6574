package main

import (
	"strings"
	"testing"
)

func TestSPCLI(t *testing.T) {
	e := newEnv(t)
	out := e.ok("sp", "oidc", "add", "--id", "tramits", "--redirect-uri", "https://tramits.example.org/cb",
		"--min-loa", "substantial", "--scope", "profile", "--scope", "document_number", "--backchannel-logout-uri",
		"https://tramits.example.org/bcl")
	if !strings.Contains(out, "registered") || !strings.Contains(out, "client_secret: ") {
		t.Fatalf("sp add:\n%s", out)
	}
	secret := strings.Fields(out[strings.Index(out, "client_secret: "):])[1]
	if len(secret) < 32 {
		t.Fatalf("secret %q", secret)
	}
	out = e.ok("sp", "oidc", "add", "--id", "seu", "--redirect-uri", "https://seu.example.org/cb", "--auth-method", "private_key_jwt",
		"--jwks-uri", "https://seu.example.org/jwks.json", "--id-token-alg", "RS256")
	if strings.Contains(out, "client_secret") {
		t.Fatalf("a private_key_jwt client got a secret:\n%s", out)
	}
	for name, args := range map[string][]string{
		"twice":            {"sp", "oidc", "add", "--id", "seu", "--redirect-uri", "https://seu.example.org/cb"},
		"wildcard":         {"sp", "oidc", "add", "--id", "x", "--redirect-uri", "https://*.example.org/cb"},
		"no redirect":      {"sp", "oidc", "add", "--id", "x"},
		"bad level":        {"sp", "oidc", "add", "--id", "x", "--redirect-uri", "https://x.example/cb", "--min-loa", "medium"},
		"unknown scope":    {"sp", "oidc", "add", "--id", "x", "--redirect-uri", "https://x.example/cb", "--scope", "address"},
		"key w/o jwks":     {"sp", "oidc", "add", "--id", "x", "--redirect-uri", "https://x.example/cb", "--auth-method", "private_key_jwt"},
		"unknown remove":   {"sp", "oidc", "remove", "nobody"},
		"bad ID token alg": {"sp", "oidc", "add", "--id", "x", "--redirect-uri", "https://x.example/cb", "--id-token-alg", "HS256"},
	} {
		if r := e.run(args...); r.code == 0 || r.stderr == "" {
			t.Errorf("%s: exit %d\n%s", name, r.code, r.stdout)
		}
	}
	list := e.ok("sp", "oidc", "list")
	if !strings.Contains(list, "tramits") || !strings.Contains(list, "seu") || strings.Contains(list, secret) {
		t.Fatalf("sp list:\n%s", list)
	}
	show := e.ok("sp", "oidc", "show", "tramits")
	if !strings.Contains(show, `"document_number"`) || strings.Contains(show, secret) || !strings.Contains(show, "bcl") {
		t.Fatalf("sp show:\n%s", show)
	}
	// ES256 by default; RS256 when asked for.
	if !strings.Contains(show, `"id_token_signed_response_alg": "ES256"`) {
		t.Fatalf("sp show tramits:\n%s", show)
	}
	if show := e.ok("sp", "oidc", "show", "seu"); !strings.Contains(show, `"id_token_signed_response_alg": "RS256"`) {
		t.Fatalf("sp show seu:\n%s", show)
	}
	if out := e.ok("sp", "oidc", "remove", "tramits"); !strings.Contains(out, "removed") {
		t.Fatal(out)
	}
	if list := e.ok("sp", "oidc", "list"); strings.Contains(list, "tramits") {
		t.Fatalf("after remove:\n%s", list)
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
}
