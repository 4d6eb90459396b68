package crawler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// The scheduler (store.MemoryFrontier with the fetcher's limiter as its
// gate, see Fetcher.Schedule) in synctest bubbles: exact times, no
// sockets.

// scheduled returns a frontier scheduled by a fetcher with cfg's limits.
func scheduled(t *testing.T, cfg Config) (*store.MemoryFrontier, *Fetcher) {
	t.Helper()
	f := fakeFetcher(t, newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
		return reply(r, 200, "ok"), nil
	}), cfg)
	mf := store.NewMemoryFrontier(structured.Unbounded, nil)
	t.Cleanup(func() { mf.Close() })
	f.Schedule(mf)
	return mf, f
}

func addAll(t *testing.T, mf *store.MemoryFrontier, urls ...string) {
	t.Helper()
	for _, u := range urls {
		if _, err := mf.Add(t.Context(), Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
}

// handOff is one request handed out by the frontier: when, and which.
type handOff struct {
	at  time.Duration
	url string
}

func (h handOff) String() string { return fmt.Sprintf("%s@%v", h.url, h.at) }

// One consumer that holds every turn for 300ms gets the hosts in the
// order they become ready: the earliest ready first, at the exact time
// its token is due, never before.
func TestScheduleEarliestReadyOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mf, _ := scheduled(t, Config{Rate: 1, PerHost: 1})
		addAll(t, mf, "http://a.test/1", "http://a.test/2", "http://a.test/3",
			"http://b.test/1", "http://b.test/2", "http://b.test/3")
		mf.InputDone()
		start := time.Now()
		c := mf.Consumer()
		var got []handOff
		for {
			req, err := c.Next(t.Context())
			if errors.Is(err, structured.ErrEndOfStream) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if requestTurn(req) == nil {
				t.Fatalf("%s handed out without its host's turn", req.URL)
			}
			got = append(got, handOff{time.Since(start), req.URL})
			time.Sleep(300 * time.Millisecond) // the fetch
			req.Turn.Release()
			_ = mf.Done(t.Context(), req)
		}
		want := []handOff{
			{0, "http://a.test/1"}, {300 * time.Millisecond, "http://b.test/1"},
			{time.Second, "http://a.test/2"}, {1300 * time.Millisecond, "http://b.test/2"},
			{2 * time.Second, "http://a.test/3"}, {2300 * time.Millisecond, "http://b.test/3"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("handed out %v\nwant        %v", got, want)
		}
	})
}

// A pause on one host (a Retry-After) parks that host alone: the other
// host's requests are handed out at once, the paused host's at the end
// of its pause.
func TestSchedulePauseHoldsOneHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mf, f := scheduled(t, Config{PerHost: 1})
		start := time.Now()
		f.Limiter().PauseUntil("a.test:80", start.Add(10*time.Second))
		addAll(t, mf, "http://a.test/1", "http://a.test/2", "http://b.test/1", "http://b.test/2", "http://b.test/3")
		mf.InputDone()
		c := mf.Consumer()
		var got []handOff
		for {
			req, err := c.Next(t.Context())
			if errors.Is(err, structured.ErrEndOfStream) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, handOff{time.Since(start), req.URL})
			req.Turn.Release()
			_ = mf.Done(t.Context(), req)
		}
		want := []handOff{
			{0, "http://b.test/1"}, {0, "http://b.test/2"}, {0, "http://b.test/3"},
			{10 * time.Second, "http://a.test/1"}, {10 * time.Second, "http://a.test/2"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("handed out %v\nwant        %v", got, want)
		}
	})
}

// Property: several consumers on random hosts never get a request whose
// host is not ready: at most PerHost requests of a host at once, and
// never two starts of a host closer than 1/Rate, while every URL is
// handed out once.
func TestScheduleNeverHandsOutUnreadyHost(t *testing.T) {
	for seed := range uint64(10) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { neverUnready(t, seed) })
		})
	}
}

