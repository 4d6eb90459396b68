package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// slotGate is a Gate with a fixed number of slots per host (the host is
// the URL's authority) and no rate: TryStart fails with the zero time
// while every slot is busy, and a released turn wakes the frontier.
type slotGate struct {
	slots int
	f     *MemoryFrontier

	mu     sync.Mutex
	inUse  map[string]int
	issued int
}

func newSlotGate(f *MemoryFrontier, slots int) *slotGate {
	g := &slotGate{slots: slots, f: f, inUse: map[string]int{}}
	f.SetGate(g)
	return g
}

func (g *slotGate) HostKey(url string) string {
	rest := url[strings.Index(url, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func (g *slotGate) TryStart(host string) (Turn, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inUse[host] >= g.slots {
		return nil, time.Time{}
	}
	g.inUse[host]++
	g.issued++
	return &slotTurn{g: g, host: host}, time.Time{}
}

func (g *slotGate) busy() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, v := range g.inUse {
		n += v
	}
	return n
}

type slotTurn struct {
	g    *slotGate
	host string
	once sync.Once
}

func (t *slotTurn) Release() {
	t.once.Do(func() {
		t.g.mu.Lock()
		t.g.inUse[t.host]--
		t.g.mu.Unlock()
		t.g.f.Wake(t.host)
	})
}

// A host's queue drains first in, first out, whatever the other hosts'
// requests in between; the turn comes with every request.
func TestHostQueueFIFOWithinHost(t *testing.T) {
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	newSlotGate(f, 100)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	var want = map[string][]string{}
	for i := range 300 {
		host := fmt.Sprintf("h%d.test", rng.IntN(7))
		u := fmt.Sprintf("http://%s/%d", host, i)
		want[host] = append(want[host], u)
		if _, err := f.Add(ctx, Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	got := map[string][]string{}
	c := f.Consumer()
	for {
		req, err := c.Next(ctx)
		if errors.Is(err, structured.ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if req.Turn == nil {
			t.Fatalf("%s handed out without a turn", req.URL)
		}
		req.Turn.Release()
		host := req.URL[len("http://"):strings.LastIndexByte(req.URL, '/')]
		got[host] = append(got[host], req.URL)
		_ = f.Done(ctx, req)
	}
	for host, urls := range want {
		if fmt.Sprint(got[host]) != fmt.Sprint(urls) {
			t.Errorf("host %s drained as %v, want %v", host, got[host], urls)
		}
	}
}

// In a crawl a host's queue is breadth first: lower depths first, in
// arrival order within a depth.
func TestHostQueueBreadthFirst(t *testing.T) {
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	ctx := t.Context()
	for i, d := range []int{2, 0, 1, 2, 1, 0} {
		if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://a.test/%d", i), Depth: d}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	got, err := drain(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	want := "[http://a.test/1 http://a.test/5 http://a.test/2 http://a.test/4 http://a.test/0 http://a.test/3]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Between ready hosts the one ready the longest goes first: a host just
// served goes behind the others (round robin for hosts always ready).
func TestHostQueueRoundRobinBetweenReadyHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		newSlotGate(f, 100)
		ctx := t.Context()
		for _, u := range []string{"http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://b/2", "http://c/1"} {
			if _, err := f.Add(ctx, Request{URL: u}); err != nil {
				t.Fatal(err)
			}
		}
		f.InputDone()
		got, err := drain(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if want := "[http://a/1 http://b/1 http://c/1 http://a/2 http://b/2 http://a/3]"; fmt.Sprint(got) != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

// A host whose slots are busy is skipped, not waited for: the consumer
// gets the next ready host's request, and the busy host comes back when
// a slot is released.
func TestHostQueueBusyHostSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		g := newSlotGate(f, 1)
		ctx := t.Context()
		for _, u := range []string{"http://a/1", "http://a/2", "http://b/1"} {
			if _, err := f.Add(ctx, Request{URL: u}); err != nil {
				t.Fatal(err)
			}
		}
		c := f.Consumer()
		a1, _ := c.Next(ctx)
		b1, _ := c.Next(ctx)
		if a1.URL != "http://a/1" || b1.URL != "http://b/1" {
			t.Fatalf("got %s then %s, want a/1 then b/1 (a busy)", a1.URL, b1.URL)
		}
		got := make(chan Request, 1)
		structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				req, err := c.Next(ctx)
				got <- req
				return err
			})
			synctest.Wait()
			select {
			case req := <-got:
				t.Fatalf("got %s while a's slot is busy", req.URL)
			default:
			}
			a1.Turn.Release()
			return nil
		})
		if req := <-got; req.URL != "http://a/2" {
			t.Fatalf("got %s after a's slot was released, want a/2", req.URL)
		}
		if g.busy() != 2 {
			t.Fatalf("%d slots busy, want 2 (b/1 and a/2)", g.busy())
		}
	})
}

// Add waits while the queues hold more than the memory budget, and goes
// on as soon as a consumer takes a request.
func TestHostQueueMemoryBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		f.SetMemoryBudget(hostCost("") + 3*requestCost(Request{URL: "http://a.test/0"}))
		ctx := t.Context()
		added := make(chan int, 10)
		structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				for i := range 5 {
					if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://a.test/%d", i)}); err != nil {
						return err
					}
					added <- i
				}
				return nil
			})
			synctest.Wait()
			if n := len(added); n != 3 {
				t.Errorf("%d requests queued within a budget of 3, want 3", n)
			}
			c := f.Consumer()
			if _, err := c.Next(ctx); err != nil {
				return err
			}
			synctest.Wait()
			if n := len(added); n != 4 {
				t.Errorf("%d requests queued after one was taken, want 4", n)
			}
			_, err := c.Next(ctx)
			return err
		})
	})
}

