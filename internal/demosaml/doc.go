// Package demosaml is the SAML demo service of `clau demo`: "Diputació de
// Demo", a service provider built on the independent gosaml2 library, as
// a Cl@ve-era service would be. It signs its AuthnRequests, publishes an
// encryption key (so Clau encrypts its assertions) and shows the
// attributes, NameID and level it receives. It is a demonstration, never
// mounted by `clau serve`.
package demosaml
