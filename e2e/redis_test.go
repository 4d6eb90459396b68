//go:build unix

package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
)

// linkSite is a site of n pages, /p/0 … /p/{n-1}, where page i links to
// pages 2i+1 and 2i+2: a tree that a crawl from /p/0 covers whole. It
// records the time of every page request and adds latency to each, like
// a real server.
type linkSite struct {
	*httptest.Server
	n       int
	latency time.Duration

	mu      sync.Mutex
	hits    map[string]int
	first   map[string]time.Time // path → time of its first request
	firstBy map[string]string    // path → procHeader of its first request
	times   []time.Time
	changed chan struct{} // closed and replaced on every request
}

func newLinkSite(t *testing.T, n int, latency time.Duration) *linkSite {
	t.Helper()
	s := &linkSite{n: n, latency: latency, hits: map[string]int{}, first: map[string]time.Time{}, firstBy: map[string]string{}, changed: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *linkSite) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		fmt.Fprint(w, "User-agent: *\nAllow: /\n")
		return
	}
	var i int
	if _, err := fmt.Sscanf(r.URL.Path, "/p/%d", &i); err != nil || i >= s.n {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.hits[r.URL.Path]++
	if s.hits[r.URL.Path] == 1 {
		s.first[r.URL.Path] = time.Now()
		s.firstBy[r.URL.Path] = r.Header.Get(procHeader)
	}
	s.times = append(s.times, time.Now())
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.latency > 0 && !serverLatency(r, s.latency) {
		return
	}
	var links strings.Builder
	for _, j := range []int{2*i + 1, 2*i + 2} {
		if j < s.n {
			fmt.Fprintf(&links, `<a href="/p/%d">%d</a> `, j, j)
		}
	}
	fmt.Fprintf(w, "<!doctype html><title>Page %d</title><body>%s</body>", i, links.String())
}

// waitServed waits until the site has answered at least n page requests.
func (s *linkSite) waitServed(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, ch := len(s.times), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("site served %d of %d requests: %w", got, n, ctx.Err())
		}
	}
}

func (s *linkSite) snapshotHits() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.hits)
}

func (s *linkSite) allURLs() []string {
	urls := make([]string, s.n)
	for i := range s.n {
		urls[i] = fmt.Sprintf("%s/p/%d", s.URL, i)
	}
	return urls
}

// crawlers starts k trawl processes crawling site on the Redis run, each
// writing to its own file; it returns them and their output paths.
// procHeader tells the site which of the crawlers sent a request.
const procHeader = "X-Trawl-Proc"

func crawlers(t *testing.T, ctx context.Context, k int, redisURL string, site *linkSite, extra ...string) ([]*proc, []string) {
	t.Helper()
	dir := t.TempDir()
	var procs []*proc
	var outs []string
	for i := range k {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		args := append([]string{"crawl", "--frontier", redisURL, "--run", t.Name(), "-o", out, "-c", "4", "--quiet",
			"-H", fmt.Sprintf("%s: %d", procHeader, i)}, extra...)
		procs = append(procs, startTrawl(t, ctx, nil, append(args, site.URL+"/p/0")...))
		outs = append(outs, out)
	}
	return procs, outs
}

// readRecords reads an output file; a torn last record (the process was
// killed while writing it) is dropped.
func readRecords(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i+1 < len(s) {
		s = s[:i+1]
	}
	return parseJSONL(t, s)
}

// union counts each URL in the outputs, and checks every record is a
// fetched page.
func union(t *testing.T, outs []string) map[string]int {
	t.Helper()
	count := map[string]int{}
	for _, out := range outs {
		for _, r := range readRecords(t, out) {
			if r.Status != 200 {
				t.Errorf("%s: status %d, error %+v", r.URL, r.Status, r.Error)
			}
			count[r.URL]++
		}
	}
	return count
}

func checkAll(t *testing.T, site *linkSite, count map[string]int) {
	t.Helper()
	for _, u := range site.allURLs() {
		if count[u] == 0 {
			t.Errorf("%s is in no output", u)
		}
	}
}

