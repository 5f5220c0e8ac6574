package saml

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"sync"

	"github.com/clau-eid/clau/internal/web"
)

// The HTTP-POST binding page differs between responses only in the
// message (base64) and the RelayState; the rest (layout, language,
// the SP's ACS URL) is the same for every response to one endpoint. So
// the page template runs once per (language, action, parameter, with or
// without RelayState) with stand-ins for the two values, and each
// response fills the stand-ins in with what html/template would have
// written there. Values it cannot escape the same way for certain go
// through the template.
const (
	postValueMark = "ClauPostValue5f0c2e9a"
	postRelayMark = "ClauPostRelay8b17d4c3"
	maxPostShells = 512 // bound on cached shells; past it, start over
)

type postKey struct {
	lang, path, action, param string
	relay                     bool
}

// postShell is the page cut at the stand-ins: parts[0] value parts[1]
// (relay parts[2]).
type postShell struct{ parts [][]byte }

type postPages struct {
	mu     sync.Mutex
	shells map[postKey]*postShell
}

// shell returns the cut page for k, executing the template the first
// time; nil when the stand-ins do not each appear exactly once (the
// caller then renders the whole page).
func (p *IdP) postShell(k postKey) *postShell {
	p.posts.mu.Lock()
	s, ok := p.posts.shells[k]
	p.posts.mu.Unlock()
	if ok {
		return s
	}
	data := postData(k.action, k.param, postValueMark, "")
	if k.relay {
		data["RelayState"] = postRelayMark
	}
	var b bytes.Buffer
	if err := p.Renderer.Execute(&b, k.lang, k.path, "saml_post.html", "saml.post_title", data); err != nil {
		return nil
	}
	page := b.Bytes()
	s = nil
	if bytes.Count(page, []byte(postValueMark)) == 1 && bytes.Count(page, []byte(postRelayMark)) == map[bool]int{true: 1}[k.relay] {
		pre, rest, _ := bytes.Cut(page, []byte(postValueMark))
		s = &postShell{parts: [][]byte{pre, rest}}
		if k.relay {
			mid, post, _ := bytes.Cut(rest, []byte(postRelayMark))
			s.parts = [][]byte{pre, mid, post}
		}
	}
	p.posts.mu.Lock()
	if p.posts.shells == nil || len(p.posts.shells) >= maxPostShells {
		p.posts.shells = map[postKey]*postShell{}
	}
	p.posts.shells[k] = s
	p.posts.mu.Unlock()
	return s
}

func postData(action, param, value, relay string) map[string]string {
	return map[string]string{"Action": action, "Param": param, "Value": value, "RelayState": relay, "Script": scriptPath}
}

// writePostPage writes the auto-post page from its cached shell, and
// reports false (having written nothing) when it cannot: a ?lang= choice
// to keep in a cookie, or a
// RelayState with characters html/template would escape.
// Shells are per path (the layout's language links name it); the paths
// are the few routes that answer with this page.
func (p *IdP) writePostPage(w http.ResponseWriter, r *http.Request, action, param string, msg []byte, relay string) bool {
	if r.URL.Query().Has("lang") || !plainAttr(relay) {
		return false
	}
	lang := p.Renderer.Lang(r)
	s := p.postShell(postKey{lang: lang, path: r.URL.Path, action: action, param: param, relay: relay != ""})
	if s == nil {
		return false
	}
	body := make([]byte, 0, len(s.parts[0])+base64.StdEncoding.EncodedLen(len(msg))*11/10+len(s.parts[1])+len(relay)+64)
	body = append(body, s.parts[0]...)
	body = appendBase64Attr(body, msg)
	body = append(body, s.parts[1]...)
	if len(s.parts) == 3 {
		body = append(body, relay...)
		body = append(body, s.parts[2]...)
	}
	web.WriteHTML(w, lang, http.StatusOK, body)
	return true
}

// appendBase64Attr appends msg in base64 as html/template writes a
// string in a quoted attribute value: of the base64 alphabet, only '+'
// is escaped (as &#43;).
func appendBase64Attr(dst, msg []byte) []byte {
	enc := base64.StdEncoding.AppendEncode(nil, msg)
	for {
		i := bytes.IndexByte(enc, '+')
		if i < 0 {
			return append(dst, enc...)
		}
		dst = append(dst, enc[:i]...)
		dst = append(dst, "&#43;"...)
		enc = enc[i+1:]
	}
}

// plainAttr reports whether html/template writes s unchanged in a quoted
// attribute value: letters, digits and a few safe punctuation marks.
func plainAttr(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~', c == '/', c == ':', c == '=', c == ',', c == ';', c == '?', c == '%', c == '@', c == '!', c == '*', c == '$', c == '(', c == ')', c == '[', c == ']', c == '#':
		default:
			return false
		}
	}
	return true
}
