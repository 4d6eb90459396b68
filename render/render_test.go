package render

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// withRenderer runs fn with a Renderer on a fetcher of fcfg.
func withRenderer(t *testing.T, fcfg crawler.Config, cfg Config, fn func(ctx context.Context, f *crawler.Fetcher, r *Renderer)) {
	t.Helper()
	needChrome(t)
	f, err := crawler.NewFetcher(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg.Fetcher = f
	if cfg.Mode == Never {
		cfg.Mode = Always
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = Run(ctx, cfg, func(ctx context.Context, r *Renderer) error {
		fn(ctx, f, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fetchPage fetches u with f.
func fetchPage(ctx context.Context, t *testing.T, f *crawler.Fetcher, u string) *crawler.Response {
	t.Helper()
	resp, err := f.Fetch(ctx, u)
	if err != nil {
		t.Fatalf("fetch %s: %v", u, err)
	}
	return resp
}

// renderURL fetches u with f and renders it with r.
func renderURL(ctx context.Context, t *testing.T, f *crawler.Fetcher, r *Renderer, u string) *crawler.Rendered {
	t.Helper()
	out, err := r.Render(ctx, fetchPage(ctx, t, f, u))
	if err != nil {
		t.Fatalf("render %s: %v", u, err)
	}
	return out
}

func htmlPage(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

// hang answers with headers and a first byte, then holds the response
// open until the request or the test ends.
func hang(done <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, ": open\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// mustContain fails t unless html holds every one of want.
func mustContain(t *testing.T, html string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(html, w) {
			t.Errorf("rendered document lacks %q:\n%s", w, html)
		}
	}
}

// TestRenderSites renders the pages of one site, each a case of the
// issue, in one browser.
func TestRenderSites(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	var popups, disallowed atomic.Int32
	api := http.NewServeMux()
	api.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"title":"From the API","text":"cross-origin text"}`)
	})
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()

	mux := http.NewServeMux()
	mux.Handle("/robots.txt", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	}))
	mux.Handle("/injected", htmlPage(`<!doctype html><html><head><title>shell</title></head><body><div id="root"></div>
<script>
document.title = "Injected title";
var a = document.createElement("a"); a.href = "/next"; a.textContent = "next";
document.getElementById("root").appendChild(a);
var p = document.createElement("p"); p.textContent = "injected text"; document.body.appendChild(p);
</script></body></html>`))
	mux.Handle("/xhr", htmlPage(`<html><head><title>loading</title></head><body><div id="app"></div><script>
var x = new XMLHttpRequest();
x.open("GET", "`+apiSrv.URL+`/data");
x.onload = function () { var d = JSON.parse(x.responseText); document.title = d.title;
  document.getElementById("app").textContent = d.text; };
x.send();
</script></body></html>`))
	mux.Handle("/events", hang(done))
	mux.Handle("/eventsource", htmlPage(`<html><head><title>es</title></head><body><script>
var es = new EventSource("/events");
setTimeout(function () { document.title = "after eventsource"; }, 50);
</script></body></html>`))
	mux.HandleFunc("/tick", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.Handle("/xhrloop", htmlPage(`<html><head><title>loop</title></head><body><script>
var n = 0;
function again() { fetch("/tick").then(function () { n++; document.title = "loop " + (n > 3 ? "many" : n); again(); }); }
again();
</script></body></html>`))
	mux.Handle("/hang", hang(done))
	mux.Handle("/neverload", htmlPage(`<html><head><title>never load</title></head><body><p>static</p>
<iframe src="/hang"></iframe><script>document.title = "dom ready";</script></body></html>`))
	mux.HandleFunc("/popup", func(w http.ResponseWriter, r *http.Request) { popups.Add(1); fmt.Fprint(w, "popup") })
	mux.Handle("/dialogs", htmlPage(`<html><head><title>d</title></head><body><script>
alert("hello"); confirm("sure?"); prompt("name?");
window.open("/popup");
document.title = "after dialogs";
</script></body></html>`))
	mux.HandleFunc("/private/data", func(w http.ResponseWriter, r *http.Request) { disallowed.Add(1); fmt.Fprint(w, "secret") })
	mux.Handle("/robotsxhr", htmlPage(`<html><head><title>r</title></head><body><script>
fetch("/private/data").then(function (r) { document.title = "status " + r.status; },
  function () { document.title = "refused"; });
</script></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	withRenderer(t, crawler.Config{}, Config{Timeout: 5 * time.Second}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		t.Run("injected", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/injected")
			mustContain(t, string(out.HTML), "<title>Injected title</title>", `<a href="/next">next</a>`, "injected text", "<!DOCTYPE html>")
			if out.TimedOut {
				t.Error("timed out")
			}
		})
		t.Run("xhr from another host", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/xhr")
			mustContain(t, string(out.HTML), "<title>From the API</title>", "cross-origin text")
		})
		t.Run("eventsource never closes", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/eventsource")
			mustContain(t, string(out.HTML), "<title>after eventsource</title>")
			if out.TimedOut {
				t.Errorf("an open EventSource kept the page from idle (%v)", out.Elapsed)
			}
		})
		t.Run("endless xhr loop", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/xhrloop")
			mustContain(t, string(out.HTML), "<title>loop many</title>")
			// Idle or capped: either way well before the loop ends (never).
			// The slack is for the tab's setup and the read of the
			// document on a loaded machine.
			if out.Elapsed > 5*time.Second+cdpTimeout {
				t.Errorf("took %v, past the 5s cap and the read of the document", out.Elapsed)
			}
		})
		t.Run("load never fires", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/neverload")
			mustContain(t, string(out.HTML), "<title>dom ready</title>")
			if out.TimedOut {
				t.Errorf("idle not reached with one request hanging (%v)", out.Elapsed)
			}
		})
		t.Run("dialogs and popups", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/dialogs")
			mustContain(t, string(out.HTML), "<title>after dialogs</title>")
			if n := popups.Load(); n != 0 {
				t.Errorf("window.open loaded the popup %d times", n)
			}
		})
		t.Run("robots disallows an xhr", func(t *testing.T) {
			out := renderURL(ctx, t, f, r, srv.URL+"/robotsxhr")
			mustContain(t, string(out.HTML), "<title>status 403</title>")
			if n := disallowed.Load(); n != 0 {
				t.Errorf("the disallowed path was fetched %d times", n)
			}
		})
	})
}

