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
// The admin API /api/admin/v1/oidc/clients (adminapi.go; the caller
// supplies the guard) lists, shows, registers and removes clients.
//
// # A sign-in
//
//	service ──authorize──► library validates (client, exact redirect URI,
//	   PKCE S256) and stores the request ──► /oidc/login?id=…
//	/oidc/login: binds the request to the browser (cookie
//	   clau_oidc_req_<id>, one per request, so tabs do not interfere);
//	   prompt=none answers from the SSO session alone (login_required
//	   otherwise); else toSignIn starts a broker transaction for the
//	   client (SP = client_id, SPName = its name or ID, level, methods,
//	   force for prompt=login / max_age, login_hint, ui_locales, continue
//	   /oidc/continue?id=…) and hands it to Deps.SignIn, the citizen
//	   pages: SSO, step-up (SMS) or a full sign-in, on pages that say
//	   "Signing in to <name>". Nothing about the service is in a URL.
//	/oidc/continue: that transaction must be done, for this client, for
//	   the citizen of the browser's SSO session (broker.Outcome), and the
//	   session must reach the request's level (acr_values as eIDAS LoA
//	   URIs, minimum semantics, never below the client's min_loa) and be
//	   fresh enough for prompt=login / max_age; else a new transaction
//	   (at most three rounds). It records sub, acr, amr and auth_time on
//	   the request ──► /oidc/authorize/callback ──► code.
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
// # Client authentication and PAR
//
// checkClientAuth (clientauth.go) runs before the library's token,
// introspection and revocation endpoints: the method used must be the
// client's token_endpoint_auth_method, and a private_key_jwt assertion is
// verified in full there (client JWKS inline or from jwks_uri, iss = sub,
// aud, exp, jti remembered as a flow of kind oidc_jti so a replay fails in
// every process). Pushed authorization requests (par.go) are flows of kind
// oidc_par, single-use and 90 seconds long; /oidc/authorize resolves a
// request_uri before the library sees the request.
//
// # Back-channel logout
//
// logout.go: each SSO session gets a sid (ID tokens carry it) that
// survives the session-token rotation of step-up; the services it signed
// into are recorded on it, and the broker's logout hook queues a
// store.LogoutDelivery per service with a backchannel_logout_uri, in the
// logout's own transaction. RunLogouts (started by clau serve) posts a
// freshly signed logout_token for each, with retries.
//
// # Levels, methods, claims
//
// request.go: the level a request needs is the client's min_loa raised by
// acr_values and the claims parameter's acr (minimum semantics); if no
// method the client allows (Deps.Methods ∩ its methods) reaches it, the
// request fails with unmet_authentication_requirements. /oidc/continue
// refuses an SSO session whose method the client does not allow (a fresh
// sign-in is asked). Scopes beyond the client's scopes setting are
// dropped; document_number is granted only when listed. login_hint and
// ui_locales go to the sign-in pages in the transaction.
//
// # Keys and subjects
//
// The RS256 signing keys and the 32-byte key that encrypts codes and
// opaque access tokens are generated at the first start and kept sealed by
// the keyring in a flow of kind oidc_key (flow ID oidc-signing-v1, a long
// expiry), with each key's schedule: a new key is published in the JWKS
// before it signs (KeyOptions.Prepublish), the key it replaces stays
// published until every token it signed has expired, then goes (keys.go).
// Every process rereads the set every KeyOptions.Reload, and any of them
// may do the scheduled work (automatic rotation, removal), the flow's
// version settling races. `clau keys oidc-rotate` rotates by hand, with
// --emergency for a compromised key.
// Client secrets are kept only as keyring hashes and compared in constant
// time. sub is a keyed hash of the citizen's ID: pairwise by default
// (purpose "oidc_sub:" + client ID, or "oidc_sub:sector:" + the client's
// sector identifier), so services cannot link citizens, or public
// ("oidc_sub_public") by client setting.
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
//   - The admin API to manage clients at run time (`clau sp` and the
//     store's oidc_clients table exist: clients.go).
//   - BENCHMARKS.md: the open-loop p99 at half the peak on a quiet
//     machine and on PostgreSQL (measured so far only under heavy
//     contention).
//
// It must not know methods or read the store for citizen data beyond the
// claims of a citizen the broker identified.
package oidc
