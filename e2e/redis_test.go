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
	if s.latency > 0 {
		select {
		case <-time.After(s.latency): // the server's own latency
		case <-r.Context().Done():
			return
		}
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
	// request a scheduling delay later, which on a loaded machine is tens
	// of milliseconds either way. A shared rate that did not hold would
	// let 3 processes send 15/s, far beyond this slack.
	const slack = 150 * time.Millisecond
	for k := 1; k < len(times); k++ {
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
