package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler/demosite"
	"github.com/trawl-dev/trawl/structured"
)

// memoryOutput collects results; the pipeline calls it from one task.
type memoryOutput struct {
	mu      sync.Mutex
	results []*Result
	flushes int
}

func (m *memoryOutput) Write(ctx context.Context, r *Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results = append(m.results, r)
	return nil
}

func (m *memoryOutput) Flush(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushes++
	return nil
}

func (m *memoryOutput) byURL() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := map[string]int{}
	for _, r := range m.results {
		n[r.URL]++
	}
	return n
}

func newPipelineFetcher(t *testing.T, cfg Config) *Fetcher {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	f, err := NewFetcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestRunCrawlFetchesEveryPageOnce(t *testing.T) {
	site := demosite.Site{Pages: 120, Seed: 7}
	srv := httptest.NewServer(site)
	defer srv.Close()
	seed, _ := ParseURL(srv.URL + "/")
	out := &memoryOutput{}
	sum, err := Run(t.Context(), RunConfig{
		Inputs:      []Input{{Name: srv.URL + "/", IsURL: true}},
		Fetcher:     newPipelineFetcher(t, Config{PerHost: 8}),
		Concurrency: 8,
		Crawl:       true,
		Scope:       NewScope([]*url.URL{seed}, ScopeOptions{}),
		Output:      out,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.byURL()
	if len(got) != site.Pages {
		t.Fatalf("%d pages written, want %d", len(got), site.Pages)
	}
	for u, n := range got {
		if n != 1 {
			t.Errorf("%s written %d times", u, n)
		}
	}
	if sum.Done != site.Pages || sum.Failed != 0 || !sum.Complete || sum.Pending != 0 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestRunListModeWritesInvalidLines(t *testing.T) {
	site := demosite.Site{Pages: 5, Seed: 1}
	srv := httptest.NewServer(site)
	defer srv.Close()
	file := writeTemp(t, "urls.txt", fmt.Sprintf("%s/\nftp://nope/\n%s/page/1.html\n%s/\n", srv.URL, srv.URL, srv.URL))
	out := &memoryOutput{}
	sum, err := Run(t.Context(), RunConfig{
		Inputs:  []Input{{Name: file}},
		Fetcher: newPipelineFetcher(t, Config{}),
		Output:  out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done != 3 || sum.Failed != 1 || sum.ByKind[KindInvalidURL] != 1 {
		t.Fatalf("summary %+v, want 3 done (a duplicate skipped), 1 invalid", sum)
	}
	for _, r := range out.results {
		if r.Error != nil && (r.Line != 2 || !strings.Contains(r.Error.Message, "line 2")) {
			t.Errorf("invalid record %+v lacks its line number", r)
		}
	}
}

// A stop with a grace period: requests in flight finish and are written;
// nothing more is taken; the run reports it stopped before the end.
func TestRunStopFinishesInFlightRequests(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	started := 0
	twoStarted := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		started++
		if started == 2 {
			close(twoStarted)
		}
		mu.Unlock()
		<-release
		fmt.Fprint(w, "<title>slow</title>")
	}))
	defer srv.Close()
	var inputs []Input
	for i := range 20 {
		inputs = append(inputs, Input{Name: fmt.Sprintf("%s/%d", srv.URL, i), IsURL: true})
	}
	stop := &structured.Event{}
	out := &memoryOutput{}
	var sum Summary
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			<-twoStarted
			stop.Set()
			close(release) // the two in flight finish within the grace period
			return nil
		})
		var err error
		sum, err = Run(ctx, RunConfig{
			Inputs: inputs, Fetcher: newPipelineFetcher(t, Config{PerHost: 2}),
			Concurrency: 2, Output: out, Stop: stop, Grace: time.Minute,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.results) != 2 || sum.Done != 2 {
		t.Fatalf("%d results written (summary %+v), want the 2 in flight", len(out.results), sum)
	}
	if !sum.Stopped || sum.Complete {
		t.Fatalf("summary %+v, want stopped and not complete", sum)
	}
}

// After the grace period, requests in flight are cancelled and write no
// result: a resumed run fetches them again.
func TestRunStopCancelsAfterGrace(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		<-r.Context().Done() // never answers
	}))
	defer srv.Close()
	stop := &structured.Event{}
	stop.Set()
	out := &memoryOutput{}
	sum, err := Run(t.Context(), RunConfig{
		Inputs:  []Input{{Name: srv.URL + "/a", IsURL: true}},
		Fetcher: newPipelineFetcher(t, Config{Timeout: time.Minute}),
		Output:  out, Stop: stop, Grace: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.results) != 0 || sum.Complete {
		t.Fatalf("results %v, summary %+v: a cancelled request must write nothing", out.results, sum)
	}
}

func TestRunMaxTimeStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	sum, err := Run(t.Context(), RunConfig{
		Inputs:  []Input{{Name: srv.URL + "/a", IsURL: true}},
		Fetcher: newPipelineFetcher(t, Config{Timeout: time.Minute, IgnoreRobots: true}),
		Output:  &memoryOutput{}, MaxTime: 20 * time.Millisecond, Grace: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Stopped || sum.Complete {
		t.Fatalf("summary %+v, want stopped by --max-time", sum)
	}
}

func TestRunSitemapSeeds(t *testing.T) {
	mux := http.NewServeMux()
	var base string
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "User-agent: *\nAllow: /\nSitemap: %s/index.xml\n", base)
	})
	mux.HandleFunc("/index.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>%s/pages.xml.gz</loc></sitemap></sitemapindex>`, base)
	})
	mux.HandleFunc("/pages.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		fmt.Fprintf(zw, `<urlset><url><loc> %s/orphan </loc></url><url><loc>https://elsewhere.test/x</loc></url></urlset>`, base)
		zw.Close()
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Write(buf.Bytes())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<title>page</title>")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL
	seed, _ := ParseURL(srv.URL + "/")
	out := &memoryOutput{}
	_, err := Run(t.Context(), RunConfig{
		Inputs:  []Input{{Name: srv.URL + "/", IsURL: true}},
		Fetcher: newPipelineFetcher(t, Config{}),
		Crawl:   true, Sitemaps: true,
		Scope:  NewScope([]*url.URL{seed}, ScopeOptions{}),
		Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.byURL()
	if got[srv.URL+"/orphan"] != 1 {
		t.Fatalf("the page listed only in the gzipped sitemap was not crawled: %v", got)
	}
	if got["https://elsewhere.test/x"] != 0 {
		t.Fatal("an out-of-scope sitemap entry was fetched")
	}
}

// A crawler trap: every page links to two new pages, forever. Depth and
// max-pages must each bound the crawl, and the crawl must end by itself.
func TestRunCrawlerTrapIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<a href="%s/a">a</a> <a href="%s/b?x=%d">b</a>`, r.URL.Path, r.URL.Path, len(r.URL.Path))
	}))
	defer srv.Close()
	seed, _ := ParseURL(srv.URL + "/trap")
	for _, tc := range []struct {
		name string
		opts ScopeOptions
		want int
	}{
		{"max-pages", ScopeOptions{MaxPages: 50}, 50},
		{"depth", ScopeOptions{MaxDepth: 4}, 1 + 2 + 4 + 8 + 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &memoryOutput{}
			sum, err := Run(t.Context(), RunConfig{
				Inputs:  []Input{{Name: srv.URL + "/trap", IsURL: true}},
				Fetcher: newPipelineFetcher(t, Config{PerHost: 4}), Concurrency: 4,
				Crawl: true, Scope: NewScope([]*url.URL{seed}, tc.opts), Output: out,
			})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Done != tc.want || !sum.Complete {
				t.Fatalf("summary %+v, want %d pages and a complete crawl", sum, tc.want)
			}
		})
	}
}

// panicTransport fails every request with a panic.
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

// A failing producer or a panicking worker ends the run with that error or
// panic; the other tasks must not wait for the intake forever.
func TestRunEndsWhenATaskFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	dir := t.TempDir() // a directory passes for a file until it is read
	_, err := Run(ctx, RunConfig{
		Inputs:  []Input{{Name: dir}},
		Fetcher: newPipelineFetcher(t, Config{}), Concurrency: 2, Output: &memoryOutput{},
	})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run = %v (ctx %v), want the input's error before the deadline", err, ctx.Err())
	}

	var inputs []Input
	for i := range 20 {
		inputs = append(inputs, Input{Name: fmt.Sprintf("http://a.test/%d", i), IsURL: true})
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a worker's panic did not reach Run's caller")
		}
		if ctx.Err() != nil {
			t.Fatal("the run hung until the deadline")
		}
	}()
	_, _ = Run(ctx, RunConfig{
		Inputs:  inputs,
		Fetcher: newPipelineFetcher(t, Config{Transport: panicTransport{}, IgnoreRobots: true}), Concurrency: 2,
		Output: &memoryOutput{},
	})
}

// TestRunCrawlRecordsReferrer: in crawl mode every discovered page's
// record names the page whose links queued it, and that page links to
// it; the seed has none, and neither has a list-mode record.
func TestRunCrawlRecordsReferrer(t *testing.T) {
	site := demosite.Site{Pages: 40, Seed: 3}
	srv := httptest.NewServer(site)
	defer srv.Close()
	seed, _ := ParseURL(srv.URL + "/")
	for _, crawl := range []bool{true, false} {
		out := &memoryOutput{}
		_, err := Run(t.Context(), RunConfig{
			Inputs:      []Input{{Name: srv.URL + "/", IsURL: true}},
			Fetcher:     newPipelineFetcher(t, Config{PerHost: 4}),
			Concurrency: 4,
			Crawl:       crawl,
			Scope:       NewScope([]*url.URL{seed}, ScopeOptions{}),
			Output:      out,
		})
		if err != nil {
			t.Fatal(err)
		}
		links := map[string][]string{}
		for _, r := range out.results {
			links[r.URL] = r.Links
		}
		for _, r := range out.results {
			switch {
			case r.Depth == 0 && r.Referrer != "":
				t.Errorf("crawl=%v: seed %s has referrer %q", crawl, r.URL, r.Referrer)
			case r.Depth > 0 && !slices.Contains(links[r.Referrer], r.URL):
				t.Errorf("crawl=%v: %s has referrer %q, which does not link to it", crawl, r.URL, r.Referrer)
			}
		}
		if crawl && len(out.results) < 2 {
			t.Fatalf("crawl wrote %d records", len(out.results))
		}
	}
}
