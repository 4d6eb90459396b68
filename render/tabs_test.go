package render

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// TestRenderConcurrentTabsAnimate: pages rendered at the same time in
// tabs of one browser each get animation frames and timers as a visible,
// focused page does: none is left hidden behind another tab with its
// requestAnimationFrame never called.
func TestRenderConcurrentTabsAnimate(t *testing.T) {
	const n = 8
	// The /wait of the API servers answers once every page asked for
	// it twice, so that all the tabs are open at once when their frames
	// are requested. Two requests, as one in flight counts as idle; a
	// server per page, as Chromium makes at most 6 connections to a host.
	var arrived atomic.Int32
	all := make(chan struct{})
	opened := make([]chan struct{}, n) // closed at the first request of page i
	var firsts [n]sync.Once
	for i := range opened {
		opened[i] = make(chan struct{})
	}
	wait := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("page"))
		firsts[i].Do(func() { close(opened[i]) })
		if arrived.Add(1) == 2*n {
			close(all)
		}
		select {
		case <-all:
		case <-r.Context().Done():
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprint(w, "go")
	})
	apis := make([]string, n)
	for i := range apis {
		api := httptest.NewServer(wait)
		defer api.Close()
		apis[i] = api.URL
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		htmlPage(`<html><head><title>stale</title></head><body><script>
Promise.all([fetch("`+apis[i%n]+`/wait?k=a&page=`+strconv.Itoa(i%n)+`"), fetch("`+apis[i%n]+`/wait?k=b&page=`+strconv.Itoa(i%n)+`")]).then(function () {
  requestAnimationFrame(function () {
    setTimeout(function () {
      requestAnimationFrame(function () {
        document.title = "frame " + document.visibilityState + " " + document.hasFocus();
      });
    }, 20);
  });
});
</script></body></html>`)(w, r)
	}))
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: n, Timeout: 20 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		resps := make([]*crawler.Response, n)
		for i := range resps {
			resps[i] = fetchPage(ctx, t, f, fmt.Sprintf("%s/%d", srv.URL, i))
		}
		outs := make([]*crawler.Rendered, n)
		err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			// One tab at a time, each opened once the one before is
			// showing its page: the later ones then open beside it, in
			// the same window, as a busy crawl's do.
			for i := range resps {
				tg.StartSoon(func(ctx context.Context) error {
					var err error
					outs[i], err = r.Render(ctx, resps[i])
					return err
				})
				select {
				case <-opened[i]:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, out := range outs {
			mustContain(t, string(out.HTML), "<title>frame visible true</title>")
			if out.TimedOut {
				t.Errorf("page %d timed out", i)
			}
		}
	})
}

// TestRenderKeepsTabs: pages of a site rendered one after another all
// use one tab, each is read from its own document although the page
// before is still busy (one request after another, without end) when
// the next is navigated to, and between pages the tab shows
// about:blank, so that no page runs on once its render returned.
func TestRenderKeepsTabs(t *testing.T) {
	srv := httptest.NewServer(busyPages())
	defer srv.Close()
	for _, wait := range []Wait{{Kind: WaitLoad}, {Kind: WaitIdle}} {
		withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 2, Wait: wait, Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
			for i := range 6 {
				out := renderURL(ctx, t, f, r, fmt.Sprintf("%s/p/%d", srv.URL, i))
				mustContain(t, string(out.HTML), fmt.Sprintf("<title>page %d</title>", i))
				if out.TimedOut {
					t.Errorf("wait %s: page %d timed out", waitName[wait.Kind], i)
				}
				for _, u := range idleTabURLs(ctx, t, r) {
					if u != "about:blank" {
						t.Errorf("wait %s: after page %d, an idle tab shows %s, want about:blank", waitName[wait.Kind], i, u)
					}
				}
			}
			if n, _ := r.tabsOpened(ctx); n != 1 {
				t.Errorf("wait %s: %d tabs opened for 6 pages one after another, want 1", waitName[wait.Kind], n)
			}
		})
	}
}

var waitName = map[WaitKind]string{WaitLoad: "load", WaitIdle: "idle"}

