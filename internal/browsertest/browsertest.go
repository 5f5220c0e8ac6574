// Package browsertest drives Debian's Chromium from Go tests and checks
// pages with axe-core. Only tests import it: a test starts the real server
// stack on 127.0.0.1 (httptest), opens one headless Chromium with New and
// uses a few helpers of our own (Open, Click, Fill, Submit, Text, ...) so
// that tests do not depend on chromedp's API, which breaks often.
//
// Every helper fails the test with the selector and the page URL instead of
// hanging: each action has its own timeout (Browser.Timeout, 15 s by
// default). A Browser has one tab and is not safe for concurrent use; its
// cookies last as long as the Browser does.
//
// Chromium is $CLAU_CHROMIUM, else /usr/bin/chromium. The axe-core script is
// $CLAU_AXE_JS, else .cache/npm/node_modules/axe-core/axe.min.js in the
// working directory or one above it (.ci/run installs it there with npm).
// When either is missing, the test skips, except under CI=true, where it
// fails: CI must run the browser tests.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is the browser used when $CLAU_CHROMIUM is unset.
const DefaultChromium = "/usr/bin/chromium"

// DefaultTimeout bounds each action of a Browser.
const DefaultTimeout = 15 * time.Second

// navGrace is how long Click and Submit wait for a navigation to begin
// before they take it that the action does not navigate.
const navGrace = 500 * time.Millisecond

// startTimeout bounds the start of Chromium.
const startTimeout = 60 * time.Second

// Browser is one headless Chromium with one tab.
type Browser struct {
	// Timeout bounds each action; zero means DefaultTimeout.
	Timeout time.Duration

	ctx context.Context // the tab; its first Run started the browser
}

// inCI reports whether tests run under CI=true, where missing tools fail
// the test instead of skipping it.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test, or fails it under CI=true.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf(format+" (required under CI=true)", args...)
	}
	t.Skipf(format, args...)
}

// chromiumPath returns the browser to run.
func chromiumPath() string {
	if p := os.Getenv("CLAU_CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// New starts a headless Chromium that is closed when t ends. Without
// Chromium the test skips, except under CI=true, where it fails.
//
// Chromium sends its own Accept-Language (en-US) until SetLanguage is
// called.
func New(t testing.TB) *Browser {
	t.Helper()
	path := chromiumPath()
	exe, err := exec.LookPath(path)
	if err != nil {
		skipOrFail(t, "browsertest: no Chromium at %s (set CLAU_CHROMIUM, or apt-get install chromium): %v", path, err)
	}

	out := &tailBuffer{max: 8 << 10}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
		// No UserDataDir: chromedp then gives each browser a fresh
		// temporary --user-data-dir, kills leftover children and removes
		// the folder when the browser ends.
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)

	var mu sync.Mutex
	ended := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("chromedp: "+format, args...)
		}
	}
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		cancelCtx()
		cancelAlloc() // waits for the browser to exit and its folder to go
	})

	// The first Run starts the browser and binds its life to ctx, so ctx
	// gets no timeout; a timer bounds the start instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		cancelCtx()
		<-started
		err = fmt.Errorf("no answer after %s", startTimeout)
	}
	if err != nil {
		t.Fatalf("browsertest: start %s: %v\nbrowser output:\n%s", exe, err, out.String())
	}
	return &Browser{ctx: ctx}
}

func (b *Browser) timeout() time.Duration {
	if b.Timeout > 0 {
		return b.Timeout
	}
	return DefaultTimeout
}

// actionCtx returns a child of the tab's context bounded by the timeout.
func (b *Browser) actionCtx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, d)
}

// where returns the page URL for failure messages, without failing.
func (b *Browser) where() string {
	ctx, cancel := b.actionCtx(2 * time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown URL)"
	}
	return u
}

// fail stops the test with what was tried, where, and why.
func (b *Browser) fail(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (waited %s)", err, b.timeout())
	}
	t.Fatalf("browsertest: %s on %s: %v", what, b.where(), err)
}