func neverUnready(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var rngMu sync.Mutex
	intN := func(n int) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.IntN(n)
	}
	const rate, perHost = 5, 2
	mf, _ := scheduled(t, Config{Rate: rate, Burst: 1, PerHost: perHost})
	var urls []string
	for i := range 100 + intN(100) {
		urls = append(urls, fmt.Sprintf("http://h%d.test/%d", intN(6), i))
	}
	addAll(t, mf, urls...)
	mf.InputDone()
	var mu sync.Mutex
	starts := map[string][]time.Time{}
	inFlight := map[string]int{}
	got := map[string]int{}
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for range 4 {
			tg.StartSoon(func(ctx context.Context) error {
				c := mf.Consumer()
				defer c.Close()
				for {
					req, err := c.Next(ctx)
					if errors.Is(err, structured.ErrEndOfStream) {
						return nil
					}
					if err != nil {
						return err
					}
					host := req.URL[len("http://"):][:len("h0.test")]
					mu.Lock()
					got[req.URL]++
					starts[host] = append(starts[host], time.Now())
					inFlight[host]++
					if inFlight[host] > perHost {
						t.Errorf("host %s: %d requests at once, over --per-host %d", host, inFlight[host], perHost)
					}
					mu.Unlock()
					time.Sleep(time.Duration(intN(600)) * time.Millisecond) // the fetch
					mu.Lock()
					inFlight[host]--
					mu.Unlock()
					req.Turn.Release()
					if err := mf.Done(ctx, req); err != nil {
						return err
					}
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if got[u] != 1 {
			t.Errorf("%s handed out %d times", u, got[u])
		}
	}
	for host, ts := range starts {
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d < time.Second/rate {
				t.Errorf("host %s: starts %d and %d %v apart, under 1/rate", host, i, i+1, d)
			}
		}
	}
}

// --rate holds exactly per host, counted at the server, and the hosts of
// a list grouped by host run side by side: with 3 workers and 3 hosts at
// 2/s, each host gets a request at 0, 0.5s, 1s... (before, the workers
// all waited on the first host while the others' URLs sat behind).
func TestScheduleRatePerHostExactAtServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		start := time.Now()
		at := map[string][]time.Duration{}
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			mu.Lock()
			at[r.URL.Host] = append(at[r.URL.Host], time.Since(start))
			mu.Unlock()
			time.Sleep(100 * time.Millisecond) // the server's latency
			return reply(r, 200, "<title>ok</title>"), nil
		})
		f := fakeFetcher(t, rt, Config{Rate: 2, IgnoreRobots: true})
		var urls []string
		for _, h := range []string{"a.test", "b.test", "c.test"} {
			for i := range 6 {
				urls = append(urls, fmt.Sprintf("http://%s/%d", h, i))
			}
		}
		var inputs []Input
		for _, u := range urls {
			inputs = append(inputs, Input{Name: u, IsURL: true})
		}
		out := &memoryOutput{}
		sum, err := Run(t.Context(), RunConfig{Inputs: inputs, Fetcher: f, Concurrency: 3, Output: out})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Done != len(urls) || !sum.Complete {
			t.Fatalf("summary %+v, want %d done and complete", sum, len(urls))
		}
		want := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond}
		for _, h := range []string{"a.test", "b.test", "c.test"} {
			if !slices.Equal(at[h], want) {
				t.Errorf("host %s requested at %v, want %v", h, at[h], want)
			}
		}
		if d := time.Since(start); d != 2600*time.Millisecond {
			t.Errorf("run took %v, want 2.6s (the last token at 2.5s plus 100ms)", d)
		}
	})
}

// A robots.txt read for a request runs within that request's turn: it
// takes no rate token of its own, so the first page follows at once; a
// Crawl-delay it sets holds from the first page on. With --rate, a turn
// taken before the Crawl-delay was known waits for a token under it.
func TestScheduleRobotsWithinTurn(t *testing.T) {
	for _, tc := range []struct {
		host string
		cfg  Config
		want string
	}{
		{"fast.test", Config{Rate: 1}, "[robots@0s page@0s page@1s page@2s]"},
		{"slow.test", Config{}, "[robots@0s page@0s page@2s page@4s]"},
		{"slow.test", Config{Rate: 1}, "[robots@0s page@2s page@4s page@6s]"},
	} {
		t.Run(fmt.Sprintf("%s rate %v", tc.host, tc.cfg.Rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				start := time.Now()
				var at []string
				rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
					mu.Lock()
					what := "page" // which page goes first is up to the workers
					if r.URL.Path == "/robots.txt" {
						what = "robots"
					}
					at = append(at, fmt.Sprintf("%s@%v", what, time.Since(start)))
					mu.Unlock()
					if r.URL.Path == "/robots.txt" && r.URL.Host == "slow.test" {
						return reply(r, 200, "User-agent: *\nCrawl-delay: 2\n"), nil
					}
					if r.URL.Path == "/robots.txt" {
						return reply(r, 404, ""), nil
					}
					return reply(r, 200, "<title>ok</title>"), nil
				})
				var inputs []Input
				for i := range 3 {
					inputs = append(inputs, Input{Name: fmt.Sprintf("http://%s/%d", tc.host, i), IsURL: true})
				}
				cfg := RunConfig{Inputs: inputs, Fetcher: fakeFetcher(t, rt, tc.cfg), Concurrency: 2, Output: &memoryOutput{}}
				if _, err := Run(t.Context(), cfg); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(at) != tc.want {
					t.Errorf("requests %v, want %v", at, tc.want)
				}
			})
		})
	}
}

