//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns the Chromium binary, skipping the test when there
// is none (failing under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; CI must have it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: apt-get install chromium")
	return ""
}

// browserLog collects what a page reports that a clean report never
// causes: console errors and warnings, uncaught exceptions, log entries
// (CSP violations, failed loads), dialogs, and requests for anything but
// the report file itself.
type browserLog struct {
	mu       sync.Mutex
	problems []string
	sentinel bool
}

func (l *browserLog) on(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if len(ev.Args) > 0 && string(ev.Args[0].Value) == `"report-test-sentinel"` {
			l.sentinel = true
			return
		}
		l.problems = append(l.problems, fmt.Sprintf("console.%s %v", ev.Type, argValues(ev.Args)))
	case *runtime.EventExceptionThrown:
		l.problems = append(l.problems, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		l.problems = append(l.problems, fmt.Sprintf("log %s %s: %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
	case *cdppage.EventJavascriptDialogOpening:
		l.problems = append(l.problems, fmt.Sprintf("dialog %s: %q", ev.Type, ev.Message))
	case *network.EventRequestWillBeSent:
		if !strings.HasPrefix(ev.Request.URL, "file://") {
			l.problems = append(l.problems, "request: "+ev.Request.URL)
		}
	}
}

func argValues(args []*runtime.RemoteObject) []string {
	var vs []string
	for _, a := range args {
		vs = append(vs, string(a.Value)+a.Description)
	}
	return vs
}

// report returns the problems seen once the sentinel logged after them
// has come: the browser sends events in order, so every event of what
// came before it has been seen.
func (l *browserLog) report(t *testing.T, ctx context.Context) []string {
	t.Helper()
	step(t, ctx, "sentinel", chromedp.Evaluate[any](`console.info("report-test-sentinel")`))
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.sentinel {
		t.Fatal("the console sentinel did not arrive before the reply to its command")
	}
	return slices.Clone(l.problems)
}

// step runs one browser action with a deadline of its own and fails the
// test with name when it fails.
func step[T any](t *testing.T, ctx context.Context, name string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", name, err)
	}
	return v
}

// newBrowser starts headless Chromium for the test (a temporary profile,
// nothing in the background) and returns a tab's context; everything is
// closed at the end of the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := chromiumPath(t)
	profile, err := os.MkdirTemp("", "trawl-report-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) }) // best effort: a child process may still write there
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1200, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
	})
	// The browser starts on the tab's own context (bounded by the test's
	// deadline): started on a step's shorter context, it would end with
	// that step.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	return tab
}

