package saml

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"time"
)

// PostPages answers r with the auto-post page twice: as postForm does
// (from the cached shell when it can; shell reports whether it did) and
// through the page template alone.
func (p *IdP) PostPages(r *http.Request, action, param string, msg []byte, relay string) (fast, full *httptest.ResponseRecorder, shell bool) {
	fast, full = httptest.NewRecorder(), httptest.NewRecorder()
	shell = p.writePostPage(fast, r, action, param, msg, relay)
	if !shell {
		p.postForm(fast, r, action, param, msg, relay)
	}
	p.Renderer.Render(full, r, http.StatusOK, "saml_post.html", "saml.post_title",
		postData(action, param, base64.StdEncoding.EncodeToString(msg), relay))
	return fast, full, shell
}

// OpensHandoff reports whether the login URL's sealed request v would
// still be accepted at now.
func (p *IdP) OpensHandoff(v string, now time.Time) bool {
	_, ok := p.openHandoff(v, now)
	return ok
}
