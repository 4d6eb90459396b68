package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/structured"
)

// frontierImpl makes a fresh, empty frontier of one implementation and
// runs body with it, with whatever background task it needs.
type frontierImpl struct {
	name string
	with func(t *testing.T, body func(ctx context.Context, f Frontier) error)
}

func frontierImpls(t *testing.T) []frontierImpl {
	memory := frontierImpl{"memory", func(t *testing.T, body func(ctx context.Context, f Frontier) error) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		if err := body(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}}
	// A server per subtest: without redis-server only the Redis half is
	// skipped, and the memory frontier is still held to the contract.
	redisImpl := frontierImpl{"redis", func(t *testing.T, body func(ctx context.Context, f Frontier) error) {
		withRedisFrontier(t, redistest.Start(t).URL(), "contract", RedisOptions{}, body)
	}}
	// The memory frontier again with a budget so small that nearly every
	// request goes through the spill files.
	spilled := frontierImpl{"memory-spill", func(t *testing.T, body func(ctx context.Context, f Frontier) error) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		f.SetMemoryBudget(600)
		f.SetSpill(t.TempDir(), nil)
		if err := body(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}}
	return []frontierImpl{memory, spilled, redisImpl}
}

// withRedisFrontier opens a frontier on run and runs body beside its
// heartbeat.
func withRedisFrontier(t *testing.T, url, run string, opts RedisOptions, body func(ctx context.Context, f Frontier) error) {
	t.Helper()
	ctx := t.Context()
	f, err := OpenRedisFrontier(ctx, url, run, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(context.WithoutCancel(ctx))
	err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(f.Heartbeat)
		defer tg.CancelScope().Cancel()
		return body(ctx, f)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// drain takes every request from f, marking each done, until the end.
func drain(ctx context.Context, f Frontier) ([]string, error) {
	c := f.Consumer()
	defer c.Close()
	var got []string
	for {
		req, err := c.Next(ctx)
		if errors.Is(err, structured.ErrEndOfStream) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, req.URL)
		if err := done(ctx, f, req); err != nil {
			return got, err
		}
	}
}

// The contract every Frontier keeps, run against each implementation.
func TestFrontierContract(t *testing.T) {
	for _, impl := range frontierImpls(t) {
		t.Run(impl.name+"/dedups in order and ends", func(t *testing.T) {
			impl.with(t, func(ctx context.Context, f Frontier) error {
				for _, u := range []string{"http://a.test/1", "http://a.test/2", "http://a.test/1"} {
					if _, err := f.Add(ctx, Request{URL: u, Depth: 1, Source: "in.txt", Line: 3}); err != nil {
						return err
					}
				}
				f.InputDone()
				got, err := drain(ctx, f)
				if err != nil {
					return err
				}
				if fmt.Sprint(got) != "[http://a.test/1 http://a.test/2]" {
					return fmt.Errorf("got %v, want each URL once in order", got)
				}
				if p := f.Pending(); p != 0 {
					return fmt.Errorf("pending = %d after the end", p)
				}
				return nil
			})
		})
		t.Run(impl.name+"/each host's requests by depth then arrival", func(t *testing.T) {
			impl.with(t, func(ctx context.Context, f Frontier) error {
				adds := []Request{
					{URL: "http://a.test/1"}, {URL: "http://b.test/1"}, {URL: "http://a.test/2", Depth: 1},
					{URL: "http://a.test/3"}, {URL: "http://b.test/2", Depth: 2}, {URL: "http://b.test/3", Depth: 1},
					{URL: "http://c.test/1"},
				}
				for _, req := range adds {
					if _, err := f.Add(ctx, req); err != nil {
						return err
					}
				}
				f.InputDone()
				got, err := drain(ctx, f)
				if err != nil {
					return err
				}
				perHost := map[string][]string{}
				for _, u := range got {
					h := defaultHostKey(u)
					perHost[h] = append(perHost[h], u)
				}
				want := map[string]string{
					"a.test": "[http://a.test/1 http://a.test/3 http://a.test/2]",
					"b.test": "[http://b.test/1 http://b.test/3 http://b.test/2]",
					"c.test": "[http://c.test/1]",
				}
				for h, w := range want {
					if fmt.Sprint(perHost[h]) != w {
						return fmt.Errorf("host %s: got %v, want %s (all: %v)", h, perHost[h], w, got)
					}
				}
				if len(got) != len(adds) {
					return fmt.Errorf("got %v, want each of %d once", got, len(adds))
				}
				return nil
			})
		})
		t.Run(impl.name+"/request fields survive", func(t *testing.T) {
			impl.with(t, func(ctx context.Context, f Frontier) error {
				want := Request{URL: "http://a.test/x", Depth: 3, Source: "http://a.test/", Line: 7}
				if _, err := f.Add(ctx, want); err != nil {
					return err
				}
				f.InputDone()
				c := f.Consumer()
				defer c.Close()
				got, err := c.Next(ctx)
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("got %+v, want %+v", got, want)
				}
				if p := f.Pending(); p != 1 {
					return fmt.Errorf("pending = %d with one request in flight, want 1", p)
				}
				return done(ctx, f, got)
			})
		})
		t.Run(impl.name+"/seen and marked keys are not queued", func(t *testing.T) {
			impl.with(t, func(ctx context.Context, f Frontier) error {
				f.Seen("http://a.test/done")
				if added, err := f.Add(ctx, Request{URL: "http://a.test/done"}); added || err != nil {
					return fmt.Errorf("a URL marked seen was queued (err %v)", err)
				}
				for i, want := range []bool{true, false} {
					isNew, err := f.MarkIfNew(ctx, "not a url")
					if err != nil || isNew != want {
						return fmt.Errorf("MarkIfNew call %d = %v, %v; want %v", i+1, isNew, err, want)
					}
				}
				if added, err := f.Add(ctx, Request{URL: "not a url"}); added || err != nil {
					return fmt.Errorf("a marked key was queued (err %v)", err)
				}
				f.InputDone()
				got, err := drain(ctx, f)
				if len(got) != 0 {
					return fmt.Errorf("got %v from an empty frontier", got)
				}
				return err
			})
		})
		t.Run(impl.name+"/URLs colliding in 64-bit FNV-1a are both queued", func(t *testing.T) {
			impl.with(t, func(ctx context.Context, f Frontier) error {
				for _, u := range fnvCollision {
					if added, err := f.Add(ctx, Request{URL: u}); !added || err != nil {
						return fmt.Errorf("Add(%s) = %v, %v; want it queued", u, added, err)
					}
				}
				f.InputDone()
				got, err := drain(ctx, f)
				if err != nil {
					return err
				}
				if fmt.Sprint(got) != fmt.Sprint(fnvCollision[:]) {
					return fmt.Errorf("got %v, want both %v", got, fnvCollision)
				}
				return nil
			})
		})
		t.Run(impl.name+"/crawl terminates with each page once", func(t *testing.T) {
			impl.with(t, func(ctx context.Context, f Frontier) error { return crawlShaped(ctx, f, 200) })
		})
	}
}

