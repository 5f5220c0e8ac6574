// Package certlogin carries a login transaction from the main site to the
// certificate listener (mutual TLS, a host name or port of its own,
// because the TLS handshake itself must ask for the certificate) and back:
//
//	main site  GET /login/{id}/certificate
//	           browser bound to the transaction? SP allows the method?
//	           ──► one-time handoff token (2 min, hash kept in the store)
//	listener   GET /certificate/handoff?h=…   (client certificate requested)
//	           token taken once; certificate validated (internal/method/certificate);
//	           registered and active citizen: transaction identified at the
//	           profile's level (amr hwk or swk), a basic registration raised
//	           to advanced; unknown citizen and the service allows it: a
//	           certificate registration is opened
//	           ──► one-time return token
//	main site  GET /login/{id}/certificate/done?r=…
//	           token taken once and the browser bound to the transaction:
//	           SSO session cookie, then on to the service
//	           or /login/{id}/certificate/register/{rid} (mobile and email,
//	           each confirmed by a code; then the citizen exists at level
//	           advanced and is signed in).
//
// Both tokens are single use and short-lived, and the main site completes
// only for the browser that started the transaction, so a handoff link
// sent to someone else signs nobody in anywhere. All state lives in the
// store (flows), so any process may serve any step.
//
// It owns these pages and the listener's handler; validation, identity
// and the audit of refusals are the method's.
package certlogin