// Three processes share a crawl: together they fetch every page exactly
// once, each writing its own output, and all exit 0; every discovered
// page names the page that found it.
func TestRedisThreeProcessesShareACrawl(t *testing.T) {
	srv := redistest.Start(t)
	site := newLinkSite(t, 120, 5*time.Millisecond)
	ctx := testContext(t)
	procs, outs := crawlers(t, ctx, 3, srv.URL(), site)
	for i, p := range procs {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i, code, p.stderr)
		}
	}
	count := union(t, outs)
	checkAll(t, site, count)
	for u, n := range count {
		if n != 1 {
			t.Errorf("%s is %d times in the outputs", u, n)
		}
	}
	for path, n := range site.snapshotHits() {
		if n != 1 {
			t.Errorf("%s was fetched %d times", path, n)
		}
	}
	var all []record
	for i, out := range outs {
		recs := readRecords(t, out)
		t.Logf("process %d wrote %d records", i, len(recs))
		all = append(all, recs...)
	}
	checkReferrers(t, all) // kept by the shared frontier, whichever process found the page
	res := runTrawl(t, ctx, nil, "stats", "--frontier", srv.URL(), "--run", t.Name())
	if res.code != 0 || !strings.Contains(res.stdout, "done:      120\n") || !strings.Contains(res.stdout, "queued:    0 ") {
		t.Fatalf("trawl stats exited %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// One of three processes is killed with SIGKILL mid-crawl: the others
// take over what it had in flight, and every URL is in the union of the
// outputs.
func TestRedisKilledProcessLosesNothing(t *testing.T) {
	srv := redistest.Start(t)
	site := newLinkSite(t, 120, 20*time.Millisecond)
	ctx := testContext(t)
	procs, outs := crawlers(t, ctx, 3, srv.URL(), site)
	if err := site.waitServed(ctx, 30); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := procs[0].wait(); code != -1 {
		t.Fatalf("killed process exited %d", code)
	}
	for i, p := range procs[1:] {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i+1, code, p.stderr)
		}
	}
	count := union(t, outs)
	checkAll(t, site, count)
	dead := map[string]bool{}
	for _, r := range readRecords(t, outs[0]) {
		dead[r.URL] = true
	}
	site.mu.Lock()
	defer site.mu.Unlock()
	lost, twice := 0, 0
	for path, n := range site.hits {
		if n == 1 {
			continue
		}
		// Fetched again: the dead process must have taken it before it
		// died and not acknowledged it (in flight, or written but not yet
		// flushed and acknowledged). Who sent the first request says so;
		// the server's clock cannot, as a request sent just before the
		// kill may be handled just after it.
		if by := site.firstBy[path]; by != "0" {
			t.Errorf("%s was fetched %d times, first by live process %s (first at %v, kill at %v)",
				path, n, by, site.first[path].Sub(killed), killed.Format("15:04:05.000"))
		}
		if dead[site.URL+path] {
			twice++
		} else {
			lost++
		}
	}
	t.Logf("killed process wrote %d records; fetched again: %d it had taken and not written, %d it had written but not acknowledged (in two outputs)",
		len(dead), lost, twice)
}

// Three processes at --rate 5 send the site 5 requests a second in all.
func TestRedisSharedRateAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	const rate = 5
	site := newLinkSite(t, 16, 0)
	ctx := testContext(t)
	procs, _ := crawlers(t, ctx, 3, srv.URL(), site, "--rate", fmt.Sprint(rate))
	for i, p := range procs {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i, code, p.stderr)
		}
	}
	site.mu.Lock()
	times := slices.Clone(site.times)
	site.mu.Unlock()
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	interval := time.Second / rate
	// The rate holds for the grants on Redis's clock; the server sees each
	// request a scheduling delay later, which on a loaded machine reaches
	// hundreds of milliseconds (two requests granted 200ms apart were seen
	// 0.5ms apart at a load average of 28). So windows of 5 and more
	// requests are checked, with a slack that absorbs such a delay: a
	// shared rate that did not hold would let 3 processes send 15/s (5
	// requests within 267ms), and even 10/s (400ms) is caught.
	const slack = 300 * time.Millisecond
	for k := 4; k < len(times); k++ {
		for i := 0; i+k < len(times); i++ {
			if d := times[i+k].Sub(times[i]); d < time.Duration(k)*interval-slack {
				t.Fatalf("%d requests to the site within %v: more than %d/s in all", k+1, d, rate)
			}
		}
	}
	if len(times) != site.n {
		t.Fatalf("%d page requests, want %d", len(times), site.n)
	}
}

