// Package saml is Clau's SAML 2.0 identity provider in the eIDAS profile,
// speaking the dialect of Spain's Cl@ve gateway so that a service built
// for Cl@ve switches to Clau by changing only the gateway URL and the
// trusted certificate. It is a front-end: it turns the broker's SSO
// session into signed (and, when the SP publishes a key, encrypted)
// assertions, and never reads citizen data beyond the citizen the broker
// identified.
//
// It is built on russellhaering/goxmldsig (XML-DSig), beevik/etree (the
// DOM) and mattermost/xml-roundtrip-validator, not on crewjam/saml's IdP
// (see DEPENDENCIES.md).
//
// # Endpoints
//
//	GET  /saml/metadata   signed EntityDescriptor (validUntil 7 days)
//	POST /saml/sso        AuthnRequest, HTTP-POST binding (exempt from
//	GET  /saml/sso        CSRF protection: it relies on the signature);
//	                      HTTP-Redirect binding (SigAlg + Signature)
//	GET  /saml/login      after a 303 from /saml/sso, so the browser sends
//	                      the SameSite=Lax SSO cookie it withholds on a
//	                      cross-site POST
//	GET  /saml/continue   back from the sign-in pages
//	/saml/slo             single logout, both bindings (see slo.go)
//	/api/admin/v1/saml/sps  the admin API for SPs registered at run time
//	                      (adminapi.go; the caller supplies the guard)
//
// # Service providers
//
// From config's saml_sps (metadata file or URL, optional signing anchor,
// min_loa, methods, allow_sha1) and from the registry (registry.go: `clau
// sp`, the admin API), kept in one store flow that every process reads,
// cached for five seconds. Metadata by URL is fetched again on a schedule;
// a fetch that fails or does not verify keeps the last good copy.
//
// # Reading an incoming message
//
// Every message goes through parseXML first: bounded size (DEFLATE
// inflated to a bound too), no DTD, entity, CDATA, processing instruction
// or comment, bounded depth and element count, and the encoding/xml
// round-trip check. The unverified Issuer only picks the SP's keys; the
// enveloped signature (one, referencing the root's ID, SHA-256 or
// stronger unless the SP allows SHA-1) is verified by goxmldsig against
// the SP's metadata certificates, and only the element goxmldsig returns,
// re-parsed from the canonical bytes it digested, is read. The
// Redirect binding's signature is verified over the query octets as sent.
// Then Destination, IssueInstant (5 minutes, ±3 minutes of skew), the
// assertion consumer service (from metadata only) and the ID replay cache
// (a store flow per SP and ID, kept until the request could no longer be
// valid). Until those pass, a refusal is a translated error page; after,
// a SAML error response to the SP. Every refusal is audited.
//
// # A sign-in
//
//	SP ──AuthnRequest──► /saml/sso: verified, policy settled (levels from
//	   RequestedAuthnContext minimum|exact|maximum|better, never below
//	   the SP's min_loa; methods: the SP's list minus Cl@ve's exclusion
//	   attributes; NameID format; mandatory attributes) and sealed by
//	   the keyring into the URL, for two minutes, with nothing written
//	   ──303──► /saml/login?r=… (a request too large for a URL is kept as
//	   a flow now instead ──303──► /saml/login?id=…)
//	/saml/login: a session that holds what the request needs answers it
//	   at once, in one write transaction: the request's ID recorded
//	   against replay (so a reload of the URL, or the request posted
//	   again, is refused), the SP among the session's participants, the
//	   response's audit event with what the request asked. IsPassive
//	   answers from the SSO session alone (NoPassive otherwise). Else the
//	   request is kept as a flow (kind saml_auth; replay record and
//	   saml.authn_request event in the same transaction), bound to the
//	   browser (cookie clau_saml_req_<id>, one per request, so tabs do
//	   not interfere) and toSignIn starts a broker transaction for the SP (SP = entity
//	   ID; SPName = a signed request's ProviderName, else saml_sps name,
//	   else the metadata's OrganizationDisplayName, else the entity ID;
//	   level, methods, ForceAuthn, continue /saml/continue?id=…) and hands
//	   it to Deps.SignIn, the citizen pages.
//	/saml/continue: that transaction must be done, for this SP, for the
//	   citizen of the browser's SSO session (broker.Outcome); the session
//	   must reach the level, be fresh for ForceAuthn and come from an
//	   allowed method, else a new transaction (three rounds at most, then
//	   AuthnFailed) ──► Response posted to the ACS by an auto-submitting
//	   form (static script, visible button).
//
// A flow's states: pending ──► answered (once; a reload or a second tab
// gets an error page, never a second assertion). The replay record, kept
// for requestAge + 2 × clockSkew from when it is written, outlives the
// two minutes a sealed request's URL is good for.
//
// # Keys and NameIDs
//
// One RSA-3072 key with a self-signed certificate signs everything
// (RSA-SHA256, exclusive c14n); it and a 32-byte NameID key are sealed by
// the keyring in a flow of kind saml_key. Persistent NameIDs are an HMAC
// of the SP's entity ID and the citizen's ID under that key: stable, and
// unlinkable across SPs. Transient NameIDs are random; unspecified gives
// the eIDAS PersonIdentifier (ES/ES/<DNI or NIE>) as Cl@ve does.
//
// It must not know methods or read the store for citizen data beyond the
// citizen the broker's session names.
package saml
