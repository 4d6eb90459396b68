package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// openGate is a Gate under which every host is always ready: the host
// is the URL's authority.
type openGate struct{}

func (openGate) HostKey(url string) string         { return (&slotGate{}).HostKey(url) }
func (openGate) TryStart(string) (Turn, time.Time) { return noTurn{}, time.Time{} }

type noTurn struct{}

func (noTurn) Release() {}

// Property: under a spill with a tiny budget, each request handed out is
// the first of its host's queue at that moment, by depth then arrival
// (FIFO for a list, breadth first for a crawl), whatever the order of
// Adds and Nexts; nothing is lost; memory stays within the budget; and
// the spill directory is gone after Close. The one exception, by
// design: a request that went to the overflow (host queues full) is in
// its host's queue only once the overflow reaches it, so a request of a
// greater depth may go before it; within a depth the order holds.
func TestSpillKeepsOrderAndLosesNothing(t *testing.T) {
	parent := t.TempDir()
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { spillOrder(t, seed, parent) })
	}
}

func spillOrder(t *testing.T, seed uint64, parent string) {
	rng := rand.New(rand.NewPCG(seed, 7))
	ctx := t.Context()
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	budget := int64(2000 + rng.IntN(10000))
	f.SetMemoryBudget(budget)
	var dir string
	f.SetSpill(parent, func(d string) { dir = d })
	f.SetGate(openGate{})
	crawl := seed%2 == 1
	hosts := 1 + rng.IntN(80)
	type item struct {
		depth, seq int
		overflow   bool // went to the overflow
	}
	queued := map[string][]item{} // host → its requests not handed out
	seqOf := map[string]item{}
	n := 300 + rng.IntN(3000)
	added, taken := 0, 0
	c := f.Consumer()
	var maxItems, maxHosts int64
	for taken < n {
		if added < n && (added == taken || rng.IntN(4) > 0) {
			host := fmt.Sprintf("h%d.test", rng.IntN(hosts))
			if rng.IntN(4) == 0 { // runs of one host, as in a grouped list
				host = "h0.test"
			}
			depth := 0
			if crawl {
				depth = rng.IntN(5)
			}
			u := fmt.Sprintf("http://%s/%d", host, added)
			before := overflowed(f)
			if _, err := f.Add(ctx, Request{URL: u, Depth: depth, Source: "s", Line: added}); err != nil {
				t.Fatal(err)
			}
			it := item{depth, added, overflowed(f) > before}
			queued[host] = append(queued[host], it)
			seqOf[u] = it
			added++
		} else {
			req, err := c.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			host := openGate{}.HostKey(req.URL)
			got, ok := seqOf[req.URL]
			if !ok || req.Line != got.seq || req.Source != "s" || req.Depth != got.depth {
				t.Fatalf("handed out %+v: not what was queued", req)
			}
			for _, q := range queued[host] {
				before := q.depth < got.depth || q.depth == got.depth && q.seq < got.seq
				if before && (!q.overflow || q.depth == got.depth) {
					t.Fatalf("handed out %s (depth %d, #%d) before depth %d #%d of the same host", req.URL, got.depth, got.seq, q.depth, q.seq)
				}
			}
			queued[host] = slices.DeleteFunc(queued[host], func(a item) bool { return a == got })
			delete(seqOf, req.URL)
			taken++
			if err := f.Done(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		f.mu.Lock()
		maxItems = max(maxItems, f.itemBytes)
		maxHosts = max(maxHosts, f.queuedBytes-f.itemBytes)
		f.mu.Unlock()
	}
	if len(seqOf) != 0 {
		t.Fatalf("%d requests never handed out", len(seqOf))
	}
	// The heads take half the budget, up to all of it with the least
	// refills; a refill reads at least one request; a host is always
	// made when there is none.
	slack := requestCost(Request{URL: "http://h00.test/0000", Source: "s"}) + hostCost("h00.test:80")
	if maxItems > budget+slack || maxHosts > budget/2+slack {
		t.Errorf("queues took %d bytes of requests and %d of hosts, budget %d", maxItems, maxHosts, budget)
	}
	if dir == "" {
		t.Fatalf("%d requests within %d bytes: nothing spilled", n, budget)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spill directory %s after Close: %v", dir, err)
	}
}

// Property: with consumers whose waits are cancelled at random, busy
// host slots and a tiny budget that spills, every URL is handed out
// exactly once and the frontier ends by itself.
func TestSpillInterleavedCancellationLosesNothing(t *testing.T) {
	parent := t.TempDir()
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { interleaved(t, seed, parent) })
		})
	}
}