// idleTabURLs is the location of each idle tab of r's browser.
func idleTabURLs(ctx context.Context, t *testing.T, r *Renderer) []string {
	t.Helper()
	b := currentBrowser(ctx, r)
	b.mu.Lock()
	var tabs []*tab
	for _, list := range b.idle {
		tabs = append(tabs, list...)
	}
	b.mu.Unlock()
	var urls []string
	for _, tb := range tabs {
		var u string
		err := call(tb.ctx, func(ctx context.Context) error {
			res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: "location.href", ReturnByValue: ptr(true)})
			if err != nil {
				return err
			}
			return json.Unmarshal(res.Result.Value, &u)
		})
		if err != nil {
			t.Fatalf("read an idle tab's location: %v", err)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		t.Error("no tab kept")
	}
	return urls
}

// busyPages serves /p/N: a page titled "page N" whose script fetches one
// request after another, without end.
func busyPages() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/tick", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "tick") })
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		i := strings.TrimPrefix(r.URL.Path, "/p/")
		htmlPage(`<html><head><title>stale</title></head><body><script>
document.title = "page `+i+`";
(function tick() { fetch("/tick?p=`+i+`").then(function (r) { return r.text(); }).then(function () { setTimeout(tick, 10); }); })();
addEventListener("pagehide", function () { document.title = "hidden `+i+`"; });
</script></body></html>`)(w, r)
	})
	return mux
}

// TestRenderTabPageToPage: while more pages of the site wait for a tab,
// a tab goes from one page straight to the next, without about:blank
// between; each page is still read from its own document, though the
// one before was busy when it was navigated to; and once no page waits,
// the idle tabs are at about:blank.
func TestRenderTabPageToPage(t *testing.T) {
	srv := httptest.NewServer(busyPages())
	defer srv.Close()
	const n = 12
	for _, wait := range []Wait{{Kind: WaitLoad}, {Kind: WaitIdle}} {
		withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 2, Wait: wait, Timeout: 10 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
			resps := make([]*crawler.Response, n)
			for i := range resps {
				resps[i] = fetchPage(ctx, t, f, fmt.Sprintf("%s/p/%d", srv.URL, i))
			}
			outs := make([]*crawler.Rendered, n)
			err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
				for i := range resps {
					tg.StartSoon(func(ctx context.Context) error {
						var err error
						outs[i], err = r.Render(ctx, resps[i])
						return err
					})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, out := range outs {
				mustContain(t, string(out.HTML), fmt.Sprintf("<title>page %d</title>", i))
				if out.TimedOut {
					t.Errorf("wait %s: page %d timed out", waitName[wait.Kind], i)
				}
			}
			for _, u := range idleTabURLs(ctx, t, r) {
				if u != "about:blank" {
					t.Errorf("wait %s: at the end, an idle tab shows %s, want about:blank", waitName[wait.Kind], u)
				}
			}
			opened, blanks := r.tabsOpened(ctx)
			if opened > 4 {
				t.Errorf("wait %s: %d tabs opened for %d pages in 2 tabs, want at most 4", waitName[wait.Kind], opened, n)
			}
			if blanks >= n/2 {
				t.Errorf("wait %s: %d blanks between %d pages that waited for 2 tabs, want fewer than %d", waitName[wait.Kind], blanks, n, n/2)
			}
		})
	}
}

// TestRenderTabDomainsOff: a kept tab's pages send trawl no events of
// the domains chromedp enables and trawl does not use (DOM, CSS,
// Runtime, Log, Target), though they have style sheets, scripts,
// console messages and frames; the Page and Network events the wait
// needs still come, and the document is still read.
func TestRenderTabDomainsOff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := strings.TrimPrefix(r.URL.Path, "/p/")
		htmlPage(`<html><head><title>stale</title><style>p { color: red }</style></head><body><p>text</p>
<iframe srcdoc="<p>frame</p>"></iframe><script>
console.log("page", `+strconv.Quote(i)+`); document.title = "page `+i+`";
</script></body></html>`)(w, r)
	}))
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 1, Wait: Wait{Kind: WaitLoad}, Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		renderURL(ctx, t, f, r, srv.URL+"/p/0") // opens the tab
		b := currentBrowser(ctx, r)
		b.mu.Lock()
		var tb *tab
		for _, list := range b.idle {
			tb = list[0]
		}
		b.mu.Unlock()
		if tb == nil {
			t.Fatal("no tab kept")
		}
		var mu sync.Mutex
		byDomain := map[string]int{}
		lctx, stop := context.WithCancel(tb.ctx)
		defer stop()
		err := chromedp.Listen(lctx, func(ev any) {
			domain, _, _ := strings.Cut(strings.TrimPrefix(fmt.Sprintf("%T", ev), "*"), ".")
			mu.Lock()
			byDomain[domain]++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			out := renderURL(ctx, t, f, r, fmt.Sprintf("%s/p/%d", srv.URL, i))
			mustContain(t, string(out.HTML), fmt.Sprintf("<title>page %d</title>", i))
		}
		stop()
		mu.Lock()
		defer mu.Unlock()
		for _, d := range []string{"dom", "css", "runtime", "log", "target"} {
			if byDomain[d] > 0 {
				t.Errorf("%d events of the domain %s for 3 pages, want none (all: %v)", byDomain[d], d, byDomain)
			}
		}
		for _, d := range []string{"page", "network"} {
			if byDomain[d] == 0 {
				t.Errorf("no event of the domain %s for 3 pages (all: %v)", d, byDomain)
			}
		}
	})
}