// TestPlainHostKey: the string fast path gives the key hostKey gives for
// the parsed URL, or leaves the URL to the parser.
func TestPlainHostKey(t *testing.T) {
	for _, raw := range []string{
		"http://example.com/", "https://example.com/a?b#c", "http://example.com:8080/x",
		"https://127.0.0.1:443/", "http://127.0.0.1", "http://a-b_c.example:1?q",
		"http://Example.com/", "http://u:p@example.com/", "http://[::1]:80/", "ftp://example.com/",
		"http://example.com:/", "http://:80/", "http://example.com:8x/", "https://xn--caf-dma.example/",
	} {
		u, err := url.Parse(raw)
		k, ok := plainHostKey(raw)
		if !ok {
			continue
		}
		if err != nil || k != hostKey(u) {
			t.Errorf("plainHostKey(%q) = %q, hostKey = %q (%v)", raw, k, hostKey(u), err)
		}
	}
	if _, ok := plainHostKey("http://example.com/"); !ok {
		t.Error("a plain URL took the slow path")
	}
}

// FuzzPlainHostKey compares the fast path with hostKey on every link a
// page can produce.
func FuzzPlainHostKey(f *testing.F) {
	for _, s := range []string{"/a", "//h.example:81/x", "http://1.2.3.4/", "https://H.example/"} {
		f.Add(s)
	}
	base, _ := url.Parse("http://example.com/dir/")
	f.Fuzz(func(t *testing.T, href string) {
		l, ok := ResolveLink(base, href)
		if !ok {
			return
		}
		k, ok := plainHostKey(l)
		if !ok {
			return
		}
		u, err := url.Parse(l)
		if err != nil || k != hostKey(u) {
			t.Fatalf("plainHostKey(%q) = %q, hostKey = %q (%v)", l, k, hostKey(u), err)
		}
	})
}

// A robots.txt read for a redirect from another host must not wait for
// a slot of its host while holding the load that a request holding that
// slot waits for: with --per-host 1, the page on x.test (its turn taken
// by the frontier) waited for x.test's robots.txt, loaded by a redirect
// from y.test that waited for x.test's only slot, until the run's end.
func TestScheduleRobotsForRedirectNoDeadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			switch {
			case r.URL.Path == "/robots.txt":
				return reply(r, 404, ""), nil
			case r.URL.Host == "y.test":
				return reply(r, 301, "", "Location", "http://x.test/from-y"), nil
			}
			return reply(r, 200, "<title>ok</title>"), nil
		})
		f := fakeFetcher(t, rt, Config{PerHost: 1})
		mf := store.NewMemoryFrontier(structured.Unbounded, nil)
		t.Cleanup(func() { mf.Close() })
		f.Schedule(mf)
		addAll(t, mf, "http://x.test/page")
		req, err := mf.Consumer().Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		turn := requestTurn(req) // x.test's only slot
		if turn == nil {
			t.Fatal("no turn handed out")
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		var redirected error
		err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				_, redirected = f.Fetch(ctx, "http://y.test/r")
				return nil
			})
			synctest.Wait() // the redirect is at x.test's robots.txt
			resp, err := f.FetchTurn(ctx, req.URL, turn)
			turn.Release()
			if err != nil {
				t.Errorf("page with the turn: %v", err)
			} else if resp.Status != 200 {
				t.Errorf("page with the turn: status %d", resp.Status)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if redirected != nil {
			t.Errorf("redirected fetch: %v", redirected)
		}
	})
}
