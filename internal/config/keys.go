package config

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable the configuration reads.
const EnvPrefix = "CLAU_"

// EnvConfig names the configuration file when Load is given no path.
const EnvConfig = EnvPrefix + "CONFIG"

// FileSuffix turns a key's variable into the one naming a secret file.
const FileSuffix = "_FILE"

// leaf is one settable key: a field of Config that is not a struct.
type leaf struct {
	key   string // dotted yaml path, e.g. "storage.dsn"
	index []int  // for reflect.Value.FieldByIndex
	typ   reflect.Type
}

var durationType = reflect.TypeFor[time.Duration]()

// leaves lists the keys of Config in declaration order.
func leaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			key := prefix + name
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, key+".", idx)
				continue
			}
			out = append(out, leaf{key: key, index: idx, typ: f.Type})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

// Keys lists every configuration key in dotted form ("storage.dsn"), in
// the order of the Config struct.
func Keys() []string {
	ls := leaves()
	keys := make([]string, len(ls))
	for i, l := range ls {
		keys[i] = l.key
	}
	return keys
}

// EnvName is the environment variable that sets key: CLAU_ and the key
// upper-cased with dots and dashes as underscores ("storage.dsn" →
// "CLAU_STORAGE_DSN"). Append FileSuffix for the secret-file variable.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// errBadValue carries a parse failure's explanation; callers decide whether
// the offending value may be shown (never for values read from files).
type errBadValue struct{ want string }

func (e errBadValue) Error() string { return "is not " + e.want }

// setString parses s as the type of v and stores it: the text form every
// key accepts in environment variables and secret files.
func setString(v reflect.Value, s string) error {
	t := v.Type()
	if t == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return errBadValue{"a duration (e.g. 30s, 5m, 1h)"}
		}
		v.SetInt(int64(d))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errBadValue{"a boolean (true or false)"}
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			lim := int64(1)<<(t.Bits()-1) - 1
			return numberError(err, "an integer", fmt.Sprintf("%d to %d", -lim-1, lim))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return numberError(err, "a whole number", fmt.Sprintf("0 to %d", uint64(1)<<t.Bits()-1))
		}
		v.SetUint(n)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			// A list of records (oidc_clients) comes as YAML or JSON.
			p := reflect.New(t)
			dec := yaml.NewDecoder(strings.NewReader(s))
			dec.KnownFields(true)
			if err := dec.Decode(p.Interface()); err != nil && !errors.Is(err, io.EOF) {
				return errBadValue{"a YAML or JSON list of records"}
			}
			v.Set(p.Elem())
			return nil
		}
		if t.Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported type %s", t)
		}
		var items []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(t))
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported type %s", t)
		}
		m := reflect.MakeMap(t)
		n := 0
		for pair := range strings.SplitSeq(s, ",") {
			n++
			if strings.TrimSpace(pair) == "" {
				continue
			}
			k, val, ok := strings.Cut(pair, "=")
			if k = strings.TrimSpace(k); !ok || k == "" {
				return errBadValue{fmt.Sprintf("a list of key=value pairs (entry %d has no key=)", n)}
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), reflect.ValueOf(strings.TrimSpace(val)).Convert(t.Elem()))
		}
		v.Set(m)
	default:
		return fmt.Errorf("unsupported type %s", t)
	}
	return nil
}

func numberError(err error, want, valid string) error {
	if errors.Is(err, strconv.ErrRange) {
		return errBadValue{"within range (" + valid + ")"}
	}
	return errBadValue{want}
}
