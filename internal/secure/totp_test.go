package secure

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestNewTOTPKey(t *testing.T) {
	secret, uri, err := NewTOTPKey("Clau", "officer@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(secret, "=") {
		t.Errorf("secret %q has padding", secret)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret decodes to %d bytes, err %v; want 20", len(raw), err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Clau:officer@example.org" {
		t.Errorf("uri = %q", uri)
	}
	for k, want := range map[string]string{"secret": secret, "issuer": "Clau", "algorithm": "SHA1", "digits": "6", "period": "30"} {
		if got := q.Get(k); got != want {
			t.Errorf("uri %s = %q, want %q", k, got, want)
		}
	}

	other, _, err := NewTOTPKey("Clau", "officer@example.org")
	if err != nil || other == secret {
		t.Errorf("second key: same secret or error %v", err)
	}

	for _, bad := range [][2]string{{"", "a"}, {"Clau", ""}, {"Cl:au", "a"}, {"Clau", "a:b"}} {
		if _, _, err := NewTOTPKey(bad[0], bad[1]); err == nil {
			t.Errorf("NewTOTPKey(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	secret, _, err := NewTOTPKey("Clau", "officer")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	step := now.Unix() / 30
	code := func(s int64) string {
		c, err := totp.GenerateCodeCustom(secret, time.Unix(s*30, 0), totpOpts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A wrong code that is surely not valid in any accepted step.
	var wrong string
	for _, w := range []string{"000000", "111111", "222222", "333333"} {
		if w != code(step-1) && w != code(step) && w != code(step+1) {
			wrong = w
			break
		}
	}

	cases := []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64
		wantOK   bool
	}{
		{"current step", code(step), 0, step, true},
		{"replay of the current step", code(step), step, 0, false},
		{"previous step", code(step - 1), 0, step - 1, true},
		{"next step", code(step + 1), 0, step + 1, true},
		{"next step after current was used", code(step + 1), step, step + 1, true},
		{"previous step after current was used", code(step - 1), step, 0, false},
		{"two steps back", code(step - 2), 0, 0, false},
		{"two steps ahead", code(step + 2), 0, 0, false},
		{"wrong code", wrong, 0, 0, false},
		{"spaces are ignored", " " + code(step)[:3] + " " + code(step)[3:] + "\t", 0, step, true},
		{"garbage", "abcdef", 0, 0, false},
		{"too short", code(step)[:5], 0, 0, false},
		{"too long", code(step) + "0", 0, 0, false},
		{"empty", "", 0, 0, false},
		{"non-ASCII digits", "١٢٣٤٥٦", 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotStep, ok := CheckTOTP(secret, tc.code, tc.lastStep, now)
			if ok != tc.wantOK || gotStep != tc.wantStep {
				t.Errorf("CheckTOTP = (%d, %v), want (%d, %v)", gotStep, ok, tc.wantStep, tc.wantOK)
			}
		})
	}

	t.Run("use then replay", func(t *testing.T) {
		c := code(step)
		got, ok := CheckTOTP(secret, c, 0, now)
		if !ok || got != step {
			t.Fatalf("first use = (%d, %v), want (%d, true)", got, ok, step)
		}
		if _, ok := CheckTOTP(secret, c, got, now.Add(10*time.Second)); ok {
			t.Fatal("replayed code accepted")
		}
	})

	t.Run("bad secret", func(t *testing.T) {
		if _, ok := CheckTOTP("not base32!", code(step), 0, now); ok {
			t.Fatal("accepted with a broken secret")
		}
		if _, ok := CheckTOTP("", code(step), 0, now); ok {
			t.Fatal("accepted with an empty secret")
		}
	})
}

// RFC 6238 appendix B test vector for SHA-1 (the 8-digit value's last six).
func TestCheckTOTPRFC6238Vector(t *testing.T) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(59, 0)
	step, ok := CheckTOTP(secret, "287082", -1, now)
	if !ok || step != 1 {
		t.Fatalf("CheckTOTP = (%d, %v), want (1, true)", step, ok)
	}
}

func TestTOTPQRCode(t *testing.T) {
	_, uri, err := NewTOTPKey("Clau", "officer@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{200, 256, 333} {
		b, err := TOTPQRCode(uri, size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("size %d: not a PNG", size)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
			t.Errorf("size %d: image is %dx%d", size, r.Dx(), r.Dy())
		}
		// The quiet zone: the corners are white, and there are dark modules.
		if r, g, bl, _ := img.At(0, 0).RGBA(); r != 0xffff || g != 0xffff || bl != 0xffff {
			t.Errorf("size %d: corner is not white", size)
		}
		dark := 0
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				if r, _, _, _ := img.At(x, y).RGBA(); r == 0 {
					dark++
				}
			}
		}
		if dark < size*size/10 {
			t.Errorf("size %d: only %d dark pixels", size, dark)
		}
	}
	for _, size := range []int{0, -1, 20, 5000} {
		if _, err := TOTPQRCode(uri, size); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
	if _, err := TOTPQRCode("", 200); err == nil {
		t.Error("empty text accepted")
	}
}