// TestRenderSpareTab: the tab that follows a tab worn out by its pages
// (tabPages) is opened while that tab renders its last pages, not by
// the page after them: tabPages+1 pages one after another in one tab
// open 2 tabs, the second ahead, and every page is rendered.
func TestRenderSpareTab(t *testing.T) {
	srv := httptest.NewServer(busyPages())
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 1, Wait: Wait{Kind: WaitLoad}, Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		for i := range tabPages + 1 {
			out := renderURL(ctx, t, f, r, fmt.Sprintf("%s/p/%d", srv.URL, i))
			mustContain(t, string(out.HTML), fmt.Sprintf("<title>page %d</title>", i))
		}
		b := currentBrowser(ctx, r)
		b.mu.Lock()
		opened, spared := b.opened, b.spared
		b.mu.Unlock()
		if opened != 2 || spared != 1 {
			t.Errorf("%d pages in 1 tab: %d tabs opened, %d of them ahead, want 2 and 1", tabPages+1, opened, spared)
		}
	})
}

// TestRenderSpareTabLimit: the tabs of several pages of a site reach
// their last pages together; at most one spare opens ahead for them, so
// the browser never has more than one tab past --render-tabs open (each
// opened its own spare before: 6 tabs with --render-tabs 3).
func TestRenderSpareTabLimit(t *testing.T) {
	srv := httptest.NewServer(busyPages())
	defer srv.Close()
	const tabs = 3
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: tabs, Wait: Wait{Kind: WaitLoad}, Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			for g := range tabs {
				tg.StartSoon(func(ctx context.Context) error {
					for i := range tabPages + 2 {
						renderURL(ctx, t, f, r, fmt.Sprintf("%s/p/%d-%d", srv.URL, g, i))
					}
					return nil
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b := currentBrowser(ctx, r)
		b.mu.Lock()
		peak, spared := b.peakOpen, b.spared
		b.mu.Unlock()
		if peak > tabs+1 {
			t.Errorf("%d tabs open at once with --render-tabs %d (%d spares), want at most %d", peak, tabs, spared, tabs+1)
		}
		if spared == 0 {
			t.Errorf("no spare tab opened for %d streams of %d pages", tabs, tabPages+2)
		}
	})
}

// TestRenderDirtyTabClosed: a tab left on its page because a page of its
// site was waiting, which then went away without taking it (cancelled),
// is closed after dirtyGrace instead of keeping its page running, and
// polling the site, until the site's next page.
func TestRenderDirtyTabClosed(t *testing.T) {
	var ticks atomic.Int64
	pages := busyPages()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/tick" {
			ticks.Add(1)
		}
		pages.ServeHTTP(w, req)
	}))
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 2, Wait: Wait{Kind: WaitLoad}, Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		site := siteOf(srv.URL + "/p/0")
		r.addWaiting(site, 1) // a page of the site waits: the tab stays on its page
		renderURL(ctx, t, f, r, srv.URL+"/p/0")
		r.addWaiting(site, -1) // and goes away without taking it
		b := currentBrowser(ctx, r)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.Now().Add(dirtyGrace + 10*time.Second)
		for {
			b.mu.Lock()
			swept, open, idle := b.swept, b.open, len(b.idle[site])
			b.mu.Unlock()
			if swept == 1 {
				if open != 0 || idle != 0 {
					t.Errorf("after the sweep: %d tabs open, %d idle, want none", open, idle)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the tab left on its page was not closed within %v (%d ticks from its page)", dirtyGrace+10*time.Second, ticks.Load())
			}
			<-tick.C
		}
		if ticks.Load() == 0 {
			t.Error("the page never polled: the test did not keep a page running")
		}
	})
}

