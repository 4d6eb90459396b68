//go:build unix

package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/warc"
)

// TestRetryAfterEveryHostOneWorker: every host answers its first page
// with a 429 and Retry-After 2s, and trawl has one worker. Each retry
// waits for its host's pause without the worker (it used to sleep in the
// worker, one host's pause after the other): the hosts' pauses overlap,
// each host gets nothing during its own pause, and the run takes about
// one pause, not one per host.
func TestRetryAfterEveryHostOneWorker(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) { t.Parallel(); retryAfterEveryHost(t, 0, "") })
	t.Run("redis", func(t *testing.T) { t.Parallel(); retryAfterEveryHost(t, 1, redistest.Start(t).URL()) })
	// Two processes sharing the run, one worker each: a retry stays
	// with the process that took its URL, and the pauses hold for both.
	t.Run("redis-2", func(t *testing.T) { t.Parallel(); retryAfterEveryHost(t, 2, redistest.Start(t).URL()) })
}

// retryAfterEveryHost runs trawl alone (procs 0), or procs processes
// sharing a run on the Redis server at redisURL.
func retryAfterEveryHost(t *testing.T, procs int, redisURL string) {
	ctx := testContext(t)
	const hosts, pause = 4, 2 * time.Second
	var mu sync.Mutex
	limited := map[string]bool{}
	s := newHostsSite(t, hosts, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/p/1" {
			if procs > 1 {
				// Slowly, so that a process that took a page of a host
				// before the other's 429 paused it cannot take a second
				// one before it hears of the pause.
				select {
				case <-time.After(200 * time.Millisecond):
				case <-r.Context().Done():
				}
			}
			return false
		}
		mu.Lock()
		first := !limited[r.Host]
		limited[r.Host] = true
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		return first
	})
	urls := s.groupedURLs(3)
	start := time.Now()
	flags := []string{"--no-robots", "--timeout", "5s", "--retries", "1", "-c", "1", "--per-host", "1"}
	if procs == 0 {
		res := runTrawl(t, ctx, nil, append(append([]string{"fetch"}, flags...), urlFile(t, urls))...)
		if res.code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
		}
		checkAllOK(t, parseJSONL(t, res.stdout), urls)
	} else {
		ps, outs := fetchers(t, ctx, procs, redisURL, urlFile(t, urls), flags...)
		for i, p := range ps {
			if code := p.wait(); code != 0 {
				t.Fatalf("process %d exited %d; stderr:\n%s", i, code, p.stderr)
			}
		}
		checkUnionOnce(t, outs, urls)
	}
	elapsed := time.Since(start)
	// With several processes, --per-host counts per process: the others
	// may each have started one request to the host with the 429 before
	// its pause was known.
	early := max(procs-1, 0)
	var first time.Duration = -1
	for _, h := range s.hosts {
		hs := s.pageHits(h)
		i := slices.IndexFunc(hs, func(x hit) bool { return x.path == "/p/1" }) // the 429
		if len(hs) != 4 || i < 0 || i > early {
			t.Fatalf("host %s: requests %v, want /p/1 (the 429) first, then its retry and 2 pages", h, hs)
		}
		within := 0
		for _, later := range hs[i+1:] {
			if d := later.at - hs[i].at; d < pause-20*time.Millisecond {
				within++
			}
		}
		if within+i > early {
			t.Errorf("host %s: requests %v, %d within the Retry-After of %v after the 429, want at most %d", h, hs, within, pause, early-i)
		}
		if first < 0 {
			first = hs[0].at
		}
		if d := hs[0].at - first; d > time.Second {
			t.Errorf("host %s: first request %v after the first host's 429: a worker waited out another host's pause", h, d)
		}
	}
	// About one pause; one host's pause after the other: 4 × 2s.
	if elapsed > hosts*pause*5/8 {
		t.Errorf("run took %v: the pauses of the %d hosts did not overlap (one after the other: %v)", elapsed, hosts, hosts*pause)
	}
}

// TestWarcDeferredRetriesAndHops: with one worker, a page answered 429
// with Retry-After and then 200, and a redirect to another host: their
// requests waited in the frontier (see TestRetryAfterEveryHostOneWorker),
// and the archive still holds every response, each retry's and each
// hop's, with the output naming the last.
func TestWarcDeferredRetriesAndHops(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var once sync.Once
	var s *hostsSite
	s = newHostsSite(t, 2, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Host != s.hosts[0] {
			return false
		}
		switch r.URL.Path {
		case "/p/1":
			limited := false
			once.Do(func() { limited = true })
			if limited {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			}
			return limited
		case "/p/2":
			http.Redirect(w, r, fmt.Sprintf("http://%s/p/9", s.hosts[1]), http.StatusFound)
			return true
		}
		return false
	})
	urls := append(s.groupedURLs(2), fmt.Sprintf("http://%s/p/3", s.hosts[1]))
	dir := t.TempDir()
	prefix, out := filepath.Join(dir, "arch"), filepath.Join(dir, "out.jsonl")
	res := runTrawl(t, ctx, nil, "fetch", "-q", "--no-robots", "--timeout", "5s", "--retries", "1", "-c", "1",
		"--warc", prefix, "-o", out, urlFile(t, urls))
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	lines := readWarcLines(t, out)
	if len(lines) != len(urls) {
		t.Fatalf("%d records, want %d", len(lines), len(urls))
	}
	a := readArchive(t, prefix)
	checkPages(t, lines, a)
	statuses := map[string][]string{}
	for _, r := range a.recs {
		if r.Type() == warc.TypeResponse {
			u := r.Header.Get("WARC-Target-URI")
			status, _, _ := strings.Cut(strings.TrimPrefix(string(r.Block), "HTTP/1.1 "), " ")
			statuses[u] = append(statuses[u], status)
		}
	}
	h0, h1 := "http://"+s.hosts[0], "http://"+s.hosts[1]
	want := map[string]string{
		h0 + "/p/1": "[429 200]", h0 + "/p/2": "[302]", h1 + "/p/9": "[200]", h1 + "/p/1": "[200]", h1 + "/p/3": "[200]",
	}
	for u, w := range want {
		if got := fmt.Sprint(statuses[u]); got != w {
			t.Errorf("response records of %s: statuses %s, want %s", u, got, w)
		}
	}
}
