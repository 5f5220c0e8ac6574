package main

import (
	"strings"
	"testing"
)

func TestOIDCKeyRotationCLI(t *testing.T) {
	e := newEnv(t)
	out := e.ok("keys", "oidc-rotate")
	// One new key of each kind: ES256 (the default) and RS256.
	if strings.Count(out, "published; it signs from") != 2 || strings.Count(out, "\nrs") != 2 || strings.Count(out, "\nes") != 2 {
		t.Fatalf("oidc-rotate:\n%s", out)
	}
	if !strings.Contains(out, "signing") || !strings.Contains(out, "published\t") && !strings.Contains(out, " published ") {
		t.Fatalf("states after rotation:\n%s", out)
	}
	// A second rotation while the new key waits is refused, with the way out.
	r := e.run("keys", "oidc-rotate")
	if r.code == 0 || !strings.Contains(r.stderr, "--emergency") {
		t.Fatalf("second rotation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out = e.ok("keys", "oidc-rotate", "--emergency")
	if !strings.Contains(out, "signs now") {
		t.Fatalf("emergency rotation:\n%s", out)
	}
	list := e.ok("keys", "oidc-list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	signing := 0
	for _, l := range lines[1:] {
		if strings.Contains(l, "signing") {
			signing++
		} else if !strings.Contains(l, "removed") {
			t.Errorf("after an emergency rotation a key is still %q", l)
		}
	}
	if signing != 2 { // one ES256, one RS256
		t.Fatalf("oidc-list:\n%s", list)
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatal(out)
	}
}
