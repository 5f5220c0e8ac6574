// Package registration owns how citizens come into the registry and get
// their permanent credential: registration at an office desk after the
// in-person check (level advanced), activation codes (issued, shown once,
// reissued), contact corrections, deregistration, and activation.
//
// Activation is a state machine stored as a store.Flow of kind
// "activation":
//
//	(DNI/NIE + email + activation code ok) ──► sms_sent ──(SMS code ok)──► sms_ok
//	sms_ok ──(password twice, policy ok)──► done
//
// The activation code is checked at the first step but consumed only at
// the last, in the same transaction that stores the password and activates
// the citizen: an activation either completes or leaves the code usable as
// before. A reissued code kills a flow started with the old one.
//
// Registration by letter (letter.go, letterbatch.go): a citizen whose
// document and check value match the reference registry is registered at
// level basic and a letter with a fresh activation code is queued; the
// code is kept sealed until the printing office marks the batch sent, and
// a newer letter kills the older code. The answer to a request never says
// whether it matched. An officer raises a letter registration to level
// advanced after the in-person check.
//
// Officers act for their office: they may find any citizen (to catch
// duplicates) but change only the records their office registered;
// admins may change any.
package registration
