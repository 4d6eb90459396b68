package crawler

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// These tests run the fetcher's timing logic in synctest bubbles over a
// fake RoundTripper: no sockets, exact times.

// fakeRT answers requests with a function, counting calls per path.
type fakeRT struct {
	mu     sync.Mutex
	calls  map[string]int
	answer func(r *http.Request, n int) (*http.Response, error)
}

func newFakeRT(answer func(r *http.Request, n int) (*http.Response, error)) *fakeRT {
	return &fakeRT{calls: map[string]int{}, answer: answer}
}

func (f *fakeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	key := r.URL.Host + r.URL.Path
	f.calls[key]++
	n := f.calls[key]
	f.mu.Unlock()
	return f.answer(r, n)
}

func (f *fakeRT) count(hostPath string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[hostPath]
}

// reply is a response with status, body and header pairs.
func reply(r *http.Request, status int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{
		StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r,
	}
}

// blockingBody is a body that never ends until its request is cancelled.
type blockingBody struct{ ctx context.Context }

func (b blockingBody) Read([]byte) (int, error) { <-b.ctx.Done(); return 0, b.ctx.Err() }
func (b blockingBody) Close() error             { return nil }

func fakeFetcher(t *testing.T, rt http.RoundTripper, cfg Config) *Fetcher {
	t.Helper()
	cfg.Transport = rt
	f, err := NewFetcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFetchTimeoutCoversBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			resp := reply(r, 200, "")
			resp.Body = blockingBody{r.Context()}
			return resp, nil
		})
		f := fakeFetcher(t, rt, Config{Timeout: 5 * time.Second, IgnoreRobots: true, Retries: -1})
		start := time.Now()
		_, err := f.Fetch(t.Context(), "http://a.test/")
		wantKind(t, err, KindTimeout)
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("timed out after %v, want exactly the 5s timeout", d)
		}
	})
}

func TestFetchRetryAfterPausesOnlyThatHost(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter func(now time.Time) string
		want       time.Duration
	}{
		{"seconds", func(time.Time) string { return "5" }, 5 * time.Second},
		{"date", func(now time.Time) string { return now.Add(7 * time.Second).UTC().Format(http.TimeFormat) }, 7 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
					if r.URL.Host == "a.test" && r.URL.Path == "/x" && n == 1 {
						return reply(r, http.StatusTooManyRequests, "", "Retry-After", tt.retryAfter(time.Now())), nil
					}
					return reply(r, 200, "ok"), nil
				})
				f := fakeFetcher(t, rt, Config{IgnoreRobots: true, Backoff: ratelimitBackoffHour})
				err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
					tg.StartSoon(func(ctx context.Context) error {
						resp, err := f.Fetch(ctx, "http://a.test/x")
						if err != nil || resp.Attempts != 2 {
							t.Errorf("a.test: %v %+v", err, resp)
						}
						if d := time.Since(start); d != tt.want {
							t.Errorf("a.test done at %v, want %v", d, tt.want)
						}
						return nil
					})
					synctest.Wait() // a.test is paused now
					if _, err := f.Fetch(ctx, "http://b.test/"); err != nil {
						return err
					}
					if d := time.Since(start); d != 0 {
						t.Errorf("b.test held back %v by a.test's Retry-After", d)
					}
					// Another URL of a.test waits for the pause as well.
					if _, err := f.Fetch(ctx, "http://a.test/other"); err != nil {
						return err
					}
					if d := time.Since(start); d != tt.want {
						t.Errorf("a.test/other fetched at %v, want after the pause (%v)", d, tt.want)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestFetchRetryAfterTooLongFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			return reply(r, http.StatusServiceUnavailable, "", "Retry-After", "3600"), nil
		})
		f := fakeFetcher(t, rt, Config{IgnoreRobots: true})
		resp, err := f.Fetch(t.Context(), "http://a.test/")
		wantKind(t, err, KindRateLimited)
		if resp.Status != 503 || rt.count("a.test/") != 1 {
			t.Fatalf("status %d after %d calls; want the 503 at once", resp.Status, rt.count("a.test/"))
		}
	})
}

func TestFetchBackoffBetweenRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		start := time.Now()
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			at = append(at, time.Since(start))
			return nil, io.ErrUnexpectedEOF // a reset before the headers
		})
		b := ratelimitBackoffHour
		b.Base, b.Max = time.Second, time.Second
		f := fakeFetcher(t, rt, Config{IgnoreRobots: true, Retries: 3, Backoff: b})
		_, err := f.Fetch(t.Context(), "http://a.test/")
		wantKind(t, err, KindReset)
		if len(at) != 4 {
			t.Fatalf("%d attempts, want 4", len(at))
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i] - at[i-1]; gap < 0 || gap > time.Second {
				t.Fatalf("attempt %d after a gap of %v, want within the 1s backoff", i, gap)
			}
		}
	})
}

func TestFetchCancelReleasesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := true
		var mu sync.Mutex
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			resp := reply(r, 200, "ok")
			if block {
				resp.Body = blockingBody{r.Context()}
			}
			return resp, nil
		})
		f := fakeFetcher(t, rt, Config{IgnoreRobots: true, PerHost: 1})
		ctx, cancel := context.WithCancel(t.Context())
		err := structured.WithTaskGroup(t.Context(), func(_ context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(context.Context) error {
				_, err := f.Fetch(ctx, "http://a.test/")
				wantKind(t, err, KindCancelled)
				return nil
			})
			synctest.Wait()
			cancel()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		block = false
		mu.Unlock()
		bounded, stop := context.WithTimeout(t.Context(), time.Second)
		defer stop()
		if _, err := f.Fetch(bounded, "http://a.test/"); err != nil {
			t.Fatalf("after a cancelled fetch the host's only slot is gone: %v", err)
		}
	})
}

