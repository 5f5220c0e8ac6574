package secure

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"time"
	"unicode"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP for staff (RFC 6238) with the parameters every authenticator app
// expects: HMAC-SHA-1, 6 digits, 30-second steps, 20-byte secrets.
const (
	TOTPPeriod     = 30 // seconds per step
	TOTPDigits     = 6
	totpSecretSize = 20 // bytes (160 bits, as RFC 4226 recommends)
	totpSkew       = 1  // steps accepted either side of the current one

	qrQuietZone = 4    // modules of white border the QR specification asks for
	qrMaxSize   = 2048 // px; larger images are refused
)

var totpOpts = totp.ValidateOpts{
	Period:    TOTPPeriod,
	Digits:    otp.DigitsSix,
	Algorithm: otp.AlgorithmSHA1,
}

// NewTOTPKey makes a random 20-byte TOTP secret for account (for example
// the officer's user name) at issuer (for example "Clau"). It returns the
// secret in base32 without padding, to be stored sealed, and the
// otpauth://totp/ URI to show as a QR code (TOTPQRCode) during enrolment.
// Neither issuer nor account may contain a colon, which separates them in
// the URI's label.
func NewTOTPKey(issuer, account string) (secret string, uri string, err error) {
	issuer, account = strings.TrimSpace(issuer), strings.TrimSpace(account)
	if issuer == "" || account == "" {
		return "", "", errors.New("secure: TOTP issuer and account are required")
	}
	if strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return "", "", errors.New("secure: TOTP issuer and account must not contain ':'")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      TOTPPeriod,
		SecretSize:  totpSecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		// Rand nil: crypto/rand.
	})
	if err != nil {
		return "", "", fmt.Errorf("secure: new TOTP key: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// TOTPQRCode returns a PNG (image/png) of size×size pixels holding uri as a
// QR code with error correction level M and a quiet zone of at least four
// modules, for a page to show as a data: URI. The size must leave at least
// one pixel per module; it fails otherwise, or above 2048 px.
func TOTPQRCode(uri string, size int) ([]byte, error) {
	if uri == "" {
		return nil, errors.New("secure: QR code of an empty text")
	}
	if size <= 0 || size > qrMaxSize {
		return nil, fmt.Errorf("secure: QR code size %d must be between 1 and %d px", size, qrMaxSize)
	}
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("secure: QR code: %w", err)
	}
	b := code.Bounds()
	modules := b.Dx()
	scale := size / (modules + 2*qrQuietZone)
	if scale < 1 {
		return nil, fmt.Errorf("secure: QR code needs at least %d px, got %d", modules+2*qrQuietZone, size)
	}
	offset := (size - modules*scale) / 2 // centred; the margin is at least the quiet zone

	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	// Index 0 (white) is the zero value, so only dark modules are painted.
	for my := 0; my < modules; my++ {
		for mx := 0; mx < modules; mx++ {
			if color.GrayModel.Convert(code.At(b.Min.X+mx, b.Min.Y+my)).(color.Gray).Y >= 128 {
				continue
			}
			x0, y0 := offset+mx*scale, offset+my*scale
			for y := y0; y < y0+scale; y++ {
				row := img.Pix[y*img.Stride:]
				for x := x0; x < x0+scale; x++ {
					row[x] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("secure: QR code PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// CheckTOTP checks a code typed by the user against secret at now. It
// accepts the code of the current 30-second step and of one step either
// side (clock skew), but never of a step at or before lastStep, so a code
// cannot be used twice, even within its window. On success it returns the
// step that matched: the caller must store it as the new lastStep (0 for an
// account that has never used a code). Spaces in the code are ignored; the
// codes are compared in constant time.
func CheckTOTP(secret, code string, lastStep int64, now time.Time) (step int64, ok bool) {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) != TOTPDigits {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	secret = strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, secret))
	if secret == "" || now.Unix() < 0 {
		return 0, false
	}

	current := now.Unix() / TOTPPeriod
	// Every candidate step is computed and compared, so the time taken does
	// not depend on which one matches.
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		if s < 0 {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*TOTPPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		match := subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
		if match && s > lastStep && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}
