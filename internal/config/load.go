package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxSecretFile bounds what a CLAU_*_FILE may hold; a secret is small, and
// a wrong path (a disk image, /dev/zero) must not exhaust memory.
const maxSecretFile = 1 << 20

// Load reads the YAML file at path, then the environment (os.Environ()
// style "KEY=value" entries), then the secret files named by CLAU_*_FILE
// variables, fills defaults and validates the result.
//
// An empty path means the file named by CLAU_CONFIG, or no file at all.
// A file that cannot be read is a plain error; everything else wrong with
// the configuration is reported together in an *Error.
func Load(path string, env []string) (*Config, error) {
	vars := parseEnv(env)
	if path == "" {
		path = vars[EnvConfig]
	}
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: read file: %w", err)
		}
	}
	return load(path, data, vars)
}

// LoadBytes is Load with the YAML given as data instead of a file; nil or
// empty data means no file. CLAU_CONFIG is ignored.
func LoadBytes(data []byte, env []string) (*Config, error) {
	return load("", data, parseEnv(env))
}

func load(name string, data []byte, vars map[string]string) (*Config, error) {
	c := base()
	var ps problems
	ps.decodeYAML(c, name, data)
	ps.applyEnv(c, vars)
	c.fill()
	c.derive()
	ps = append(ps, c.validate()...)
	if len(ps) > 0 {
		return nil, &Error{Problems: ps}
	}
	return c, nil
}

// parseEnv turns "K=V" entries into a map of the non-empty CLAU_ ones. As
// with os.Getenv, the first of duplicate entries wins.
func parseEnv(env []string) map[string]string {
	vars := make(map[string]string)
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		if _, dup := vars[k]; !dup {
			vars[k] = v
		}
	}
	return vars
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// decodeYAML decodes data onto c strictly, recording each unknown key, wrong
// type or syntax error with the key it concerns when that can be told.
func (ps *problems) decodeYAML(c *Config, name string, data []byte) {
	if len(bytes.TrimSpace(data)) == 0 {
		return
	}
	where := func(line string) string {
		if name == "" {
			return "line " + line
		}
		return name + " line " + line
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(c)
	var terr *yaml.TypeError
	switch {
	case err == nil:
		var next yaml.Node
		if dec.Decode(&next) != io.EOF {
			ps.add("", fileMessage(name, "holds more than one YAML document; use one"))
		}
	case err == io.EOF: // only comments
	case errors.As(err, &terr):
		keys := keyLines(data)
		for _, msg := range terr.Errors {
			key, line := "", ""
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line = m[1]
				msg = msg[len(m[0]):]
				if n, err := strconv.Atoi(line); err == nil {
					key = keys[n]
				}
			}
			switch {
			case strings.HasPrefix(msg, "field ") && strings.Contains(msg, " not found in type "):
				msg = "unknown key"
			case strings.HasSuffix(msg, "into time.Duration"):
				msg += " (write durations as strings like 30s, 5m or 1h)"
			}
			if line != "" {
				msg += " (" + where(line) + ")"
			}
			ps.add(key, msg)
		}
	default:
		ps.add("", fileMessage(name, err.Error()))
	}
}

func fileMessage(name, msg string) string {
	if name == "" {
		return "configuration: " + msg
	}
	return name + ": " + msg
}

// keyLines maps each line of a YAML document to the dotted key it belongs
// to, following Config's structure: a line inside a list or a map value
// belongs to that list's or map's key; an unknown key maps to its own path.
func keyLines(data []byte) map[int]string {
	lines := make(map[int]string)
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return lines
	}
	var mark func(n *yaml.Node, key string)
	mark = func(n *yaml.Node, key string) {
		if _, ok := lines[n.Line]; !ok && key != "" {
			lines[n.Line] = key
		}
		for _, child := range n.Content {
			mark(child, key)
		}
	}
	var walk func(n *yaml.Node, t reflect.Type, prefix string)
	walk = func(n *yaml.Node, t reflect.Type, prefix string) {
		if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct || t == durationType {
			mark(n, strings.TrimSuffix(prefix, "."))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := prefix + k.Value
			lines[k.Line] = key
			if f, ok := fieldByTag(t, k.Value); ok {
				walk(v, f.Type, key+".")
			} else {
				mark(v, key)
			}
		}
	}
	walk(doc.Content[0], reflect.TypeFor[Config](), "")
	return lines
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// applyEnv applies CLAU_<KEY> and CLAU_<KEY>_FILE for every key.
func (ps *problems) applyEnv(c *Config, vars map[string]string) {
	v := reflect.ValueOf(c).Elem()
	for _, l := range leaves() {
		name := EnvName(l.key)
		fileVar := name + FileSuffix
		value, direct := vars[name]
		path, fromFile := vars[fileVar]
		field := v.FieldByIndex(l.index)
		switch {
		case direct && fromFile:
			ps.add(l.key, fmt.Sprintf("both %s and %s are set; use one", name, fileVar))
		case direct:
			if err := setString(field, value); err != nil {
				ps.add(l.key, fmt.Sprintf("%s: %s", name, describe(err, value, l.typ)))
			}
		case fromFile:
			secret, err := readSecret(path)
			if err != nil {
				ps.add(l.key, fmt.Sprintf("%s: %v", fileVar, err))
				continue
			}
			// The content may be a secret: never echo it.
			if err := setString(field, secret); err != nil {
				ps.add(l.key, fmt.Sprintf("%s: the content of %s %v", fileVar, path, err))
			}
		}
	}
}

// describe explains a bad environment value, quoting it unless it may hold
// a secret (strings, maps such as headers, and records such as
// oidc_clients might).
func describe(err error, value string, t reflect.Type) string {
	if t.Kind() == reflect.Map || t.Kind() == reflect.String || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
		return "the value " + err.Error()
	}
	return strconv.Quote(value) + " " + err.Error()
}

// readSecret returns a file's content minus one trailing newline.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return s, nil
}

// fill gives every zero-valued key its default. Booleans are skipped: their
// zero value is a real choice, and loading starts from the defaults anyway.
func (c *Config) fill() {
	v := reflect.ValueOf(c).Elem()
	d := reflect.ValueOf(base()).Elem()
	for _, l := range leaves() {
		if l.typ.Kind() == reflect.Bool {
			continue
		}
		if f := v.FieldByIndex(l.index); f.IsZero() {
			f.Set(d.FieldByIndex(l.index))
		}
	}
}
