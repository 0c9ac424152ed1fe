package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// requireBrowser is AIFLOW_REQUIRE_BROWSER=1 (set by `make test`): a missing browser
// fails the tests instead of skipping them.
var requireBrowser = os.Getenv("AIFLOW_REQUIRE_BROWSER") == "1"

// chromium is the one browser process of this test binary, started by TestMain; every
// test opens its own tab in it.
var chromium struct {
	ctx  context.Context // a chromedp context with the browser; nil when none was found
	path string
	err  error // why there is no browser
}

// tmpRoot holds what TestMain made (the binary, the browser profile); it is removed
// at the end.
var tmpRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aiflow-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tmpRoot = dir
	defer os.RemoveAll(dir)
	stop := startChromium(filepath.Join(dir, "profile"))
	defer stop()
	return m.Run()
}

// findChromium is AIFLOW_CHROMIUM when set, else the first Chromium found: the
// binaries Debian's chromium-headless-shell and chromium packages install (the real
// executables, not the /usr/bin wrapper scripts, so killing the process kills the
// browser), then the usual names on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("AIFLOW_CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
		return "", fmt.Errorf("AIFLOW_CHROMIUM=%s: not an executable", p)
	}
	for _, p := range []string{"/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	for _, name := range []string{"chromium-headless-shell", "headless-shell", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no Chromium found: install Debian's chromium-headless-shell (make deps does, as root) or set AIFLOW_CHROMIUM to a Chromium or Chrome binary")
}

// startChromium starts the shared headless browser with a fresh profile in profile.
// When there is none, chromium.err says why and the tests skip or fail.
func startChromium(profile string) (stop func()) {
	path, err := findChromium()
	if err != nil {
		chromium.err = err
		return func() {}
	}
	chromium.path = path
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.DisableGPU,
		// Chromium refuses to start as root with its sandbox on ("Running as root
		// without --no-sandbox is not supported"), and CI runs the tests as root in a
		// throwaway machine; the page it loads is our own, from loopback.
		chromedp.NoSandbox,
		// No network beyond loopback: no proxy, and every host name but the loopback
		// ones fails to resolve, so nothing the page might reach for leaves the machine.
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// The first action starts the browser; a broken install shows here, once.
	if err := chromedp.Do(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		chromium.err = fmt.Errorf("starting %s: %w", path, err)
		return func() {}
	}
	chromium.ctx = bctx
	return func() {
		cancelBrowser()
		cancelAlloc()
	}
}

// needBrowser skips t when there is no browser, or fails it under
// AIFLOW_REQUIRE_BROWSER=1.
func needBrowser(t testing.TB) {
	t.Helper()
	if chromium.ctx != nil {
		return
	}
	if requireBrowser {
		t.Fatalf("AIFLOW_REQUIRE_BROWSER=1 and %v", chromium.err)
	}
	t.Skipf("browser tests: %v", chromium.err)
}

// artifactsDir is where screenshots go: AIFLOW_TEST_ARTIFACTS/browser when set (CI
// keeps that directory), else testdata/artifacts of this package (git-ignored).
func artifactsDir() string {
	if d := os.Getenv("AIFLOW_TEST_ARTIFACTS"); d != "" {
		return filepath.Join(d, "browser")
	}
	return filepath.Join("testdata", "artifacts")
}

// waitTimeout bounds every wait for the page; far above what a working page needs, so
// a broken page fails with its screenshot instead of hanging the test binary.
const waitTimeout = 20 * time.Second

// page is one browser tab of one test. It records what went wrong in the page (uncaught
// exceptions, console errors, failed requests): any of them fails the test when it ends.
type page struct {
	t    testing.TB
	ctx  context.Context
	base string // the viewer's URL, http://127.0.0.1:PORT
	dir  string // this test's screenshots
	shot *int   // screenshots the test took, to number them in order across its pages
	// close checks the page's errors (each fails the test), saves a screenshot when
	// the test failed and closes the tab; the test's cleanup calls it if nobody did.
	close func()

	mu       sync.Mutex
	problems []string
	urls     map[network.RequestID]string
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// shots counts the screenshots of each running test, across the test's pages.
var shots = struct {
	mu sync.Mutex
	n  map[testing.TB]*int
}{n: map[testing.TB]*int{}}

// newPage opens a tab on the viewer at base. When the test ends it fails the test for
// every error the page had, and saves a full-page screenshot if the test failed.
func newPage(t testing.TB, base string) *page {
	t.Helper()
	needBrowser(t)
	p := &page{t: t, base: base, urls: map[network.RequestID]string{},
		dir: filepath.Join(artifactsDir(), unsafeName.ReplaceAllString(t.Name(), "_"))}
	shots.mu.Lock()
	if shots.n[t] == nil {
		// The test's first page: the screenshots of an earlier run of it go.
		if err := os.RemoveAll(p.dir); err != nil {
			shots.mu.Unlock()
			t.Fatal(err)
		}
		shots.n[t] = new(int)
		t.Cleanup(func() {
			shots.mu.Lock()
			delete(shots.n, t)
			shots.mu.Unlock()
		})
	}
	p.shot = shots.n[t]
	shots.mu.Unlock()
	ctx, cancel := chromedp.NewContext(chromium.ctx, chromedp.WithListener(p.listen))
	p.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("opening a tab: %v", err)
	}
	p.close = sync.OnceFunc(func() {
		p.mu.Lock()
		problems := p.problems
		p.mu.Unlock()
		for _, pr := range problems {
			t.Errorf("page error: %s", pr)
		}
		if t.Failed() {
			p.screenshot("failure")
		}
		cancel()
	})
	t.Cleanup(p.close)
	return p
}

