package broker

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// The chooser's rule, stated independently of MaxLoA and AtLeast: which
// methods can serve each level on a deployment with the DESIGN.md defaults.
var canServe = map[LoA][]string{
	Low:         {MethodPermanent, MethodPIN, MethodPasskey, MethodCertificate, MethodEIDAS},
	Substantial: {MethodPermanent, MethodPasskey, MethodCertificate, MethodEIDAS},
	High:        {MethodCertificate, MethodEIDAS},
}

func defaultRegistry(disabled ...string) *Registry {
	max := map[string]LoA{MethodPermanent: Substantial, MethodPIN: Low, MethodPasskey: Substantial,
		MethodCertificate: High, MethodEIDAS: High}
	var ms []MethodInfo
	// Given in reverse: the registry orders them itself.
	for _, name := range slices.Backward(KnownMethods) {
		ms = append(ms, MethodInfo{Name: name, MaxLoA: max[name], Enabled: !slices.Contains(disabled, name)})
	}
	return NewRegistry(ms...)
}

// Every SP policy (every subset of methods, and "all" as the empty list)
// at every level, on a deployment with every method and with two turned
// off: exactly the methods that are on, allowed and reach the level.
func TestOfferedEveryPolicyAndLevel(t *testing.T) {
	for _, disabled := range [][]string{nil, {MethodPIN, MethodEIDAS}} {
		r := defaultRegistry(disabled...)
		for mask := range 1 << len(KnownMethods) {
			var allowed []string
			for i, m := range KnownMethods {
				if mask&(1<<i) != 0 {
					allowed = append(allowed, m)
				}
			}
			for _, loa := range []LoA{Low, Substantial, High} {
				var want []string
				for _, m := range KnownMethods {
					if (len(allowed) == 0 || slices.Contains(allowed, m)) && slices.Contains(canServe[loa], m) &&
						!slices.Contains(disabled, m) {
						want = append(want, m)
					}
				}
				tx := &Transaction{Request: Request{MinLoA: loa, Methods: allowed}}
				var got []string
				for _, m := range r.Offered(tx) {
					got = append(got, m.Name)
				}
				if !slices.Equal(got, want) {
					t.Errorf("off %v, allowed %v, %s: offered %v, want %v", disabled, allowed, loa, got, want)
				}
				for _, m := range KnownMethods {
					if r.Offers(tx, m) != slices.Contains(want, m) {
						t.Errorf("off %v, allowed %v, %s: Offers(%s) wrong", disabled, allowed, loa, m)
					}
				}
			}
		}
	}
}

func TestRegistryRejectsUnknownAndInvalid(t *testing.T) {
	r := NewRegistry(MethodInfo{Name: "sms-only", MaxLoA: High, Enabled: true},
		MethodInfo{Name: MethodPIN, MaxLoA: "medium", Enabled: true},
		MethodInfo{Name: MethodPasskey, MaxLoA: Substantial, Enabled: true})
	got := fmt.Sprint(r.Offered(&Transaction{Request: Request{MinLoA: Low}}))
	if got != fmt.Sprint([]MethodInfo{{MethodPasskey, Substantial, true}}) {
		t.Fatalf("offered %s", got)
	}
	if _, ok := r.Info("sms-only"); ok {
		t.Fatal("unknown method kept")
	}
}

func TestSessionsOnlySatisfyTheirMethods(t *testing.T) {
	for _, tc := range []struct {
		amr     []string
		method  string
		allowed []string
		ok      bool
	}{
		{[]string{"pwd"}, MethodPermanent, nil, true},
		{[]string{"pwd", "sms", "mfa"}, MethodPermanent, []string{MethodPermanent}, true},
		{[]string{"otp", "sms"}, MethodPIN, []string{MethodPermanent}, false},
		{[]string{"otp", "sms"}, MethodPIN, []string{MethodPIN, MethodPasskey}, true},
		{[]string{"hwk", "mfa"}, MethodPasskey, []string{MethodPasskey}, true},
		{[]string{"hwk", "mfa"}, MethodPasskey, []string{MethodPermanent}, false},
		{nil, "", []string{MethodPermanent}, false},
		{nil, "", nil, true},
	} {
		if got := MethodOfAMR(tc.amr); got != tc.method {
			t.Errorf("MethodOfAMR(%v) = %q, want %q", tc.amr, got, tc.method)
		}
		if got := AllowsAMR(tc.allowed, tc.amr); got != tc.ok {
			t.Errorf("AllowsAMR(%v, %v) = %v", tc.allowed, tc.amr, got)
		}
	}
	b := New(nil, Options{})
	pinSession := &Session{}
	pinSession.Subject, pinSession.LoA, pinSession.AMR = "c1", string(Low), []string{"otp", "sms"}
	pwdSession := &Session{}
	pwdSession.Subject, pwdSession.LoA, pwdSession.AMR = "c1", string(Low), []string{"pwd"}
	subst := func(methods ...string) *Transaction {
		return &Transaction{State: StateStarted, Request: Request{MinLoA: Substantial, Methods: methods}}
	}
	if b.StepUpFrom(subst(), pinSession, MethodPermanent) {
		t.Error("a PIN session stepped up with the password's SMS code")
	}
	if !b.StepUpFrom(subst(), pwdSession, MethodPermanent) {
		t.Error("a password session not stepped up")
	}
	if b.StepUpFrom(subst(MethodPasskey), pwdSession, MethodPermanent) {
		t.Error("stepped up for a service that does not allow the password")
	}
	low := func(methods ...string) *Transaction {
		return &Transaction{State: StateStarted, Request: Request{MinLoA: Low, Methods: methods}}
	}
	if b.TrySSO(context.Background(), low(MethodPermanent), pinSession) {
		t.Error("SSO from a PIN session for a password-only service")
	}
	if !b.TrySSO(context.Background(), low(MethodPIN), pinSession) {
		t.Error("no SSO from a PIN session for a PIN service")
	}
}