// TestRenderDialogOnIdleTab: a dialog that the page of a tab left on its
// page (see renderOn) opens after its render returned, while no page
// renders in the tab, is answered at once, not at the tab's next
// navigation or close: the page's script goes on (it was blocked in
// alert() until then), and the next page of the site renders in that
// tab.
func TestRenderDialogOnIdleTab(t *testing.T) {
	trigger := make(chan struct{})
	before, after := make(chan struct{}), make(chan string, 1)
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/trigger", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-trigger:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "go")
	})
	mux.HandleFunc("/before", func(w http.ResponseWriter, r *http.Request) { once.Do(func() { close(before) }) })
	mux.HandleFunc("/after", func(w http.ResponseWriter, r *http.Request) {
		select {
		case after <- r.URL.Query().Get("confirmed"):
		default:
		}
	})
	// The page's script waits for the test's word, then calls alert()
	// and confirm(), telling the server before and after (synchronous
	// requests: the script is blocked while a dialog is open).
	mux.Handle("/p/", htmlPage(`<html><head><title>stale</title></head><body><script>
document.title = "page " + location.pathname.slice(3);
if (location.pathname == "/p/0") fetch("/trigger").then(function () {
  var x = new XMLHttpRequest(); x.open("GET", "/before", false); x.send();
  alert("late"); var ok = confirm("sure?");
  x = new XMLHttpRequest(); x.open("GET", "/after?confirmed=" + ok, false); x.send();
});
</script></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 2, Wait: Wait{Kind: WaitLoad}, Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		site := siteOf(srv.URL + "/p/0")
		r.addWaiting(site, 1) // a page of the site waits: the tab stays on its page
		renderURL(ctx, t, f, r, srv.URL+"/p/0")
		r.addWaiting(site, -1)
		b := currentBrowser(ctx, r)
		if n := b.idleOf(site); n != 1 {
			t.Fatalf("%d idle tabs after the page, want 1", n)
		}
		close(trigger) // the page, idle in its tab, opens its dialogs
		select {
		case <-before:
		case <-time.After(dirtyGrace):
			t.Fatalf("the page did not reach its dialogs within %v", dirtyGrace)
		}
		// Answered within a round trip, well before the tab is closed
		// for want of a page (dirtyGrace after it was put back).
		bound := dirtyGrace / 2
		select {
		case confirmed := <-after:
			if confirmed != "true" {
				t.Errorf("confirm() returned %s, want true (accepted)", confirmed)
			}
		case <-time.After(bound):
			t.Fatalf("the dialogs of the page of an idle tab were not answered within %v", bound)
		}
		b.mu.Lock()
		swept := b.swept
		b.mu.Unlock()
		if swept != 0 {
			t.Fatal("the tab was closed before its dialogs were answered: the test needs it open")
		}
		out := renderURL(ctx, t, f, r, srv.URL+"/p/1")
		mustContain(t, string(out.HTML), "<title>page 1</title>")
		if out.TimedOut {
			t.Error("the next page timed out")
		}
		if n, _ := r.tabsOpened(ctx); n != 1 {
			t.Errorf("%d tabs opened, want 1: the next page renders in the tab whose dialogs were answered", n)
		}
	})
}

// TestRenderSpareOrFreedTab: a page that waits for the tab opening for
// its site (a spare, see openSpare) takes a tab of its site that another
// page puts back first, rather than wait on for the spare; the spare,
// once open, is kept for the site's next page, which takes it, and no
// tab is left open that trawl does not count.
func TestRenderSpareOrFreedTab(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	pages := busyPages()
	mux := http.NewServeMux()
	mux.Handle("/p/", pages)
	mux.Handle("/tick", pages)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "slow")
	})
	// Its load waits for the frame, which waits for the test's word.
	mux.Handle("/hold", htmlPage(`<html><head><title>hold</title></head><body><iframe src="/slow"></iframe></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	const tabs = 2
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: tabs, Wait: Wait{Kind: WaitLoad}, Timeout: time.Minute}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		site := siteOf(srv.URL + "/")
		renderURL(ctx, t, f, r, srv.URL+"/p/0") // opens the site's first tab
		b := currentBrowser(ctx, r)
		b.mu.Lock()
		bctx := b.sites[site].id
		b.mu.Unlock()
		hold, next := fetchPage(ctx, t, f, srv.URL+"/hold"), fetchPage(ctx, t, f, srv.URL+"/p/1")
		var spare *spareTab
		err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error { // takes the site's tab until release
				out, err := r.Render(ctx, hold)
				if err == nil {
					mustContain(t, string(out.HTML), "<title>hold</title>")
				}
				return err
			})
			if err := waitClosed(ctx, entered, 30*time.Second, "the held page did not start"); err != nil {
				return err
			}
			// The spare is opened below, when the test says, not in the
			// background: it is on its way until then.
			if spare = b.reserveSpare(site, tabs); spare == nil {
				return fmt.Errorf("no room for a spare")
			}
			got := make(chan *crawler.Rendered, 1)
			tg.StartSoon(func(ctx context.Context) error {
				out, err := r.Render(ctx, next)
				got <- out
				return err
			})
			err := waitFor(ctx, 30*time.Second, func() bool {
				b.mu.Lock()
				defer b.mu.Unlock()
				return spare.waiting == 1
			})
			if err != nil {
				return fmt.Errorf("the next page does not wait for the spare: %w", err)
			}
			close(release) // the held page ends and puts back its tab
			select {
			case out := <-got:
				if out != nil {
					mustContain(t, string(out.HTML), "<title>page 1</title>")
				}
				return nil
			case <-time.After(30 * time.Second):
				t.Error("the page waiting for the spare did not take the tab put back meanwhile within 30s")
				r.fillSpare(ctx, b, site, bctx, spare) // lets it end
				return nil
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
		b.mu.Lock()
		opened, waiting, pending := b.opened, spare.waiting, b.spares[site] == spare
		b.mu.Unlock()
		if opened != 2 || waiting != 0 || !pending {
			t.Fatalf("before the spare opens: %d tabs opened (the site's and the spare), %d pages wait for the spare, the spare pending %v; want 2, 0, true", opened, waiting, pending)
		}
		r.fillSpare(ctx, b, site, bctx, spare) // it arrives late: kept for the next page
		checkTabs(ctx, t, b, bctx, tabs, "after the spare opened")
		if n := b.idleOf(site); n != 2 {
			t.Errorf("%d idle tabs of the site after the spare opened, want 2 (the one put back and the spare)", n)
		}
		out := renderURL(ctx, t, f, r, srv.URL+"/p/2")
		mustContain(t, string(out.HTML), "<title>page 2</title>")
		checkTabs(ctx, t, b, bctx, tabs, "after the next page")
		b.mu.Lock()
		opened = b.opened
		b.mu.Unlock()
		if opened != 2 {
			t.Errorf("%d tabs opened, want 2: the next page takes an idle tab", opened)
		}
	})
}

