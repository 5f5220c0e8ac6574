// Package selfservice owns the changes a signed-in citizen makes to their
// own record: a new email address or mobile number (each proved by a
// 6-digit code sent to the new one), a new permanent password, and the
// security notices every such change sends to the citizen by email and
// SMS in their language (also used when a passkey is added).
//
// Each change is one store transaction with its audit event and its
// notices, so nothing is half-saved; refusals are audited too. A pending
// change of email or mobile is a flow (kinds "email_change" and
// "mobile_change") in state code_sent until its code is confirmed (done);
// its code is bound to the flow, so a code sent to one address cannot
// confirm another.
//
// It knows nothing of pages, sessions' cookies or protocols: the account
// pages decide who is signed in and how, and call it. It must not send a
// code or notice outside the transaction that records its cause.
package selfservice
