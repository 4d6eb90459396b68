package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSinceReportRemoved: a re-crawl with --report-removed ends with a
// gone record (via not-reached, status 0, not requested) for every page
// of the previous crawl it no longer reached, in its scope only; an
// interrupted crawl lists none and says so, its resumed run lists each
// once, and so does a resumed run that finds part of the list written;
// --max-pages cutting the crawl lists none.
func TestSinceReportRemoved(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	page := func(title string, links ...string) sincePage {
		body := "<title>" + title + "</title>"
		for _, l := range links {
			body += `<a href="` + l + `">x</a>`
		}
		return sincePage{body: body, etag: `"` + title + `"`}
	}
	s := newSinceSite(t, map[string]sincePage{
		"/":  page("home", "/a", "/b", "/d"),
		"/a": page("a", "/c"),
		"/b": page("b"),
		"/c": page("c"),
		"/d": page("d"),
	})
	dir := t.TempDir()
	prev, out := filepath.Join(dir, "prev.jsonl"), filepath.Join(dir, "out.jsonl")
	if res := runTrawl(t, ctx, nil, args("crawl", "-q", "-o", prev, s.URL+"/")...); res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	// /a (and /c through it) and /d are no longer linked; /d is out of
	// the second crawl's scope.
	s.set("/", &sincePage{body: `<title>home 2</title><a href="/b">b</a>`, etag: `"home2"`})
	a := args("crawl", "-c", "1", "--per-host", "1", "--grace", "0", "--since", prev, "--report-removed", "--exclude", "/d$", "-o", out, s.URL+"/")

	// Interrupted while /b is in flight: nothing is listed.
	if stderr := s.interruptAt(t, ctx, "/b", a...); !strings.Contains(stderr, "--report-removed: the crawl did not complete") {
		t.Fatalf("interrupted crawl: no warning: %s", stderr)
	}
	for _, r := range readSinceRecords(t, out) {
		if r.Change == "gone" {
			t.Errorf("interrupted crawl listed %s as gone", r.URL)
		}
	}

	requests := map[string]int{"/a": s.requests("/a"), "/c": s.requests("/c"), "/d": s.requests("/d")}
	check := func(when string) {
		t.Helper()
		got := readSinceRecords(t, out) // fails on a URL twice
		want := map[string]string{"/": "changed", "/b": "unchanged", "/a": "gone", "/c": "gone"}
		if len(got) != len(want) {
			t.Errorf("%s: %d records, want %d: %v", when, len(got), len(want), got)
		}
		for path, change := range want {
			r := got[s.URL+path]
			if r.Change != change {
				t.Errorf("%s: %s change %q, want %q", when, path, r.Change, change)
			}
			if change == "gone" && (r.Via != "not-reached" || r.Status != 0 || r.Error != nil || r.PreviousFetchedAt == "" || r.FetchedAt == "") {
				t.Errorf("%s: %s is %+v, want via not-reached, status 0, no error, previous_fetched_at", when, path, r)
			}
		}
		for path, n := range requests {
			if s.requests(path) != n {
				t.Errorf("%s: %s requested, want not", when, path)
			}
		}
	}
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 || !strings.Contains(res.stderr, "by change: gone 2, unchanged 1") {
		t.Fatalf("resumed crawl: exit %d: %s", res.code, res.stderr)
	}
	check("resumed")

	// Killed after writing one gone record of two: the resumed run writes
	// the other, once.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimSuffix(string(b), "\n")
	if err := os.WriteFile(out, []byte(body[:strings.LastIndexByte(body, '\n')+1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runTrawl(t, ctx, nil, append(a, "-q", "--resume")...); res.code != 0 {
		t.Fatalf("resumed after a partial list: exit %d: %s", res.code, res.stderr)
	}
	check("resumed after a partial list")

	// --max-pages cuts the crawl: nothing listed.
	cut := filepath.Join(dir, "cut.jsonl")
	res = runTrawl(t, ctx, nil, args("crawl", "--max-pages", "1", "--since", prev, "--report-removed", "-o", cut, s.URL+"/")...)
	if res.code != 0 || !strings.Contains(res.stderr, "--max-pages cut the crawl short") {
		t.Errorf("--max-pages: exit %d, want 0 and a warning: %s", res.code, res.stderr)
	}
	if got := readSinceRecords(t, cut); len(got) != 1 {
		t.Errorf("--max-pages 1: %d records, want 1: %v", len(got), got)
	}

	// Usage: --report-removed needs --since.
	if res := runTrawl(t, ctx, nil, args("crawl", "--report-removed", s.URL+"/")...); res.code != 2 || !strings.Contains(res.stderr, "--report-removed needs --since") {
		t.Errorf("--report-removed alone: exit %d: %s", res.code, res.stderr)
	}
}

// TestSinceReportRemovedResumeRedirect: a page reached only through a
// redirect whose record an interrupted run had written is reached in the
// resumed run too, not listed as removed; a crawl where --max-links left
// links out lists nothing.
func TestSinceReportRemovedResumeRedirect(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSinceSite(t, map[string]sincePage{
		"/":  {body: `<title>home</title><a href="/r">r</a><a href="/t">t</a><a href="/b">b</a>`, etag: `"home"`},
		"/r": {status: 301, location: "/t"},
		"/t": {body: "<title>t</title>", etag: `"t"`},
		"/b": {body: "<title>b</title>", etag: `"b"`},
	})
	dir := t.TempDir()
	prev, out := filepath.Join(dir, "prev.jsonl"), filepath.Join(dir, "out.jsonl")
	if res := runTrawl(t, ctx, nil, args("crawl", "-q", "-o", prev, s.URL+"/")...); res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	if got := readSinceRecords(t, prev); got[s.URL+"/t"].URL == "" {
		t.Fatalf("run 1 has no record of /t: %v", got)
	}
	// /t is now reached only through the redirect of /r.
	s.set("/", &sincePage{body: `<title>home 2</title><a href="/r">r</a><a href="/b">b</a>`, etag: `"home2"`})
	a := args("crawl", "-c", "1", "--per-host", "1", "--grace", "0", "--since", prev, "--report-removed", "-o", out, s.URL+"/")

	// Interrupted while /b is in flight, after the record of /r.
	s.interruptAt(t, ctx, "/b", a...)
	if got := readSinceRecords(t, out); got[s.URL+"/r"].URL == "" {
		t.Fatalf("the interrupted run wrote no record of /r: %v", got)
	}

	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed crawl: exit %d: %s", res.code, res.stderr)
	}
	for u, r := range readSinceRecords(t, out) {
		if r.Change == "gone" {
			t.Errorf("resumed crawl lists %s as gone; /t was reached through /r's redirect before the interruption", u)
		}
	}
	// --max-links 1 leaves /b out of the links of /: nothing is listed,
	// rather than /b as removed.
	cut := filepath.Join(dir, "cut.jsonl")
	res = runTrawl(t, ctx, nil, args("crawl", "--max-links", "1", "--since", prev, "--report-removed", "-o", cut, s.URL+"/")...)
	if res.code != 0 || !strings.Contains(res.stderr, "--max-links left links of a page out") {
		t.Errorf("--max-links 1: exit %d, want 0 and a warning: %s", res.code, res.stderr)
	}
	for u, r := range readSinceRecords(t, cut) {
		if r.Change == "gone" {
			t.Errorf("--max-links 1 lists %s as gone", u)
		}
	}
}
