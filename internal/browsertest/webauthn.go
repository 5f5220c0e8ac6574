package browsertest

import (
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// VirtualAuthenticator is a WebAuthn authenticator that Chromium emulates
// through the DevTools protocol: a platform authenticator (like a phone's
// or laptop's) that keeps discoverable credentials, verifies the user and
// confirms presence without anyone touching it.
type VirtualAuthenticator struct {
	b  *Browser
	ID webauthn.AuthenticatorID
}

// AddVirtualAuthenticator enables the WebAuthn domain on the tab and adds
// a CTAP2 platform authenticator with resident keys and user verification
// that succeeds.
func (b *Browser) AddVirtualAuthenticator(t testing.TB) *VirtualAuthenticator {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.fail(t, "enable the WebAuthn domain", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		b.fail(t, "add a virtual authenticator", err)
	}
	return &VirtualAuthenticator{b: b, ID: res.AuthenticatorID}
}

// Credentials lists what the authenticator holds.
func (a *VirtualAuthenticator) Credentials(t testing.TB) []*webauthn.Credential {
	t.Helper()
	ctx, cancel := a.b.actionCtx(a.b.timeout())
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.ID})
	if err != nil {
		a.b.fail(t, "list the virtual authenticator's credentials", err)
	}
	return res.Credentials
}
