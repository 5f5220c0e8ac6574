// Package certificate is the electronic certificate and DNIe sign-in
// method: X.509 client certificates presented over mutual TLS.
//
// It owns, per issuer profile (DNIe, FNMT citizen, ...): the trust
// anchors and intermediates, full chain validation with key usage and
// certificate policy checks, revocation (OCSP with a nonce, the answer's
// signature and freshness checked and good answers kept for their
// validity; CRL fallback, fetched, cached and refreshed at nextUpdate; a
// fail-closed switch for when neither answers), reading the DNI/NIE and
// names from the subject, and the level each profile gives (a software
// key: substantial; a card: high).
//
// Revocation is checked for every certificate of the chain but the
// anchor, issuing CAs first, each at the responder and CRL its own
// certificate names, under the same rules. A CRL with an Issuing
// Distribution Point (a partitioned CRL) answers only for the
// certificates it covers: the distribution point it was fetched from, and
// the right kind (end entity or CA); otherwise it is no answer.
//
// An OCSP answer that arrives but must not be believed (unsigned or
// wrongly signed, stale, about another certificate, with a nonce that is
// not ours) refuses the certificate at once: the CRL is the fallback for
// an absent responder, not for a forged answer.
//
// Every refusal is audited with the certificate's serial number and
// issuer and comes back as a problem whose message tells the citizen what
// to do. The method knows nothing of TLS listeners, pages or protocols:
// internal/method/certificate/web hands it the presented chain.
package certificate
