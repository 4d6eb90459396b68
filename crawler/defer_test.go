package crawler

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/ratelimit"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// A fetch that must wait (a retry's backoff, a Retry-After pause, a
// redirect hop to a host whose turn is not due) gives its worker back
// and waits in the frontier (store.Deferrer): with one worker, the other
// hosts go on meanwhile. In synctest bubbles: exact times, no sockets.

// serverLog records when each request reached the fake server.
type serverLog struct {
	mu    sync.Mutex
	start time.Time
	hits  []handOff
}

func (l *serverLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hits = append(l.hits, handOff{time.Since(l.start), r.URL.Host + r.URL.Path})
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.hits)
}

// undeferring hides a frontier's Defer: the fetch then waits in its
// worker, as it did before continuations.
type undeferring struct{ store.Frontier }

// deferRunAll is deferRun in a synctest bubble, with a config made
// inside it by cfg, and checks that every URL got a record without an
// error and the run completed.
func deferRunAll(t *testing.T, cfg func() Config, undeferred bool, urls []string,
	answer func(r *http.Request, n int) *http.Response) (*serverLog, map[string]string) {
	t.Helper()
	var log *serverLog
	var recs map[string]string
	synctest.Test(t, func(t *testing.T) {
		var sum Summary
		log, recs, sum = deferRun(t, cfg(), RunConfig{}, undeferred, urls, answer)
		if sum.Done != len(urls) || sum.Failed != 0 || !sum.Complete {
			t.Errorf("summary %+v", sum)
		}
	})
	return log, recs
}

// deferRun runs urls through one worker against answer, with the
// default frontier (deferring) or, with undeferred, one that cannot
// defer, and returns the server's log, the records as JSON by URL, and
// the summary.
func deferRun(t *testing.T, cfg Config, rc RunConfig, undeferred bool, urls []string,
	answer func(r *http.Request, n int) *http.Response) (*serverLog, map[string]string, Summary) {
	t.Helper()
	log := &serverLog{start: time.Now()}
	rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
		log.add(r)
		return answer(r, n), nil
	})
	cfg.IgnoreRobots = true
	f := fakeFetcher(t, rt, cfg)
	if undeferred {
		mf := store.NewMemoryFrontier(structured.Unbounded, nil)
		defer mf.Close()
		f.Schedule(mf)
		rc.Frontier = undeferring{mf}
	}
	for _, u := range urls {
		rc.Inputs = append(rc.Inputs, Input{Name: u, IsURL: true})
	}
	rc.Fetcher, rc.Concurrency = f, 1
	out := &memoryOutput{}
	rc.Output = out
	sum, err := Run(t.Context(), rc)
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]string{}
	for _, r := range out.results {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := recs[r.URL]; dup {
			t.Errorf("%s written twice", r.URL)
		}
		recs[r.URL] = string(b)
	}
	return log, recs, sum
}

// checkSameRecords fails unless the records of a run that deferred are
// those of the same run waiting in its worker, byte for byte, for the
// URLs named (those of the other hosts differ: they were fetched
// earlier).
func checkSameRecords(t *testing.T, got, want map[string]string, urls ...string) {
	t.Helper()
	for _, u := range urls {
		if got[u] == "" || got[u] != want[u] {
			t.Errorf("record of %s\ngot  %s\nwant %s (waiting in the worker)", u, got[u], want[u])
		}
	}
}

func hostsURLs(host string, n int) []string {
	var urls []string
	for i := 1; i <= n; i++ {
		urls = append(urls, fmt.Sprintf("http://%s/%d", host, i))
	}
	return urls
}

