// Package demosp is "Ajuntament de Demo", the demo service that `clau
// demo` runs beside Clau: an ordinary OpenID Connect relying party, built
// on the same independent client libraries an integrator would use
// (coreos/go-oidc and x/oauth2), that signs citizens in through Clau at
// the level they choose and shows the claims it received. It is demo
// code: only `clau demo` mounts it, and it talks to Clau over HTTP like
// any other service.
package demosp
