package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/trawl-dev/trawl/structured"
)

func TestMemoryFrontierDedupsAndEnds(t *testing.T) {
	f := NewMemoryFrontier(4, nil)
	defer f.Close()
	ctx := t.Context()
	for _, u := range []string{"http://a.test/1", "http://a.test/2", "http://a.test/1"} {
		if _, err := f.Add(ctx, Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	c := f.Consumer()
	defer c.Close()
	var got []string
	for {
		req, err := c.Next(ctx)
		if errors.Is(err, structured.ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, req.URL)
		if err := f.Done(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] != "http://a.test/1" || got[1] != "http://a.test/2" {
		t.Fatalf("got %v, want each URL once in order", got)
	}
}

func TestMemoryFrontierSeenSkips(t *testing.T) {
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	f.Seen("http://a.test/done")
	if added, _ := f.Add(t.Context(), Request{URL: "http://a.test/done"}); added {
		t.Fatal("a URL marked seen was queued")
	}
}

func TestMemoryFrontierAdmitLimitsNewURLs(t *testing.T) {
	n := 0
	f := NewMemoryFrontier(structured.Unbounded, func() bool { n++; return n <= 2 })
	defer f.Close()
	added := 0
	for i := range 5 {
		if ok, _ := f.Add(t.Context(), Request{URL: fmt.Sprintf("http://a.test/%d", i)}); ok {
			added++
		}
	}
	if added != 2 {
		t.Fatalf("%d URLs queued, want 2 admitted", added)
	}
}

// A crawl-shaped run: workers add links while they work; the frontier ends
// by itself when the last pending request is done, with no polling.
func TestMemoryFrontierCrawlTerminates(t *testing.T) {
	const pages = 300
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	link := func(i int) string { return fmt.Sprintf("http://a.test/%d", i%pages) }
	var mu sync.Mutex
	fetched := map[string]int{}
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		if _, err := f.Add(ctx, Request{URL: link(0)}); err != nil {
			return err
		}
		f.InputDone()
		for range 8 {
			tg.StartSoon(func(ctx context.Context) error {
				c := f.Consumer()
				defer c.Close()
				for {
					req, err := c.Next(ctx)
					if errors.Is(err, structured.ErrEndOfStream) {
						return nil
					}
					if err != nil {
						return err
					}
					var i int
					fmt.Sscanf(req.URL, "http://a.test/%d", &i)
					mu.Lock()
					fetched[req.URL]++
					mu.Unlock()
					for _, j := range []int{i + 1, 2*i + 1, i * 7} {
						if _, err := f.Add(ctx, Request{URL: link(j), Depth: req.Depth + 1}); err != nil {
							return err
						}
					}
					if err := f.Done(ctx, req); err != nil {
						return err
					}
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fetched) != pages {
		t.Fatalf("%d pages fetched, want %d", len(fetched), pages)
	}
	for u, n := range fetched {
		if n != 1 {
			t.Fatalf("%s fetched %d times", u, n)
		}
	}
	if f.Pending() != 0 {
		t.Fatalf("pending = %d after the end", f.Pending())
	}
}
