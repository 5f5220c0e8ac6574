package notify

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
)

//go:embed templates/*.json
var templateFiles embed.FS

// DefaultLanguage is used when a message's language has no template.
const DefaultLanguage = "ca"

type tmplPair struct{ subject, body *template.Template }

// Templates are the message texts per template ID and language.
type Templates struct {
	byLang map[string]map[string]tmplPair
}

// LoadTemplates parses the embedded templates/<lang>.json and
// templates/<area>.<lang>.json files.
func LoadTemplates() (*Templates, error) {
	t := &Templates{byLang: map[string]map[string]tmplPair{}}
	files, err := fs.Glob(templateFiles, "templates/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		// <lang>.json, or <area>.<lang>.json for a domain's own notices.
		name := strings.TrimSuffix(path.Base(f), ".json")
		lang := name[strings.LastIndex(name, ".")+1:]
		data, err := templateFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var raw map[string]struct{ Subject, Body string }
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("notify template %s: %w", f, err)
		}
		if t.byLang[lang] == nil {
			t.byLang[lang] = map[string]tmplPair{}
		}
		for id, r := range raw {
			if _, dup := t.byLang[lang][id]; dup {
				return nil, fmt.Errorf("notify template %s: %s defined twice", f, id)
			}
			var p tmplPair
			if p.body, err = template.New(id).Option("missingkey=error").Parse(r.Body); err != nil {
				return nil, fmt.Errorf("notify template %s %s: %w", lang, id, err)
			}
			if r.Subject != "" {
				if p.subject, err = template.New(id + ".subject").Option("missingkey=error").Parse(r.Subject); err != nil {
					return nil, fmt.Errorf("notify template %s %s subject: %w", lang, id, err)
				}
			}
			t.byLang[lang][id] = p
		}
	}
	return t, nil
}

// IDs lists template IDs per language, for completeness tests.
func (t *Templates) IDs(lang string) []string {
	var out []string
	for id := range t.byLang[lang] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Languages lists the languages with templates.
func (t *Templates) Languages() []string {
	var out []string
	for l := range t.byLang {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Render fills template id in lang (or DefaultLanguage) with data.
func (t *Templates) Render(id, lang string, data map[string]any) (subject, body, usedLang string, err error) {
	p, ok := t.byLang[lang][id]
	usedLang = lang
	if !ok {
		p, ok = t.byLang[DefaultLanguage][id]
		usedLang = DefaultLanguage
	}
	if !ok {
		return "", "", "", fmt.Errorf("notify: no template %q", id)
	}
	var b bytes.Buffer
	if err := p.body.Execute(&b, data); err != nil {
		return "", "", "", fmt.Errorf("notify: template %q: %w", id, err)
	}
	body = b.String()
	if p.subject != nil {
		b.Reset()
		if err := p.subject.Execute(&b, data); err != nil {
			return "", "", "", fmt.Errorf("notify: template %q subject: %w", id, err)
		}
		subject = b.String()
	}
	return subject, body, usedLang, nil
}