// A 503 on host A with one worker: A's retry waits out its backoff in
// the frontier, host B's pages are all fetched meanwhile, and the retry
// comes at the end of the backoff, its record as it was.
func TestDeferredRetryBackoffLetsOtherHostsGo(t *testing.T) {
	const seed = 3
	wantDelay := ratelimit.Backoff{Base: 2 * time.Second, Rand: rand.New(rand.NewPCG(seed, 0))}.Delay(0)
	urls := append([]string{"http://a.test/1"}, hostsURLs("b.test", 5)...)
	answer := func(r *http.Request, n int) *http.Response {
		if r.URL.Host == "a.test" && n == 1 {
			return reply(r, 503, "busy")
		}
		return reply(r, 200, "<title>ok</title>")
	}
	run := func(undeferred bool) (*serverLog, map[string]string) {
		return deferRunAll(t, func() Config {
			return Config{Backoff: ratelimit.Backoff{Base: 2 * time.Second, Rand: rand.New(rand.NewPCG(seed, 0))}}
		}, undeferred, urls, answer)
	}
	log, recs := run(false)
	want := []handOff{{0, "a.test/1"}}
	for _, u := range urls[1:] {
		want = append(want, handOff{0, u[len("http://"):]})
	}
	want = append(want, handOff{wantDelay, "a.test/1"})
	if wantDelay <= 0 || log.String() != fmt.Sprint(want) {
		t.Fatalf("requests %v\nwant     %v", log, want)
	}
	_, before := run(true)
	checkSameRecords(t, recs, before, "http://a.test/1")
}

// A 429 with Retry-After 5s on host A with one worker: host A is paused
// in the schedule, B's pages are all fetched at once, and A's retry and
// its next page come when the pause ends.
func TestDeferredRetryAfterPausesHostOnly(t *testing.T) {
	urls := append([]string{"http://a.test/1", "http://a.test/2"}, hostsURLs("b.test", 4)...)
	answer := func(r *http.Request, n int) *http.Response {
		if r.URL.Host+r.URL.Path == "a.test/1" && n == 1 {
			return reply(r, 429, "slow down", "Retry-After", "5")
		}
		return reply(r, 200, "<title>ok</title>")
	}
	run := func(undeferred bool) (*serverLog, map[string]string) {
		return deferRunAll(t, func() Config { return Config{PerHost: 1} }, undeferred, urls, answer)
	}
	log, recs := run(false)
	want := []handOff{{0, "a.test/1"}}
	for _, u := range urls[2:] {
		want = append(want, handOff{0, u[len("http://"):]})
	}
	want = append(want, handOff{5 * time.Second, "a.test/1"}, handOff{5 * time.Second, "a.test/2"})
	if log.String() != fmt.Sprint(want) {
		t.Fatalf("requests %v\nwant     %v", log, want)
	}
	_, before := run(true)
	checkSameRecords(t, recs, before, "http://a.test/1", "http://a.test/2")
}

// A redirect from host A to host B, whose rate token is not due yet, with
// one worker: the hop waits in the frontier for B's turn, the hosts
// behind it are fetched at once, and the redirected record is as it was.
func TestDeferredRedirectHopWaitsForItsHost(t *testing.T) {
	urls := []string{"http://b.test/1", "http://a.test/r", "http://c.test/1", "http://d.test/1", "http://e.test/1"}
	answer := func(r *http.Request, n int) *http.Response {
		if r.URL.Host == "a.test" {
			return reply(r, 301, "", "Location", "http://b.test/2")
		}
		return reply(r, 200, "<title>ok</title>")
	}
	run := func(undeferred bool) (*serverLog, map[string]string) {
		return deferRunAll(t, func() Config { return Config{Rate: 1} }, undeferred, urls, answer)
	}
	log, recs := run(false)
	want := []handOff{{0, "b.test/1"}, {0, "a.test/r"}, {0, "c.test/1"}, {0, "d.test/1"}, {0, "e.test/1"}, {time.Second, "b.test/2"}}
	if log.String() != fmt.Sprint(want) {
		t.Fatalf("requests %v\nwant     %v", log, want)
	}
	if rec := recs["http://a.test/r"]; !strings.Contains(rec, `"final_url":"http://b.test/2"`) || !strings.Contains(rec, `"redirects":["http://b.test/2"]`) {
		t.Errorf("record %s: want the redirect to b.test/2", rec)
	}
	_, before := run(true)
	checkSameRecords(t, recs, before, "http://a.test/r")
}

