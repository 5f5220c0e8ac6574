package certlogin_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/pkitest"
	"github.com/clau-eid/clau/internal/store"
)

// A citizen who typed the password (level low) for a service that asks
// substantial may finish with the certificate instead of the SMS code, but
// only with their own: another person's certificate is refused and
// audited, and their own then reaches high.
func TestStepUpWithTheSameCitizensCertificate(t *testing.T) {
	st := newStack(t)
	c := st.citizen("12345678Z", identity.LevelAdvanced, identity.StatusActive)
	st.citizen("00000023T", identity.LevelAdvanced, identity.StatusActive)
	phc, err := st.hasher.Hash(st.ctx, "Groc-Mar-Tramuntana-7")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.store.SetPassword(st.ctx, &store.Password{CitizenID: c.ID, Hash: phc, SetAt: st.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	other := tlsCert(st.pki.DNIe.Issue(pkitest.DNIeLeaf(pkitest.Person{SerialNumber: "IDCES-00000023T", GivenName: "ANNA",
		FirstSurname: "PUIG"}, st.clock.Now())))
	own := tlsCert(st.pki.DNIe.Issue(pkitest.DNIeLeaf(juan, st.clock.Now())))

	b := st.browser(other, "en")
	tx := st.start(b, "substantial")
	res, _ := b.do(t, "POST", st.mainURL+tx, url.Values{"document": {"12345678Z"}, "password": {"Groc-Mar-Tramuntana-7"}})
	if !strings.HasSuffix(res.Request.URL.Path, "/sms") {
		t.Fatalf("after the password: %d %s", res.StatusCode, res.Request.URL)
	}
	res, body := b.do(t, "GET", st.mainURL+tx+"/certificate", nil)
	if res.StatusCode != 403 || !strings.Contains(body, htmlText(st.cat.T("en", "cert.document_mismatch", nil))) {
		t.Fatalf("another person's certificate: %d", res.StatusCode)
	}
	evs, _ := st.store.ListAudit(st.ctx, store.AuditFilter{Action: "login.cert.refused"})
	if len(evs) != 1 || evs[0].Details["reason"] != "document_mismatch" || evs[0].Details["serial"] == "" {
		t.Fatalf("audit %+v", evs)
	}

	// The same browser, now with the citizen's own card.
	b2 := st.browser(own, "en")
	b2.Jar = b.Jar
	res, _ = b2.do(t, "GET", st.mainURL+tx+"/certificate", nil)
	if res.StatusCode != 200 || res.Request.URL.Path != "/me" {
		t.Fatalf("own certificate: %d %s", res.StatusCode, res.Request.URL)
	}
	ses, _ := st.store.ListSessions(st.ctx, store.SessionCitizen, c.ID, st.clock.Now())
	if len(ses) != 1 || ses[0].LoA != "high" || strings.Join(ses[0].AMR, ",") != "pwd,hwk,sc" {
		t.Fatalf("session %+v", ses)
	}
}