// fnvCollision are two URLs with the same 64-bit FNV-1a hash
// (0xd3ad25cb26984d68), the seen-set key of trawl before SHA-256: found by
// a birthday search on the top 56 bits of the hash state, the last byte
// then cancelling the difference in the low 8 bits. A page could use such
// pairs to hide a URL from a crawl.
var fnvCollision = [2]string{"http://a.test/4edd11755ce368b", "http://a.test/30307ab30dcfc5C"}

// crawlShaped runs workers that add links while they work; the frontier
// must end by itself once the last request is done, each page once.
func crawlShaped(ctx context.Context, f Frontier, pages int) error {
	link := func(i int) string { return fmt.Sprintf("http://a.test/%d", i%pages) }
	var mu sync.Mutex
	fetched := map[string]int{}
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
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
					if err := done(ctx, f, req); err != nil {
						return err
					}
				}
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(fetched) != pages {
		return fmt.Errorf("%d pages fetched, want %d", len(fetched), pages)
	}
	for u, n := range fetched {
		if n != 1 {
			return fmt.Errorf("%s fetched %d times", u, n)
		}
	}
	if p := f.Pending(); p != 0 {
		return fmt.Errorf("pending = %d after the end", p)
	}
	return nil
}

// done marks req done, as the pipeline does, and commits it where the
// frontier wants that once the output is flushed.
func done(ctx context.Context, f Frontier, req Request) error {
	if err := f.Done(ctx, req); err != nil {
		return err
	}
	if c, ok := f.(interface{ Commit(context.Context) error }); ok {
		return c.Commit(ctx)
	}
	return nil
}
