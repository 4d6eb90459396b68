//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// These tests run trawl with a --queue-memory so small that its queue
// spills to disk, and check that the spill files exist while it runs,
// are gone after it, and that every URL is fetched exactly once.

// spillDirOf returns the spill directory that trawl's stderr names,
// waiting for the line.
func spillDirOf(t *testing.T, ctx context.Context, p *proc) string {
	t.Helper()
	const marker = "spilling it to "
	if err := p.stderr.waitFor(ctx, func(s string) bool {
		_, rest, ok := strings.Cut(s, marker)
		return ok && strings.Contains(rest, "\n")
	}); err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(p.stderr.String(), marker)
	dir, _, _ := strings.Cut(rest, "\n")
	return dir
}

// waitSpillFile waits, with inotify on dir, until dir holds a spilled
// queue file (a name of digits), and returns its name.
func waitSpillFile(ctx context.Context, dir string) (string, error) {
	var found string
	cond := func(string) bool {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Trim(e.Name(), "0123456789") == "" {
				found = e.Name()
				return true
			}
		}
		return false
	}
	// waitFile calls cond on a file's contents; the file here is the
	// directory's lock, which exists already.
	err := waitFile(ctx, dir, filepath.Join(dir, "lock"), cond)
	return found, err
}

// checkNoSpill fails if parent holds a spill directory.
func checkNoSpill(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".trawl-spill-") {
			t.Errorf("%s left in %s", e.Name(), parent)
		}
	}
}

// TestSpillListManyHosts: a grouped list over several hosts, far past a
// tiny --queue-memory, spills to disk (in --spill-dir, or next to the
// output), is fetched exactly once, and leaves no spill behind.
func TestSpillListManyHosts(t *testing.T) {
	t.Parallel()
	t.Run("spill-dir", func(t *testing.T) { t.Parallel(); spillListManyHosts(t, true) })
	t.Run("next-to-output", func(t *testing.T) { t.Parallel(); spillListManyHosts(t, false) })
}

func spillListManyHosts(t *testing.T, explicit bool) {
	ctx := testContext(t)
	hold := make(chan struct{})
	s := newHostsSite(t, 4, func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-hold: // until the test has seen the spill
		case <-r.Context().Done():
		}
		return false
	})
	t.Cleanup(func() {
		select {
		case <-hold:
		default:
			close(hold)
		}
	})
	urls := s.groupedURLs(400)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.jsonl")
	parent := outDir
	a := []string{"--queue-memory", "16KiB", "-o", out, urlFile(t, urls)}
	if explicit {
		parent = t.TempDir()
		a = append(a, "--spill-dir", parent)
	}
	p := startTrawl(t, ctx, nil, args("fetch", a...)...)
	dir := spillDirOf(t, ctx, p)
	if filepath.Dir(dir) != parent {
		t.Errorf("spilled to %s, want a directory in %s", dir, parent)
	}
	if _, err := waitSpillFile(ctx, dir); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkAllOK(t, parseJSONL(t, string(b)), urls)
	for _, h := range s.hosts {
		if n := len(s.pageHits(h)); n != 400 {
			t.Errorf("host %s served %d pages, want 400", h, n)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spill directory %s after the run: %v", dir, err)
	}
	checkNoSpill(t, parent)
}

// treePages is a site of n pages, /p/0 the root, each linking to its
// ten children /p/10i+1 … /p/10i+10.
func treePages(n int) map[string]page {
	pages := make(map[string]page, n)
	for i := range n {
		var b strings.Builder
		for c := 10*i + 1; c <= 10*i+10 && c < n; c++ {
			fmt.Fprintf(&b, `<a href="/p/%d">%d</a> `, c, c)
		}
		pages[fmt.Sprintf("/p/%d", i)] = htmlPage(fmt.Sprintf("Page %d", i), b.String())
	}
	return pages
}

