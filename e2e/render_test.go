//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// needChromium skips the test when Chromium is not installed (with the
// hint how to install it), and fails it under CI=true.
func needChromium(t *testing.T) {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if _, err := exec.LookPath(name); err == nil {
			return
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing (CI=true): apt-get install chromium")
	}
	t.Skip("chromium is missing: apt-get install chromium")
}

// renderRecord is a record with its render fields.
type renderRecord struct {
	URL           string   `json:"url"`
	Title         string   `json:"title"`
	Links         []string `json:"links"`
	Rendered      *bool    `json:"rendered"`
	RenderMS      int64    `json:"render_ms"`
	RenderReason  string   `json:"render_reason"`
	RenderTimeout bool     `json:"render_timeout"`
	Screenshot    string   `json:"screenshot"`
	Error         *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseRenderRecords(t *testing.T, out string) map[string]renderRecord {
	t.Helper()
	recs := map[string]renderRecord{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r renderRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		if _, dup := recs[r.URL]; dup {
			t.Fatalf("two records for %s", r.URL)
		}
		recs[r.URL] = r
	}
	return recs
}

func jsHTML(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, body)
}

// jsLinksPage is a page whose title and links are made by script only.
func jsLinksPage(title string, links ...string) string {
	var js strings.Builder
	for _, l := range links {
		fmt.Fprintf(&js, `var a = document.createElement("a"); a.href = %q; a.textContent = %q; document.getElementById("root").appendChild(a);`+"\n", l, l)
	}
	return fmt.Sprintf(`<!doctype html><html><head><title></title></head><body><div id="root"></div><script>
document.title = %q;
%s</script></body></html>`, title, js.String())
}

// TestRenderCrawlFindsScriptLinks: a crawl of a site whose links exist
// only after its scripts ran finds every page with --render always, and
// only the seed without.
func TestRenderCrawlFindsScriptLinks(t *testing.T) {
	needChromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p"))
		var links []string
		for _, k := range []int{2*n + 1, 2*n + 2} {
			if k < 12 {
				links = append(links, fmt.Sprintf("/p%d", k))
			}
		}
		jsHTML(w, jsLinksPage(fmt.Sprintf("page %d", n), links...))
	}))
	defer srv.Close()
	ctx := testContext(t)
	plain := runTrawl(t, ctx, nil, "crawl", "-q", srv.URL+"/p0")
	if n := strings.Count(plain.stdout, "\n"); n != 1 {
		t.Fatalf("without --render the crawl found %d pages, want the seed only:\n%s", n, plain.stdout)
	}
	res := runTrawl(t, ctx, nil, "crawl", "-q", "--render", "always", srv.URL+"/p0")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseRenderRecords(t, res.stdout)
	if len(recs) != 12 {
		t.Fatalf("%d pages, want 12:\n%s", len(recs), res.stdout)
	}
	for i := range 12 {
		r, ok := recs[fmt.Sprintf("%s/p%d", srv.URL, i)]
		if !ok || r.Title != fmt.Sprintf("page %d", i) || r.Rendered == nil || !*r.Rendered || r.RenderReason != "always" {
			t.Errorf("p%d: %+v", i, r)
		}
	}
}

