package crawler

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/trawl-dev/trawl/crawler/demosite"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// addCounter counts the requests handed to its frontier's Add, by URL.
// With after set, it also notes the URLs handed over from that Source
// (firstFrom), and those handed over again from elsewhere after that
// (again).
type addCounter struct {
	Frontier
	mu        sync.Mutex
	adds      map[string]int
	after     string
	firstFrom map[string]bool
	again     map[string]bool
}

func (c *addCounter) Add(ctx context.Context, req Request) (bool, error) {
	c.mu.Lock()
	c.adds[req.URL]++
	if c.after != "" {
		if c.firstFrom == nil {
			c.firstFrom, c.again = map[string]bool{}, map[string]bool{}
		}
		if req.Source == c.after {
			c.firstFrom[req.URL] = true
		} else if c.firstFrom[req.URL] {
			c.again[req.URL] = true
		}
	}
	c.mu.Unlock()
	return c.Frontier.Add(ctx, req)
}

// TestRunCrawlHandsLinksOverOnce: a link many pages have is handed to the
// frontier about once, not once a page (the frontier would find it seen),
// and the crawl still fetches every page once.
func TestRunCrawlHandsLinksOverOnce(t *testing.T) {
	site := demosite.Site{Pages: 120, Seed: 7}
	srv := httptest.NewServer(site)
	defer srv.Close()
	counter, out := crawlCounted(t, srv.URL, "", false, site.Pages)
	links := 0
	for _, r := range out.results {
		links += len(r.Links)
	}
	adds := 0
	for _, n := range counter.adds {
		adds += n
	}
	// A slot of the cache taken by another link makes a link handed over
	// again: a few times, not once a page.
	if unique := len(counter.adds); adds > unique+unique/4 || links < 3*unique {
		t.Fatalf("%d links on the pages, %d URLs: handed to the frontier %d times, want about once each", links, unique, adds)
	}
}

// crawlCounted crawls the site at base from its root page (with its
// sitemaps when sitemaps), counting what is handed to the frontier
// (after: see addCounter), and fails unless every one of pages was
// fetched and the run completed.
func crawlCounted(t *testing.T, base, after string, sitemaps bool, pages int) (*addCounter, *memoryOutput) {
	t.Helper()
	seed, _ := ParseURL(base + "/")
	mf := store.NewMemoryFrontier(structured.Unbounded, nil)
	t.Cleanup(func() { mf.Close() })
	counter := &addCounter{Frontier: mf, adds: map[string]int{}, after: after}
	out := &memoryOutput{}
	sum, err := Run(t.Context(), RunConfig{
		Inputs:      []Input{{Name: base + "/", IsURL: true}},
		Fetcher:     newPipelineFetcher(t, Config{PerHost: 8}),
		Concurrency: 8,
		Crawl:       true,
		Sitemaps:    sitemaps,
		Scope:       NewScope([]*url.URL{seed}, ScopeOptions{}),
		Frontier:    counter,
		Output:      out,
	})
	if err != nil || !sum.Complete || sum.Done != pages {
		t.Fatalf("summary %+v, %v; want %d pages, complete", sum, err, pages)
	}
	return counter, out
}

// TestLinkCache: a link added is found; one not added is not.
func TestLinkCache(t *testing.T) {
	c := newLinkCache()
	a1, a2 := c.key("http://a.test/x")
	b1, b2 := c.key("http://a.test/y")
	if c.has(a1, a2) {
		t.Fatal("found before added")
	}
	c.add(a1, a2)
	if !c.has(a1, a2) || c.has(b1, b2) && (a1 != b1 || a2 != b2) {
		t.Fatalf("after adding x: has x %v, has y %v", c.has(a1, a2), c.has(b1, b2))
	}
}

// TestRunSitemapHandsLinksOverOnce: with --sitemap, a page the sitemap
// listed is not handed to the frontier again from the pages' links (the
// frontier would find it seen): they are skipped as links handed over
// before. The crawl fetches every page once.
func TestRunSitemapHandsLinksOverOnce(t *testing.T) {
	site := demosite.Site{Pages: 120, Seed: 7}
	var base string
	mux := http.NewServeMux()
	mux.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for _, p := range site.Paths() {
			fmt.Fprintf(w, "<url><loc>%s%s</loc></url>", base, p)
		}
		fmt.Fprint(w, `</urlset>`)
	})
	mux.Handle("/", site)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL
	counter, _ := crawlCounted(t, srv.URL, "sitemap", true, site.Pages)
	if len(counter.firstFrom) != site.Pages {
		t.Fatalf("the sitemap handed %d pages over, want %d", len(counter.firstFrom), site.Pages)
	}
	// A slot of the cache taken by another link makes a link handed over
	// again: a few, not most.
	if n := len(counter.again); n > site.Pages/10 {
		t.Fatalf("%d of the %d pages of the sitemap handed over again from links: %v", n, site.Pages, counter.again)
	}
}

// TestLinkCacheKeepsLinksOfASet: links whose first hash picks the same
// set of slots are all kept, as many as it has slots; one more takes one
// of their slots.
func TestLinkCacheKeepsLinksOfASet(t *testing.T) {
	c := newLinkCache()
	const set = 7
	key := func(j int) (uint64, uint64) { return uint64(set + j*linkCacheSlots), uint64(10 + j) }
	for j := range linkCacheWays {
		c.add(key(j))
		c.add(key(0)) // again: no slot taken
	}
	for j := range linkCacheWays {
		if !c.has(key(j)) {
			t.Fatalf("%d links of one set: link %d not kept", linkCacheWays, j)
		}
	}
	c.add(key(linkCacheWays))
	kept := 0
	for j := range linkCacheWays {
		if c.has(key(j)) {
			kept++
		}
	}
	if !c.has(key(linkCacheWays)) || kept != linkCacheWays-1 {
		t.Fatalf("one link more: kept %d of the others, the new one %v; want %d and true", kept, c.has(key(linkCacheWays)), linkCacheWays-1)
	}
}
