// Package pin is the Cl@ve-PIN-style method: a citizen who enabled the PIN
// service (signed in, or at a registration office) signs in with the
// DNI/NIE, a check value from the identity document (the DNI's validity
// date, or its issue date for a permanent DNI; the NIE card's support
// number) and, if chosen when enabling, a 4-character personal code. A
// one-time PIN then goes by SMS to the registered mobile: valid 10 minutes,
// single use, 3 tries, bound to the sign-in that asked for it; a new
// request kills the old PIN. It reaches level low by default.
//
// The service itself lasts a configured period and is renewable; a
// housekeeping job announces its expiry by SMS and email beforehand.
//
// No enumeration: an unknown document, a wrong check value or personal
// code, and a document without a live PIN service all get the same
// answer after the same work, and every request, right or wrong, counts
// against per-document and per-source limits kept in the store.
//
// Lifecycle of one sign-in (states of the broker's transaction):
//
//	started ──request (data right)──► started + Pending "<citizen> <code id>"
//	   ▲                                   │ right PIN ──► done (or second factor)
//	   └──── new request replaces ◄────────┤ wrong PIN ──► started (2 tries left…)
//	                                       └ expired/exhausted ──► ask again
//
// It knows nothing of pages or protocols: the broker's transaction is its
// only contract with them.
package pin