// Redis restarts (with its data) mid-crawl: the processes retry until it
// is back, and the run completes.
func TestRedisRestartMidRun(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent())
	site := newLinkSite(t, 80, 20*time.Millisecond)
	ctx := testContext(t)
	procs, outs := crawlers(t, ctx, 2, srv.URL(), site)
	if err := site.waitServed(ctx, 20); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	for i, p := range procs {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i, code, p.stderr)
		}
	}
	count := union(t, outs)
	checkAll(t, site, count)
	for u, n := range count {
		if n != 1 {
			t.Errorf("%s is %d times in the outputs", u, n)
		}
	}
}

// An unreachable Redis at start is a configuration error: exit 2, and a
// message naming the server.
func TestRedisUnreachableAtStart(t *testing.T) {
	ctx := testContext(t)
	res := runTrawl(t, ctx, nil, "fetch", "--frontier", "redis://127.0.0.1:1/0", "http://127.0.0.1:1/")
	if res.code != 2 || !strings.Contains(res.stderr, "redis unreachable: 127.0.0.1:1") {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// Redis goes away mid-crawl and stays away: the process retries, gives
// up, and stops with whole records only; once Redis is back, a new
// process finishes the run, and every URL is in the union of the outputs.
func TestRedisLostMidRunLosesNothing(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent())
	site := newLinkSite(t, 60, 20*time.Millisecond)
	ctx := testContext(t)
	procs, outs := crawlers(t, ctx, 1, srv.URL(), site)
	if err := site.waitServed(ctx, 10); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	code := procs[0].wait()
	if code != 1 {
		t.Fatalf("process exited %d with Redis gone, want 1; stderr:\n%s", code, procs[0].stderr)
	}
	t.Logf("with Redis gone the process exited %d:\n%s", code, procs[0].stderr)
	if !strings.Contains(procs[0].stderr.String(), "gave up after") {
		t.Errorf("stderr does not say the process gave up on Redis:\n%s", procs[0].stderr)
	}
	srv.StartAgain()
	more, outs2 := crawlers(t, ctx, 1, srv.URL(), site)
	if code := more[0].wait(); code != 0 {
		t.Fatalf("second process exited %d; stderr:\n%s", code, more[0].stderr)
	}
	checkAll(t, site, union(t, append(outs, outs2...)))
}

// fetchers starts k trawl processes fetching the list file on one Redis
// run, each writing to its own file, and returns them and their outputs.
func fetchers(t *testing.T, ctx context.Context, k int, redisURL, list string, extra ...string) ([]*proc, []string) {
	t.Helper()
	dir := t.TempDir()
	var procs []*proc
	var outs []string
	for i := range k {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		a := append([]string{"fetch", "--frontier", redisURL, "--run", t.Name(), "-o", out, "--quiet"}, extra...)
		procs = append(procs, startTrawl(t, ctx, nil, append(a, list)...))
		outs = append(outs, out)
	}
	return procs, outs
}

// checkUnionOnce fails unless the outputs hold each of urls exactly once,
// with status 200, and nothing else.
func checkUnionOnce(t *testing.T, outs []string, urls []string) {
	t.Helper()
	count := union(t, outs)
	for _, u := range urls {
		if count[u] != 1 {
			t.Errorf("%s is %d times in the outputs, want once", u, count[u])
		}
	}
	if len(count) != len(urls) {
		t.Errorf("%d URLs in the outputs, want %d", len(count), len(urls))
	}
}

// Three processes of one worker each share a list grouped by host under
// --rate: the Redis frontier schedules by host, so the hosts run side by
// side (with FIFO the workers waited on the first host's rate while the
// others' URLs sat behind), and the rate holds for every host in all
// processes together, counted at the server.
func TestRedisGroupedListManyHostsRate(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testContext(t)
	const hosts, perHost = 4, 8
	s := newHostsSite(t, hosts, nil)
	urls := s.groupedURLs(perHost)
	start := time.Now()
	procs, outs := fetchers(t, ctx, 3, srv.URL(), urlFile(t, urls), append(quick, "-c", "1", "--rate", "4")...)
	for i, p := range procs {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i, code, p.stderr)
		}
	}
	elapsed := time.Since(start)
	checkUnionOnce(t, outs, urls)
	for _, h := range s.hosts {
		checkRateWindows(t, s, h, 250*time.Millisecond, 150*time.Millisecond)
		if n := len(s.pageHits(h)); n != perHost {
			t.Errorf("host %s got %d page requests, want %d", h, n, perHost)
		}
	}
	// Side by side, as the server saw it (the run's wall time also counts
	// three processes starting under -race on a loaded machine): every
	// host had its first page request before any host had its last. One
	// host after the other (4 × 1.75s at 4/s), the last host starts
	// seconds after the first one is done.
	var lastFirst, firstLast time.Duration = 0, time.Hour
	for _, h := range s.hosts {
		hs := s.pageHits(h)
		if len(hs) == 0 {
			continue
		}
		lastFirst = max(lastFirst, hs[0].at)
		firstLast = min(firstLast, hs[len(hs)-1].at)
	}
	if lastFirst >= firstLast {
		t.Errorf("the hosts did not run side by side: a host's first page request came at %v, after another host's last at %v", lastFirst, firstLast)
	}
	t.Logf("run took %v; ideal %v; the last host started at %v, the first finished at %v", elapsed, (perHost-1)*250*time.Millisecond, lastFirst, firstLast)
}