// A stop (--max-time) while a retry waits for its host's pause ends the
// run at once: the waiting request is not on the wire, so it gets no
// grace; it writes no record and stays pending for a resumed run.
func TestDeferredRetryStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		answer := func(r *http.Request, n int) *http.Response {
			if r.URL.Host == "a.test" {
				return reply(r, 429, "slow down", "Retry-After", "60")
			}
			return reply(r, 200, "<title>ok</title>")
		}
		start := time.Now()
		log, recs, sum := deferRun(t, Config{}, RunConfig{MaxTime: time.Second, Grace: 30 * time.Second}, false,
			[]string{"http://a.test/1", "http://b.test/1"}, answer)
		if took := time.Since(start); took != time.Second {
			t.Errorf("the run took %v after a stop at 1s: a waiting retry held it", took)
		}
		if _, ok := recs["http://a.test/1"]; ok || recs["http://b.test/1"] == "" {
			t.Errorf("records %v: want b.test/1 only", slices.Collect(mapKeys(recs)))
		}
		if !sum.Stopped || sum.Complete || sum.Pending != 1 {
			t.Errorf("summary %+v: want stopped, a.test/1 pending", sum)
		}
		if got := log.String(); got != fmt.Sprint([]handOff{{0, "a.test/1"}, {0, "b.test/1"}}) {
			t.Errorf("requests %v", got)
		}
	})
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// FetchStep, driven through its continuations, returns the response
// FetchTurn returns for the same exchanges: status, final URL, redirect
// chain and the attempts of the last hop (a 503 retried after a
// redirect, a 429 retried before it).
func TestFetchStepMatchesFetchTurn(t *testing.T) {
	answer := func(r *http.Request, n int) (*http.Response, error) {
		switch r.URL.Host + r.URL.Path {
		case "a.test/1":
			if n == 1 {
				return reply(r, 429, "", "Retry-After", "1"), nil
			}
			return reply(r, 302, "", "Location", "http://b.test/2"), nil
		case "b.test/2":
			if n == 1 {
				return reply(r, 503, "busy"), nil
			}
		}
		return reply(r, 200, "<title>ok</title>"), nil
	}
	synctest.Test(t, func(t *testing.T) {
		f := fakeFetcher(t, newFakeRT(answer), Config{IgnoreRobots: true})
		want, err := f.FetchTurn(t.Context(), "http://a.test/1", nil)
		if err != nil {
			t.Fatal(err)
		}
		f = fakeFetcher(t, newFakeRT(answer), Config{IgnoreRobots: true})
		var c *Continuation
		var got *Response
		steps := 0
		for {
			got, c, err = f.FetchStep(t.Context(), "http://a.test/1", nil, c)
			if c == nil {
				break
			}
			steps++
			time.Sleep(time.Until(c.NotBefore()))
		}
		if err != nil {
			t.Fatal(err)
		}
		if steps != 3 { // the 429's retry, the hop, the 503's retry
			t.Errorf("%d continuations, want 3", steps)
		}
		if got.URL != want.URL || got.FinalURL != want.FinalURL || got.Status != want.Status ||
			got.Attempts != want.Attempts || fmt.Sprint(got.Redirects) != fmt.Sprint(want.Redirects) || string(got.Body) != string(want.Body) {
			t.Errorf("FetchStep: %s → %s %d, attempts %d, redirects %v\nFetchTurn: %s → %s %d, attempts %d, redirects %v",
				got.URL, got.FinalURL, got.Status, got.Attempts, got.Redirects, want.URL, want.FinalURL, want.Status, want.Attempts, want.Redirects)
		}
		if want.Attempts != 2 || len(want.Redirects) != 1 {
			t.Errorf("FetchTurn: attempts %d, redirects %v; want 2 and one", want.Attempts, want.Redirects)
		}
	})
}

// A deferred page's size, counted against the frontier's bounds while
// it waits, includes what it holds for --since: the previous record
// read back (up to store.MaxRecordBytes), not only its fetch's state.
func TestPageFetchSizeCountsPreviousRecord(t *testing.T) {
	text := strings.Repeat("x", 100<<10)
	for _, line := range []string{
		`{"url":"http://a.test/","status":200,"etag":"\"1\"","text":"` + text + `"}`,
		`{"text":"` + text + `","url":"http://a.test/","status":200,"etag":"\"1\""}`, // out of order: decoded whole
	} {
		rec, err := readPreviousLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		pf := &pageFetch{fetch: &Continuation{&fetchState{rawURL: "http://a.test/"}}, url: "http://a.test/", prev: previous{found: true, record: rec}}
		if n := pf.size(); n < int64(len(text)) {
			t.Errorf("size %d with a previous record of %d bytes (split %v)", n, len(line), rec.whole == nil)
		}
	}
}
