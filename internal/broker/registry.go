package broker

import "slices"

// MethodInfo is what the chooser needs to know of a sign-in method on this
// deployment.
type MethodInfo struct {
	Name    string // one of KnownMethods
	MaxLoA  LoA    // the highest level the method can reach here
	Enabled bool   // configured and running on this deployment
}

// Registry is the deployment's sign-in methods, in the order a chooser
// shows them.
type Registry struct {
	methods []MethodInfo
}

// NewRegistry keeps the methods given, ordered as KnownMethods. Unknown
// names and methods with an invalid level are left out: a chooser must
// never offer what no handler serves.
func NewRegistry(ms ...MethodInfo) *Registry {
	r := &Registry{}
	for _, name := range KnownMethods {
		for _, m := range ms {
			if m.Name == name && m.MaxLoA.Valid() {
				r.methods = append(r.methods, m)
				break
			}
		}
	}
	return r
}

// Levels maps each enabled method to the highest level it reaches here,
// for front-ends that must tell whether a service's methods can reach the
// level it asks before starting a sign-in.
func (r *Registry) Levels() map[string]LoA {
	out := make(map[string]LoA, len(r.methods))
	for _, m := range r.methods {
		if m.Enabled {
			out[m.Name] = m.MaxLoA
		}
	}
	return out
}

// Info returns a method's entry, if the deployment has it.
func (r *Registry) Info(name string) (MethodInfo, bool) {
	for _, m := range r.methods {
		if m.Name == name {
			return m, true
		}
	}
	return MethodInfo{}, false
}

// Offered lists, in chooser order, the methods that are enabled, that the
// transaction's service allows, and that can reach the level it asks for.
func (r *Registry) Offered(t *Transaction) []MethodInfo {
	var out []MethodInfo
	for _, m := range r.methods {
		if m.Enabled && t.Allows(m.Name) && m.MaxLoA.AtLeast(t.Request.MinLoA) {
			out = append(out, m)
		}
	}
	return out
}

// Offers reports whether name is among Offered(t).
func (r *Registry) Offers(t *Transaction, name string) bool {
	return slices.ContainsFunc(r.Offered(t), func(m MethodInfo) bool { return m.Name == name })
}

// MethodOfAMR names the method a session's RFC 8176 amr values come from:
// a certificate ("sc": on a card, "swk": a software key), a passkey ("hwk"
// without "sc"), Clau PIN ("otp" without a password) or the permanent
// password ("pwd"). A step-up keeps the earlier values, so the strongest
// proof is looked for first.
func MethodOfAMR(amr []string) string {
	switch {
	case slices.Contains(amr, "sc") || slices.Contains(amr, "swk"):
		return MethodCertificate
	case slices.Contains(amr, "hwk"):
		return MethodPasskey
	case slices.Contains(amr, "otp") && !slices.Contains(amr, "pwd"):
		return MethodPIN
	case slices.Contains(amr, "pwd"):
		return MethodPermanent
	}
	return ""
}

// AllowsAMR reports whether a session signed in with amr satisfies a
// service that allows methods (empty: all).
func AllowsAMR(methods, amr []string) bool {
	return len(methods) == 0 || slices.Contains(methods, MethodOfAMR(amr))
}
