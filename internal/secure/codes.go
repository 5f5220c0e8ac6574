package secure

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ActivationAlphabet has 32 symbols without the look-alikes 0, O, 1 and I,
// so a code read aloud or copied from paper survives.
const ActivationAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// ActivationCodeLen is the number of symbols of an activation code
// (16 × 5 = 80 bits).
const ActivationCodeLen = 16

// NewActivationCode returns ActivationCodeLen symbols of ActivationAlphabet,
// uniformly drawn from r (crypto/rand.Reader if nil).
func NewActivationCode(r io.Reader) (string, error) {
	buf := make([]byte, ActivationCodeLen)
	if _, err := io.ReadFull(randOrDefault(r), buf); err != nil {
		return "", fmt.Errorf("secure: reading randomness: %w", err)
	}
	for i, b := range buf {
		// 256 is a multiple of 32, so the low 5 bits are uniform.
		buf[i] = ActivationAlphabet[b&31]
	}
	return string(buf), nil
}

// FormatActivationCode groups a code in fours for display:
// "ABCDEFGHJKLMNPQR" becomes "ABCD-EFGH-JKLM-NPQR".
func FormatActivationCode(code string) string {
	var b strings.Builder
	for i, r := range []rune(code) {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormaliseActivationCode turns what a citizen typed into the canonical code:
// ASCII letters upper-cased, spaces, dashes and dots dropped. It reports false
// unless exactly ActivationCodeLen symbols of ActivationAlphabet remain.
// Look-alikes (O, I, 0, 1) are not guessed at: they make the code invalid.
func NormaliseActivationCode(in string) (string, bool) {
	if len(in) > 4*ActivationCodeLen { // generous room for separators
		return "", false
	}
	out := make([]byte, 0, ActivationCodeLen)
	for _, r := range in {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '\t' || r == '\u00a0':
			continue
		case r >= 'a' && r <= 'z':
			// ASCII only: strings.ToUpper would turn 'ſ' into 'S'.
			r -= 'a' - 'A'
		}
		if r > 0x7f || strings.IndexByte(ActivationAlphabet, byte(r)) < 0 {
			return "", false
		}
		out = append(out, byte(r))
	}
	if len(out) != ActivationCodeLen {
		return "", false
	}
	return string(out), true
}

// NewNumericCode returns digits uniform decimal digits drawn from r
// (crypto/rand.Reader if nil), leading zeros kept. digits must be in 4..10.
func NewNumericCode(r io.Reader, digits int) (string, error) {
	if digits < 4 || digits > 10 {
		return "", fmt.Errorf("secure: numeric code length %d outside 4..10", digits)
	}
	r = randOrDefault(r)
	out := make([]byte, 0, digits)
	buf := make([]byte, digits+4)
	for round := 0; len(out) < digits; round++ {
		// A working source rejects 6/256 of bytes; only a broken one gets here.
		if round == 32 {
			return "", errors.New("secure: random source keeps yielding rejected bytes")
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("secure: reading randomness: %w", err)
		}
		for _, b := range buf {
			if b >= 250 { // 250 = 25 × 10: rejecting the rest avoids modulo bias
				continue
			}
			out = append(out, '0'+b%10)
			if len(out) == digits {
				break
			}
		}
	}
	return string(out), nil
}
