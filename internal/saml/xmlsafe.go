package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// Limits on incoming messages. A real AuthnRequest or LogoutRequest is a
// few kilobytes; metadata can be larger (many certificates, endpoints).
const (
	maxMessageBytes  = 128 << 10
	maxMetadataBytes = 2 << 20
	maxDepth         = 32
	maxElements      = 5000
)

// Namespaces.
const (
	nsMD       = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsSAML     = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP    = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDS       = "http://www.w3.org/2000/09/xmldsig#"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
	nsXS       = "http://www.w3.org/2001/XMLSchema"
	nsEIDAS    = "http://eidas.europa.eu/saml-extensions"
	nsNatural  = "http://eidas.europa.eu/attributes/naturalperson"
	nsXENC     = "http://www.w3.org/2001/04/xmlenc#"
	nsXENC11   = "http://www.w3.org/2009/xmlenc11#"
	bindPOST   = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	bindRedir  = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	attrURI    = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	nameEntity = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
)

// Reasons a message is refused before anything in it is trusted.
var (
	errTooLarge  = errors.New("message too large")
	errEncoding  = errors.New("message is not valid base64 or DEFLATE")
	errMalformed = errors.New("message is not well-formed XML")
	errDTD       = errors.New("message has a DTD, entity declaration, CDATA section or processing instruction")
	errComment   = errors.New("message has an XML comment")
	errTooDeep   = errors.New("message is nested too deeply or has too many elements")
)

// decodePOST decodes an HTTP-POST binding parameter (plain base64).
func decodePOST(v string) ([]byte, error) {
	if len(v) > maxMessageBytes*4/3+8 {
		return nil, errTooLarge
	}
	b, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, v))
	if err != nil {
		return nil, errEncoding
	}
	return b, nil
}

// decodeRedirect decodes an HTTP-Redirect binding parameter: base64 of
// raw DEFLATE, inflated to at most maxMessageBytes (no decompression bombs).
func decodeRedirect(v string) ([]byte, error) {
	if len(v) > maxMessageBytes {
		return nil, errTooLarge
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, v))
	if err != nil {
		return nil, errEncoding
	}
	r := flate.NewReader(bytes.NewReader(raw))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxMessageBytes+1))
	if err != nil {
		return nil, errEncoding
	}
	if len(out) > maxMessageBytes {
		return nil, errTooLarge
	}
	return out, nil
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\r', '\n':
		return -1
	}
	return r
}

// parseXML parses an untrusted document: bounded in size, depth and
// element count, refused when it does not survive an encoding/xml round
// trip, and refused with any DTD, entity declaration, processing
// instruction (other than the XML declaration) or comment, so nothing can
// be expanded and no comment can split a signed value.
func parseXML(data []byte, limit int) (*etree.Document, error) {
	if len(data) > limit {
		return nil, errTooLarge
	}
	if bytes.Contains(data, []byte("<!")) {
		// <!DOCTYPE, <!ENTITY and <!-- all start so; CDATA is no use in SAML.
		if bytes.Contains(data, []byte("<!--")) {
			return nil, errComment
		}
		return nil, errDTD
	}
	if err := roundTrips(data); err != nil {
		return nil, errMalformed
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, errMalformed
	}
	root := doc.Root()
	if root == nil {
		return nil, errMalformed
	}
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, errDTD
		case *etree.ProcInst:
			if t.Target != "xml" {
				return nil, errDTD
			}
		case *etree.Comment:
			return nil, errComment
		}
	}
	if err := checkTree(root); err != nil {
		return nil, err
	}
	return doc, nil
}

// roundTrips is xrv.Validate without its bookkeeping: the same
// non-strict tokeniser and the same per-token check (xrv.CheckToken), but
// reading data in place. xrv.Validate reads through a byte-at-a-time
// tee (so that its error can name a line and column, which parseXML
// drops). Two kinds of token skip the check because they cannot change
// in a round trip (see plainText and plainEnd); every start element,
// where the known encoding/xml mutations live, is checked.
func roundTrips(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = func(_ string, input io.Reader) (io.Reader, error) { return input, nil }
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if plainText(t) {
				continue
			}
		case xml.EndElement:
			if plainEnd(t.Name) {
				continue
			}
		}
		if err := xrv.CheckToken(tok); err != nil {
			return err
		}
	}
}

// plainText reports whether character data is printable ASCII, tabs and
// line ends only. encoding/xml writes those bytes as themselves or as
// character references (" ' & < > tab LF CR) that read back as the same
// bytes, so xrv.CheckToken would pass it.
func plainText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// plainEnd reports whether an end tag's prefix and local name are plain
// ASCII names (a letter or '_', then letters, digits, '_', '-', '.'; no
// colon). xrv.CheckToken writes </local> and compares the local name
// read back, which such a name survives; a name with a second colon or
// anything unusual goes through the check.
func plainEnd(n xml.Name) bool {
	return plainName(n.Local) && (n.Space == "" || plainName(n.Space))
}

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// checkTree walks the tree without recursion.
func checkTree(root *etree.Element) error {
	type item struct {
		el    *etree.Element
		depth int
	}
	stack, n := []item{{root, 1}}, 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n++; n > maxElements || it.depth > maxDepth {
			return errTooDeep
		}
		for _, c := range it.el.Child {
			switch c := c.(type) {
			case *etree.Element:
				stack = append(stack, item{c, it.depth + 1})
			case *etree.Comment:
				return errComment
			case *etree.Directive, *etree.ProcInst:
				return errDTD
			}
		}
	}
	return nil
}

// is reports whether el is the element ns:tag.
func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// child is the first child element ns:tag, or nil.
func child(el *etree.Element, ns, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			return c
		}
	}
	return nil
}

// childAttr is the attribute of the child element ns:tag, or "" when the
// child is missing: hostile messages leave out what a signature needs.
func childAttr(el *etree.Element, ns, tag, attr string) string {
	if c := child(el, ns, tag); c != nil {
		return c.SelectAttrValue(attr, "")
	}
	return ""
}

// childrenOf are the child elements ns:tag.
func childrenOf(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

// text is an element's text content, trimmed; "" for nil.
func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return strings.TrimSpace(el.Text())
}