func TestFetchCrawlDelayFromRobots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" {
				return reply(r, 200, "User-agent: trawl\nCrawl-delay: 3\n"), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{})
		start := time.Now()
		for i, want := range []time.Duration{0, 3 * time.Second, 6 * time.Second} {
			if _, err := f.Fetch(t.Context(), "http://a.test/page"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != want {
				t.Fatalf("page %d fetched at %v, want %v", i, d, want)
			}
		}
	})
}

func TestFetchRobotsUnavailableThenRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" && n == 1 {
				return reply(r, 503, "down"), nil
			}
			if r.URL.Path == "/robots.txt" {
				return reply(r, 404, ""), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{Retries: -1})
		_, err := f.Fetch(t.Context(), "http://a.test/page")
		wantKind(t, err, KindRobotsUnavailable)
		if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "--no-robots") {
			t.Errorf("error %q does not name the status and --no-robots", err)
		}
		time.Sleep(robotsFailTTL / 2)
		_, err = f.Fetch(t.Context(), "http://a.test/page")
		wantKind(t, err, KindRobotsUnavailable)
		if n := rt.count("a.test/robots.txt"); n != 1 {
			t.Fatalf("robots.txt fetched %d times within the failure TTL, want 1", n)
		}
		time.Sleep(robotsFailTTL / 2)
		if _, err := f.Fetch(t.Context(), "http://a.test/page"); err != nil {
			t.Fatalf("after the failure TTL: %v, want robots.txt fetched again (404: allow)", err)
		}
		if n := rt.count("a.test/page"); n != 1 {
			t.Fatalf("page fetched %d times, want once", n)
		}
	})
}

func TestFetchRobotsUnreachableKeepsKind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			return nil, &deniedAddrError{addr: "10.0.0.1:80"}
		})
		f := fakeFetcher(t, rt, Config{})
		_, err := f.Fetch(t.Context(), "http://a.test/page")
		wantKind(t, err, KindDeniedPrivate)
	})
}

func TestFetchRobotsWaiterTakesOverCancelledFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" && n == 1 {
				<-r.Context().Done() // the first robots.txt fetch hangs
				return nil, r.Context().Err()
			}
			if r.URL.Path == "/robots.txt" {
				return reply(r, 200, "User-agent: *\nDisallow: /no\n"), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{})
		first, cancelFirst := context.WithCancel(t.Context())
		err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(context.Context) error {
				_, err := f.Fetch(first, "http://a.test/1")
				wantKind(t, err, KindCancelled)
				return nil
			})
			synctest.Wait() // the first caller is fetching robots.txt
			tg.StartSoon(func(ctx context.Context) error {
				_, err := f.Fetch(ctx, "http://a.test/2")
				return err
			})
			synctest.Wait() // the second waits for the first's fetch
			if n := rt.count("a.test/robots.txt"); n != 1 {
				t.Errorf("robots.txt requested %d times by two concurrent fetches, want 1", n)
			}
			cancelFirst()
			return nil
		})
		if err != nil {
			t.Fatalf("the waiter did not take over: %v", err)
		}
		_, err = f.Fetch(t.Context(), "http://a.test/no")
		wantKind(t, err, KindRobotsDisallowed)
	})
}

func TestFetchConnectionFacts(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	f := newTestFetcher(t, Config{IgnoreRobots: true})
	resp, err := f.Fetch(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if addr, ok := structured.Extra(resp, AttrRemoteAddr); !ok || addr != srv.Listener.Addr().String() || resp.RemoteAddr != addr {
		t.Errorf("remote address %q %v, want %s", addr, ok, srv.Listener.Addr())
	}
	if proto, _ := structured.Extra(resp, AttrProto); proto != "HTTP/1.1" {
		t.Errorf("protocol %q", proto)
	}
	if _, ok := structured.Extra(resp, AttrTLSVersion); ok {
		t.Error("a TLS version over plain HTTP")
	}
	tlsSrv := httptestTLS(t)
	ft := newTestFetcher(t, Config{IgnoreRobots: true, Transport: tlsSrv.Client().Transport})
	resp, err = ft.Fetch(t.Context(), tlsSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := structured.Extra(resp, AttrTLSVersion); !ok || v != "TLS 1.3" {
		t.Errorf("TLS version %q %v, want TLS 1.3", v, ok)
	}
}

func TestFetchUserAgentAndHeaders(t *testing.T) {
	Version = "1.2.3"
	defer func() { Version = "dev" }()
	rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
		if ua := r.Header.Get("User-Agent"); ua != "trawl/1.2.3 (+https://github.com/trawl-dev/trawl)" {
			return nil, errors.New("user agent " + ua)
		}
		if r.Header.Get("X-Token") != "t" {
			return nil, errors.New("custom header missing")
		}
		return reply(r, 200, "ok"), nil
	})
	f := fakeFetcher(t, rt, Config{IgnoreRobots: true, Retries: -1, Headers: http.Header{"X-Token": {"t"}}})
	if _, err := f.Fetch(t.Context(), "http://a.test/"); err != nil {
		t.Fatal(err)
	}
}

func TestFetchInvalidURL(t *testing.T) {
	f := fakeFetcher(t, newFakeRT(nil), Config{})
	_, err := f.Fetch(t.Context(), "ftp://a.test/")
	wantKind(t, err, KindInvalidURL)
}

// httptestTLS starts a TLS loopback server, closed at the end of the test.
func httptestTLS(t *testing.T) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv
}
