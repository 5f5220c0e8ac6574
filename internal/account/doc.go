// Package account serves the citizen's own pages: activation of the
// permanent credential (DNI/NIE + email + activation code, then the SMS
// code, then the password twice), sign-in with the permanent password
// (plus the SMS code when the level asked needs it) as the broker's local
// front-end, the account overview (who is signed in, how and at which
// level, their record and ways in), the changes of email, mobile and
// password (whose rules are internal/selfservice's), the security pages
// (sign-in history, open sessions, renounce, password expiry and
// recovery), and sign-out. Pages implements broker.SignIn: the OIDC and
// SAML front-ends start a transaction for their service and hand it to
// Begin, which shares one path with the local /login (SSO, binding,
// step-up, chooser); every sign-in page then says which service asked.
//
// Pages work without JavaScript, speak Catalan, Spanish and English, show
// errors next to their field and announce them. Every multi-step page is
// bound to the browser that started it by a cookie scoped to its own path,
// so a leaked link is useless to someone else. It holds no business rules:
// registration, broker and the permanent method decide; this package asks
// and shows.
package account
