package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/crawler/demosite"
	"github.com/trawl-dev/trawl/structured"
)

// DemoOptions is everything `trawl demo` needs.
type DemoOptions struct {
	IO          *IOStreams
	Pages       int
	Seed        uint64
	Concurrency int
}

// NewCmdDemo returns `trawl demo`. runF replaces the run function in tests;
// nil means the real one.
func NewCmdDemo(io *IOStreams, runF func(context.Context, *DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: io}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Crawl a bundled sample site served on loopback",
		Long: `demo starts a generated sample site on 127.0.0.1 and a free port, fetches
every page concurrently, prints one JSON line per page on stdout and a
summary on stderr. It needs no network.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Pages < 1 {
				return usageError("--pages must be at least 1, got %d", opts.Pages)
			}
			if opts.Concurrency < 1 {
				return usageError("--concurrency must be at least 1, got %d", opts.Concurrency)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runDemo(c.Context(), opts)
		},
	}
	c.Flags().IntVar(&opts.Pages, "pages", 50, "number of pages in the sample site")
	c.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the generated site")
	c.Flags().IntVarP(&opts.Concurrency, "concurrency", "c", 16, "number of concurrent fetches")
	return c
}

type demoRecord struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Title  string `json:"title"`
	Error  string `json:"error,omitempty"`
}

func runDemo(ctx context.Context, opts *DemoOptions) error {
	site := demosite.Site{Pages: opts.Pages, Seed: opts.Seed}
	start := time.Now()
	var failed int
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		base, err := structured.Start(tg, func(ctx context.Context, ready func(string)) error {
			return demosite.Serve(ctx, site, ready)
		})
		if err != nil {
			return err
		}
		records := fetchTitles(ctx, base, site.Paths(), opts.Concurrency)
		enc := json.NewEncoder(opts.IO.Out)
		for _, r := range records {
			if r.Error != "" {
				failed++
			}
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
		tg.CancelScope().Cancel() // stop the server
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "trawl demo: %d pages, %d failed, %s\n",
		opts.Pages, failed, time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return &ExitError{Code: ExitSomeFailed}
	}
	return nil
}

// fetchTitles fetches every path concurrently with at most n fetches at
// once and returns one record a path, in the order of paths.
func fetchTitles(ctx context.Context, base string, paths []string, n int) []demoRecord {
	records := make([]demoRecord, len(paths))
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	next := 0
	claim := func() int {
		mu.Lock()
		defer mu.Unlock()
		i := next
		next++
		return i
	}
	_ = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		for range n {
			tg.StartSoon(func(ctx context.Context) error {
				for i := claim(); i < len(paths); i = claim() {
					records[i] = fetchTitle(ctx, client, base+paths[i])
				}
				return nil
			})
		}
		return nil
	})
	client.CloseIdleConnections()
	return records
}

func fetchTitle(ctx context.Context, client *http.Client, url string) demoRecord {
	rec := demoRecord{URL: url}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	resp, err := client.Do(req)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	rec.Title = doc.Find("title").First().Text()
	if resp.StatusCode >= 400 {
		rec.Error = resp.Status
	}
	return rec
}
