package secure

import (
	"slices"
	"strings"
	"testing"

	"github.com/clau-eid/clau/internal/i18n"
)

func TestPasswordPolicyCheck(t *testing.T) {
	p := DefaultPasswordPolicy()
	person := []string{"Núria", "Puig i Sala", "12345678Z"}
	cases := []struct {
		name     string
		password string
		personal []string
		want     []string
	}{
		{"good password", "Vent-Tramuntana7", person, nil},
		{"good with three classes", "Ruc8Blau?", person, nil},
		{"short", "Ab1!xyz", nil, []string{MsgPasswordTooShort}},
		{"eight runes with ñ and classes", "Ñuñoa1!x", nil, nil},
		{"seven runes with ñ is short even if eight bytes or more", "Ñuñ1!xy", nil, []string{MsgPasswordTooShort}},
		{"long", strings.Repeat("Ab1!", 33), nil, []string{MsgPasswordTooLong}},
		{"128 runes is not long", strings.Repeat("Ab1!", 32), nil, nil},
		{"two classes only", "verdtardor77", nil, []string{MsgPasswordClasses}},
		{"sixteen without classes", "cavallverdtardor", nil, nil},
		{"fifteen without classes", "cavallverdtardo", nil, []string{MsgPasswordClasses}},
		{"personal name with accents", "nuria2024XX!", person, []string{MsgPasswordPersonal}},
		{"personal name upper case", "xNURIAx-77Q", person, []string{MsgPasswordPersonal}},
		{"personal surname word", "Quasi#Sala99", person, []string{MsgPasswordPersonal}},
		{"personal surnames written together", "xx!PuigiSala9", person, []string{MsgPasswordPersonal}},
		{"document number", "Hola#12345678z", person, []string{MsgPasswordPersonal}},
		{"document digits", "Zz!x12345678q", person, []string{MsgPasswordPersonal}},
		{"document digits with separators", "Zz!x12.345.678q", person, []string{MsgPasswordPersonal}},
		{"NIE digits", "Gat-1234567-Ok", []string{"X1234567L"}, []string{MsgPasswordPersonal}},
		{"particle of a surname is not personal", "Model#Nou42", []string{"Núñez del Río"}, nil},
		{"short personal item ignored", "Lilà-Blau42", []string{"Li"}, nil},
		{"common", "password", nil, []string{MsgPasswordClasses, MsgPasswordCommon}},
		{"common with trailing digits and symbols", "Barcelona2024!", nil, []string{MsgPasswordCommon}},
		{"common Spanish with ñ", "Contraseña123!", nil, []string{MsgPasswordCommon}},
		{"common Catalan", "Contrasenya1!", nil, []string{MsgPasswordCommon}},
		{"repeated", "aaaaaaaaaaaaaaaa", nil, []string{MsgPasswordRepeated}},
		{"repeated with classes", "aaaaaaaaaB1!", nil, []string{MsgPasswordRepeated}},
		{"half is not repeated", "a1a2a3a4a5a6a7a8", nil, nil},
		{"everything at once", "nuria", person, []string{MsgPasswordTooShort, MsgPasswordClasses, MsgPasswordPersonal, MsgPasswordCommon}},
		{"empty", "", nil, []string{MsgPasswordTooShort, MsgPasswordClasses}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Check(tc.password, tc.personal)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Check = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPasswordPolicyCheckOrderIsStable(t *testing.T) {
	p := DefaultPasswordPolicy()
	for range 20 {
		got := p.Check("nuria", []string{"Núria"})
		want := []string{MsgPasswordTooShort, MsgPasswordClasses, MsgPasswordPersonal, MsgPasswordCommon}
		if !slices.Equal(got, want) {
			t.Fatalf("Check = %v, want %v", got, want)
		}
	}
}

func TestPasswordPolicyValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*PasswordPolicy)
		ok     bool
	}{
		{"default", func(*PasswordPolicy) {}, true},
		{"stricter", func(p *PasswordPolicy) { p.MinLength, p.MinClasses, p.NoClassesLength = 12, 4, 20 }, true},
		{"no exemption", func(p *PasswordPolicy) { p.NoClassesLength = 0 }, true},
		{"no classes", func(p *PasswordPolicy) { p.MinClasses = 0 }, true},
		{"min too small", func(p *PasswordPolicy) { p.MinLength = 6 }, false},
		{"classes negative", func(p *PasswordPolicy) { p.MinClasses = -1 }, false},
		{"classes above four", func(p *PasswordPolicy) { p.MinClasses = 5 }, false},
		{"max too small", func(p *PasswordPolicy) { p.MaxLength = 32 }, false},
		{"max too large", func(p *PasswordPolicy) { p.MaxLength = 100000 }, false},
		{"max below min", func(p *PasswordPolicy) { p.MinLength = 100; p.MaxLength = 64; p.NoClassesLength = 0 }, false},
		{"exemption below min", func(p *PasswordPolicy) { p.MinLength = 20 }, false},
		{"exemption above max", func(p *PasswordPolicy) { p.NoClassesLength = 200 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPasswordPolicy()
			tc.modify(&p)
			if err := p.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCommonPasswordsLoaded(t *testing.T) {
	set := commonPasswords()
	if len(set) < 10000 {
		t.Fatalf("common password list has %d entries, want at least 10000", len(set))
	}
	for _, w := range []string{"password", "12345678", "qwerty", "barcelona", "madrid", "contrasena", "contrasenya", "tequiero", "hola1234", "clave", "cl@ve"} {
		if _, ok := set[w]; !ok {
			t.Errorf("%q missing from the common password list", w)
		}
	}
	if len(commonPasswordsFile) > 1<<20 {
		t.Errorf("common password file is %d bytes, keep it under 1 MB", len(commonPasswordsFile))
	}
}

func TestFold(t *testing.T) {
	cases := map[string]string{
		"Núria":      "nuria",
		"ÀÉÍÏÒÓÚÜ":   "aeiioouu",
		"Çñ":         "cn",
		"Gil·la":     "gil·la",
		"ASCII-only": "ascii-only",
	}
	for in, want := range cases {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every message Check can return, and the two the forms add, has a text in
// every language, and the texts take the policy's arguments.
func TestPasswordMessagesInCatalogue(t *testing.T) {
	c := i18n.MustLoad()
	args := DefaultPasswordPolicy().MessageArgs()
	ids := []string{MsgPasswordTooShort, MsgPasswordTooLong, MsgPasswordClasses, MsgPasswordPersonal,
		MsgPasswordCommon, MsgPasswordRepeated, MsgPasswordMismatch, MsgPasswordRules}
	for _, tag := range i18n.Languages {
		lang := tag.String()
		for _, id := range ids {
			if !c.Has(lang, id) {
				t.Errorf("%s missing in %s", id, lang)
				continue
			}
			if s := c.T(lang, id, args); s == id || strings.Contains(s, "no value") {
				t.Errorf("%s in %s renders as %q", id, lang, s)
			}
		}
	}
	if s := c.T("en", MsgPasswordRules, args); !strings.Contains(s, "8 characters") || !strings.Contains(s, "16 characters") {
		t.Errorf("rules text = %q", s)
	}
}
