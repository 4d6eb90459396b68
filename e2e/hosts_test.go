//go:build unix

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
)

// These tests run trawl against several hosts at once: one server
// listening on 127.0.0.2, 127.0.0.3, ... (loopback), all on one port, so
// that each address is a host of its own for trawl's per-host limits.

// hostsSite serves numbered pages on n loopback addresses and records
// when each request arrived, per host.
type hostsSite struct {
	hosts  []string // "127.0.0.2:PORT", ...
	start  time.Time
	answer func(w http.ResponseWriter, r *http.Request) bool // true: answered

	mu     sync.Mutex
	hits   map[string][]hit // by host
	served chan struct{}    // a value per page request, while there is room
}

type hit struct {
	path string
	at   time.Duration // since start
}

// newHostsSite starts a site on n addresses from 127.0.0.2. answer, when
// not nil, may answer a request itself; otherwise pages are a small HTML
// document and robots.txt a 404.
func newHostsSite(t *testing.T, n int, answer func(w http.ResponseWriter, r *http.Request) bool) *hostsSite {
	t.Helper()
	s := &hostsSite{answer: answer, hits: map[string][]hit{}, start: time.Now(), served: make(chan struct{}, 4096)}
	listeners := listenHosts(t, n)
	for _, l := range listeners {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
		srv.Listener.Close()
		srv.Listener = l
		srv.Start()
		t.Cleanup(srv.Close)
		s.hosts = append(s.hosts, l.Addr().String())
	}
	return s
}

// listenHosts listens on 127.0.0.2 .. 127.0.0.(n+1), one port for all.
func listenHosts(t *testing.T, n int) []net.Listener {
	t.Helper()
	for range 20 {
		first, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("cannot listen on 127.0.0.2: %v", err)
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		ls := []net.Listener{first}
		for i := 1; i < n; i++ {
			l, err := net.Listen("tcp", net.JoinHostPort(fmt.Sprintf("127.0.0.%d", 2+i), port))
			if err != nil {
				break
			}
			ls = append(ls, l)
		}
		if len(ls) == n {
			return ls
		}
		for _, l := range ls {
			l.Close()
		}
	}
	t.Fatalf("no port free on %d loopback addresses", n)
	return nil
}

func (s *hostsSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.Host] = append(s.hits[r.Host], hit{r.URL.Path, time.Since(s.start)})
	s.mu.Unlock()
	if r.URL.Path != "/robots.txt" {
		select {
		case s.served <- struct{}{}:
		default:
		}
	}
	if s.answer != nil && s.answer(w, r) {
		return
	}
	if r.URL.Path == "/robots.txt" {
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "<!doctype html><title>%s%s</title>", r.Host, r.URL.Path)
}

// groupedURLs lists pages 1..perHost of every host, host after host.
func (s *hostsSite) groupedURLs(perHost int) []string {
	var urls []string
	for _, h := range s.hosts {
		for i := 1; i <= perHost; i++ {
			urls = append(urls, fmt.Sprintf("http://%s/p/%d", h, i))
		}
	}
	return urls
}

// pageHits returns the requests for pages (not robots.txt) of host.
func (s *hostsSite) pageHits(host string) []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hs []hit
	for _, h := range s.hits[host] {
		if h.path != "/robots.txt" {
			hs = append(hs, h)
		}
	}
	return hs
}

// checkSpacing fails unless the page requests to host arrive about gap
// apart or more. The server sees a request a scheduling delay after trawl's limiter
// granted it, hundreds of milliseconds on a loaded machine, so two
// requests granted a gap apart can arrive together. Windows of three
// and more requests are checked instead of neighbours, with a slack of
// two thirds of a gap: one late request passes, a host served at twice
// its rate does not (3 requests within one gap).
func checkSpacing(t *testing.T, s *hostsSite, host string, gap time.Duration) {
	t.Helper()
	hs := s.pageHits(host)
	minK := 2
	if len(hs) < 3 {
		minK = 1
	}
	for k := minK; k < len(hs); k++ {
		for i := 0; i+k < len(hs); i++ {
			if d := hs[i+k].at - hs[i].at; d < time.Duration(k)*gap-gap*2/3 {
				t.Errorf("host %s: requests %d to %d within %v, want %v apart", host, i+1, i+k+1, d, gap)
				return
			}
		}
	}
}