// failOn is fail for an action on selector: when it timed out, it says
// whether any element matches the selector at all.
func (b *Browser) failOn(t testing.TB, what, selector string, err error) {
	t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		ctx, cancel := b.actionCtx(2 * time.Second)
		defer cancel()
		sel, _ := json.Marshal(selector)
		switch n, cerr := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, sel))); {
		case cerr != nil:
		case n == 0:
			err = fmt.Errorf("no element matches %q (waited %s)", selector, b.timeout())
		default:
			err = fmt.Errorf("%d element(s) match %q, but none became ready or visible (waited %s)", n, selector, b.timeout())
		}
	}
	b.fail(t, what, err)
}

// do runs actions on selector that return nothing, under the timeout.
func (b *Browser) do(t testing.TB, what, selector string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.failOn(t, what, selector, err)
	}
}

// Open loads url and waits for its load event. HTTP error statuses do not
// fail: the page is shown as the browser shows it.
func (b *Browser) Open(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(url)); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (waited %s)", err, b.timeout())
		}
		t.Fatalf("browsertest: open %s: %v", url, err)
	}
}

// URL returns the address of the current page.
func (b *Browser) URL(t testing.TB) string {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("browsertest: read the URL: %v", err)
	}
	return u
}

// Text returns the rendered text (innerText) of the first element that
// matches the CSS selector, waiting for it to exist. A hidden element has
// no text.
func (b *Browser) Text(t testing.TB, selector string) string {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.failOn(t, fmt.Sprintf("read the text of %q", selector), selector, err)
	}
	return s
}

// WaitVisible waits until the first element that matches the CSS selector
// is visible.
func (b *Browser) WaitVisible(t testing.TB, selector string) {
	t.Helper()
	b.do(t, fmt.Sprintf("wait for %q to be visible", selector), selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// Fill replaces the value of the input, textarea or select that matches
// the CSS selector: it types into a text field as a person would, and
// picks the option with that value in a select. It fails when the field
// does not end up holding value (for example, a maxlength cut it).
func (b *Browser) Fill(t testing.TB, selector, value string) {
	t.Helper()
	what := fmt.Sprintf("fill %q", selector)
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	sel := chromedp.CSS(selector)
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(sel, chromedp.NodeVisible))
	if err != nil {
		b.failOn(t, what, selector, err)
	}
	// chromedp.SetValue(sel, "") sets "undefined" in v0.23: its JSON v2
	// encoding drops the empty string argument (omitempty). Set values with
	// our own expression instead.
	setValue := func(v string) chromedp.Action[chromedp.Void] {
		s, _ := json.Marshal(selector)
		val, _ := json.Marshal(v)
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			el.value = %s;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		})()`, s, val))
	}
	switch name := nodes[0].NodeName; name {
	case "SELECT":
		err = chromedp.Do(ctx, setValue(value))
	case "INPUT", "TEXTAREA":
		err = chromedp.Do(ctx, setValue(""), chromedp.Focus(sel), chromedp.SendKeys(sel, value))
	default:
		err = fmt.Errorf("the element is a %s, not an input, textarea or select", name)
	}
	if err != nil {
		b.fail(t, what, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Value(sel))
	if err != nil {
		b.fail(t, what, err)
	}
	if got != value {
		b.fail(t, what, fmt.Errorf("the field holds %q, want %q", got, value))
	}
}

// Click clicks the first visible element that matches the CSS selector, as
// a mouse does, and waits for the navigation it causes, if any, to finish
// loading.
func (b *Browser) Click(t testing.TB, selector string) {
	t.Helper()
	what := fmt.Sprintf("click %q", selector)
	w := b.watchNavigation(t, what)
	defer w.stop()
	b.do(t, what, selector, chromedp.Click(chromedp.CSS(selector)))
	b.settle(t, w, what)
}

// Submit submits the form that matches the CSS selector (or the form of
// the field it matches) as pressing Enter in it does: with the browser's
// own validation, without a submitter button. It waits for the resulting
// page to load.
func (b *Browser) Submit(t testing.TB, formSelector string) {
	t.Helper()
	what := fmt.Sprintf("submit %q", formSelector)
	sel, _ := json.Marshal(formSelector)
	b.do(t, what, formSelector, chromedp.WaitReady(chromedp.CSS(formSelector)))
	w := b.watchNavigation(t, what)
	defer w.stop()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		const form = el && (el instanceof HTMLFormElement ? el : el.form);
		if (!form) return false;
		form.requestSubmit();
		return true;
	})()`, sel)
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err == nil && !ok {
		err = errors.New("it is neither a form nor a field of one")
	}
	if err != nil {
		b.fail(t, what, err)
	}
	b.settle(t, w, what)
}