// TestSpillCrawl: a crawl whose queue passes a tiny --queue-memory
// spills it, still goes breadth first (one worker: the output is in
// fetch order), fetches every page once and removes its spill.
func TestSpillCrawl(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 3000
	s := newSite(t, treePages(n), -1)
	parent := t.TempDir()
	res := runTrawl(t, ctx, nil, args("crawl", "-c", "1", "--queue-memory", "16KiB", "--spill-dir", parent, s.URL+"/p/0")...)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "spilling it to "+parent) {
		t.Errorf("no spill reported:\n%s", res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	got := byURL(t, recs)
	for i := range n {
		if u := fmt.Sprintf("%s/p/%d", s.URL, i); got[u].Status != 200 {
			t.Errorf("%s: %+v, want status 200", u, got[u])
		}
	}
	if len(recs) != n {
		t.Errorf("%d records, want %d", len(recs), n)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Depth < recs[i-1].Depth {
			t.Fatalf("record %d (%s) at depth %d after depth %d: not breadth first", i, recs[i].URL, recs[i].Depth, recs[i-1].Depth)
		}
	}
	if counts, _ := s.counts(); len(counts) != n {
		t.Errorf("%d pages served, want %d", len(counts), n)
	}
	for path, c := range func() map[string]int { m, _ := s.counts(); return m }() {
		if c != 1 {
			t.Errorf("%s served %d times", path, c)
		}
	}
	checkNoSpill(t, parent)
}

// TestSpillKillThenResume: a run killed with SIGKILL while its queue is
// spilled, then resumed: every URL ends up exactly once in the output
// (a crawl rebuilds its queue from the journal, a list from its input;
// the spill is scratch), and the resumed run removes the killed run's
// spill directory.
func TestSpillKillThenResume(t *testing.T) {
	t.Parallel()
	t.Run("crawl", func(t *testing.T) { t.Parallel(); spillKillThenResume(t, true) })
	t.Run("list", func(t *testing.T) { t.Parallel(); spillKillThenResume(t, false) })
}

func spillKillThenResume(t *testing.T, crawl bool) {
	ctx := testContext(t)
	const n, free, workers = 1500, 150, 4
	s := newSite(t, treePages(n), free)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	w := fmt.Sprint(workers)
	a := args("fetch", "-c", w, "--per-host", w, "--queue-memory", "16KiB", "-o", out, urlFile(t, s.urls(numberedPaths(n)...)))
	if crawl {
		a = args("crawl", "-c", w, "--per-host", w, "--queue-memory", "16KiB", "-o", out, s.URL+"/p/0")
	}
	first := startTrawl(t, ctx, nil, a...)
	spill := spillDirOf(t, ctx, first)
	if err := s.waitHeld(ctx, workers); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	if _, err := waitSpillFile(ctx, spill); err != nil {
		t.Fatal(err)
	}
	if err := waitFile(ctx, dir, out, lines(free/2)); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	first.signal(syscall.SIGKILL)
	if code := first.wait(); code != -1 {
		t.Fatalf("killed run: exit code %d, want death by signal", code)
	}
	if err := s.waitGone(ctx, workers); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spill); err != nil {
		t.Fatalf("the killed run's spill: %v, want it left behind", err)
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	kept := strings.Count(string(before), "\n")
	_, servedBefore := s.counts()

	s.release()
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed run: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	after, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseJSONL(t, string(after))
	got := byURL(t, recs)
	for i := range n {
		if u := fmt.Sprintf("%s/p/%d", s.URL, i); got[u].Status != 200 {
			t.Errorf("record for %s: %+v, want status 200", u, got[u])
		}
	}
	if len(recs) != n {
		t.Errorf("%d records in %s after --resume, want %d", len(recs), out, n)
	}
	if _, served := s.counts(); served-servedBefore != n-kept {
		t.Errorf("the resumed run fetched %d pages, want %d: %d records were already in %s", served-servedBefore, n-kept, kept, out)
	}
	if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed run's spill %s after the resumed run: %v", spill, err)
	}
	checkNoSpill(t, dir)
}

// TestSpillDirUnusable: a --spill-dir that cannot hold the queue is a
// usage error naming it, before anything is fetched.
func TestSpillDirUnusable(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	file := writeFile(t, "not-a-dir", "x")
	for _, dir := range []string{file, filepath.Join(t.TempDir(), "missing")} {
		res := runTrawl(t, ctx, nil, args("fetch", "--spill-dir", dir, "http://127.0.0.1:1/")...)
		if res.code != 2 || !strings.Contains(res.stderr, "--spill-dir "+dir) {
			t.Errorf("--spill-dir %s: exit code %d, stderr:\n%s\nwant 2 and an error naming it", dir, res.code, res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("--spill-dir %s: output %q", dir, res.stdout)
		}
	}
}

// TestSpillRemovedOnInterrupt: a run stopped with SIGINT while its queue
// is spilled removes its spill directory on the way out.
func TestSpillRemovedOnInterrupt(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n, workers = 1500, 2
	s := newSite(t, numberedPages(n), 0)
	parent := t.TempDir()
	w := fmt.Sprint(workers)
	p := startTrawl(t, ctx, nil, args("fetch", "-c", w, "--per-host", w, "--grace", "0", "--queue-memory", "16KiB",
		"--spill-dir", parent, urlFile(t, s.urls(numberedPaths(n)...)))...)
	spill := spillDirOf(t, ctx, p)
	if _, err := waitSpillFile(ctx, spill); err != nil {
		t.Fatal(err)
	}
	if err := s.waitHeld(ctx, workers); err != nil {
		t.Fatal(err)
	}
	p.signal(os.Interrupt)
	if code := p.wait(); code != 130 {
		t.Fatalf("exit code %d after SIGINT, want 130; stderr:\n%s", code, p.stderr)
	}
	if _, err := os.Stat(spill); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spill directory %s after SIGINT: %v", spill, err)
	}
	checkNoSpill(t, parent)
}
