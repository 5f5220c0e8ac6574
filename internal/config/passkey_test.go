package config

import (
	"strings"
	"testing"
)

func TestPasskeyLevelsConfig(t *testing.T) {
	c, err := LoadBytes(nil, nil)
	if err != nil || c.Passkey.Attestation != "none" || len(c.Passkey.Levels) != 0 {
		t.Fatalf("defaults: %+v %v", c.Passkey, err)
	}
	good := `passkey:
  attestation: direct
  levels:
    - {aaguids: [cb69481e-8ff7-4039-93ec-0a2729a154a8], loa: high, roots: [vendor.pem]}
    - {aaguids: [EE882879-721C-4913-9775-3DFCCE97072A], loa: low}
`
	c, err = LoadBytes([]byte(good), nil)
	if err != nil || c.Passkey.Levels[0].LoA != "high" || c.Passkey.Levels[0].Roots[0] != "vendor.pem" {
		t.Fatalf("good: %+v %v", c.Passkey, err)
	}
	env := []string{`CLAU_PASSKEY_LEVELS=[{"aaguids":["cb69481e-8ff7-4039-93ec-0a2729a154a8"],"loa":"high","roots":["v.pem"]}]`,
		"CLAU_PASSKEY_ATTESTATION=indirect"}
	if c, err = LoadBytes(nil, env); err != nil || c.Passkey.Levels[0].Roots[0] != "v.pem" || c.Passkey.Attestation != "indirect" {
		t.Fatalf("env: %+v %v", c.Passkey, err)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown conveyance", "passkey: {attestation: enterprise}\n", []string{"passkey.attestation"}},
		{"above the default without roots or attestation", "passkey:\n  levels:\n    - {aaguids: [cb69481e-8ff7-4039-93ec-0a2729a154a8], loa: high}\n",
			[]string{"passkey.levels[0].roots", "passkey.attestation: levels above"}},
		{"not an AAGUID, no level", "passkey:\n  levels:\n    - {aaguids: [yubikey], loa: top}\n",
			[]string{`passkey.levels[0].aaguids: "yubikey"`, "passkey.levels[0].loa"}},
		{"the zero AAGUID", "passkey:\n  levels:\n    - {aaguids: [00000000-0000-0000-0000-000000000000], loa: low}\n",
			[]string{"passkey.levels[0].aaguids"}},
		{"an AAGUID twice, none listed", "passkey:\n  levels:\n    - {aaguids: [cb69481e-8ff7-4039-93ec-0a2729a154a8], loa: low}\n" +
			"    - {aaguids: [CB69481E-8FF7-4039-93EC-0A2729A154A8], loa: low}\n    - {loa: low}\n",
			[]string{"passkey.levels[1].aaguids: CB69481E", "passkey.levels[2].aaguids: list at least one"}},
	} {
		_, err := LoadBytes([]byte(tc.yaml), nil)
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: no problem %q reported: %v", tc.name, want, err)
			}
		}
	}
}