// artefactDir is where the test leaves its screenshots: $TRAWL_ARTEFACTS
// when set, a temporary directory otherwise.
func artefactDir(t *testing.T) string {
	if d := os.Getenv("TRAWL_ARTEFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// xssTitle and xssAttr are page values that would run script if the
// report put them into its markup unescaped.
const (
	xssTitle = `<script>alert(1)</script>`
	xssAttr  = `"><img src=x onerror="alert(2);document.title='pwned'"> and more text to pass sixty characters`
)

// TestReportInBrowser opens the HTML report of a crawl with planted
// problems and hostile titles in headless Chromium, JavaScript on: no
// console error, no failed load, no request off the file; the
// broken-links table lists the planted 404 with its referrer; a click on
// a column header reorders the rows and the filter hides rows; the
// hostile titles show as text and run nothing. It leaves a desktop and a
// phone screenshot in artefactDir.
func TestReportInBrowser(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	xssDesc := strings.NewReplacer(`"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(xssAttr)
	srv := plantedSite(t, map[string]string{
		"/xss1": plantedPage(xssTitle, xssDesc),
		"/xss3": plantedPage(xssTitle, "A page that shares a hostile title"),
		"/xss2": plantedPage(strings.NewReplacer("<", "&lt;").Replace(xssAttr), xssDesc),
	})
	site := crawlPlanted(t, srv)
	html := filepath.Join(t.TempDir(), "report.html")
	if res := runTrawl(t, testContext(t), nil, "report", "-o", html, site); res.code != 0 {
		t.Fatalf("report: exit code %d; stderr:\n%s", res.code, res.stderr)
	}

	var events browserLog
	if err := chromedp.Listen(tab, events.on); err != nil {
		t.Fatal(err)
	}
	enable(t, tab)
	step(t, tab, "navigate", chromedp.Navigate("file://"+html))
	if got := step(t, tab, "title", chromedp.Title()); !strings.HasPrefix(got, "trawl report — 127.0.0.1:") {
		t.Errorf("page title %q", got)
	}

	// The broken links, with their referrers, in the order of the report.
	rows := `Array.from(document.querySelectorAll("#t-broken-4xx tbody tr")).map(r => Array.from(r.cells).map(c => c.textContent.trim()).join(" | "))`
	before := step(t, tab, "broken rows", chromedp.Evaluate[[]string](rows))
	// /missing is linked from / and from /a: the page it was first found
	// on is either, as the crawl's workers went (see
	// TestReportFindsPlantedProblems); the crawl's record says which.
	missingFrom := srv.URL + "/"
	if b, err := os.ReadFile(site); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			var r struct{ URL, Referrer string }
			if json.Unmarshal([]byte(line), &r) == nil && r.URL == srv.URL+"/missing" {
				missingFrom = r.Referrer
			}
		}
	}
	want := []string{
		fmt.Sprintf("%s/missing | 404 | 2 | %s", srv.URL, missingFrom),
		fmt.Sprintf("%s/gone | 404 | 1 | %s/a", srv.URL, srv.URL),
	}
	if !slices.Equal(before, want) {
		t.Errorf("broken-links rows:\n%q\nwant\n%q", before, want)
	}
	step(t, tab, "sort by URL", chromedp.Click(chromedp.CSS("#t-broken-4xx thead th:first-child")))
	after := step(t, tab, "sorted rows", chromedp.Evaluate[[]string](rows))
	if !slices.Equal(after, []string{want[1], want[0]}) {
		t.Errorf("after a click on the URL header, rows:\n%q\nwant them reversed", after)
	}
	step(t, tab, "filter", chromedp.SendKeys(chromedp.CSS(`input[data-filter="t-broken-4xx"]`), "missing"))
	shown := step(t, tab, "filtered rows", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("#t-broken-4xx tbody tr")).filter(r => !r.hidden).length`))
	if shown != 1 {
		t.Errorf("after filtering on \"missing\", %d rows shown, want 1", shown)
	}
	step(t, tab, "clear filter", chromedp.Evaluate[bool](`(i => { i.value = ""; i.dispatchEvent(new Event("input")); return true })(document.querySelector('input[data-filter="t-broken-4xx"]'))`))

	// The hostile values are text: no element came of them, no script ran.
	if got := step(t, tab, "dom", chromedp.Evaluate[string](
		`[document.scripts.length, document.images.length, document.querySelectorAll("[onerror]").length,
		  document.querySelectorAll('a[href^="javascript:" i]').length, document.title.includes("pwned"),
		  document.body.textContent.includes(`+"`"+xssTitle+"`"+`), document.body.textContent.includes(`+"`"+`onerror="alert(2)`+"`"+`)].join(",")`)); got != "1,0,0,0,false,true,true" {
		t.Errorf("scripts, images, onerror attributes, javascript: links, pwned title, payloads shown as text: %s; want 1,0,0,0,false,true,true", got)
	}

	dir := artefactDir(t)
	png := step(t, tab, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "report-desktop.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	step(t, tab, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	if w := step(t, tab, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("on a phone the page is %dpx wide, wider than the screen (390px)", w)
	}
	png = step(t, tab, "phone screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "report-phone.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)

	if problems := events.report(t, tab); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

// enable turns on the browser's log and network domains, so that CSP
// violations, failed loads and requests reach the listener.
func enable(t *testing.T, tab context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("browser: enable log: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browser: enable network: %v", err)
	}
}