// A 429 with Retry-After on one host, seen by one of two processes,
// pauses that host in both (the pause moves the host in the shared
// schedule) and no other host. The paused host answers its other pages
// slowly, so that the other process, which may have taken one of its
// pages before it heard of the pause (--per-host counts per process),
// cannot take a second one in the meantime.
func TestRedisRetryAfterHoldsOneHost(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testContext(t)
	var once sync.Once
	var s *hostsSite
	s = newHostsSite(t, 3, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Host != s.hosts[0] {
			return false
		}
		limited := false
		if r.URL.Path == "/p/1" {
			once.Do(func() { limited = true })
		}
		if limited {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		return false
	})
	urls := s.groupedURLs(5)
	procs, outs := fetchers(t, ctx, 2, srv.URL(), urlFile(t, urls),
		"--no-robots", "--timeout", "5s", "--retries", "1", "-c", "2", "--per-host", "1")
	for i, p := range procs {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i, code, p.stderr)
		}
	}
	checkUnionOnce(t, outs, urls)
	paused := s.pageHits(s.hosts[0])
	if len(paused) != 6 {
		t.Fatalf("host %s got %d page requests, want 6 (one 429 and its retry)", s.hosts[0], len(paused))
	}
	var within []hit
	for _, h := range paused[1:] {
		if d := h.at - paused[0].at; d < 2*time.Second-20*time.Millisecond {
			within = append(within, h)
		}
	}
	if len(within) > 1 {
		t.Errorf("host %s: requests %v came within the Retry-After of 2s after the 429 at %v; at most one, taken before the pause was known, may", s.hosts[0], within, paused[0].at)
	}
	for _, host := range s.hosts[1:] {
		for _, h := range s.pageHits(host) {
			if d := h.at - paused[0].at; d > time.Second {
				t.Errorf("host %s: %s requested %v after the other host's 429: held up by its pause", host, h.path, d)
			}
		}
	}
}

