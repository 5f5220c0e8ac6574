// Package i18n owns the message catalogues (Catalan, Spanish, English) and
// the choice of a reader's language. Every text a citizen, officer or
// operator reads comes from here by a stable message ID; code and templates
// never hold literal user-facing text.
//
// Catalogues live in locales/<area>.<lang>.json, one flat object of
// message ID to text (Go template syntax for arguments). A test checks that
// every ID exists in every language.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var locales embed.FS

// Languages are the supported languages, the default first.
var Languages = []language.Tag{language.Catalan, language.Spanish, language.English}

// Default is the language used when nothing else matches.
const Default = "ca"

// Catalog holds every message in every language.
type Catalog struct {
	bundle     *goi18n.Bundle
	matcher    language.Matcher
	ids        map[string]map[string]bool // lang -> id set
	localizers map[string]*goi18n.Localizer
	// plain holds what T returns without data, per language and ID: pages
	// ask for the same labels on every render, and go-i18n runs its
	// template each time. Filled on first use, for known IDs only.
	plain map[string]*sync.Map // lang -> id -> string
}

// Load parses the embedded catalogues.
func Load() (*Catalog, error) {
	b := goi18n.NewBundle(language.Catalan)
	b.RegisterUnmarshalFunc("json", jsonUnmarshal)
	c := &Catalog{bundle: b, matcher: language.NewMatcher(Languages), ids: map[string]map[string]bool{}}
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := locales.ReadFile(f)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(data, f)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		lang := mf.Tag.String()
		if c.ids[lang] == nil {
			c.ids[lang] = map[string]bool{}
		}
		for _, m := range mf.Messages {
			c.ids[lang][m.ID] = true
		}
	}
	// One localizer per language, made once: making one parses language
	// tags, which showed in page-rendering profiles.
	c.localizers = map[string]*goi18n.Localizer{}
	c.plain = map[string]*sync.Map{}
	for _, t := range Languages {
		c.localizers[t.String()] = goi18n.NewLocalizer(b, t.String(), Default)
		c.plain[t.String()] = &sync.Map{}
	}
	return c, nil
}

// MustLoad is Load for program start and tests; the catalogues are embedded,
// so a failure is a build defect.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Match picks the language for a request: an explicit choice (cookie or
// form value) first, then the Accept-Language header, then Default.
func (c *Catalog) Match(choice, acceptLanguage string) string {
	if choice != "" {
		for _, t := range Languages {
			if strings.EqualFold(choice, t.String()) {
				return t.String()
			}
		}
	}
	if acceptLanguage != "" {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			_, idx, conf := c.matcher.Match(tags...)
			if conf != language.No {
				return Languages[idx].String()
			}
		}
	}
	return Default
}

// T translates id into lang with optional template data. An unknown ID
// returns the ID itself, so a missing message shows up rather than hiding.
func (c *Catalog) T(lang, id string, data map[string]any) string {
	l, ok := c.localizers[lang]
	if !ok {
		lang, l = Default, c.localizers[Default]
	}
	if len(data) > 0 || !(c.ids[lang][id] || c.ids[Default][id]) {
		return translate(l, id, data)
	}
	plain := c.plain[lang]
	if s, ok := plain.Load(id); ok {
		return s.(string)
	}
	s := translate(l, id, nil)
	plain.Store(id, s)
	return s
}

func translate(l *goi18n.Localizer, id string, data map[string]any) string {
	s, err := l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil || s == "" {
		return id
	}
	return s
}

// Has reports whether id exists in lang.
func (c *Catalog) Has(lang, id string) bool { return c.ids[lang][id] }

// IDs returns every message ID of lang, sorted.
func (c *Catalog) IDs(lang string) []string {
	var out []string
	for id := range c.ids[lang] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
