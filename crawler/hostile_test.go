package crawler

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/trawl-dev/trawl/ratelimit"
	"github.com/trawl-dev/trawl/structured"
)

// These tests run against real loopback servers, outside synctest
// bubbles, with short timeouts. Each names one hostile behaviour.

// newTestFetcher returns a fetcher that ignores robots.txt unless cfg says
// otherwise, with quick retries, closed at the end of the test.
func newTestFetcher(t testing.TB, cfg Config) *Fetcher {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Backoff.Base == 0 {
		cfg.Backoff.Base, cfg.Backoff.Max = time.Millisecond, 5*time.Millisecond
	}
	f, err := NewFetcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// serve starts a loopback server for h, closed at the end of the test.
func serve(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// wantKind fails the test unless err is an *Error of kind want.
func wantKind(t *testing.T, err error, want Kind) {
	t.Helper()
	if KindOf(err) != want {
		t.Fatalf("got error %v (kind %q), want kind %q", err, KindOf(err), want)
	}
}

func TestHostileSlowHeaders(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	f := newTestFetcher(t, Config{Timeout: 200 * time.Millisecond, IgnoreRobots: true, Retries: -1})
	start := time.Now()
	_, err := f.Fetch(t.Context(), srv.URL)
	wantKind(t, err, KindTimeout)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed out after %v, want about 200ms", d)
	}
}

func TestHostileSlowlorisBody(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		for range 1000 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	f := newTestFetcher(t, Config{Timeout: 300 * time.Millisecond, IgnoreRobots: true, Retries: -1})
	start := time.Now()
	_, err := f.Fetch(t.Context(), srv.URL)
	wantKind(t, err, KindTimeout)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a dribbling body held the fetch %v; the deadline must cover the body", d)
	}
}

// allocDuring returns the bytes allocated by the whole process while fn
// runs: an upper bound on what fn cost.
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileInfiniteBody(t *testing.T) {
	chunk := bytes.Repeat([]byte("<p>more</p>"), 4096)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	const limit = 1 << 20
	f := newTestFetcher(t, Config{MaxBody: limit, IgnoreRobots: true, Retries: -1})
	var err error
	alloc := allocDuring(func() { _, err = f.Fetch(t.Context(), srv.URL) })
	wantKind(t, err, KindTooLarge)
	if alloc > 4*limit {
		t.Fatalf("an endless body cost %d bytes, want at most about the %d limit", alloc, limit)
	}
}

// gzipBomb is about 256 KiB that inflate to 256 MiB: one gzip member of
// 1 MiB of zeros, repeated (a gzip stream may hold many members).
var gzipBomb = sync.OnceValue(func() []byte {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(member.Bytes(), 256)
})

func TestHostileGzipBomb(t *testing.T) {
	bomb := gzipBomb()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		w.Write(bomb)
	})
	const limit = 1 << 20
	f := newTestFetcher(t, Config{MaxBody: limit, IgnoreRobots: true, Retries: -1})
	var err error
	alloc := allocDuring(func() { _, err = f.Fetch(t.Context(), srv.URL) })
	wantKind(t, err, KindTooLarge)
	if alloc > 4*limit {
		t.Fatalf("a %d-byte gzip bomb cost %d bytes, want at most about the %d limit", len(bomb), alloc, limit)
	}
}

func TestHostileEncodings(t *testing.T) {
	page := []byte(strings.Repeat("<html><title>trawl</title></html>\n", 500))
	encode := map[string]func(io.Writer) io.WriteCloser{
		"gzip":     func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"br":       func(w io.Writer) io.WriteCloser { return brotli.NewWriter(w) },
		"deflate":  func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) },
		"rawflate": func(w io.Writer) io.WriteCloser { zw, _ := flate.NewWriter(w, flate.DefaultCompression); return zw },
	}
	for name, enc := range encode {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := enc(&buf)
			zw.Write(page)
			zw.Close()
			header := name
			if name == "rawflate" {
				header = "deflate"
			}
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), header) {
					t.Errorf("Accept-Encoding %q does not offer %s", r.Header.Get("Accept-Encoding"), header)
				}
				w.Header().Set("Content-Encoding", header)
				w.Write(buf.Bytes())
			})
			f := newTestFetcher(t, Config{IgnoreRobots: true})
			resp, err := f.Fetch(t.Context(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.Body, page) {
				t.Fatalf("decoded %d bytes, want the %d-byte page", len(resp.Body), len(page))
			}
		})
	}
}

