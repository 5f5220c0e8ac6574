package secure

// The list of common passwords, commonpasswords.txt, is the "passwords"
// frequency list of zxcvbn 4.4.2 (npm package zxcvbn, lib/frequency_lists.js:
// the 30,000 most frequent passwords of public breach corpora, in order of
// frequency), Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc., MIT
// licence (https://github.com/dropbox/zxcvbn/blob/master/LICENSE.txt),
// followed by common Spanish and Catalan choices added by hand for Clau
// (cities, football clubs, endearments, given names, public bodies and words
// such as "contraseña", "contrasenya", "clave", "clau", "cl@ve"). One entry
// per line, lower case, UTF-8.

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Message IDs returned by PasswordPolicy.Check, in the order Check reports
// them, plus the two the forms use around it. Each has a text in the
// catalogues (internal/i18n/locales/password.*.json); the texts take the
// arguments of PasswordPolicy.MessageArgs.
const (
	MsgPasswordTooShort = "password.too_short"
	MsgPasswordTooLong  = "password.too_long"
	MsgPasswordClasses  = "password.classes"
	MsgPasswordPersonal = "password.personal"
	MsgPasswordCommon   = "password.common"
	MsgPasswordRepeated = "password.repeated"
	MsgPasswordMismatch = "password.mismatch" // the two passwords typed differ
	MsgPasswordRules    = "password.rules"    // the whole policy, shown beside the field
)

// Bounds accepted by PasswordPolicy.Validate.
const (
	policyMinLengthFloor = 8    // NIST SP 800-63B floor for memorised secrets
	policyMaxLengthFloor = 64   // room for passphrases (NIST: at least 64)
	policyMaxLengthCeil  = 1024 // keeps hashing and checks cheap
	policyClasses        = 4    // lower, upper, digit, symbol
	personalMinRunes     = 3    // shorter personal items are not checked
)

// PasswordPolicy is the password policy of DESIGN.md ("Password policy").
// Lengths are counted in characters (runes), not bytes.
type PasswordPolicy struct {
	MinLength       int // shortest password accepted (8)
	MinClasses      int // kinds needed among lower, upper, digit, symbol (3)
	NoClassesLength int // this long or longer needs no kinds (16); 0: always needed
	MaxLength       int // longest password accepted (128)
}

// DefaultPasswordPolicy returns the defaults of DESIGN.md: 8 characters with
// 3 of the 4 kinds, or 16 characters of any kind, at most 128.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: 8, MinClasses: 3, NoClassesLength: 16, MaxLength: 128}
}

// Validate reports every value out of range.
func (p PasswordPolicy) Validate() error {
	var errs []error
	if p.MinLength < policyMinLengthFloor {
		errs = append(errs, fmt.Errorf("password min length %d must be at least %d", p.MinLength, policyMinLengthFloor))
	}
	if p.MinClasses < 0 || p.MinClasses > policyClasses {
		errs = append(errs, fmt.Errorf("password min classes %d must be between 0 and %d", p.MinClasses, policyClasses))
	}
	if p.MaxLength < policyMaxLengthFloor || p.MaxLength > policyMaxLengthCeil {
		errs = append(errs, fmt.Errorf("password max length %d must be between %d and %d", p.MaxLength, policyMaxLengthFloor, policyMaxLengthCeil))
	}
	if p.MaxLength < p.MinLength {
		errs = append(errs, fmt.Errorf("password max length %d is below min length %d", p.MaxLength, p.MinLength))
	}
	if p.NoClassesLength != 0 && (p.NoClassesLength < p.MinLength || p.NoClassesLength > p.MaxLength) {
		errs = append(errs, fmt.Errorf("password no-classes length %d must be 0 or between min length %d and max length %d", p.NoClassesLength, p.MinLength, p.MaxLength))
	}
	return errors.Join(errs...)
}

// MessageArgs are the template arguments of the password.* messages:
// MinLength, MaxLength, MinClasses and NoClassesLength.
func (p PasswordPolicy) MessageArgs() map[string]any {
	return map[string]any{
		"MinLength":       p.MinLength,
		"MaxLength":       p.MaxLength,
		"MinClasses":      p.MinClasses,
		"NoClassesLength": p.NoClassesLength,
	}
}

