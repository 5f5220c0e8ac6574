package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A passkey level rule whose vendor root file cannot be read stops serve
// with the key named, like any other configuration problem.
func TestPasskeyLevelRootsUnreadable(t *testing.T) {
	e := newEnv(t, "CLAU_PUBLIC_URL=http://localhost:8080")
	cfg := filepath.Join(e.dir, "clau.yaml")
	os.WriteFile(cfg, []byte("passkey:\n  attestation: direct\n  levels:\n"+
		"    - {aaguids: [cb69481e-8ff7-4039-93ec-0a2729a154a8], loa: high, roots: [missing-vendor-root.pem]}\n"), 0o600)
	r := e.run("serve", "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, "passkey.levels[0].roots") {
		t.Fatalf("unreadable attestation root: exit %d\n%s", r.code, r.stderr)
	}
}