// checkRateWindows fails unless every k+1 consecutive page requests to
// host, k >= 3, span k gaps or more, less slack: requests arrive at the
// server a scheduling delay after their turn, and one process stalled on
// a loaded machine sends one late, so single gaps may be short; a rate
// kept per process by three processes (3 times as fast) is far beyond
// the slack.
func checkRateWindows(t *testing.T, s *hostsSite, host string, gap, slack time.Duration) {
	t.Helper()
	hs := s.pageHits(host)
	for k := 3; k < len(hs); k++ {
		for i := 0; i+k < len(hs); i++ {
			if d := hs[i+k].at - hs[i].at; d < time.Duration(k)*gap-slack {
				t.Errorf("host %s: %d requests within %v, want at least %v: %v", host, k+1, d, time.Duration(k)*gap, hs)
				return
			}
		}
	}
}

// One of three processes sharing a list of several hosts under --rate is
// killed mid-run, after it sent requests of its own: the others queue
// again what it had taken and not acknowledged, every URL ends up in the
// union of the outputs, and the rate still holds per host.
func TestRedisKilledProcessManyHosts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testContext(t)
	const hosts, perHost = 4, 8
	byFirst := make(chan struct{}, 64)
	s := newHostsSite(t, hosts, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get(procHeader) == "0" {
			select {
			case byFirst <- struct{}{}:
			default:
			}
		}
		return false
	})
	urls := s.groupedURLs(perHost)
	list := urlFile(t, urls)
	var procs []*proc
	var outs []string
	for i := range 3 {
		p, o := fetchers(t, ctx, 1, srv.URL(), list, append(quick, "--rate", "5", "-H", fmt.Sprintf("%s: %d", procHeader, i))...)
		procs, outs = append(procs, p...), append(outs, o...)
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for range 3 {
		select {
		case <-byFirst:
		case <-deadline.C:
			t.Fatal("process 0 did not send 3 page requests")
		}
	}
	if err := procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := procs[0].wait(); code != -1 {
		t.Fatalf("killed process exited %d", code)
	}
	for i, p := range procs[1:] {
		if code := p.wait(); code != 0 {
			t.Fatalf("process %d exited %d; stderr:\n%s", i+1, code, p.stderr)
		}
	}
	count := union(t, outs)
	for _, u := range urls {
		if count[u] == 0 {
			t.Errorf("%s is in no output", u)
		}
	}
	fetched := 0
	for _, h := range s.hosts {
		fetched += len(s.pageHits(h))
		checkRateWindows(t, s, h, 200*time.Millisecond, 150*time.Millisecond)
	}
	t.Logf("killed process wrote %d records; %d page requests for %d URLs", len(readRecords(t, outs[0])), fetched, len(urls))
}

// A process on a Redis run over several hosts is killed with SIGKILL mid
// run and run again with --resume on its output: the requests it had
// taken are queued again, and the output ends with every URL once.
func TestRedisResumeAfterKill(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testContext(t)
	const hosts, perHost = 3, 8
	s := newHostsSite(t, hosts, nil)
	urls := s.groupedURLs(perHost)
	list := urlFile(t, urls)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	a := append([]string{"fetch", "--frontier", srv.URL(), "--run", t.Name(), "-o", out, "--quiet", "--rate", "5"}, quick...)
	p := startTrawl(t, ctx, nil, append(a, list)...)
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for range 6 {
		select {
		case <-s.served:
		case <-deadline.C:
			t.Fatal("the site did not get 6 page requests")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait()
	before := len(readRecords(t, out))
	res := runTrawl(t, ctx, nil, append(append(a, "--resume"), list)...)
	if res.code != 0 {
		t.Fatalf("resumed run exited %d; stderr:\n%s", res.code, res.stderr)
	}
	checkUnionOnce(t, []string{out}, urls)
	t.Logf("%d records before the kill; %d page requests in all", before, len(s.pageHits(s.hosts[0]))+len(s.pageHits(s.hosts[1]))+len(s.pageHits(s.hosts[2])))
}
