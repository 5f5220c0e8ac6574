package broker

// The sign-in methods' names (DESIGN.md, "Words"). Front-ends name them in
// Request.Methods; the SAML dialect's exclusion attributes and the OIDC
// clients' settings map onto them.
const (
	MethodPermanent   = "permanent"
	MethodPIN         = "pin"
	MethodPasskey     = "passkey"
	MethodCertificate = "certificate"
	MethodEIDAS       = "eidas"
)

// KnownMethods lists every method name, in the order a chooser shows them.
var KnownMethods = []string{MethodPermanent, MethodPIN, MethodPasskey, MethodCertificate, MethodEIDAS}