// TestRenderWaitLoadCapped: under --render-wait load a page whose load
// event never fires is taken as it is when the cap passes, not failed.
func TestRenderWaitLoadCapped(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	mux := http.NewServeMux()
	mux.Handle("/hang", hang(done))
	mux.Handle("/", htmlPage(`<html><head><title>t</title></head><body><iframe src="/hang"></iframe><script>document.title = "as it is";</script></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := Config{Wait: Wait{Kind: WaitLoad}, Timeout: 1500 * time.Millisecond}
	withRenderer(t, crawler.Config{IgnoreRobots: true}, cfg, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		out := renderURL(ctx, t, f, r, srv.URL+"/")
		if !out.TimedOut {
			t.Error("render_timeout not set")
		}
		mustContain(t, string(out.HTML), "<title>as it is</title>")
	})
}

// TestRenderDenyPrivate: a script asking for a loopback address under
// DenyPrivate never reaches it: the proxy refuses, loopback included.
func TestRenderDenyPrivate(t *testing.T) {
	var hits atomic.Int32
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprint(w, "secret")
	}))
	defer secret.Close()
	site := httptest.NewServer(htmlPage(`<html><head><title>t</title></head><body><script>
fetch("` + secret.URL + `/secret").then(function (r) { return r.text(); }).then(
  function (t) { document.title = "got " + t; }, function () { document.title = "refused"; });
var img = new Image(); img.src = "` + secret.URL + `/pixel";
</script></body></html>`))
	defer site.Close()
	// The page itself comes from a fetcher that may reach loopback: the
	// renderer's, the one under test, may not.
	open, err := crawler.NewFetcher(crawler.Config{IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true, DenyPrivate: true}, Config{Block: []string{}}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		out, err := r.Render(ctx, fetchPage(ctx, t, open, site.URL+"/"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out.HTML), "got secret") {
			t.Errorf("the page read the secret:\n%s", out.HTML)
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests", n)
	}
}

// TestRenderBrowserKilled: a browser killed from outside while a page
// renders is replaced, and the page is rendered again on the new one.
func TestRenderBrowserKilled(t *testing.T) {
	var calls atomic.Int32
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprint(w, "done")
	})
	mux.Handle("/", htmlPage(`<html><head><title>t</title></head><body><script>
fetch("/slow").then(function (r) { return r.text(); }).then(function (t) { document.title = "slow " + t; });
</script></body></html>`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)
	withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		resp := fetchPage(ctx, t, f, srv.URL+"/")
		var out *crawler.Rendered
		err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error { // the outside world, killing the browser
				select {
				case <-entered:
				case <-ctx.Done():
					return nil
				}
				if err := r.mu.Lock(ctx); err != nil {
					return err
				}
				pid := r.cur.proc.pid
				r.mu.Unlock()
				return syscall.Kill(pid, syscall.SIGKILL)
			})
			var err error
			out, err = r.Render(ctx, resp)
			return err
		})
		if err != nil {
			t.Fatalf("render after a crash: %v", err)
		}
		mustContain(t, string(out.HTML), "<title>slow done</title>")
		if n := r.Launches(); n != 2 {
			t.Errorf("%d browsers started, want 2", n)
		}
	})
}

// TestRenderRecycle: the browser is replaced after Recycle pages, and
// the old one is gone.
func TestRenderRecycle(t *testing.T) {
	srv := httptest.NewServer(htmlPage(`<html><head><title>x</title></head><body><script>document.title="y"</script></body></html>`))
	defer srv.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{Recycle: 2, Wait: Wait{Kind: WaitLoad}}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		var pids []int
		for i := range 5 {
			renderURL(ctx, t, f, r, fmt.Sprintf("%s/%d", srv.URL, i))
			r.mu.Lock(ctx)
			if r.cur != nil {
				pids = append(pids, r.cur.proc.pid)
			}
			r.mu.Unlock()
		}
		if n := r.Launches(); n != 3 {
			t.Errorf("%d browsers for 5 pages recycled every 2, want 3", n)
		}
		for _, pid := range pids[:1] {
			if syscall.Kill(pid, 0) == nil {
				if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(st), ") Z") {
					t.Errorf("recycled browser %d still runs", pid)
				}
			}
		}
	})
}

// TestRenderScreenshot: --screenshot saves a 1280x800 PNG.
func TestRenderScreenshot(t *testing.T) {
	srv := httptest.NewServer(htmlPage(`<html><body style="height:3000px"><h1>shot</h1></body></html>`))
	defer srv.Close()
	dir := t.TempDir()
	for _, full := range []bool{false, true} {
		withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{ScreenshotDir: dir, FullPage: full, Wait: Wait{Kind: WaitLoad}}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
			out := renderURL(ctx, t, f, r, srv.URL+"/")
			fh, err := os.Open(out.Screenshot)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			img, err := png.DecodeConfig(fh)
			if err != nil {
				t.Fatal(err)
			}
			wantH := 800
			if full {
				wantH = 3000
			}
			if img.Width != 1280 || img.Height < wantH || (!full && img.Height != 800) {
				t.Errorf("full=%v: screenshot %dx%d, want 1280x%d", full, img.Width, img.Height, wantH)
			}
		})
	}
}

// TestRenderHTTPS: an https page's script, stylesheet and XHR go through
// the proxy's TLS end and are fetched by trawl, which checks the real
// server's certificate.
func TestRenderHTTPS(t *testing.T) {
	var dataHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `fetch("/data").then(function (r) { return r.text(); }).then(function (t) { document.title = t; });`)
	})
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) { dataHits.Add(1); fmt.Fprint(w, "over tls") })
	mux.Handle("/", htmlPage(`<html><head><title>tls</title></head><body><div id="root"></div><script src="/app.js"></script></body></html>`))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusting fetcher's failed handshakes
	srv.StartTLS()
	defer srv.Close()
	fcfg := crawler.Config{IgnoreRobots: true, Transport: srv.Client().Transport}
	withRenderer(t, fcfg, Config{}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		out := renderURL(ctx, t, f, r, srv.URL+"/")
		mustContain(t, string(out.HTML), "<title>over tls</title>")
	})
	if dataHits.Load() != 1 {
		t.Errorf("/data fetched %d times, want 1", dataHits.Load())
	}
	// A fetcher that does not trust the server's certificate gets
	// nothing for the page's scripts.
	dataHits.Store(0)
	trusting, _ := crawler.NewFetcher(fcfg)
	defer trusting.Close()
	withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
		out, err := r.Render(ctx, fetchPage(ctx, t, trusting, srv.URL+"/"))
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, string(out.HTML), "<title>tls</title>")
	})
	if dataHits.Load() != 0 {
		t.Errorf("/data fetched %d times through an untrusted certificate", dataHits.Load())
	}
}

// TestRunPanicKillsBrowser: a panic in Run's body still kills the
// browser before it reaches the caller.
func TestRunPanicKillsBrowser(t *testing.T) {
	srv := httptest.NewServer(htmlPage(`<html><head><title>x</title></head><body></body></html>`))
	defer srv.Close()
	pid := 0
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("the panic did not reach Run's caller")
			}
		}()
		withRenderer(t, crawler.Config{IgnoreRobots: true}, Config{Wait: Wait{Kind: WaitLoad}}, func(ctx context.Context, f *crawler.Fetcher, r *Renderer) {
			renderURL(ctx, t, f, r, srv.URL+"/")
			r.mu.Lock(ctx)
			pid = r.cur.proc.pid
			r.mu.Unlock()
			panic("boom")
		})
	}()
	if pid == 0 {
		t.Fatal("no browser started")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("browser %d still exists after the panic", pid)
	}
}