// listen runs in the tab's event loop: it only records.
func (p *page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		p.problems = append(p.problems, fmt.Sprintf("uncaught exception at %s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, msg))
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				args = append(args, a.Description)
			case len(a.Value) > 0:
				var str string
				if json.Unmarshal(a.Value, &str) == nil {
					args = append(args, str)
				} else {
					args = append(args, string(a.Value))
				}
			default:
				args = append(args, string(a.Type))
			}
		}
		p.problems = append(p.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p.problems = append(p.problems, fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		p.urls[ev.RequestID] = ev.Request.URL
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			p.problems = append(p.problems, fmt.Sprintf("HTTP %d for %s", ev.Response.Status, ev.Response.URL))
		}
	case *network.EventLoadingFailed:
		// A request the page or the test ended on purpose (the event stream when the
		// tab closes, an image replaced before it loaded) is not a failure.
		if ev.Canceled {
			return
		}
		p.problems = append(p.problems, fmt.Sprintf("request for %s failed: %s", p.urls[ev.RequestID], ev.ErrorText))
	}
}

// screenshot saves a full-page PNG named after the test and the checkpoint.
func (p *page) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	shots.mu.Lock()
	*p.shot++
	n := *p.shot
	shots.mu.Unlock()
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", n, unsafeName.ReplaceAllString(name, "_")))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.t.Logf("screenshot: %s", path)
}

// readyScript records, in window.__aiflowReady, the performance.now() of each time the
// body's data-ready turns "1" with its data-view: how long a view took to render,
// measured in the page from the start of the navigation.
const readyScript = `(() => {
  window.__aiflowReady = [];
  const note = () => {
    const b = document.body;
    if (b && b.dataset.ready === "1") window.__aiflowReady.push({view: b.dataset.view || "", at: performance.now()});
  };
  const watch = () => {
    new MutationObserver(note).observe(document.body, {attributes: true, attributeFilter: ["data-ready", "data-view"]});
    note();
  };
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);
})();`

// open loads the viewer at the route in the hash ("#/", "#/runs/ID", …) and waits until
// view has rendered. It returns the time from the start of the navigation to the first
// data-ready="1" of that view, measured in the page.
func (p *page) open(route, view string) time.Duration {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: readyScript}); err != nil {
		p.t.Fatalf("installing the ready probe: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.base+"/"+route)); err != nil {
		p.t.Fatalf("opening %s%s: %v", p.base, route, err)
	}
	p.waitView(view)
	at := evalJS[float64](p, fmt.Sprintf(`(window.__aiflowReady || []).find(r => r.view === %q)?.at ?? -1`, view))
	if at < 0 {
		return 0
	}
	return time.Duration(at * float64(time.Millisecond))
}

// route changes the hash in the page (no reload, as a click on a link would) and waits
// until view has rendered again.
func (p *page) route(route, view string) {
	p.t.Helper()
	evalJS[bool](p, fmt.Sprintf(`(() => { document.body.removeAttribute("data-ready"); location.hash = %q; return true })()`, strings.TrimPrefix(route, "#")))
	p.waitView(view)
}

// waitView waits for <body data-ready="1" data-view=view>.
func (p *page) waitView(view string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf(`document.body && document.body.dataset.ready === "1" && document.body.dataset.view === %q`, view),
		fmt.Sprintf(`body[data-ready="1"][data-view=%q]`, view))
}

// waitJS polls the JavaScript condition cond until it is true; what says what it
// waits for in the failure.
func (p *page) waitJS(cond, what string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+cond+`)`, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.outerHTML.slice(0, 400) : "(no body)"`))
		p.t.Fatalf("waiting for %s: %v; the page is at %s with %s", what, err, evalJSQuiet(p, `location.href`), body)
	}
}

// fitsWidth fails the test when the page is wider than the window (a 1280-pixel
// window, as the browser starts): nothing should need a horizontal scroll of the page.
func (p *page) fitsWidth(what string) {
	p.t.Helper()
	sizes := evalJS[[]int](p, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if sizes[0] > sizes[1] {
		p.t.Errorf("%s: the page is %d px wide in a %d px window", what, sizes[0], sizes[1])
	}
}

// count is the number of elements matching the CSS selector sel.
func (p *page) count(sel string) int {
	p.t.Helper()
	return evalJS[int](p, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// text is the textContent of the first element matching sel, "" when there is none.
func (p *page) text(sel string) string {
	p.t.Helper()
	return evalJS[string](p, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
}

// attrs is attribute attr of every element matching sel, in document order.
func (p *page) attrs(sel, attr string) []string {
	p.t.Helper()
	return evalJS[[]string](p, fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.getAttribute(%q) ?? "")`, sel, attr))
}

// click clicks the first element matching sel with the mouse, at its centre, as a
// user would (so an element drawn over it would take the click instead).
func (p *page) click(sel string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("clicking %s: %v", sel, err)
	}
}

// evalJS evaluates expr in the page and decodes its value into T.
func evalJS[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func evalJSQuiet(p *page, expr string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	return v
}
