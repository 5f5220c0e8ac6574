package browsertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeScript is where .ci/run installs axe-core, relative to the repository
// root; .ci/run pins the version.
var axeScript = filepath.Join(".cache", "npm", "node_modules", "axe-core", "axe.min.js")

// axeTags are the rules run: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// Violation is one axe-core rule that failed on the page.
type Violation struct {
	ID      string          `json:"id"`     // rule, such as "color-contrast"
	Impact  string          `json:"impact"` // minor, moderate, serious or critical
	Help    string          `json:"help"`
	HelpURL string          `json:"helpUrl"`
	Nodes   []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that fails a rule.
type ViolationNode struct {
	Target         []string `json:"target"` // CSS selectors of the element
	HTML           string   `json:"html"`
	FailureSummary string   `json:"failureSummary"`
}

// Serious reports whether the violation is serious or critical.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s  %s", strings.Join(n.Target, " "), n.HTML)
		if n.FailureSummary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
		}
	}
	return b.String()
}

var axeCache struct {
	sync.Mutex
	path, src string
}

// axeSource returns the contents of axe.min.js, or skips the test (fails
// it under CI=true) when it is not installed.
func axeSource(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CLAU_AXE_JS")
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatalf("browsertest: %v", err)
		}
		for dir := wd; ; {
			p := filepath.Join(dir, axeScript)
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		if path == "" {
			skipOrFail(t, "browsertest: axe-core not found as %s in %s or above; install it at the repository root "+
				"as .ci/run does (npm install --no-save --prefix .cache/npm axe-core@VERSION), or set CLAU_AXE_JS", axeScript, wd)
		}
	}
	axeCache.Lock()
	defer axeCache.Unlock()
	if axeCache.path == path {
		return axeCache.src
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && os.Getenv("CLAU_AXE_JS") == "" {
			skipOrFail(t, "browsertest: %v", err)
		}
		t.Fatalf("browsertest: read axe-core (CLAU_AXE_JS): %v", err)
	}
	axeCache.path, axeCache.src = path, string(b)
	return axeCache.src
}

// Axe runs axe-core's WCAG 2.1 A and AA rules on the current page and
// returns the violations. The script is evaluated through the DevTools
// protocol, which the page's Content-Security-Policy does not govern, so
// pages keep their strict script-src 'self'.
func (b *Browser) Axe(t testing.TB) []Violation {
	t.Helper()
	src := axeSource(t)
	// axe takes a few hundred milliseconds on a small page; allow more
	// than one action under the race detector on a busy machine.
	ctx, cancel := b.actionCtx(2 * b.timeout())
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object" && typeof window.axe.run === "function"`))
	if err != nil {
		b.fail(t, "look for axe-core", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			b.fail(t, "inject axe-core", err)
		}
	}
	tags, _ := json.Marshal(axeTags)
	js := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]})
	.then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({
			target: n.target.map(s => Array.isArray(s) ? s.join(" >>> ") : String(s)),
			html: n.html, failureSummary: n.failureSummary || ""
		}))
	})))`
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail(t, "run axe-core", err)
	}
	return vs
}

// AssertAccessible fails the test when axe-core finds a serious or
// critical WCAG 2.1 AA violation on the current page, listing each with
// its elements; minor and moderate ones are logged.
func (b *Browser) AssertAccessible(t testing.TB) {
	t.Helper()
	var bad, other []string
	for _, v := range b.Axe(t) {
		if v.Serious() {
			bad = append(bad, v.String())
		} else {
			other = append(other, v.String())
		}
	}
	if len(other) > 0 {
		t.Logf("axe-core: %d minor or moderate violations on %s:\n%s", len(other), b.where(), strings.Join(other, "\n"))
	}
	if len(bad) > 0 {
		t.Errorf("axe-core: %d serious or critical WCAG 2.1 AA violations on %s:\n%s", len(bad), b.where(), strings.Join(bad, "\n"))
	}
}