// checkTabs fails t unless every tab of the browser context bctx that
// the browser has open is one b counts, with no spare on the way and at
// most limit+1 tabs ever open at once.
func checkTabs(ctx context.Context, t *testing.T, b *browserConn, bctx cdp.BrowserContextID, limit int, when string) {
	t.Helper()
	var infos []*target.Info
	err := call(b.ctx, func(ctx context.Context) error {
		res, err := chromedp.CallBrowser(ctx, target.GetTargets, target.GetTargetsParams{})
		infos = res.TargetInfos
		return err
	})
	if err != nil {
		t.Fatalf("%s: list the browser's targets: %v", when, err)
	}
	inContext := 0
	for _, info := range infos {
		if info.Type == "page" && info.BrowserContextID == bctx {
			inContext++
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if inContext != b.open || len(b.spares) != 0 || b.peakOpen > limit+1 {
		t.Errorf("%s: the browser has %d tabs of the site open, trawl counts %d, %d spares on the way, at most %d open at once; want as many, none, at most %d",
			when, inContext, b.open, len(b.spares), b.peakOpen, limit+1)
	}
}

// waitClosed waits until ch is closed, for at most d.
func waitClosed(ctx context.Context, ch <-chan struct{}, d time.Duration, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return fmt.Errorf("%s within %v", what, d)
	}
}

// waitFor waits until cond holds, looking every few milliseconds, for
// at most d.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("not within %v", d)
		}
	}
	return nil
}

