package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sitemapOf is a sitemap listing the pages of s with their lastmod ("":
// none).
func sitemapOf(s *sinceSite, lastmods map[string]string) *sincePage {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for path, lm := range lastmods {
		if lm == "" {
			fmt.Fprintf(&b, "<url><loc>%s%s</loc></url>\n", s.URL, path)
			continue
		}
		// <lastmod> before <loc> on one of them: the order is free.
		if path == "/minute" {
			fmt.Fprintf(&b, "<url><lastmod>%s</lastmod><loc>%s%s</loc></url>\n", lm, s.URL, path)
			continue
		}
		fmt.Fprintf(&b, "<url><loc>%s%s</loc><lastmod>%s</lastmod></url>\n", s.URL, path, lm)
	}
	b.WriteString("</urlset>")
	return &sincePage{body: b.String()}
}

// requests returns how many requests s answered for path.
func (s *sinceSite) requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inm[path])
}

// TestSinceSitemapLastmod: with --sitemap and --since, a page whose
// sitemap <lastmod> is older than its previous record is not requested:
// unchanged, via sitemap-lastmod, its previous fields carried (links
// too: the crawl goes on through it), also when the seed links to it (the
// sitemap is read before the seed is queued). A lastmod after the previous
// fetch, of a whole day that is not over, malformed or in the future is
// fetched as usual, as is a page that failed before; --no-lastmod
// requests every page.
func TestSinceSitemapLastmod(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	page := func(title string) sincePage {
		return sincePage{body: "<title>" + title + "</title>", etag: `"` + title + `"`}
	}
	s := newSinceSite(t, map[string]sincePage{
		"/":       {body: `<title>home</title><a href="/old">old</a><a href="/minute">minute</a>`},
		"/old":    {body: `<title>old</title><a href="/child">child</a>`, etag: `"old"`},
		"/child":  page("child"),
		"/minute": page("minute"),
		"/edited": page("edited"),
		"/today":  page("today"),
		"/future": page("future"),
		"/bad":    page("bad"),
		"/failed": {status: http.StatusServiceUnavailable},
	})
	paths := []string{"/old", "/minute", "/edited", "/today", "/future", "/bad", "/failed"}
	none := map[string]string{}
	for _, p := range paths {
		none[p] = ""
	}
	s.set("/sitemap.xml", sitemapOf(s, none))
	dir := t.TempDir()
	first := filepath.Join(dir, "1.jsonl")
	crawl := func(out string, extra ...string) map[string]sinceRecord {
		t.Helper()
		a := append([]string{"-q", "--sitemap", "--retries", "0", "-o", out}, extra...)
		if res := runTrawl(t, ctx, nil, args("crawl", append(a, s.URL+"/")...)...); res.code != 0 {
			t.Fatalf("%s: exit %d: %s", out, res.code, res.stderr)
		}
		return readSinceRecords(t, out)
	}
	before := crawl(first)
	if len(before) != len(paths)+2 {
		t.Fatalf("run 1: %d records, want %d: %v", len(before), len(paths)+2, before)
	}

	now := time.Now().UTC()
	s.set("/edited", &sincePage{body: "<title>edited 2</title>", etag: `"edited2"`})
	s.set("/failed", &sincePage{body: "<title>back</title>"})
	s.set("/sitemap.xml", sitemapOf(s, map[string]string{
		"/old":    "2000-01-01",
		"/minute": "2001-02-03T04:05+01:00",
		"/edited": now.Format(time.RFC3339),
		"/today":  now.Format("2006-01-02"),
		"/future": "2999-01-01",
		"/bad":    "yesterday",
		"/failed": "2000-01-01",
	}))
	counts := map[string]int{}
	for _, p := range append(paths, "/child") {
		counts[p] = s.requests(p)
	}
	s.mu.Lock()
	run2 := len(s.order)
	s.mu.Unlock()
	second := filepath.Join(dir, "2.jsonl")
	after := crawl(second, "--since", first)
	s.mu.Lock()
	if order := s.order[run2:]; order[0] != "/sitemap.xml" {
		t.Errorf("run 2 requested %v: the sitemap is not read before the seed is queued", order)
	}
	s.mu.Unlock()
	want := map[string]struct {
		change, via string
		status      int
		requested   bool
	}{
		"/old":    {"unchanged", "sitemap-lastmod", 200, false},
		"/minute": {"unchanged", "sitemap-lastmod", 200, false},
		"/child":  {"unchanged", "", 304, true},
		"/edited": {"changed", "", 200, true},
		"/today":  {"unchanged", "", 304, true},
		"/future": {"unchanged", "", 304, true},
		"/bad":    {"unchanged", "", 304, true},
		"/failed": {"new", "", 200, true},
	}
	for path, w := range want {
		r, ok := after[s.URL+path]
		if !ok {
			t.Errorf("run 2: no record of %s", path)
			continue
		}
		if r.Change != w.change || r.Via != w.via || r.Status != w.status {
			t.Errorf("run 2 %s: change %q via %q status %d, want %q %q %d", path, r.Change, r.Via, r.Status, w.change, w.via, w.status)
		}
		if got := s.requests(path) - counts[path]; got != map[bool]int{true: 1, false: 0}[w.requested] {
			t.Errorf("run 2 %s: %d requests, want requested %v", path, got, w.requested)
		}
	}
	for _, path := range []string{"/old", "/minute"} {
		prev, now := before[s.URL+path], after[s.URL+path]
		if now.Title != prev.Title || now.ContentHash != prev.ContentHash || now.ETag != prev.ETag ||
			strings.Join(now.Links, " ") != strings.Join(prev.Links, " ") ||
			now.PreviousFetchedAt != prev.FetchedAt || now.FetchedAt <= prev.FetchedAt {
			t.Errorf("%s not requested: record %+v does not carry the previous %+v", path, now, prev)
		}
	}

	// --no-lastmod: every page is requested.
	oldCount := s.requests("/old")
	third := crawl(filepath.Join(dir, "3.jsonl"), "--since", second, "--no-lastmod")
	if r := third[s.URL+"/old"]; r.Via != "" || r.Status != 304 || s.requests("/old") != oldCount+1 {
		t.Errorf("--no-lastmod: /old via %q status %d, %d requests; want requested, a 304", r.Via, r.Status, s.requests("/old")-oldCount)
	}
}