// TestRenderAutoRendersShellsOnly: --render auto renders exactly the
// application shells of a mixed site.
func TestRenderAutoRendersShellsOnly(t *testing.T) {
	needChromium(t)
	prose := "<p>" + strings.Repeat("A server-rendered paragraph of real text. ", 12) + "</p>"
	pages := map[string]string{
		"/shell-root": jsLinksPage("root shell", "/x"),
		"/shell-app":  `<html><body><div id="app"></div><script>document.title = "app shell"</script></body></html>`,
		"/noscript":   `<html><body><noscript>You need to enable JavaScript to run this app.</noscript><div class="l">…</div><script>document.title = "noscript shell"</script></body></html>`,
		"/static":     `<html><head><title>static</title></head><body>` + prose + `<script>document.title = "changed"</script></body></html>`,
		"/article":    `<html><head><title>article</title></head><body><div id="root"><h1>Article</h1>` + prose + `</div></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		jsHTML(w, body)
	}))
	defer srv.Close()
	var urls []string
	for p := range pages {
		urls = append(urls, srv.URL+p)
	}
	shots := filepath.Join(t.TempDir(), "shots")
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	res := runTrawl(t, testContext(t), nil, append([]string{"fetch", "--progress", "never", "--render", "auto", "--screenshot", shots, "--summary-json", sumPath}, urls...)...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	// The summary counts the pages rendered: the three shells.
	if !strings.Contains(res.stderr, "  rendered:  3 pages in a browser\n") {
		t.Errorf("the summary does not say 3 pages were rendered:\n%s", res.stderr)
	}
	var sum struct{ Rendered int }
	if b, err := os.ReadFile(sumPath); err != nil || json.Unmarshal(b, &sum) != nil || sum.Rendered != 3 {
		t.Errorf("--summary-json: rendered %d (%v), want 3", sum.Rendered, err)
	}
	recs := parseRenderRecords(t, res.stdout)
	want := map[string]struct {
		rendered bool
		title    string
		reason   string
	}{
		"/shell-root": {true, "root shell", "empty_mount:#root"},
		"/shell-app":  {true, "app shell", "empty_mount:#app"},
		"/noscript":   {true, "noscript shell", "noscript_js"},
		"/static":     {false, "static", "no_shell_signal"},
		"/article":    {false, "article", "no_shell_signal"},
	}
	for p, w := range want {
		r := recs[srv.URL+p]
		if r.Rendered == nil || *r.Rendered != w.rendered || r.Title != w.title || r.RenderReason != w.reason {
			t.Errorf("%s: rendered %v title %q reason %q; want %v %q %q", p, r.Rendered != nil && *r.Rendered, r.Title, r.RenderReason, w.rendered, w.title, w.reason)
		}
		if _, err := os.Stat(r.Screenshot); w.rendered != (r.Screenshot != "" && err == nil) {
			t.Errorf("%s: screenshot %q (%v), want one only for a rendered page", p, r.Screenshot, err)
		}
	}
}

// TestRenderMissingChrome: rendering without a browser is a usage error
// with the install hint; without --render no browser is looked for.
func TestRenderMissingChrome(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { jsHTML(w, "<title>x</title>") }))
	defer srv.Close()
	ctx := testContext(t)
	res := runTrawl(t, ctx, nil, "fetch", "--render", "always", "--chrome", "/nonexistent/chromium", srv.URL+"/")
	if res.code != 2 || !strings.Contains(res.stderr, "apt-get install chromium") {
		t.Errorf("exit %d, stderr %q; want 2 and the apt-get hint", res.code, res.stderr)
	}
	res = runTrawl(t, ctx, nil, "fetch", "-q", "--chrome", "/nonexistent/chromium", srv.URL+"/")
	if res.code != 0 {
		t.Errorf("without --render: exit %d, stderr %q", res.code, res.stderr)
	}
}

// browserProcs lists the processes whose command line holds the
// user-data-dir marker of the trawl process pid.
func browserProcs(pid int) []int {
	marker := fmt.Sprintf("trawl-chrome-%d-", pid)
	return liveProcs(func(p string, _ []string) bool {
		cmdline, err := os.ReadFile(filepath.Join("/proc", p, "cmdline"))
		return err == nil && strings.Contains(string(cmdline), marker)
	})
}

// pollGone waits until no browser process of pid is left, up to d.
// Processes outside the test (reparented away from it) are watched:
// looking at /proc every 100ms is the only way.
func pollGone(pid int, d time.Duration) []int {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		left := browserProcs(pid)
		if len(left) == 0 {
			return left
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return browserProcs(pid)
		}
	}
}

// hangingSite serves a page whose script waits for ever on /hold; hit
// is signalled when the browser asks for /hold (the page is rendering).
func hangingSite(t *testing.T) (*httptest.Server, chan struct{}) {
	hit := make(chan struct{}, 16)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold":
			select {
			case hit <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-done:
			}
		case "/robots.txt":
			http.NotFound(w, r)
		default:
			jsHTML(w, `<html><body><div id="root"></div><script>fetch("/hold"); fetch("/hold?2");</script></body></html>`)
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv, hit
}

func waitHit(t *testing.T, ctx context.Context, hit chan struct{}, p *proc) {
	t.Helper()
	select {
	case <-hit:
	case <-ctx.Done():
		t.Fatalf("the page never asked for /hold; stderr:\n%s", p.stderr)
	}
}

// TestRenderSIGINT: SIGINT (or SIGTERM) while a page renders ends trawl
// with 130 and no browser process left.
func TestRenderSIGINT(t *testing.T) {
	needChromium(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv, hit := hangingSite(t)
			ctx := testContext(t)
			p := startTrawl(t, ctx, nil, "fetch", "--render", "always", "--render-timeout", "60s", "--grace", "1s", srv.URL+"/a")
			waitHit(t, ctx, hit, p)
			if len(browserProcs(p.cmd.Process.Pid)) == 0 {
				t.Fatal("no browser process found while rendering")
			}
			p.signal(sig)
			if code := p.wait(); code != 130 {
				t.Errorf("exit %d, want 130; stderr:\n%s", code, p.stderr)
			}
			if left := browserProcs(p.cmd.Process.Pid); len(left) > 0 {
				t.Errorf("browser processes left after exit: %v", left)
			}
		})
	}
}

// TestRenderKill9: after kill -9 of trawl no browser process survives
// 5 s later, and the next run removes the dead run's profile dir.
func TestRenderKill9(t *testing.T) {
	needChromium(t)
	srv, hit := hangingSite(t)
	ctx := testContext(t)
	p := startTrawl(t, ctx, nil, "fetch", "--render", "always", "--render-timeout", "60s", srv.URL+"/a")
	waitHit(t, ctx, hit, p)
	pid := p.cmd.Process.Pid
	if len(browserProcs(pid)) == 0 {
		t.Fatal("no browser process found while rendering")
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("trawl-chrome-%d-*", pid)))
	if len(dirs) == 0 {
		t.Fatal("no user-data-dir of the run found")
	}
	p.signal(syscall.SIGKILL)
	p.wait()
	if left := pollGone(pid, 5*time.Second); len(left) > 0 {
		t.Fatalf("browser processes alive 5s after kill -9 of trawl: %v", left)
	}
	// The dead run's dir is stale: the next rendering run removes it.
	res := runTrawl(t, ctx, nil, "fetch", "-q", "--render", "always", "--render-wait", "domcontentloaded", srv.URL+"/robots.txt")
	if res.code != 0 {
		t.Fatalf("next run: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("stale user-data-dir %s not removed by the next run", d)
		}
	}
}

// TestRenderBrowserKilledMidRun: the browser killed from outside while
// pages render is restarted, the pages in flight are retried, and the
// run completes with every page rendered.
func TestRenderBrowserKilledMidRun(t *testing.T) {
	needChromium(t)
	var holds atomic.Int32
	hit := make(chan struct{}, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.NotFound(w, r)
		case "/hold":
			if holds.Add(1) == 1 { // the first one waits for the kill
				hit <- struct{}{}
				select {
				case <-r.Context().Done():
				case <-done:
				}
				return
			}
			fmt.Fprint(w, "ok")
		default:
			jsHTML(w, `<html><body><div id="root"></div><script>fetch("/hold").then(function (r) { return r.text(); }).then(function (t) { document.title = "held " + t; });</script></body></html>`)
		}
	}))
	defer srv.Close()
	defer close(done)
	var urls []string
	for i := range 6 {
		urls = append(urls, fmt.Sprintf("%s/p%d", srv.URL, i))
	}
	ctx := testContext(t)
	p := startTrawl(t, ctx, nil, append([]string{"fetch", "-q", "--render", "always", "--render-tabs", "2"}, urls...)...)
	waitHit(t, ctx, hit, p)
	main := 0
	for _, pid := range browserProcs(p.cmd.Process.Pid) {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
			if f[1] == strconv.Itoa(p.cmd.Process.Pid) {
				main = pid
			}
		}
	}
	if main == 0 {
		t.Fatal("the browser's main process was not found")
	}
	syscall.Kill(main, syscall.SIGKILL)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr)
	}
	recs := parseRenderRecords(t, p.stdout.String())
	if len(recs) != len(urls) {
		t.Fatalf("%d records for %d URLs:\n%s", len(recs), len(urls), p.stdout)
	}
	for _, u := range urls {
		if r := recs[u]; r.Error != nil || r.Title != "held ok" {
			t.Errorf("%s: title %q error %+v", u, r.Title, r.Error)
		}
	}
	if left := browserProcs(p.cmd.Process.Pid); len(left) > 0 {
		t.Errorf("browser processes left after exit: %v", left)
	}
}