// TestRenderDirtyTabLooping: a tab left on its page for the next page of
// its site (see renderOn) whose page then loops — a busy loop, or alert()
// after alert() — is taken by that next page, which renders at once: in
// that tab, its script stopped, or in a new one when the old page still
// holds it (errStuckTab). The navigation waited for the loop to unload
// the page (24 s measured), and the busy loop then failed the innocent
// page.
func TestRenderDirtyTabLooping(t *testing.T) {
	for _, tc := range []struct {
		name string
		loop string
		tabs int // each left on a looping page
	}{
		{"busy", `for(;;){}`, 1},
		{"alert", `for(;;){alert(1);}`, 1},
		{"alert in two tabs", `for(;;){alert(1);}`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, looping := make(chan struct{}), make(chan struct{}, tc.tabs)
			var startOnce sync.Once
			defer startOnce.Do(func() { close(start) })
			mux := http.NewServeMux()
			mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-start:
				case <-r.Context().Done():
				}
			})
			mux.HandleFunc("/looping", func(w http.ResponseWriter, r *http.Request) { looping <- struct{}{} })
			mux.Handle("/q", htmlPage(`<html><head><title>q</title></head><body>q</body></html>`))
			// The loop starts once the test says so (/start answers), after
			// the pages' render: a loop during it would be that page's own.
			mux.Handle("/p/", htmlPage(`<html><head><title>p</title></head><body><script>
window.addEventListener("load", function(){ fetch("/start").then(function(){
var x = new XMLHttpRequest(); x.open("GET", "/looping", false); x.send();
`+tc.loop+`}); });
</script></body></html>`))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: tc.tabs, Wait: Wait{Kind: WaitLoad}, Timeout: 3 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
				site := siteOf(srv.URL + "/p/0")
				r.addWaiting(site, tc.tabs+3) // the tabs stay on their page for the next
				err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
					for i := range tc.tabs {
						tg.StartSoon(func(ctx context.Context) error {
							renderURL(ctx, t, f, r, fmt.Sprintf("%s/p/%d", srv.URL, i))
							return nil
						})
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				r.addWaiting(site, -(tc.tabs + 3))
				startOnce.Do(func() { close(start) })
				for range tc.tabs {
					select {
					case <-looping:
					case <-ctx.Done():
						t.Fatal("a page never started its loop")
					}
				}
				resp := fetchPage(ctx, t, f, srv.URL+"/q")
				qctx, cancel := context.WithTimeout(ctx, 8*time.Second) // it took 24 s
				defer cancel()
				out, err := r.Render(qctx, resp)
				if err != nil {
					t.Fatalf("the next page in the tab of a looping page: %v", err)
				}
				if !strings.Contains(string(out.HTML), "<title>q</title>") || out.TimedOut {
					t.Errorf("the next page: timed out %v, HTML %.200q", out.TimedOut, out.HTML)
				}
				opened, _ := r.tabsOpened(ctx)
				t.Logf("next page in %v, %d tabs opened", out.Elapsed, opened)
				if opened > tc.tabs+1 {
					t.Errorf("%d tabs opened, want at most %d: the tabs left on their page, then one in their stead", opened, tc.tabs+1)
				}
			})
		})
	}
}

// TestRenderDirtyTabNextScripts: the scripts of a page that takes a tab
// left on the page before run: the stop of the page before's scripts
// (Runtime.terminateExecution: "the current or next execution") does not
// carry over to it.
func TestRenderDirtyTabNextScripts(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/q", htmlPage(`<html><head><title>q</title></head><body><script>document.title="q-js"</script></body></html>`))
	mux.Handle("/p", htmlPage(`<html><head><title>p</title></head><body>p</body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, PerHost: -1}, Config{Tabs: 1, Wait: Wait{Kind: WaitLoad}, Timeout: 3 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		site := siteOf(srv.URL + "/p")
		r.addWaiting(site, 1)
		renderURL(ctx, t, f, r, srv.URL+"/p")
		r.addWaiting(site, -1)
		out := renderURL(ctx, t, f, r, srv.URL+"/q")
		if !strings.Contains(string(out.HTML), "q-js") {
			t.Errorf("script of the next page did not run: %.300q", out.HTML)
		}
	})
}

// currentBrowser returns r's browser now.
func currentBrowser(ctx context.Context, r *Renderer) *browserConn {
	r.mu.Lock(ctx)
	defer r.mu.Unlock()
	return r.cur
}