func TestHostileBadGzip(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("this is not gzip at all"))
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	_, err := f.Fetch(t.Context(), srv.URL)
	wantKind(t, err, KindDecode)
}

func redirectServer(t *testing.T) *httptest.Server {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		switch {
		case r.URL.Path == "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case r.URL.Path == "/b":
			http.Redirect(w, r, "/a?", http.StatusMovedPermanently) // same page as /a once normalised
		case r.URL.Path == "/done":
			io.WriteString(w, "done")
		default:
			fmt.Sscanf(r.URL.Path, "/r/%d", &n)
			if n == 0 {
				http.Redirect(w, r, "/done", http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusTemporaryRedirect)
		}
	})
}

func TestHostileRedirectChain(t *testing.T) {
	srv := redirectServer(t)
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL+"/r/3")
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinalURL != srv.URL+"/done" || len(resp.Redirects) != 4 || string(resp.Body) != "done" {
		t.Fatalf("final %s after %v, body %q", resp.FinalURL, resp.Redirects, resp.Body)
	}
	if resp.URL != srv.URL+"/r/3" {
		t.Fatalf("URL %s, want the one asked for", resp.URL)
	}
}

func TestHostileRedirectLoop(t *testing.T) {
	srv := redirectServer(t)
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL+"/a")
	wantKind(t, err, KindRedirectLoop)
	if resp == nil || resp.Status != http.StatusMovedPermanently {
		t.Fatalf("want the looping response with the error, got %+v", resp)
	}
}

func TestHostileTooManyRedirects(t *testing.T) {
	srv := redirectServer(t)
	f := newTestFetcher(t, Config{IgnoreRobots: true, MaxRedirects: 3})
	_, err := f.Fetch(t.Context(), srv.URL+"/r/5")
	wantKind(t, err, KindTooManyRedirects)
	if _, err := f.Fetch(t.Context(), srv.URL+"/r/1"); err != nil {
		t.Fatalf("3 redirects with a limit of 3: %v", err)
	}
}

func TestHostileRedirectOutOfScope(t *testing.T) {
	srv := redirectServer(t)
	var hops []string
	f := newTestFetcher(t, Config{IgnoreRobots: true, CheckRedirect: func(from, to *url.URL) error {
		hops = append(hops, to.Path)
		if to.Path == "/done" {
			return fmt.Errorf("%s leaves the crawl", to)
		}
		return nil
	}})
	_, err := f.Fetch(t.Context(), srv.URL+"/r/1")
	wantKind(t, err, KindOutOfScope)
	if strings.Join(hops, " ") != "/r/0 /done" {
		t.Fatalf("hook saw %v, want every hop", hops)
	}
}

func TestHostile500ThenOK(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL)
	if err != nil || resp.Status != 200 || resp.Attempts != 2 {
		t.Fatalf("got %v, %+v; want 200 on the second attempt", err, resp)
	}
}

func TestHostileHTTPErrorKeepsResponse(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "gone", http.StatusGone)
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL)
	wantKind(t, err, KindHTTP)
	if resp == nil || resp.Status != http.StatusGone || calls.Load() != 1 {
		t.Fatalf("response %+v after %d calls; want the 410, not retried", resp, calls.Load())
	}
}

func TestHostile429RetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Backoff: ratelimitBackoffHour})
	resp, err := f.Fetch(t.Context(), srv.URL)
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("got %v, %+v; want success on the second attempt, waiting for Retry-After and not the backoff", err, resp)
	}
}

// resetAfter hijacks the connection, writes partial, and resets it.
func resetAfter(t *testing.T, partial string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		io.WriteString(conn, partial)
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}

func TestHostileResetMidHeaders(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		resetAfter(t, "HTTP/1.1 200 OK\r\nContent-Le")(w, r)
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: 1})
	_, err := f.Fetch(t.Context(), srv.URL)
	wantKind(t, err, KindReset)
	if calls.Load() != 2 {
		t.Fatalf("%d requests, want 2: a reset is retried", calls.Load())
	}
}

