//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestCrawlKillThenResume: a crawl into a file killed with SIGKILL, then
// resumed: every page of the site exactly once in the file, and no page
// fetched twice across the two runs.
func TestCrawlKillThenResume(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const free, workers = 20, 4
	home, _, _ := crawlSites(t, free)
	dir := t.TempDir()
	out := filepath.Join(dir, "site.jsonl")
	w := fmt.Sprint(workers)
	a := args("crawl", "-c", w, "--per-host", w, "-o", out, home.URL+"/p/0")

	first := startTrawl(t, ctx, nil, a...)
	if err := home.waitHeld(ctx, workers); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	if err := waitFile(ctx, dir, out, lines(free)); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	first.signal(syscall.SIGKILL)
	if code := first.wait(); code != -1 {
		t.Fatalf("killed run: exit code %d, want death by signal", code)
	}
	if err := home.waitGone(ctx, workers); err != nil {
		t.Fatal(err)
	}
	home.release()
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed crawl: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseJSONL(t, string(b))
	if len(recs) != crawlPages {
		t.Errorf("%d records after the resumed crawl, want %d; stderr:\n%s", len(recs), crawlPages, res.stderr)
	}
	checkCrawl(t, home, recs, expectedCrawl(0, nil))
	checkReferrers(t, recs)
}

// checkReferrers checks that every discovered page's record names a
// referrer that is in recs and links to it, and that no seed has one:
// the journal of a resumed crawl keeps the referrers of what it requeues.
func checkReferrers(t *testing.T, recs []record) {
	t.Helper()
	links := map[string][]string{}
	for _, r := range recs {
		links[r.URL] = r.Links
	}
	for _, r := range recs {
		if (r.Depth == 0) != (r.Referrer == "") || r.Depth > 0 && !slices.Contains(links[r.Referrer], r.URL) {
			t.Errorf("%s (depth %d) has referrer %q, which is not a crawled page linking to it", r.URL, r.Depth, r.Referrer)
		}
	}
}

// TestSIGTERM is a first SIGINT: exit 130, whole output.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	const n, free, workers = 20, 3, 2
	s, p, urls := interruptible(t, n, free, workers, "--grace", "100ms")
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 130 {
		t.Errorf("exit code %d, want 130; stderr:\n%s", code, p.stderr)
	}
	recs := parseJSONL(t, p.stdout.String())
	checkSubset(t, recs, urls)
	if _, served := s.counts(); len(recs) != served {
		t.Errorf("%d records for %d pages served", len(recs), served)
	}
}

// TestResumeCompleteRun: --resume of a run that finished fetches nothing
// and adds no record, failed URLs and bad input lines included.
func TestResumeCompleteRun(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	in := writeFile(t, "urls.txt", fmt.Sprintf("%s/p/0\nnot a url\n%s/missing\n%s/p/1\n", s.URL, s.URL, s.URL))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	first := runTrawl(t, ctx, nil, args("fetch", "-o", out, in)...)
	if first.code != 0 {
		t.Fatalf("first run: exit code %d, want 0 (the run completed); stderr:\n%s", first.code, first.stderr)
	}
	before, _ := os.ReadFile(out)
	_, servedBefore := s.counts()
	second := runTrawl(t, ctx, nil, args("fetch", "--resume", "-o", out, in)...)
	after, _ := os.ReadFile(out)
	if string(after) != string(before) {
		t.Errorf("--resume of a finished run changed the output:\n--- before\n%s--- after\n%s", before, after)
	}
	if _, served := s.counts(); served != servedBefore {
		t.Errorf("--resume of a finished run fetched %d pages again", served-servedBefore)
	}
	if second.code != 0 {
		t.Errorf("--resume of a finished run: exit code %d; stderr:\n%s", second.code, second.stderr)
	}
}

// TestFieldsJSON: --fields picks and orders the keys of each JSON line.
func TestFieldsJSON(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--fields", "title,status,url", s.URL+"/p/0")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	want := fmt.Sprintf(`{"title":"Page 0","status":200,"url":"%s/p/0"}`+"\n", s.URL)
	if res.stdout != want {
		t.Errorf("got %s want %s", res.stdout, want)
	}
}

// TestCrawlSIGINT: a crawl interrupted mid-run writes whole lines and
// exits 130.
func TestCrawlSIGINT(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	home, _, _ := crawlSites(t, 10)
	p := startTrawl(t, ctx, nil, args("crawl", "-c", "2", "--grace", "100ms", home.URL+"/p/0")...)
	if err := home.waitHeld(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := p.stdout.waitFor(ctx, lines(10)); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGINT)
	if code := p.wait(); code != 130 {
		t.Errorf("exit code %d, want 130; stderr:\n%s", code, p.stderr)
	}
	recs := parseJSONL(t, p.stdout.String())
	if _, served := home.counts(); len(recs) != served || served != 10 {
		t.Errorf("%d records for %d pages served, want 10", len(recs), served)
	}
}

// TestCrawlMaxPagesAcrossResume: --max-pages caps the crawl, not each
// run of it: a crawl killed with SIGKILL and resumed ends with exactly
// --max-pages records (the resumed run used to admit --max-pages more).
func TestCrawlMaxPagesAcrossResume(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const free, workers, maxPages = 12, 3, 25
	home, _, _ := crawlSites(t, free)
	dir := t.TempDir()
	out := filepath.Join(dir, "site.jsonl")
	w := fmt.Sprint(workers)
	a := args("crawl", "-c", w, "--per-host", w, "--max-pages", fmt.Sprint(maxPages), "-o", out, home.URL+"/p/0")

	first := startTrawl(t, ctx, nil, a...)
	if err := home.waitHeld(ctx, workers); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	if err := waitFile(ctx, dir, out, lines(free)); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	first.signal(syscall.SIGKILL)
	if code := first.wait(); code != -1 {
		t.Fatalf("killed run: exit code %d, want death by signal", code)
	}
	if err := home.waitGone(ctx, workers); err != nil {
		t.Fatal(err)
	}
	home.release()
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed crawl: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseJSONL(t, string(b))
	byURL(t, recs)
	if len(recs) != maxPages {
		t.Errorf("%d records after the resumed crawl, want --max-pages %d; stderr:\n%s", len(recs), maxPages, res.stderr)
	}
	for _, r := range recs {
		if r.Status != 200 {
			t.Errorf("record for %s: status %d, want 200", r.URL, r.Status)
		}
	}
}
