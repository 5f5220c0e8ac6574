// Package broker owns the login transaction and the SSO session.
//
// A front-end (OIDC, SAML, or the local "continue to" link) starts a
// Transaction with what the service provider asked: its ID and the name
// the citizen sees, the minimum level of assurance, the methods it
// allows, force_authn, and where to go afterwards; it hands the
// transaction to the sign-in pages (SignIn) and, back at its continue
// path, reads the outcome of that very transaction (Outcome). A method (permanent password, PIN, passkey, certificate,
// eIDAS) identifies the citizen and reports the level it reached and how;
// the broker then completes the transaction and creates or steps up the
// citizen's SSO session. The front-end turns the outcome into an
// assertion or tokens.
//
// A transaction is a state machine stored as a store.Flow of kind "login":
//
//	started ──(method identifies the citizen, level enough)──────────► done
//	   │                                                               ▲
//	   └──(level needs a second factor)──► second_factor ──(code ok)───┘
//	started / second_factor ──(too many failures, expiry)──► failed
//
// An existing SSO session at the level asked completes a new transaction
// at once unless force_authn is set; a session below it is stepped up
// (the method only asks for what is missing) rather than started over.
//
// It must not know protocols: no SAML or OIDC types appear here.
package broker
