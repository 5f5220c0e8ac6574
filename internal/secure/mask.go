package secure

import "strings"

// The maskers keep a fixed number of stars so a masked value does not give
// away the length of what it hides. They work on runes so odd input does not
// become invalid UTF-8 in a log.

// MaskDocument masks an identity document number as the AEPD suggests for
// a DNI: stars, the 4th to 7th characters, a star. "12345678Z" becomes
// "***4567*". Anything shorter than 8 characters becomes "***".
func MaskDocument(n string) string {
	r := []rune(n)
	if len(r) < 8 {
		return "***"
	}
	return "***" + string(r[3:7]) + "*"
}

// MaskPhone keeps an E.164 number's "+" and two following characters and its
// last three digits: "+34612345678" becomes "+34*****678". A number without
// "+" keeps only its last three digits. Short input becomes "***".
func MaskPhone(e164 string) string {
	r := []rune(e164)
	if strings.HasPrefix(e164, "+") {
		if len(r) < 9 {
			return "***"
		}
		return string(r[:3]) + "*****" + string(r[len(r)-3:])
	}
	if len(r) < 7 {
		return "***"
	}
	return "*****" + string(r[len(r)-3:])
}

// MaskEmail keeps the first character of the local part and the domain:
// "juan.perez@example.org" becomes "j***@example.org". Without "@" it
// returns "***".
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "***"
	}
	local := []rune(s[:at])
	first := ""
	if len(local) > 0 {
		first = string(local[0])
	}
	return first + "***" + s[at:]
}
