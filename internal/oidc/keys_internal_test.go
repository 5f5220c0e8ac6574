package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// A key flow written before rotation existed (one key in "kid" and
// "signing") loads, gains an ES256 key that signs at once, rotates, and
// its key leaves on schedule.
func TestVersion1KeyFlowLoadsAndRotates(t *testing.T) {
	ctx := context.Background()
	s := sqltest.Open(t, sqlstore.SQLite)
	kr, _ := secure.NewKeyring(nil, time.Now())
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(rk)
	sk, _ := kr.Seal(der, keyAAD("signing"))
	ck := make([]byte, 32)
	sck, _ := kr.Seal(ck, keyAAD("crypto_key"))
	data, _ := json.Marshal(map[string]string{"kid": "rsold", "signing": sk, "crypto_key": sck})
	now := time.Now().UTC()
	if err := s.CreateFlow(ctx, &store.Flow{ID: keyFlowID, Kind: keyKind, State: "active", Data: data,
		ExpiresAt: now.Add(keyTTL)}); err != nil {
		t.Fatal(err)
	}
	k, err := loadOrCreateKeys(ctx, s, kr, now, KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, key := k.signer(now, AlgRS256); id != "rsold" || !rk.Equal(key) {
		t.Fatalf("RS256 signer %s", id)
	}
	if id, key := k.signer(now, AlgES256); id == "" || key == nil {
		t.Fatal("a version-1 flow got no ES256 key")
	}
	if n := len(k.published(now)); n != 2 {
		t.Fatalf("%d keys published, want the old RS256 and the new ES256", n)
	}
	rotated, err := RotateKeys(ctx, s, kr, now, KeyOptions{Prepublish: time.Hour}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 || rotated[0].Algorithm() == rotated[1].Algorithm() {
		t.Fatalf("rotation made %v, want one key of each kind", rotated)
	}
	nk := rotated[slices.IndexFunc(rotated, func(k KeyInfo) bool { return k.Algorithm() == AlgRS256 })]
	soon := now.Add(time.Hour + time.Minute)
	k, err = loadOrCreateKeys(ctx, s, kr, soon, KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := k.signer(soon, AlgRS256); id != nk.ID || len(k.published(soon)) != 4 {
		t.Fatalf("after rotation: signer %s, %d published", id, len(k.published(soon)))
	}
	later := now.Add(3 * time.Hour)
	if _, err := loadOrCreateKeys(ctx, s, kr, later, KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	f, _ := s.FlowByID(ctx, keyKind, keyFlowID)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(f.Data, &m)
	if _, ok := m["signing"]; ok {
		t.Fatal("the retired key's sealed member is still stored")
	}
	if _, ok := m["key_"+nk.ID]; !ok {
		t.Fatal("the new key's sealed member is missing")
	}
}