// Check returns the message ID of every rule the password breaks, in a
// stable order (too_short, too_long, classes, personal, common, repeated),
// or nil when it is acceptable. personal holds the citizen's data as stored
// (given name, surnames, DNI/NIE...): the password must not contain any of
// them, nor a word of them, nor the digits of a document, ignoring case and
// accents; items shorter than 3 characters are ignored.
//
// The password is never logged nor put in an error.
func (p PasswordPolicy) Check(password string, personal []string) []string {
	var broken []string
	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		broken = append(broken, MsgPasswordTooShort)
	}
	if n > p.MaxLength {
		broken = append(broken, MsgPasswordTooLong)
	}
	if p.MinClasses > 0 && (p.NoClassesLength == 0 || n < p.NoClassesLength) && countClasses(password) < p.MinClasses {
		broken = append(broken, MsgPasswordClasses)
	}
	folded := fold(password)
	if containsPersonal(folded, personal) {
		broken = append(broken, MsgPasswordPersonal)
	}
	if isCommon(folded) {
		broken = append(broken, MsgPasswordCommon)
	}
	if isRepeated(folded) {
		broken = append(broken, MsgPasswordRepeated)
	}
	return broken
}

// countClasses counts the kinds of character present: lower case, upper
// case, digits and anything else (symbols, spaces, letters without case).
func countClasses(s string) int {
	var lower, upper, digit, symbol bool
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			symbol = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n
}

// fold lower-cases s and removes accents and other combining marks
// ("Núria" → "nuria", "Ç" → "c", "ñ" → "n").
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// alnum keeps only the letters and digits of s.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// digits keeps only the digits of s.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// nameParticles are short joining words of Spanish and Catalan names
// ("Núñez del Río", "de los Santos"): alone they are not personal data, and
// checking them would refuse any password containing "del" or "los".
var nameParticles = map[string]bool{
	"del": true, "las": true, "los": true, "san": true, "sant": true, "santa": true,
	"dels": true, "van": true, "von": true, "der": true, "den": true, "dos": true, "das": true,
}

// personalTerms expands the personal items into the folded strings a
// password must not contain: each item without separators ("maria jose" →
// "mariajose", "12.345.678-Z" → "12345678z"), each word of it, and the
// digits of an item that has any (the document number without its letters).
func personalTerms(personal []string) []string {
	var terms []string
	add := func(t string) {
		if utf8.RuneCountInString(t) >= personalMinRunes {
			terms = append(terms, t)
		}
	}
	for _, item := range personal {
		f := fold(item)
		add(alnum(f))
		if d := digits(f); d != "" {
			add(d)
		}
		words := strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(words) > 1 {
			for _, w := range words {
				if !nameParticles[w] {
					add(w)
				}
			}
		}
	}
	return terms
}

// containsPersonal reports whether the folded password, as typed or without
// its separators, contains any personal term.
func containsPersonal(folded string, personal []string) bool {
	terms := personalTerms(personal)
	if len(terms) == 0 {
		return false
	}
	compact := alnum(folded)
	for _, t := range terms {
		if strings.Contains(folded, t) || strings.Contains(compact, t) {
			return true
		}
	}
	return false
}

// isRepeated reports whether one character makes up more than half of s.
func isRepeated(s string) bool {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	for _, c := range counts {
		if 2*c > n {
			return true
		}
	}
	return false
}

//go:embed commonpasswords.txt
var commonPasswordsFile string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// commonPasswords returns the embedded list, folded, loaded on first use.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		commonSet = make(map[string]struct{}, 32*1024)
		for line := range strings.Lines(commonPasswordsFile) {
			if w := strings.TrimSpace(line); w != "" {
				commonSet[fold(w)] = struct{}{}
			}
		}
	})
	return commonSet
}

// isCommon reports whether the folded password is in the list, as typed or
// without its trailing digits and symbols ("barcelona2024!" → "barcelona").
func isCommon(folded string) bool {
	set := commonPasswords()
	if _, ok := set[folded]; ok {
		return true
	}
	core := strings.TrimRightFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) })
	if core == "" || core == folded {
		return false
	}
	_, ok := set[core]
	return ok
}