// Eval evaluates the JavaScript expression in the page, awaits it if it
// is a promise, and decodes its JSON value into out (a pointer; nil
// ignores the value).
func (b *Browser) Eval(t testing.TB, js string, out any) {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail(t, fmt.Sprintf("evaluate %q", abbrev(js)), err)
	}
	if out == nil {
		return
	}
	if raw == nil {
		b.fail(t, fmt.Sprintf("evaluate %q", abbrev(js)), errors.New("the result is undefined"))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.fail(t, fmt.Sprintf("decode the result of %q into %T", abbrev(js), out), err)
	}
}

// SetLanguage sends acceptLanguage (for example "es" or "ca,en;q=0.5") as
// the Accept-Language header of every following request; "" goes back to
// Chromium's own header.
func (b *Browser) SetLanguage(t testing.TB, acceptLanguage string) {
	t.Helper()
	h := network.Headers{}
	if acceptLanguage != "" {
		h["Accept-Language"] = acceptLanguage
	}
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
		t.Fatalf("browsertest: set Accept-Language %q: %v", acceptLanguage, err)
	}
}

// Screenshot writes a PNG of the whole page (beyond the viewport) to path,
// creating its folder.
func (b *Browser) Screenshot(t testing.TB, path string) {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
	})
	if err != nil {
		b.fail(t, "take a screenshot", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	if err := os.WriteFile(path, res.Data, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
}

// navWatch follows the main frame's navigations while an action runs.
type navWatch struct {
	cancel  context.CancelFunc
	mu      sync.Mutex
	pending bool // a navigation was asked for or began
	done    bool // and it finished (loaded, failed or stayed in the document)
}

func (w *navWatch) stop() { w.cancel() }

func (w *navWatch) state() (pending, done bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending, w.done
}

// watchNavigation starts following the main frame's navigations. It must
// be called before the action that may navigate.
func (b *Browser) watchNavigation(t testing.TB, what string) *navWatch {
	t.Helper()
	ctx, cancel := b.actionCtx(b.timeout())
	defer cancel()
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil || tree.FrameTree == nil || tree.FrameTree.Frame == nil {
		b.fail(t, what, fmt.Errorf("no main frame: %v", err))
	}
	main := tree.FrameTree.Frame.ID
	lctx, lcancel := context.WithCancel(b.ctx)
	w := &navWatch{cancel: lcancel}
	// The func runs in chromedp's read loop: it only flips flags.
	err = chromedp.Listen(lctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventFrameRequestedNavigation:
			// A link to a new tab or a download leaves this page as it is.
			w.pending = w.pending || ev.FrameID == main && ev.Disposition == page.ClientNavigationDispositionCurrentTab
		case *page.EventFrameStartedNavigating:
			w.pending = w.pending || ev.FrameID == main
		case *page.EventFrameStartedLoading:
			w.pending = w.pending || ev.FrameID == main
		case *page.EventFrameStoppedLoading:
			w.done = w.done || (w.pending && ev.FrameID == main)
		case *page.EventNavigatedWithinDocument:
			if ev.FrameID == main {
				w.pending, w.done = true, true
			}
		}
	})
	if err != nil {
		lcancel()
		b.fail(t, what, err)
	}
	return w
}

// settle waits for the navigation that w saw begin to finish, or, when
// none begins within navGrace, returns at once.
func (b *Browser) settle(t testing.TB, w *navWatch, what string) {
	t.Helper()
	start := time.Now()
	for {
		pending, done := w.state()
		switch {
		case done:
			return
		case !pending && time.Since(start) > navGrace:
			return
		case time.Since(start) > b.timeout():
			b.fail(t, what, fmt.Errorf("the page it led to did not finish loading within %s", b.timeout()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func abbrev(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the last max bytes written to it, for the browser's
// output in failure messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = append([]byte(nil), w.b[len(w.b)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}
