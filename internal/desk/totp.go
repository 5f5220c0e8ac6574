package desk

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/store"
)

// ErrNoTOTP means the officer has no TOTP seed enrolled.
var ErrNoTOTP = errors.New("desk: officer has no TOTP enrolled")

// DefaultIssuer names Clau in authenticator apps.
const DefaultIssuer = "Clau"

// totpAAD binds a sealed seed to its officer: a value copied to another
// row does not open. Key rotation re-seals with the same associated data.
func totpAAD(officerID string) []byte {
	return store.SealedValue{Table: "officers", Column: "totp_secret", RowID: officerID}.AAD()
}

// SealNewTOTP gives o a fresh TOTP seed, sealed into o.TOTPSecretSealed
// (o.ID must be set), and resets its last step; it stores nothing, so a
// new officer can be created with the seed in one insert. It returns the
// seed (base32) and the otpauth:// URI to show once, as text and QR code.
func SealNewTOTP(kr *secure.Keyring, o *identity.Officer) (secret, uri string, err error) {
	if o.ID == "" || o.Username == "" {
		return "", "", errors.New("desk: sealing a TOTP seed needs the officer's ID and username")
	}
	secret, uri, err = secure.NewTOTPKey(DefaultIssuer, o.Username)
	if err != nil {
		return "", "", err
	}
	sealed, err := kr.Seal([]byte(secret), totpAAD(o.ID))
	if err != nil {
		return "", "", err
	}
	o.TOTPSecretSealed, o.TOTPLastStep = sealed, 0
	return secret, uri, nil
}

// EnrollTOTP gives a stored officer a fresh TOTP seed (the old one stops
// working) and writes it with the officer's version: store.ErrStale if the
// record changed meanwhile. Pass a store.Tx to commit it with an audit
// event. It returns the seed and the otpauth:// URI to show once.
func EnrollTOTP(ctx context.Context, st store.Officers, kr *secure.Keyring, o *identity.Officer) (secret, uri string, err error) {
	c := *o
	if secret, uri, err = SealNewTOTP(kr, &c); err != nil {
		return "", "", err
	}
	if err := st.UpdateOfficer(ctx, &c); err != nil {
		return "", "", fmt.Errorf("desk: enrolling TOTP: %w", err)
	}
	*o = c
	return secret, uri, nil
}

// OpenTOTP opens an officer's sealed seed and rebuilds its otpauth:// URI:
// for the sign-in check, and for `clau demo`, which prints the demo
// officer's seed at every start. ErrNoTOTP when none is enrolled.
func OpenTOTP(kr *secure.Keyring, o *identity.Officer) (secret, uri string, err error) {
	if o.TOTPSecretSealed == "" {
		return "", "", ErrNoTOTP
	}
	b, err := kr.Open(o.TOTPSecretSealed, totpAAD(o.ID))
	if err != nil {
		return "", "", err
	}
	secret = string(b)
	return secret, totpURI(DefaultIssuer, o.Username, secret), nil
}

// totpURI is the Key URI Format authenticator apps read, with the
// parameters secure.CheckTOTP uses.
func totpURI(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return u.String()
}
