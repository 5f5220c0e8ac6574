package account

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAgentSummary(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox · Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0", "Edge · Windows"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36", "Chrome · Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari · iOS"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari · macOS"},
		{"Go-http-client/1.1", ""},
		{"", ""},
		{"<script>alert(1)</script> Linux", "Linux"},
	} {
		if got := agentSummary(tc.ua); got != tc.want {
			t.Errorf("agentSummary(%q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}

// FuzzAgentSummary: any header gives a short, valid summary made only of
// known names, never a piece of the header itself.
func FuzzAgentSummary(f *testing.F) {
	for _, s := range []string{"", "Mozilla/5.0 (X11; Linux x86_64) Firefox/1", "Chrome/\xff Android", strings.Repeat("Safari/", 200)} {
		f.Add(s)
	}
	known := "Edge Opera Samsung Internet Firefox Chrome Chromium Safari curl Android iOS iPadOS Windows macOS ChromeOS Linux ·"
	f.Fuzz(func(t *testing.T, ua string) {
		got := agentSummary(ua)
		if len(got) > 40 || !utf8.ValidString(got) {
			t.Fatalf("summary %q", got)
		}
		for _, w := range strings.Fields(got) {
			if !strings.Contains(known, w) {
				t.Fatalf("summary %q holds %q, not a known name", got, w)
			}
		}
	})
}
