// Package passkey is the passkey (WebAuthn) method: a citizen signed in at
// level substantial registers passkeys from the account page (several,
// each named, removable); later the browser's passkey prompt, with user
// verification (fingerprint, face, device PIN), signs them in at level
// substantial by default without typing the DNI/NIE: credentials are
// discoverable and the user handle names the citizen. Phones reach
// computers through the browser's own QR (hybrid) flow.
//
// It uses github.com/go-webauthn/webauthn for the ceremonies: origin, RP
// ID, challenge, signature and user verification are all checked there.
// On top, it refuses a signature counter that did not move forward (a
// cloned authenticator), a removed passkey and a passkey whose citizen is
// no longer active, and it records every registration, removal, sign-in
// and refusal in the audit trail.
//
// A passkey's level is the default (Options.LoA) unless a level rule
// names its authenticator model (AAGUID). A rule above the default counts
// only when the attestation statement kept from registration verifies,
// through go-webauthn's metadata checks, to one of the rule's vendor
// roots; self-attestation and "none" never do. The level is computed at
// each sign-in, so a change of rules applies to existing passkeys, and a
// sign-in below the level the service asks for is refused.
//
// Ceremony state stays server-side: the registration challenge in a
// store.Flow of kind "passkey_register" bound to the citizen; the sign-in
// challenge in the login transaction's Pending field. Each is used once.
//
// It knows nothing of pages or protocols: the broker's transaction is its
// only contract with them.
package passkey