// TestSinceSitemapLastmodLinkedEarly: with sitemaps read first for their
// <lastmod>, no page is taken before every sitemap has been read. Here
// /a, listed in the first sitemap, links to /b, whose old lastmod is in
// the second; the second is served only once /b has been requested (or
// after 3s). Taking /a before the second sitemap was read found /b by
// its link with no lastmod known, and requested it.
func TestSinceSitemapLastmodLinkedEarly(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var mu sync.Mutex
	requests := map[string]int{}
	bRequested := make(chan struct{})
	var once sync.Once
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests[r.URL.Path]++
		mu.Unlock()
		urlset := func(path string) string {
			return `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` +
				"<url><loc>" + srv.URL + path + "</loc><lastmod>2000-01-01</lastmod></url></urlset>"
		}
		switch r.URL.Path {
		case "/sitemap.xml":
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`+
				`<sitemap><loc>%s/s1.xml</loc></sitemap><sitemap><loc>%s/s2.xml</loc></sitemap></sitemapindex>`, srv.URL, srv.URL)
		case "/s1.xml":
			fmt.Fprint(w, urlset("/a"))
		case "/s2.xml":
			t := time.NewTimer(3 * time.Second)
			defer t.Stop()
			select {
			case <-bRequested:
			case <-t.C:
			case <-r.Context().Done():
			}
			fmt.Fprint(w, urlset("/b"))
		case "/":
			fmt.Fprint(w, `<title>home</title>`)
		case "/a":
			fmt.Fprint(w, `<title>a</title><a href="/b">b</a>`)
		case "/b":
			once.Do(func() { close(bRequested) })
			fmt.Fprint(w, `<title>b</title>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	// The previous run fetched /b an hour ago; /a is new.
	dir := t.TempDir()
	prev := filepath.Join(dir, "prev.jsonl")
	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	line := fmt.Sprintf(`{"url":%q,"final_url":%q,"status":200,"title":"b","links":[],"fetched_at":%q,"content_hash":"00"}`+"\n", srv.URL+"/b", srv.URL+"/b", at)
	if err := os.WriteFile(prev, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	res := runTrawl(t, ctx, nil, "crawl", "-q", "--sitemap", "--retries", "0", "--since", prev, "-o", out, srv.URL+"/")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	recs := readSinceRecords(t, out)
	b := recs[srv.URL+"/b"]
	mu.Lock()
	defer mu.Unlock()
	if requests["/b"] != 0 || b.Via != "sitemap-lastmod" {
		t.Errorf("/b requested %d times, record %+v; want not requested, via sitemap-lastmod", requests["/b"], b)
	}
	if requests["/a"] != 1 {
		t.Errorf("/a requested %d times, want 1", requests["/a"])
	}
}