func TestHostileShortBody(t *testing.T) {
	srv := serve(t, resetAfter(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"))
	srv2 := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, bufrw, _ := w.(http.Hijacker).Hijack()
		bufrw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
		bufrw.Flush()
		conn.Close() // a clean close before the declared length
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
	_, err := f.Fetch(t.Context(), srv2.URL)
	wantKind(t, err, KindTruncated)
	_, err = f.Fetch(t.Context(), srv.URL)
	if k := KindOf(err); k != KindTruncated && k != KindReset {
		t.Fatalf("a reset mid-body: %v, want truncated or reset", err)
	}
}

func TestHostileBinaryBody(t *testing.T) {
	blob := make([]byte, 300<<10)
	rand.Read(blob)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(blob)
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, blob) || resp.ContentType() != "image/png" {
		t.Fatalf("binary body altered: %d bytes, %s", len(resp.Body), resp.ContentType())
	}
}

func TestHostileHugeHeader(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, bufrw, _ := w.(http.Hijacker).Hijack()
		defer conn.Close()
		bufrw.WriteString("HTTP/1.1 200 OK\r\nX-Big: ")
		bufrw.WriteString(strings.Repeat("a", 1<<20))
		bufrw.WriteString("\r\nContent-Length: 2\r\n\r\nok")
		bufrw.Flush()
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1, Timeout: 5 * time.Second})
	start := time.Now()
	_, err := f.Fetch(t.Context(), srv.URL)
	wantKind(t, err, KindTooLarge)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a 1 MiB header took %v to fail", d)
	}
}

func TestHostileRobots(t *testing.T) {
	var robotsCalls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			robotsCalls.Add(1)
			io.WriteString(w, "User-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /private\nAllow: /\nCrawl-delay: 0.01\n\nSitemap: https://example.com/sitemap.xml\n")
			return
		}
		io.WriteString(w, "page")
	})
	f := newTestFetcher(t, Config{})
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for i := range 8 {
			tg.StartSoon(func(ctx context.Context) error {
				_, err := f.Fetch(ctx, fmt.Sprintf("%s/page/%d", srv.URL, i))
				return err
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := robotsCalls.Load(); n != 1 {
		t.Fatalf("robots.txt fetched %d times for 8 concurrent pages, want once", n)
	}
	_, err = f.Fetch(t.Context(), srv.URL+"/private/x?y=1")
	wantKind(t, err, KindRobotsDisallowed)
	if got := f.Sitemaps(srv.URL + "/anything"); len(got) != 1 || got[0] != "https://example.com/sitemap.xml" {
		t.Fatalf("Sitemaps = %v", got)
	}
	ignoring := newTestFetcher(t, Config{IgnoreRobots: true})
	if _, err := ignoring.Fetch(t.Context(), srv.URL+"/private/x"); err != nil {
		t.Fatalf("IgnoreRobots still obeyed robots.txt: %v", err)
	}
}

func TestHostilePerHostConcurrency(t *testing.T) {
	const perHost = 3
	var inFlight, peak atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(10 * time.Millisecond) // the server's work, not a wait for a goroutine
		io.WriteString(w, "ok")
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, PerHost: perHost})
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for range 30 {
			tg.StartSoon(func(ctx context.Context) error {
				_, err := f.Fetch(ctx, srv.URL)
				return err
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > perHost || p < 2 {
		t.Fatalf("server saw %d requests at once, want at most %d (and some concurrency)", p, perHost)
	}
}

func TestHostileDenyPrivate(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	f := newTestFetcher(t, Config{DenyPrivate: true})
	_, err := f.Fetch(t.Context(), srv.URL+"/page")
	wantKind(t, err, KindDeniedPrivate)
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server saw %d connections, want none", n)
	}
	// By name too: localhost resolves to loopback.
	_, err = f.Fetch(t.Context(), strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	wantKind(t, err, KindDeniedPrivate)
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server saw %d connections, want none", n)
	}
}

func TestHostileConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
	_, err = f.Fetch(t.Context(), "http://"+addr+"/")
	wantKind(t, err, KindConnect)
}

// ratelimitBackoffHour is a backoff no test wants to wait for: a test that
// ends quickly with it did not use it.
var ratelimitBackoffHour = ratelimit.Backoff{Base: time.Hour, Max: time.Hour}
