package account_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/broker"
	"github.com/clau-eid/clau/internal/store"
)

// A deployment with every method but eIDAS turned on.
func allMethods() *broker.Registry {
	return broker.NewRegistry(
		broker.MethodInfo{Name: broker.MethodPermanent, MaxLoA: broker.Substantial, Enabled: true},
		broker.MethodInfo{Name: broker.MethodPIN, MaxLoA: broker.Low, Enabled: true},
		broker.MethodInfo{Name: broker.MethodPasskey, MaxLoA: broker.Substantial, Enabled: true},
		broker.MethodInfo{Name: broker.MethodCertificate, MaxLoA: broker.High, Enabled: true},
		broker.MethodInfo{Name: broker.MethodEIDAS, MaxLoA: broker.High, Enabled: false})
}

var shownMethod = regexp.MustCompile(`<li class="method" id="method-([a-z]+)">`)

// noFollow is a fresh browser that shows redirects instead of following them.
func noFollow() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getPage(t *testing.T, c *http.Client, u, lang string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Language", lang)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// The first page of a sign-in for every service policy (every subset of
// methods, and none meaning all) at every level: the chooser lists exactly
// the methods that are on, allowed and reach the level; one method opens
// at once; none is a clear refusal.
func TestChooserEveryPolicyAndLevel(t *testing.T) {
	s := newSiteWith(t, allMethods())
	reach := map[string][]string{ // stated apart from the registry's levels
		"low":         {"permanent", "pin", "passkey", "certificate"},
		"substantial": {"permanent", "passkey", "certificate"},
		"high":        {"certificate"},
	}
	for mask := range 1 << len(broker.KnownMethods) {
		var allowed []string
		for i, m := range broker.KnownMethods {
			if mask&(1<<i) != 0 {
				allowed = append(allowed, m)
			}
		}
		for _, loa := range []string{"low", "substantial", "high"} {
			var want []string
			for _, m := range reach[loa] {
				if len(allowed) == 0 || slices.Contains(allowed, m) {
					want = append(want, m)
				}
			}
			res, body := getPage(t, noFollow(), s.url+"/login?continue=/me&loa="+loa+"&methods="+strings.Join(allowed, ","), "en")
			var got []string
			for _, m := range shownMethod.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
			loc := res.Header.Get("Location")
			switch {
			case len(want) == 0:
				if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "does not offer here") || got != nil {
					t.Errorf("%v at %s: %d %v, want the no-method refusal", allowed, loa, res.StatusCode, got)
				}
			case len(want) == 1 && want[0] == "permanent":
				if res.StatusCode != 200 || got != nil || !actionRE.MatchString(body) {
					t.Errorf("%v at %s: %d %v, want the password form at once", allowed, loa, res.StatusCode, got)
				}
			case len(want) == 1:
				if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/"+want[0]) {
					t.Errorf("%v at %s: %d to %q, want straight to %s", allowed, loa, res.StatusCode, loc, want[0])
				}
			default:
				if res.StatusCode != 200 || !slices.Equal(got, want) {
					t.Errorf("%v at %s: %d shows %v, want %v", allowed, loa, res.StatusCode, got, want)
				}
			}
		}
	}
}

func TestChooserPreselectRememberAndRefuse(t *testing.T) {
	s := newSiteWith(t, allMethods())
	c := noFollow()

	// A service preselects the PIN: straight there.
	res, _ := getPage(t, c, s.url+"/login?continue=/me&method=pin", "ca")
	if loc := res.Header.Get("Location"); res.StatusCode != 303 || !strings.HasSuffix(loc, "/pin") {
		t.Fatalf("preselected pin: %d %q", res.StatusCode, loc)
	}
	// A preselection the level rules out, or a method turned off, gets the chooser.
	for _, q := range []string{"method=pin&loa=substantial", "method=eidas", "method=nonsense"} {
		if res, body := getPage(t, c, s.url+"/login?continue=/me&"+q, "ca"); res.StatusCode != 200 ||
			!strings.Contains(body, `id="method-passkey"`) {
			t.Fatalf("%s: %d, no chooser", q, res.StatusCode)
		}
	}

	// The chooser in Catalan, then the citizen picks the password: the
	// next sign-in on this browser lists it first, marked.
	_, body := getPage(t, c, s.url+"/login?continue=/me", "ca")
	if got := shownMethod.FindAllStringSubmatch(body, -1); len(got) != 4 || got[0][1] != "permanent" {
		t.Fatalf("first chooser %v", got)
	}
	if !strings.Contains(body, "Trieu com us voleu identificar") || strings.Contains(body, "darrera que vau fer servir") {
		t.Fatalf("chooser text:\n%s", body)
	}
	pinURL := regexp.MustCompile(`href="(/login/[a-z0-9]+/pin)"`).FindStringSubmatch(body)
	if pinURL == nil {
		t.Fatal("no PIN link")
	}
	// The method pages check the binding cookie the chooser's answer set:
	// a method page served here sets the remembered choice.
	res, body = getPage(t, c, s.url+strings.Replace(pinURL[1], "/pin", "/permanent", 1), "ca")
	if res.StatusCode != 200 || !actionRE.MatchString(body) || !strings.Contains(body, "Altres maneres d&#39;identificar-vos") {
		t.Fatalf("password page %d:\n%s", res.StatusCode, body)
	}
	_, body = getPage(t, c, s.url+"/login?continue=/me&loa=low", "es")
	got := shownMethod.FindAllStringSubmatch(body, -1)
	if len(got) != 4 || got[0][1] != "permanent" || !strings.Contains(body, "la última que usó en este navegador") {
		t.Fatalf("remembered choice not first: %v", got)
	}

	// The password sent for a transaction whose level the password cannot
	// reach (a service asking for high): refused, audited, not checked.
	res, _ = getPage(t, c, s.url+"/login?continue=/me&loa=high&methods=certificate,permanent", "en")
	if res.StatusCode != 303 { // only the certificate remains
		t.Fatalf("high: %d", res.StatusCode)
	}
	id := strings.Split(res.Header.Get("Location"), "/")[2]
	b := s.browser("en")
	b.c = c
	st, _, body := b.post(s.url+"/login/"+id+"/permanent", "document", "12345678Z", "password", good)
	if st != http.StatusForbidden || !strings.Contains(body, "does not accept this way of signing in") {
		t.Fatalf("password at high: %d\n%s", st, body)
	}
	events, _ := s.store.ListAudit(context.Background(), store.AuditFilter{Action: "login.", Limit: 10})
	if len(events) == 0 || events[0].Action != "login.method_refused" || events[0].Details["method"] != "permanent" {
		t.Fatalf("refusal not audited: %+v", events)
	}
}