// A grouped list: one host with thousands of URLs, then others. The
// producer reads all of it ahead without waiting, the big host's tail
// on disk, and every other host is scheduled at once.
func TestSpillBigHostDoesNotHideOthers(t *testing.T) {
	ctx := t.Context()
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	f.SetMemoryBudget(64 << 10)
	f.SetSpill(t.TempDir(), nil)
	newSlotGate(f, 1)
	for i := range 20000 {
		if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://big.test/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://h%d.test/", i)}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	f.mu.Lock()
	hosts, spilled, mem := len(f.hosts), f.spilled, f.queuedBytes
	f.mu.Unlock()
	if hosts != 31 || spilled < 19000 || mem > 64<<10 {
		t.Fatalf("%d host queues, %d requests spilled, %d bytes in memory; want 31 queues, most of big.test spilled, within 64KiB", hosts, spilled, mem)
	}
	c := f.Consumer()
	seen := map[string]bool{}
	for range 31 { // one slot a host, none released: one request each
		req, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[openGate{}.HostKey(req.URL)] = true
	}
	if len(seen) != 31 {
		t.Fatalf("first 31 requests came from %d hosts, want every host", len(seen))
	}
}

// A list of one URL per host past the budget for host queues: the rest
// waits in the overflow file, in order, and comes out exactly once.
func TestSpillManyHostsOverflow(t *testing.T) {
	ctx := t.Context()
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	const budget = 32 << 10
	f.SetMemoryBudget(budget)
	f.SetSpill(t.TempDir(), nil)
	f.SetGate(openGate{})
	const n = 5000
	for i := range n {
		if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://h%d.test/", i)}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	f.mu.Lock()
	hosts := len(f.hosts)
	f.mu.Unlock()
	if max := int(budget/2/hostCost("h0.test:80") + 1); hosts > max || hosts == 0 {
		t.Fatalf("%d host queues in memory, want 1 to %d", hosts, max)
	}
	c := f.Consumer()
	for i := range n {
		req, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("http://h%d.test/", i); req.URL != want {
			t.Fatalf("request %d is %s, want %s", i, req.URL, want)
		}
		if err := f.Done(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Next(ctx); !errors.Is(err, structured.ErrEndOfStream) {
		t.Fatalf("after every request: %v, want the end", err)
	}
}

// Requests spilled before the gate is set (a resumed crawl's journal)
// move to their hosts' queues, each host in order.
func TestSpillGateSetLate(t *testing.T) {
	ctx := t.Context()
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	f.SetMemoryBudget(4 << 10)
	f.SetSpill(t.TempDir(), nil)
	const n = 600
	for i := range n {
		if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://h%d.test/%d", i%3, i), Depth: i % 2}); err != nil {
			t.Fatal(err)
		}
	}
	if f.SpillDir() == "" {
		t.Fatal("nothing spilled before the gate")
	}
	f.SetGate(openGate{})
	f.InputDone()
	c := f.Consumer()
	last := map[string][2]int{}
	for range n {
		req, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var i int
		fmt.Sscanf(req.URL[strings.LastIndexByte(req.URL, '/')+1:], "%d", &i)
		host := openGate{}.HostKey(req.URL)
		if p, ok := last[host]; ok && (req.Depth < p[0] || req.Depth == p[0] && i < p[1]) {
			t.Fatalf("%s (depth %d) after #%d (depth %d)", req.URL, req.Depth, p[1], p[0])
		}
		last[host] = [2]int{req.Depth, i}
		f.Done(ctx, req)
	}
	if _, err := c.Next(ctx); !errors.Is(err, structured.ErrEndOfStream) {
		t.Fatalf("after every request: %v, want the end", err)
	}
}

// A spill that cannot make its directory fails the Add with an error
// naming the place, and the frontier hands out nothing more.
func TestSpillUnwritableDirNamesPath(t *testing.T) {
	ctx := t.Context()
	parent := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(parent, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	f.SetMemoryBudget(1000)
	f.SetSpill(parent, nil)
	var err error
	for i := 0; err == nil && i < 100; i++ {
		_, err = f.Add(ctx, Request{URL: fmt.Sprintf("http://a.test/%d", i)})
	}
	if err == nil || !strings.Contains(err.Error(), parent) {
		t.Fatalf("Add past the budget into %s: %v, want an error naming it", parent, err)
	}
	if _, err := f.Consumer().Next(ctx); err == nil {
		t.Fatal("Next after a failed spill handed out a request")
	}
}

// A spill directory left by a killed run is removed; one in use is not.
func TestRemoveStaleSpills(t *testing.T) {
	parent := t.TempDir()
	stale := filepath.Join(parent, SpillPrefix+"killed")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"lock": "", "lock.pid": "999999\n", "1": "x"} {
		if err := os.WriteFile(filepath.Join(stale, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	creating := filepath.Join(parent, SpillPrefix+"creating") // no lock yet
	if err := os.MkdirAll(creating, 0o755); err != nil {
		t.Fatal(err)
	}
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	f.SetMemoryBudget(1000)
	f.SetSpill(parent, nil)
	for i := range 50 {
		if _, err := f.Add(t.Context(), Request{URL: fmt.Sprintf("http://a.test/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	live := f.SpillDir()
	removed := RemoveStaleSpills(parent)
	if fmt.Sprint(removed) != fmt.Sprint([]string{stale}) {
		t.Fatalf("removed %v, want only %s", removed, stale)
	}
	for _, dir := range []string{live, creating} {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
}

// The records read back are the requests written, every field.
func TestSpillRecordRoundTrip(t *testing.T) {
	for _, req := range []Request{
		{URL: "http://a/", Depth: 0},
		{URL: "https://b.test/x?y=1", Depth: 7, Source: "urls.txt", Line: 12345, FallbackHTTP: true, Input: "b.test/x?y=1"},
		{URL: strings.Repeat("u", 70000), Source: strings.Repeat("s", 300)},
	} {
		b := appendSpillRecord(nil, req)
		got, err := decodeSpillRecord(b[4:])
		if err != nil || got != req {
			t.Fatalf("round trip of %+v: %+v, %v", req, got, err)
		}
		if _, err := decodeSpillRecord(b[4 : len(b)-1]); err == nil {
			t.Fatalf("a cut record of %+v decoded", req)
		}
	}
}

// overflowed returns the number of requests in f's overflow.
func overflowed(f *MemoryFrontier) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.overflowHead)
	if f.overflow != nil {
		n += f.overflow.n
	}
	return n
}

// BenchmarkFrontierAddNext queues 100,000 URLs of one host and takes
// them all, in memory and through a spill of an 8MiB budget (most of
// the queue then goes through the disk).
func BenchmarkFrontierAddNext(b *testing.B) {
	for _, spill := range []bool{false, true} {
		b.Run(fmt.Sprintf("spill=%v", spill), func(b *testing.B) {
			ctx := b.Context()
			const n = 100_000
			urls := make([]string, n)
			for i := range urls {
				urls[i] = fmt.Sprintf("http://bench.test/page/%d.html", i)
			}
			parent := b.TempDir()
			for b.Loop() {
				f := NewMemoryFrontier(structured.Unbounded, nil)
				if spill {
					f.SetMemoryBudget(8 << 20)
					f.SetSpill(parent, nil)
				}
				f.SetGate(openGate{})
				for _, u := range urls {
					if _, err := f.Add(ctx, Request{URL: u}); err != nil {
						b.Fatal(err)
					}
				}
				f.InputDone()
				c := f.Consumer()
				for range n {
					req, err := c.Next(ctx)
					if err != nil {
						b.Fatal(err)
					}
					f.Done(ctx, req)
				}
				f.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/url")
		})
	}
}

// With SetWaitForHosts (a list), Add waits for room for a new host's
// queue instead of overflowing, and goes on once a host drains; a
// host's own tail still spills without waiting.
func TestSpillWaitForHosts(t *testing.T) {
	parent := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		const budget = 16 << 10
		f.SetMemoryBudget(budget)
		f.SetSpill(parent, nil)
		f.SetWaitForHosts(true)
		f.SetGate(openGate{})
		added := 0
		structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				for i := range 3000 { // one host's tail: spilled, never waits
					if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://big.test/%d", i)}); err != nil {
						return err
					}
				}
				for i := range 1000 {
					if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://h%d.test/", i)}); err != nil {
						return nil // cancelled below
					}
					added++
				}
				return nil
			})
			synctest.Wait()
			f.mu.Lock()
			hosts, overflow := len(f.hosts), f.overflowingLocked()
			f.mu.Unlock()
			if added == 0 || added >= 1000 || overflow || hosts != added+1 {
				t.Errorf("%d of 1000 new hosts added, %d queues, overflow %v: want Add waiting for room, no overflow", added, hosts, overflow)
			}
			before := added
			c := f.Consumer()
			for range 3 { // big.test's first, then two single-URL hosts
				if _, err := c.Next(ctx); err != nil {
					return err
				}
			}
			synctest.Wait()
			if added <= before {
				t.Errorf("no host added after two hosts drained (%d before, %d after)", before, added)
			}
			tg.CancelScope().Cancel()
			return nil
		})
	})
}

// A spilled request longer than one read of its file comes back whole,
// between short ones.
func TestSpillLongRecord(t *testing.T) {
	ctx := t.Context()
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	f.SetMemoryBudget(4000)
	f.SetSpill(t.TempDir(), nil)
	f.SetGate(openGate{})
	var urls []string
	for i := range 60 {
		u := fmt.Sprintf("http://a.test/%d", i)
		if i%20 == 10 {
			u += "/" + strings.Repeat("x", 40000+i)
		}
		urls = append(urls, u)
		if _, err := f.Add(ctx, Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	c := f.Consumer()
	for i, want := range urls {
		req, err := c.Next(ctx)
		if err != nil || req.URL != want {
			t.Fatalf("request %d: %.40q (%d bytes), %v; want %.40q (%d bytes)", i, req.URL, len(req.URL), err, want, len(want))
		}
		f.Done(ctx, req)
	}
	if f.SpillDir() == "" {
		t.Fatal("nothing spilled")
	}
}