// A host's queue is dropped once it is empty: a run over many hosts
// holds queues only for the hosts with queued work.
func TestHostQueueEmptyHostsDropped(t *testing.T) {
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	newSlotGate(f, 1)
	ctx := t.Context()
	for i := range 1000 {
		if _, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://h%d.test/", i)}); err != nil {
			t.Fatal(err)
		}
	}
	f.InputDone()
	c := f.Consumer()
	for range 1000 {
		req, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req.Turn.Release()
	}
	f.mu.Lock()
	n := len(f.hosts)
	f.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d host queues kept after every host was drained", n)
	}
}

// Property: with producers blocked on a small queue, consumers whose
// waits are cancelled at random and hosts whose slots are busy, every
// URL is handed out exactly once, with its host's slot taken, and the
// frontier ends by itself.
func TestHostQueueInterleavedCancellationLosesNothing(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { interleaved(t, seed, "") })
		})
	}
}

// interleaved runs the property on a frontier that spills under
// spillParent with a tiny budget, when spillParent is not "".
func interleaved(t *testing.T, seed uint64, spillParent string) {
	rng := rand.New(rand.NewPCG(seed, 99))
	var rngMu sync.Mutex
	intN := func(n int) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.IntN(n)
	}
	f := NewMemoryFrontier(1+intN(8), nil)
	defer f.Close()
	spillDir := ""
	if spillParent != "" {
		f = NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		f.SetMemoryBudget(int64(1000 + intN(4000)))
		f.SetSpill(spillParent, func(dir string) { spillDir = dir })
	}
	slots := 1 + intN(3)
	g := newSlotGate(f, slots)
	hosts := 1 + intN(10)
	if spillParent != "" {
		hosts = 1 + intN(60)
	}
	n := 50 + intN(200)
	var urls []string
	for i := range n {
		urls = append(urls, fmt.Sprintf("http://h%d.test/%d", intN(hosts), i))
	}
	var mu sync.Mutex
	got := map[string]int{}
	maxBusy := map[string]int{}
	busy := map[string]int{}
	// In fake time: a frontier that loses a request never ends, and the
	// run fails here instead of spinning on its consumers' timeouts.
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			for _, u := range urls {
				if _, err := f.Add(ctx, Request{URL: u}); err != nil {
					return err
				}
			}
			f.InputDone()
			return nil
		})
		for range 1 + intN(6) {
			tg.StartSoon(func(ctx context.Context) error {
				c := f.Consumer()
				defer c.Close()
				for {
					wctx, cancel := context.WithTimeout(ctx, time.Duration(intN(3000))*time.Microsecond)
					req, err := c.Next(wctx)
					cancel()
					if errors.Is(err, structured.ErrEndOfStream) {
						return nil
					}
					if errors.Is(err, context.DeadlineExceeded) {
						continue // cancelled while waiting: nothing taken
					}
					if err != nil {
						return err
					}
					host := g.HostKey(req.URL)
					mu.Lock()
					got[req.URL]++
					busy[host]++
					maxBusy[host] = max(maxBusy[host], busy[host])
					mu.Unlock()
					time.Sleep(time.Duration(intN(2000)) * time.Microsecond) // the fetch, in fake time
					mu.Lock()
					busy[host]--
					mu.Unlock()
					req.Turn.Release()
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
	for _, u := range urls {
		if got[u] != 1 {
			t.Errorf("%s handed out %d times", u, got[u])
		}
	}
	for host, m := range maxBusy {
		if m > slots {
			t.Errorf("host %s had %d requests at once, over its %d slots", host, m, slots)
		}
	}
	if b := g.busy(); b != 0 {
		t.Errorf("%d turns never released", b)
	}
	if p := f.Pending(); p != 0 {
		t.Errorf("pending = %d at the end", p)
	}
	if spillParent != "" {
		if spillDir == "" {
			t.Fatalf("%d URLs over %d hosts in a budget of %d bytes: nothing spilled", n, hosts, f.budget)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(spillDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("spill directory %s after Close: %v", spillDir, err)
		}
	}
}

// Requests queued before the gate is set (a resumed crawl's journal, read
// before the fetcher exists) move to their hosts' queues, in order.
func TestHostQueueGateSetLate(t *testing.T) {
	f := NewMemoryFrontier(structured.Unbounded, nil)
	defer f.Close()
	ctx := t.Context()
	addAll := func(urls ...string) {
		for _, u := range urls {
			if _, err := f.Add(ctx, Request{URL: u}); err != nil {
				t.Fatal(err)
			}
		}
	}
	addAll("http://a/1", "http://a/2", "http://b/1")
	g := newSlotGate(f, 1)
	addAll("http://b/2")
	f.InputDone()
	c := f.Consumer()
	var got []string
	var turns []Turn
	for range 2 {
		req, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, req.URL)
		turns = append(turns, req.Turn)
	}
	if fmt.Sprint(got) != "[http://a/1 http://b/1]" {
		t.Fatalf("got %v with one slot per host, want a/1 and b/1", got)
	}
	if g.busy() != 2 {
		t.Fatalf("%d slots busy, want one of each host", g.busy())
	}
	for _, turn := range turns {
		turn.Release()
	}
	for _, want := range []string{"http://a/2", "http://b/2"} {
		req, err := c.Next(ctx)
		if err != nil || req.URL != want {
			t.Fatalf("got %s, %v; want %s", req.URL, err, want)
		}
	}
}

// The budget counts each host's queue too: a list of one URL per host
// reads fewer of them ahead than a list of one host.
func TestHostQueueMemoryBudgetCountsHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewMemoryFrontier(structured.Unbounded, nil)
		defer f.Close()
		newSlotGate(f, 1)
		url := func(i int) string { return fmt.Sprintf("http://h%03d.test/", i) }
		one := hostCost("h000.test") + requestCost(Request{URL: url(0)})
		f.SetMemoryBudget(10 * one)
		queued := 0
		structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				for i := range 100 {
					if _, err := f.Add(ctx, Request{URL: url(i)}); err != nil {
						return nil // cancelled below
					}
					queued++
				}
				return nil
			})
			synctest.Wait()
			tg.CancelScope().Cancel()
			return nil
		})
		if queued != 10 {
			t.Fatalf("%d single-URL hosts queued within a budget of 10, want 10", queued)
		}
	})
}
