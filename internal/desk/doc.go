// Package desk owns the registration desk: officers' sign-in (password
// then TOTP), their browser sessions and API tokens, the desk pages
// (search, register, receipt, citizen record, office staff, offices for
// admins, the day view of appointments with registration from one, and
// the office schedule for supervisors) and the desk JSON API under /api/desk/v1, which offers the
// same operations to scripts.
//
// It holds no registration logic: registering, issuing codes, correcting
// and deregistering are registration.Service's, which checks the office
// and writes the audit events. This package turns HTTP into those calls,
// authenticates officers and shows the results. It must not read or write
// citizens' credentials, and it never imports the SQL driver.
//
// # Officer sign-in
//
// Sign-in is a state machine kept in the store as a store.Flow of kind
// "desk_login", named by the SHA-256 of a random token held in a
// short-lived HttpOnly cookie (never in process memory, so any process
// behind a load balancer can continue it):
//
//	(username + password right, officer active, office active, TOTP enrolled)
//	        ──► password_ok ──(TOTP code right, newer than the last one)──► done
//	password_ok ──(5 wrong codes, or a lockout)──► failed
//
// Unknown usernames cost one dummy argon2id verification and get the same
// answer as a wrong password. Failures count per username and per source
// address in the store (secure.Throttle); a lockout is audited. A TOTP
// code is accepted only for a time step after the last one used, and the
// new step is stored with the officer's version: two concurrent requests
// with one code cannot both win. Success rotates the session: a fresh
// random token in the clau_desk cookie, only its hash stored, 8 hours at
// most and 30 minutes idle.
//
// # Shown once
//
// An activation code, or a new officer's password and TOTP seed, is shown
// once: the POST that makes it stores it sealed (keyring, associated data
// flows.data:<id>) in a "desk_once" flow for the officer who made it and
// redirects to /desk/once/{id}; the first GET consumes the flow and sends
// the page with Cache-Control: no-store, so reloading or going back shows
// "already shown", never the secret. A "desk_form" flow is a one-use form
// ticket: the reissue button spends it first, so a double submit cannot
// issue two codes silently.
package desk