// checkAllOK fails unless recs hold each of urls once with status 200.
func checkAllOK(t *testing.T, recs []record, urls []string) {
	t.Helper()
	got := byURL(t, recs)
	for _, u := range urls {
		if r, ok := got[u]; !ok || r.Status != 200 {
			t.Errorf("%s: record %+v, want status 200", u, r)
		}
	}
	if len(got) != len(urls) {
		t.Errorf("%d records, want %d", len(got), len(urls))
	}
}

// TestGroupedListManyHostsRate: a list grouped by host under --rate runs
// the hosts in parallel with two workers, not one host after the other
// (the workers used to wait on the first host's rate while the other
// hosts' URLs sat behind), and --rate holds for every host.
func TestGroupedListManyHostsRate(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const hosts, perHost = 4, 6
	s := newHostsSite(t, hosts, nil)
	urls := s.groupedURLs(perHost)
	start := time.Now()
	res := runTrawl(t, ctx, nil, args("fetch", "-c", "2", "--rate", "4", urlFile(t, urls))...)
	elapsed := time.Since(start)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	checkAllOK(t, parseJSONL(t, res.stdout), urls)
	for _, h := range s.hosts {
		checkSpacing(t, s, h, 250*time.Millisecond)
	}
	// Ideal: 6 pages at 4/s, hosts in parallel, 1.25s; one host after
	// the other: 4 × 1.25s = 5s.
	if serial := hosts * (perHost - 1) * 250 * time.Millisecond; elapsed >= serial*3/4 {
		t.Errorf("run took %v: the hosts did not run in parallel (one after the other: %v)", elapsed, serial)
	}
}

// TestRetryAfterHoldsOneHost: a 429 with Retry-After pauses its host
// only; the other hosts go on meanwhile, and the paused host's requests
// resume after the pause.
func TestRetryAfterHoldsOneHost(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var once sync.Once
	var s *hostsSite
	s = newHostsSite(t, 3, func(w http.ResponseWriter, r *http.Request) bool {
		limited := false
		if r.Host == s.hosts[0] && r.URL.Path == "/p/1" {
			once.Do(func() { limited = true })
		}
		if limited {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		return limited
	})
	urls := s.groupedURLs(5)
	res := runTrawl(t, ctx, nil, "fetch", "--no-robots", "--timeout", "5s", "--retries", "1",
		"-c", "2", "--per-host", "1", urlFile(t, urls))
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	checkAllOK(t, parseJSONL(t, res.stdout), urls)
	paused := s.pageHits(s.hosts[0])
	if len(paused) != 6 {
		t.Fatalf("host %s got %d page requests, want 6 (one 429 and its retry)", s.hosts[0], len(paused))
	}
	for _, h := range paused[1:] {
		if d := h.at - paused[0].at; d < 2*time.Second-20*time.Millisecond {
			t.Errorf("host %s: %s requested %v after the 429, within its Retry-After of 2s", s.hosts[0], h.path, d)
		}
	}
	for _, host := range s.hosts[1:] {
		for _, h := range s.pageHits(host) {
			if d := h.at - paused[0].at; d > time.Second {
				t.Errorf("host %s: %s requested %v after the other host's 429: held up by its pause", host, h.path, d)
			}
		}
	}
}

// TestCrawlDelayOneHost: a robots.txt Crawl-delay spaces the requests to
// its host; the other host does not wait for it.
func TestCrawlDelayOneHost(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var s *hostsSite
	s = newHostsSite(t, 2, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Host == s.hosts[0] && r.URL.Path == "/robots.txt" {
			fmt.Fprint(w, "User-agent: *\nCrawl-delay: 0.5\n")
			return true
		}
		return false
	})
	urls := s.groupedURLs(4)
	res := runTrawl(t, ctx, nil, "fetch", "--timeout", "5s", "--retries", "0", "-c", "2", urlFile(t, urls))
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	checkAllOK(t, parseJSONL(t, res.stdout), urls)
	slow := s.pageHits(s.hosts[0])
	checkSpacing(t, s, s.hosts[0], 500*time.Millisecond)
	if d := slow[len(slow)-1].at - slow[0].at; d < 1500*time.Millisecond-100*time.Millisecond {
		t.Errorf("4 pages at a Crawl-delay of 0.5s took %v, want at least 1.5s", d)
	}
	for _, h := range s.pageHits(s.hosts[1]) {
		if h.at-slow[0].at > 400*time.Millisecond {
			t.Errorf("host %s: %s requested %v after the slow host's first: held up by its Crawl-delay", s.hosts[1], h.path, h.at-slow[0].at)
		}
	}
}

