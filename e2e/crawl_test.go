//go:build unix

package e2e

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The crawl site: pages /p/0 … /p/{crawlPages-1} on 127.0.0.1 form a
// binary tree (page i links to 2i+1 and 2i+2), every page links back to
// the root (also as a fragment variant, which normalises to the root)
// and to /x/i on a second site reached as "localhost", another host.
const crawlPages = 60

// crawlLinks returns the children of page i on the first site.
func crawlLinks(i int) []int {
	var c []int
	for _, k := range []int{2*i + 1, 2*i + 2} {
		if k < crawlPages {
			c = append(c, k)
		}
	}
	return c
}

// crawlSites starts the two sites and returns them, and the other host's
// base URL as the links name it.
// free gates the first site as newSite does.
func crawlSites(t *testing.T, free int) (home, other *site, otherBase string) {
	t.Helper()
	other = newSite(t, map[string]page{}, -1)
	u, err := url.Parse(other.URL)
	if err != nil {
		t.Fatal(err)
	}
	otherBase = "http://localhost:" + u.Port()
	pages := map[string]page{}
	for i := range crawlPages {
		var b strings.Builder
		for _, k := range crawlLinks(i) {
			fmt.Fprintf(&b, `<a href="/p/%d">child %d</a> `, k, k)
		}
		fmt.Fprintf(&b, `<a href="/p/0">home</a> <a href="../p/0#top">top</a> <a href="%s/x/%d">elsewhere</a>`, otherBase, i)
		pages[fmt.Sprintf("/p/%d", i)] = htmlPage(fmt.Sprintf("Page %d", i), b.String())
		other.pages[fmt.Sprintf("/x/%d", i)] = htmlPage(fmt.Sprintf("Other %d", i), "<p>no links</p>")
	}
	home = newSite(t, pages, free)
	return home, other, otherBase
}

// expectedCrawl returns the paths of the first site a crawl from /p/0
// fetches, with their depth: maxDepth 0 means no limit; excluded pages
// are neither fetched nor followed.
func expectedCrawl(maxDepth int, exclude *regexp.Regexp) map[string]int {
	want := map[string]int{"/p/0": 0}
	level := []int{0}
	for d := 1; len(level) > 0 && (maxDepth == 0 || d <= maxDepth); d++ {
		var next []int
		for _, i := range level {
			for _, k := range crawlLinks(i) {
				p := fmt.Sprintf("/p/%d", k)
				if exclude != nil && exclude.MatchString(p) {
					continue
				}
				want[p] = d
				next = append(next, k)
			}
		}
		level = next
	}
	return want
}

// checkCrawl checks that the records and the site's requests are exactly
// the pages of want, each once, with their depth.
func checkCrawl(t *testing.T, s *site, recs []record, want map[string]int) {
	t.Helper()
	got := byURL(t, recs)
	for p, d := range want {
		r, ok := got[s.URL+p]
		switch {
		case !ok:
			t.Errorf("no record for %s", p)
		case r.Status != 200 || r.Depth != d:
			t.Errorf("record for %s: status %d depth %d, want 200 depth %d", p, r.Status, r.Depth, d)
		}
	}
	for u := range got {
		if _, ok := want[strings.TrimPrefix(u, s.URL)]; !ok && strings.HasPrefix(u, s.URL) {
			t.Errorf("record for %s, which is out of the crawl", u)
		}
	}
	hits, _ := s.counts()
	for p, n := range hits {
		if _, ok := want[p]; !ok || n != 1 {
			t.Errorf("%s fetched %d times, want %d", p, n, map[bool]int{true: 1}[ok])
		}
	}
}

func TestCrawlSameHost(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	home, other, _ := crawlSites(t, -1)
	// robots.txt is obeyed here: both sites serve a permissive one.
	res := runTrawl(t, ctx, nil, "crawl", "--timeout", "5s", home.URL+"/p/0")
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	if len(recs) != crawlPages {
		t.Errorf("%d records, want %d", len(recs), crawlPages)
	}
	checkCrawl(t, home, recs, expectedCrawl(0, nil))
	if hits, _ := other.counts(); len(hits) != 0 {
		t.Errorf("the other host was fetched: %v", hits)
	}
	if n := home.hitsOf("/robots.txt"); n != 1 {
		t.Errorf("robots.txt fetched %d times, want once", n)
	}
}

func TestCrawlDepth(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	home, _, _ := crawlSites(t, -1)
	for _, depth := range []int{1, 3} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			home.mu.Lock()
			clear(home.hits)
			home.mu.Unlock()
			res := runTrawl(t, ctx, nil, args("crawl", "--depth", fmt.Sprint(depth), home.URL+"/p/0")...)
			if res.code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
			}
			want := expectedCrawl(depth, nil)
			recs := parseJSONL(t, res.stdout)
			if len(recs) != len(want) {
				t.Errorf("--depth %d: %d records, want %d", depth, len(recs), len(want))
			}
			checkCrawl(t, home, recs, want)
		})
	}
}

func TestCrawlMaxPages(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	home, _, _ := crawlSites(t, -1)
	res := runTrawl(t, ctx, nil, args("crawl", "--max-pages", "10", home.URL+"/p/0")...)
	if res.code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	got := byURL(t, recs)
	if len(recs) != 10 {
		t.Errorf("--max-pages 10: %d records, want 10", len(recs))
	}
	all := expectedCrawl(0, nil)
	for u, r := range got {
		if _, ok := all[strings.TrimPrefix(u, home.URL)]; !ok || r.Status != 200 {
			t.Errorf("record for %s: status %d, want a page of the site", u, r.Status)
		}
	}
	if _, served := home.counts(); served != 10 {
		t.Errorf("%d pages fetched, want 10", served)
	}
}

func TestCrawlScopeAny(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	home, other, otherBase := crawlSites(t, -1)
	res := runTrawl(t, ctx, nil, args("crawl", "--scope", "any", home.URL+"/p/0")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	got := byURL(t, recs)
	if len(recs) != 2*crawlPages {
		t.Errorf("%d records, want %d", len(recs), 2*crawlPages)
	}
	want := expectedCrawl(0, nil)
	checkCrawl(t, home, recs, want)
	for p, d := range want {
		u := otherBase + strings.Replace(p, "/p/", "/x/", 1)
		if r := got[u]; r.Status != 200 || r.Title == "" || r.Depth != d+1 {
			t.Errorf("record for %s: %+v, want status 200 depth %d", u, r, d+1)
		}
	}
	hits, _ := other.counts()
	if len(hits) != crawlPages || slices.ContainsFunc(slices.Collect(maps.Values(hits)), func(n int) bool { return n != 1 }) {
		t.Errorf("the other host's pages were not each fetched once: %v", hits)
	}
}

func TestCrawlExclude(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	home, _, _ := crawlSites(t, -1)
	const pattern = `/p/1[0-9]$`
	res := runTrawl(t, ctx, nil, args("crawl", "--exclude", pattern, home.URL+"/p/0")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	want := expectedCrawl(0, regexp.MustCompile(pattern))
	recs := parseJSONL(t, res.stdout)
	if len(recs) != len(want) {
		t.Errorf("--exclude %s: %d records, want %d", pattern, len(recs), len(want))
	}
	checkCrawl(t, home, recs, want)
}
