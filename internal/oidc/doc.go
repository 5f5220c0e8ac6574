// Package oidc is Clau's OpenID Connect provider: a front-end that turns
// the broker's login outcome into authorization codes, ID tokens and
// userinfo for the services (relying parties) declared in config's
// oidc_clients. It is built on github.com/zitadel/oidc/v3's op package,
// which speaks the protocol; this package supplies op.Storage on Clau's
// store, the clients, the keys and the hand-over to the sign-in pages.
//
// # Endpoints
//
// Discovery is at the issuer (config public_url):
// /.well-known/openid-configuration. Everything else the library serves
// sits under /oidc/ (authorize, authorize/callback, token, userinfo, keys,
// revoke, introspect, end_session), so the library's own /healthz and
// /ready never shadow Clau's. Two routes are ours: /oidc/login (the
// clients' login URL) and /oidc/continue (back from the sign-in pages).
//
// # A sign-in
//
//	service ──authorize──► library validates (client, exact redirect URI,
//	   PKCE S256) and stores the request ──► /oidc/login?id=…
//	/oidc/login: binds the request to the browser (cookie clau_oidc);
//	   prompt=none answers from the SSO session alone (login_required
//	   otherwise); else ──► /login?continue=/oidc/continue?id=…&loa=…
//	   (&prompt=login): the citizen pages do SSO, step-up (SMS) or a
//	   full sign-in through the broker, and set the SSO session
//	/oidc/continue: the session must reach the request's level (acr_values
//	   as eIDAS LoA URIs, minimum semantics, never below the client's
//	   min_loa) and be fresh enough for prompt=login / max_age; else back
//	   to /login (at most three rounds). It records sub, acr, amr and
//	   auth_time on the request ──► /oidc/authorize/callback ──► code.
//	service ──token (client_secret_basic|post, code_verifier)──► ID token
//	   (RS256, acr, amr, auth_time, nonce, scope claims) + access token.
//
// Auth requests, codes (only a hash of each) and access tokens are
// store.Flows (kinds oidc_auth, oidc_code, oidc_token), so any number of
// processes serve any step. An auth request's states:
//
//	pending ──► authenticated ──► code_issued ──(exchange)──► used
//	used ──(the code presented again)──► revoked: its access tokens stop
//	working at userinfo
//
// The code is spent only after the library has checked the client and
// PKCE, in one transaction with the access token, so a failed attempt does
// not burn it and two concurrent exchanges cannot both win.
//
// # Keys and subjects
//
// One RS256 signing key and the 32-byte key that encrypts codes and access
// tokens are generated at the first start and kept sealed by the keyring
// in a flow of kind oidc_key (flow ID oidc-signing-v1, a long expiry).
// Client secrets are kept only as keyring hashes and compared in constant
// time. sub is pairwise: a keyed hash (keyring, purpose "oidc_sub:" +
// client ID) of the citizen's ID, so services cannot link citizens.
//
// # Claims
//
// Scopes openid, profile (name, given_name, family_name, first_surname,
// second_surname, birthdate), email and phone (phone_number) fill both the
// ID token and userinfo. The citizen is read by ID only after the broker's
// session says who signed in; nothing else here reads citizen data.
//
// # Left to do (issue 4)
//
//   - Key rotation: a table of keys (migration 00005) with states next /
//     current / retired, the next key published in JWKS before it signs and
//     the old kept until its tokens expire. (Keyring rotation, clau keys,
//     already re-seals the oidc_key flow: ResealAll covers sealed members
//     of flows.)
//   - private_key_jwt (op.Config.AuthMethodPrivateKeyJWT and
//     GetKeyByIDAndClientID with client JWKS in config), PAR (/oidc/par
//     storing the validated request and resolving request_uri at
//     authorize), request objects by reference.
//   - Back-channel logout: record which clients a session touched and POST
//     logout tokens to their backchannel_logout_uri; end_session already
//     ends Clau's SSO session but checks no post_logout_redirect_uri list
//     beyond the redirect URIs.
//   - The claims parameter's essential acr; public vs pairwise sub and
//     sector identifiers by client setting; the document number scope;
//     login_hint and ui_locales passed to the pages.
//   - Error pages in the citizen's language (plain text today), auditing
//     of every refusal the library answers itself.
//   - `clau sp` and the admin API to manage clients at run time; the demo
//     service ("Ajuntament de Demo") in `clau demo`; docs/ integrator guide.
//   - Interop tests for the above, and BENCHMARKS.md (token exchanges and
//     full flows per second per core, p99 at half the peak).
//
// It must not know methods or read the store for citizen data beyond the
// claims of a citizen the broker identified.
package oidc