// TestMaxTimeStopsWaitingWork: on --max-time, requests still waiting for
// their host's rate stop at once instead of getting the grace period
// (40 URLs at 1/s used to run 2s + 10s of grace), with the in-memory
// frontier and with Redis (both scheduled by host: a worker waits for
// the earliest host's turn in the frontier).
func TestMaxTimeStopsWaitingWork(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) { t.Parallel(); maxTimeStopsWaitingWork(t) })
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		maxTimeStopsWaitingWork(t, "--frontier", redistest.Start(t).URL())
	})
}

func maxTimeStopsWaitingWork(t *testing.T, extra ...string) {
	ctx := testContext(t)
	s := newHostsSite(t, 1, nil)
	urls := s.groupedURLs(40)
	start := time.Now()
	a := append([]string{"--rate", "1", "--max-time", "2s", urlFile(t, urls)}, extra...)
	res := runTrawl(t, ctx, nil, args("fetch", a...)...)
	elapsed := time.Since(start)
	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (stopped with URLs left); stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	for _, r := range recs {
		if !slices.Contains(urls, r.URL) || r.Status != 200 {
			t.Errorf("unexpected record %+v", r)
		}
	}
	if len(recs) < 2 || len(recs) > 3 {
		t.Errorf("%d records in 2s at 1/s, want 2 or 3", len(recs))
	}
	// The requests on the wire take milliseconds; the grace is 10s.
	if elapsed > 5*time.Second {
		t.Errorf("run took %v after --max-time 2s: waiting requests were given the grace period", elapsed)
	}
	if !strings.Contains(res.stderr, "stopped early") {
		t.Errorf("the summary does not say the run stopped early:\n%s", res.stderr)
	}
}

// TestBurst: --burst N lets a host that was idle get N requests at once,
// then --rate holds; --burst needs --rate and is at least 1.
func TestBurst(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newHostsSite(t, 1, nil)
	urls := s.groupedURLs(6)
	res := runTrawl(t, ctx, nil, "fetch", "-c", "4", "--per-host", "4", "--rate", "2", "--burst", "3", urlFile(t, urls))
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	checkAllOK(t, parseJSONL(t, res.stdout), urls)
	hs := s.pageHits(s.hosts[0])
	if len(hs) != 6 {
		t.Fatalf("%d page requests, want 6", len(hs))
	}
	// The burst: 3 requests at once (not 0.5s apart, which would put the
	// third 1s after the first); then one every 0.5s: the 6th is due 1.5s
	// after the first, whatever the delays.
	if d := hs[2].at - hs[0].at; d >= 500*time.Millisecond {
		t.Errorf("the first 3 requests took %v: no burst", d)
	}
	if d := hs[5].at - hs[0].at; d < 1500*time.Millisecond-100*time.Millisecond {
		t.Errorf("6 requests at --rate 2 --burst 3 within %v, want at least 1.5s", d)
	}
	for _, bad := range [][]string{{"--burst", "0", "--rate", "1"}, {"--burst", "2"}} {
		res := runTrawl(t, ctx, nil, append([]string{"fetch"}, append(bad, urlFile(t, urls))...)...)
		if res.code != 2 || !strings.Contains(res.stderr, "--burst") {
			t.Errorf("%v: exit code %d, stderr %q; want 2 naming --burst", bad, res.code, res.stderr)
		}
	}
}
