package passkey_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/google/uuid"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/method/passkey"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/webauthntest"
)

// vendor is an authenticator maker: an attestation root and the batch
// attestation key and certificate its devices carry.
type vendor struct {
	root    *x509.Certificate
	attKey  *ecdsa.PrivateKey
	attCert []byte
}

func newVendor(t *testing.T, name string, aaguid uuid.UUID) *vendor {
	t.Helper()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " Attestation Root", Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTpl, rootTpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	attKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ext, _ := asn1.Marshal(aaguid[:]) // id-fido-gen-ce-aaguid: the AAGUID as an OCTET STRING
	attTpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{Country: []string{"ES"}, Organization: []string{name},
		OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: name + " Key Batch 1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: ext}}}
	attDER, err := x509.CreateCertificate(rand.Reader, attTpl, root, &attKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return &vendor{root: root, attKey: attKey, attCert: attDER}
}

// attestation is how an authenticator answers a registration.
type attestation int

const (
	packedFull attestation = iota // packed, batch certificate chain (basic attestation)
	packedSelf                    // packed, signed by the credential key itself
	noneFmt                       // "none": the browser stripped the statement
)

// createResponse answers a registration as an authenticator of model
// aaguid made by v would: the authenticator data as the WebAuthn spec
// lays it out and the statement in the chosen format, all really signed.
func createResponse(t *testing.T, opts *virtualwebauthn.AttestationOptions, aaguid uuid.UUID, cred virtualwebauthn.Credential,
	v *vendor, kind attestation) string {
	t.Helper()
	clientData, _ := json.Marshal(map[string]string{"type": "webauthn.create",
		"challenge": base64.RawURLEncoding.EncodeToString(opts.Challenge), "origin": rp.Origin})
	rpHash := sha256.Sum256([]byte(rp.ID))
	authData := append([]byte{}, rpHash[:]...)
	authData = append(authData, 0x01|0x04|0x40, 0, 0, 0, 0) // UP, UV, AT; counter 0
	if kind == noneFmt {
		aaguid = uuid.Nil
	}
	authData = append(authData, aaguid[:]...)
	authData = append(authData, byte(len(cred.ID)>>8), byte(len(cred.ID)))
	authData = append(authData, cred.ID...)
	authData = append(authData, cred.Key.AttestationData()...)
	cdHash := sha256.Sum256(clientData)
	signed := sha256.Sum256(append(append([]byte{}, authData...), cdHash[:]...))

	obj := map[string]any{"authData": authData}
	switch kind {
	case packedFull:
		sig, err := v.attKey.Sign(rand.Reader, signed[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		obj["fmt"], obj["attStmt"] = "packed", map[string]any{"alg": -7, "sig": sig, "x5c": [][]byte{v.attCert}}
	case packedSelf:
		sig, err := cred.Key.Sign(signed[:])
		if err != nil {
			t.Fatal(err)
		}
		obj["fmt"], obj["attStmt"] = "packed", map[string]any{"alg": -7, "sig": sig}
	case noneFmt:
		obj["fmt"], obj["attStmt"] = "none", map[string]any{}
	}
	raw, err := webauthncbor.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	out, _ := json.Marshal(map[string]any{"type": "public-key", "id": id, "rawId": id, "response": map[string]string{
		"attestationObject": base64.RawURLEncoding.EncodeToString(raw), "clientDataJSON": base64.RawURLEncoding.EncodeToString(clientData)}})
	return string(out)
}

// A passkey's level follows the rules for its authenticator model, but a
// rule above the default counts only when the model's attestation
// verifies to the rule's roots: self-attestation, "none", another
// vendor's chain or an unknown model stay at the default.
func TestLevelRules(t *testing.T) {
	key := uuid.MustParse("cb69481e-8ff7-4039-93ec-0a2729a154a8")
	other := uuid.MustParse("ee882879-721c-4913-9775-3dfcce97072a")
	lowered := uuid.MustParse("0bb43545-fd2c-4185-87dd-feb0b2916ace")
	trusted, rogue := newVendor(t, "Trusted Keys", key), newVendor(t, "Rogue Keys", key)
	otherVendor := newVendor(t, "Other Keys", other)
	loweredVendor := newVendor(t, "Cheap Keys", lowered)
	rules := []passkey.LevelRule{
		{AAGUIDs: []uuid.UUID{key}, LoA: broker.High, Roots: []*x509.Certificate{trusted.root}},
		{AAGUIDs: []uuid.UUID{lowered}, LoA: broker.Low},
	}
	for _, tc := range []struct {
		name         string
		aaguid       uuid.UUID
		v            *vendor
		kind         attestation
		attestation  protocol.ConveyancePreference
		want         broker.LoA
		wantVerified bool
	}{
		{"trusted model, chain to the configured root", key, trusted, packedFull, "direct", broker.High, true},
		{"trusted model, self-attested", key, trusted, packedSelf, "direct", broker.Substantial, false},
		{"trusted model's AAGUID, chain to another root", key, rogue, packedFull, "direct", broker.Substantial, false},
		{"trusted model, attestation stripped (none)", key, trusted, noneFmt, "none", broker.Substantial, false},
		{"a model no rule names", other, otherVendor, packedFull, "direct", broker.Substantial, false},
		{"a lowered model, even self-attested", lowered, loweredVendor, packedSelf, "direct", broker.Low, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			m, err := passkey.New(w.store, passkey.Options{RPID: rp.ID, Origins: []string{rp.Origin}, Now: w.clock.Now,
				Attestation: tc.attestation, Levels: rules})
			if err != nil {
				t.Fatal(err)
			}
			if m.LoA() != broker.High || m.DefaultLoA() != broker.Substantial {
				t.Fatalf("chooser level %s, default %s", m.LoA(), m.DefaultLoA())
			}
			cer, err := m.BeginRegistration(w.ctx, w.c)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(cer.Options, `"attestation":"`+string(tc.attestation)+`"`) {
				t.Errorf("registration options do not ask for %s attestation: %s", tc.attestation, cer.Options)
			}
			opts, _ := virtualwebauthn.ParseAttestationOptions(cer.Options)
			cred := webauthntest.NewCredential()
			k, err := m.FinishRegistration(w.ctx, w.c, cer.ID, "Clau", createResponse(t, opts, tc.aaguid, cred, tc.v, tc.kind), "192.0.2.1")
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			list, err := m.ListWithLevels(w.ctx, w.c.ID)
			if err != nil || len(list) != 1 || list[0].ID != k.ID {
				t.Fatalf("list: %+v %v", list, err)
			}
			if list[0].LoA != tc.want || list[0].Attestation.Verified != tc.wantVerified {
				t.Errorf("listed level %s (attestation %+v), want %s verified=%v", list[0].LoA, list[0].Attestation, tc.want, tc.wantVerified)
			}
			// Two sign-ins: the level holds after the stored record is updated.
			auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(w.c.ID)})
			auth.AddCredential(cred)
			for i := 1; i <= 2; i++ {
				tr := tx()
				tr.Request.MinLoA = broker.Low
				cred.Counter = uint32(i)
				wm := &world{t: t, ctx: w.ctx, store: w.store, clock: w.clock, m: m, c: w.c}
				if err := m.FinishLogin(w.ctx, tr, wm.assert(tr, auth, cred, rp), "192.0.2.1"); err != nil {
					t.Fatalf("sign-in %d: %v", i, err)
				}
				if tr.LoA != tc.want {
					t.Errorf("sign-in %d reached %s, want %s", i, tr.LoA, tc.want)
				}
			}
			// A service asking for high: only the certified model gets in;
			// the others are refused, audited, and the transaction stays open.
			tr := tx()
			tr.Request.MinLoA = broker.High
			cred.Counter = 3
			wm := &world{t: t, ctx: w.ctx, store: w.store, clock: w.clock, m: m, c: w.c}
			err = m.FinishLogin(w.ctx, tr, wm.assert(tr, auth, cred, rp), "192.0.2.1")
			if tc.want == broker.High {
				if err != nil || tr.State != broker.StateDone {
					t.Errorf("sign-in at high: %v %s", err, tr.State)
				}
			} else if !errors.Is(err, passkey.ErrLevel) || tr.State != broker.StateStarted || tr.CitizenID != "" {
				t.Errorf("sign-in at high with a %s passkey: %v, transaction %+v", tc.want, err, tr)
			} else if r := wm.refusals(); len(r) != 1 || !strings.Contains(r[0], "the sign-in needs high") {
				t.Errorf("refusal audited as %q", r)
			}
			events, _ := w.store.ListAudit(w.ctx, store.AuditFilter{Limit: 20})
			for _, e := range events {
				if e.Action == "passkey.register" && e.Details["loa"] != string(tc.want) {
					t.Errorf("registration audited at level %q, want %s (%v)", e.Details["loa"], tc.want, e.Details)
				}
			}
		})
	}
}

// Rules apply to passkeys registered before them: the level is computed
// at each sign-in from the stored registration, so adding a rule raises
// an existing passkey and removing the root takes it back down.
func TestLevelRulesApplyToExistingPasskeys(t *testing.T) {
	key := uuid.MustParse("cb69481e-8ff7-4039-93ec-0a2729a154a8")
	v := newVendor(t, "Trusted Keys", key)
	w := newWorld(t)
	plain, err := passkey.New(w.store, passkey.Options{RPID: rp.ID, Origins: []string{rp.Origin}, Now: w.clock.Now, Attestation: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	cer, _ := plain.BeginRegistration(w.ctx, w.c)
	opts, _ := virtualwebauthn.ParseAttestationOptions(cer.Options)
	k, err := plain.FinishRegistration(w.ctx, w.c, cer.ID, "Clau", createResponse(t, opts, key, webauthntest.NewCredential(), v, packedFull), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		rules []passkey.LevelRule
		want  broker.LoA
	}{
		{"no rules", nil, broker.Substantial},
		{"rule added later", []passkey.LevelRule{{AAGUIDs: []uuid.UUID{key}, LoA: broker.High, Roots: []*x509.Certificate{v.root}}}, broker.High},
		{"root replaced", []passkey.LevelRule{{AAGUIDs: []uuid.UUID{key}, LoA: broker.High, Roots: []*x509.Certificate{newVendor(t, "X", key).root}}}, broker.Substantial},
	} {
		m, err := passkey.New(w.store, passkey.Options{RPID: rp.ID, Origins: []string{rp.Origin}, Now: w.clock.Now, Levels: tc.rules})
		if err != nil {
			t.Fatal(err)
		}
		if got, att := m.Level(k); got != tc.want || att.AAGUID != key.String() || att.Format != "packed" {
			t.Errorf("%s: level %s %+v, want %s", tc.name, got, att, tc.want)
		}
	}
}

func TestLevelRulesRefused(t *testing.T) {
	key := uuid.MustParse("cb69481e-8ff7-4039-93ec-0a2729a154a8")
	root := newVendor(t, "V", key).root
	w := newWorld(t)
	for _, tc := range []struct {
		name  string
		o     passkey.Options
		inErr string
	}{
		{"above the default without roots", passkey.Options{Levels: []passkey.LevelRule{{AAGUIDs: []uuid.UUID{key}, LoA: broker.High}}}, "needs attestation roots"},
		{"the zero AAGUID", passkey.Options{Levels: []passkey.LevelRule{{AAGUIDs: []uuid.UUID{uuid.Nil}, LoA: broker.Low}}}, "zero AAGUID"},
		{"an AAGUID twice", passkey.Options{Levels: []passkey.LevelRule{{AAGUIDs: []uuid.UUID{key}, LoA: broker.Low},
			{AAGUIDs: []uuid.UUID{key}, LoA: broker.High, Roots: []*x509.Certificate{root}}}}, "earlier rule"},
		{"no AAGUIDs", passkey.Options{Levels: []passkey.LevelRule{{LoA: broker.Low}}}, "no AAGUIDs"},
		{"unknown level", passkey.Options{Levels: []passkey.LevelRule{{AAGUIDs: []uuid.UUID{key}, LoA: "top"}}}, "unknown level"},
		{"unknown conveyance", passkey.Options{Attestation: "enterprise"}, "want none, indirect or direct"},
	} {
		tc.o.RPID, tc.o.Origins = rp.ID, []string{rp.Origin}
		if _, err := passkey.New(w.store, tc.o); err == nil || !strings.Contains(err.Error(), tc.inErr) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.inErr)
		}
	}
}
