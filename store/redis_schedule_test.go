package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/structured"
)

// take is one request handed out: its host and when.
type take struct {
	host string
	url  string
	at   time.Time
}

// takenAt is when Redis handed out url to f's process, on Redis's clock
// (the claim script notes it, in milliseconds, with the taken request):
// the consumer's own clock would add its scheduling delay, tens of
// milliseconds and more on a loaded machine, and make turns spaced right
// look too close.
func takenAt(ctx context.Context, f *RedisFrontier, url string) (time.Time, error) {
	f.mu.Lock()
	m := f.inFlight[url]
	f.mu.Unlock()
	v, err := f.client.HGet(ctx, f.keys.prefix+"taken:"+f.opts.Consumer, m).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("when was %s taken: %w", url, err)
	}
	_, ms, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return time.Time{}, fmt.Errorf("when was %s taken: %q", url, v)
	}
	return time.UnixMilli(n), nil
}

// takeAll has workers workers of each frontier take requests until the
// run ends, marking each done at once, and returns every take in the
// order Redis handed them out.
func takeAll(ctx context.Context, fs []*RedisFrontier, workers int) ([]take, error) {
	var mu sync.Mutex
	var takes []take
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		for _, f := range fs {
			for range workers {
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
						at, err := takenAt(ctx, f, req.URL)
						if err != nil {
							return err
						}
						mu.Lock()
						takes = append(takes, take{defaultHostKey(req.URL), req.URL, at})
						mu.Unlock()
						if req.Turn != nil {
							req.Turn.Release()
						}
						if err := done(ctx, f, req); err != nil {
							return err
						}
					}
				})
			}
		}
		return nil
	})
	// In the order Redis handed them out (ties: as the consumers noted them).
	slices.SortStableFunc(takes, func(a, b take) int { return a.at.Compare(b.at) })
	return takes, err
}

// withProcs opens n frontiers on one run, with a shared rate of rate per
// host, and runs body beside their heartbeats.
func withProcs(t *testing.T, url, run string, n int, rate float64, opts RedisOptions, body func(ctx context.Context, fs []*RedisFrontier) error) {
	t.Helper()
	var fs []*RedisFrontier
	for i := range n {
		f, err := OpenRedisFrontier(t.Context(), url, run, withConsumer(opts, fmt.Sprint("p", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close(context.WithoutCancel(t.Context()))
		f.SharedRate(rate, 1)
		fs = append(fs, f)
	}
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for _, f := range fs {
			tg.StartSoon(f.Heartbeat)
		}
		defer tg.CancelScope().Cancel()
		return body(ctx, fs)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// groupedList queues pages 1..perHost of each host, host after host, in
// fs[0], and ends the input of every frontier.
func groupedList(ctx context.Context, fs []*RedisFrontier, hosts []string, perHost int) error {
	for _, h := range hosts {
		for i := 1; i <= perHost; i++ {
			u := fmt.Sprintf("http://%s/%d", h, i)
			if added, err := fs[0].Add(ctx, Request{URL: u}); !added || err != nil {
				return fmt.Errorf("Add(%s) = %v, %v", u, added, err)
			}
		}
	}
	for _, f := range fs {
		f.InputDone()
	}
	return nil
}

func byHost(takes []take) map[string][]take {
	m := map[string][]take{}
	for _, tk := range takes {
		m[tk.host] = append(m[tk.host], tk)
	}
	return m
}

// One consumer over a list grouped by host gets the hosts in turn (the
// host that has waited longest first), each host's pages in order: not
// the first host's pages one after the other.
func TestRedisScheduleServesLongestWaitingHost(t *testing.T) {
	srv := redistest.Start(t)
	withProcs(t, srv.URL(), "turns", 1, 0, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		if err := groupedList(ctx, fs, []string{"a.test", "b.test", "c.test"}, 3); err != nil {
			return err
		}
		takes, err := takeAll(ctx, fs, 1)
		if err != nil {
			return err
		}
		var got []string
		for _, tk := range takes {
			got = append(got, tk.url)
		}
		want := "[http://a.test/1 http://b.test/1 http://c.test/1 http://a.test/2 http://b.test/2 http://c.test/2 http://a.test/3 http://b.test/3 http://c.test/3]"
		if fmt.Sprint(got) != want {
			return fmt.Errorf("order %v\nwant  %s", got, want)
		}
		return nil
	})
}

// Three processes share a run of a list grouped by host at 10 requests a
// second per host: each host gets its requests 100ms apart in all
// (never faster, though three processes take them), and the hosts run
// side by side, so the run takes about as long as one host's pages.
func TestRedisScheduleRatePerHostAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	const rate, perHost = 10.0, 8
	interval := time.Duration(float64(time.Second) / rate)
	hosts := []string{"a.test", "b.test", "c.test", "d.test"}
	withProcs(t, srv.URL(), "rate", 3, rate, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		if err := groupedList(ctx, fs, hosts, perHost); err != nil {
			return err
		}
		takes, err := takeAll(ctx, fs, 4)
		if err != nil {
			return err
		}
		seen := map[string]int{}
		for _, tk := range takes {
			seen[tk.url]++
		}
		if len(takes) != len(hosts)*perHost || len(seen) != len(takes) {
			return fmt.Errorf("%d takes of %d URLs, want each of %d once", len(takes), len(seen), len(hosts)*perHost)
		}
		// The take times are Redis's, in milliseconds. Windows of 4 and
		// more requests catch a rate kept per process (3x as fast).
		const slack = 10 * time.Millisecond
		for h, ts := range byHost(takes) {
			for k := 3; k < len(ts); k++ {
				for i := 0; i+k < len(ts); i++ {
					if d := ts[i+k].at.Sub(ts[i].at); d < time.Duration(k)*interval-slack {
						return fmt.Errorf("host %s: %d requests within %v, want at least %v", h, k+1, d, time.Duration(k)*interval)
					}
				}
			}
		}
		// Side by side, not one host after the other: every host has
		// started before any host is through (a load on the machine
		// slows the takes, it does not order them by host).
		var lastFirst, firstLast time.Time
		for _, ts := range byHost(takes) {
			first, last := ts[0].at, ts[len(ts)-1].at
			if lastFirst.IsZero() || first.After(lastFirst) {
				lastFirst = first
			}
			if firstLast.IsZero() || last.Before(firstLast) {
				firstLast = last
			}
		}
		if !lastFirst.Before(firstLast) {
			return fmt.Errorf("a host was through (%v) before another began (%v): the hosts did not run side by side", firstLast, lastFirst)
		}
		return nil
	})
}

// A pause (Retry-After) on one host, told by one process, holds that host
// back in every process and no other host.
func TestRedisSchedulePauseHoldsOneHost(t *testing.T) {
	srv := redistest.Start(t)
	withProcs(t, srv.URL(), "pause", 2, 0, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		if err := groupedList(ctx, fs, []string{"a.test", "b.test"}, 4); err != nil {
			return err
		}
		const pause = 700 * time.Millisecond
		paused := time.Now()
		fs[1].SharedRate(0, 1).PauseUntil("a.test", paused.Add(pause))
		takes, err := takeAll(ctx, fs, 2)
		if err != nil {
			return err
		}
		hosts := byHost(takes)
		if len(hosts["a.test"]) != 4 || len(hosts["b.test"]) != 4 {
			return fmt.Errorf("takes by host: %v", hosts)
		}
		for _, tk := range hosts["a.test"] {
			if d := tk.at.Sub(paused); d < pause-50*time.Millisecond {
				return fmt.Errorf("%s taken %v after the pause of %v began", tk.url, d, pause)
			}
		}
		for _, tk := range hosts["b.test"] {
			if d := tk.at.Sub(paused); d > pause/2 {
				return fmt.Errorf("%s taken %v after the other host's pause began: held up by it", tk.url, d)
			}
		}
		return nil
	})
}

// A Crawl-delay learned for one host spaces that host's turns in every
// process, and the consumers wait for them on a timer: a handful of looks
// at Redis per turn, not a busy loop.
func TestRedisScheduleCrawlDelay(t *testing.T) {
	srv := redistest.Start(t)
	opts := fastOpts
	opts.Block = 10 * time.Second // only the schedule's timer may wake a consumer
	withProcs(t, srv.URL(), "delay", 2, 0, opts, func(ctx context.Context, fs []*RedisFrontier) error {
		const delay = 300 * time.Millisecond
		fs[0].SharedRate(0, 1).SetCrawlDelay("a.test", delay)
		var mu sync.Mutex
		looks := 0
		for _, f := range fs {
			f.onEmptyRead = func() { mu.Lock(); looks++; mu.Unlock() }
		}
		if err := groupedList(ctx, fs, []string{"a.test"}, 4); err != nil {
			return err
		}
		takes, err := takeAll(ctx, fs, 2)
		if err != nil {
			return err
		}
		if len(takes) != 4 {
			return fmt.Errorf("%d takes, want 4", len(takes))
		}
		for i := 1; i < len(takes); i++ {
			if d := takes[i].at.Sub(takes[i-1].at); d < delay-50*time.Millisecond {
				return fmt.Errorf("%s taken %v after %s, within the Crawl-delay of %v", takes[i].url, d, takes[i-1].url, delay)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		// Each of 4 turns: a look per process before its timer, and the
		// wake-ups of the end.
		if looks > 24 {
			return fmt.Errorf("%d empty looks at Redis for 4 turns 300ms apart: polling", looks)
		}
		return nil
	})
}

// A consumer waiting for work (its process still seeding, the queue
// empty) gets a request queued by another process at once, without
// waiting for its Block to pass.
func TestRedisScheduleWakesOnNewWork(t *testing.T) {
	srv := redistest.Start(t)
	opts := fastOpts
	opts.Block = 20 * time.Second
	withProcs(t, srv.URL(), "wake", 2, 0, opts, func(ctx context.Context, fs []*RedisFrontier) error {
		return takesQueuedWork(ctx, fs[0], fs[1], func() {})
	})
}

// TestRedisWakeBeforeSubscription: work queued by another process while
// this one's subscription to wake-ups is not yet in effect (a process
// starting on a loaded machine) is taken at once when it is, not after
// Block.
func TestRedisWakeBeforeSubscription(t *testing.T) {
	srv := redistest.Start(t)
	opts := fastOpts
	opts.Block = 20 * time.Second
	var fs []*RedisFrontier
	for i := range 2 {
		f, err := OpenRedisFrontier(t.Context(), srv.URL(), "early", withConsumer(opts, fmt.Sprint("p", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close(context.WithoutCancel(t.Context()))
		fs = append(fs, f)
	}
	queued := &structured.Event{}
	fs[0].onSubscribe = func() { _ = queued.Wait(t.Context()) }
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(fs[0].Heartbeat)
		defer tg.CancelScope().Cancel()
		// Once the request's wake-up is published, fs[0] subscribes.
		return takesQueuedWork(ctx, fs[0], fs[1], queued.Set)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// takesQueuedWork checks that a consumer of taker, waiting with nothing
// to take, takes a request that adder queues (afterAdd runs then) within
// 5s, well before its Block of 20s.
func takesQueuedWork(ctx context.Context, taker, adder *RedisFrontier, afterAdd func()) error {
	return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		waiting := &structured.Event{}
		taker.onEmptyRead = waiting.Set
		got := make(chan time.Time, 1)
		tg.StartSoon(func(ctx context.Context) error {
			req, err := taker.Consumer().Next(ctx)
			if err != nil {
				return err
			}
			got <- time.Now()
			return done(ctx, taker, req)
		})
		if err := waiting.Wait(ctx); err != nil {
			return err
		}
		added := time.Now()
		if _, err := adder.Add(ctx, Request{URL: "http://b.test/new"}); err != nil {
			return err
		}
		afterAdd()
		timer := time.NewTimer(15 * time.Second)
		defer timer.Stop()
		select {
		case at := <-got:
			if d := at.Sub(added); d > 5*time.Second {
				return fmt.Errorf("the waiting consumer took the new request %v after it was queued", d)
			}
		case <-timer.C:
			return errors.New("the waiting consumer did not take the new request")
		}
		return nil
	})
}

// fakeSlots is a SlotGate with one slot per host.
type fakeSlots struct {
	f    *RedisFrontier
	mu   sync.Mutex
	busy map[string]bool
}

func (g *fakeSlots) HostKey(url string) string { return defaultHostKey(url) }

func (g *fakeSlots) TakeSlot(host string) (Turn, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[host] {
		return nil, true
	}
	g.busy[host] = true
	return &fakeTurn{g: g, host: host}, true
}

type fakeTurn struct {
	g    *fakeSlots
	host string
	once sync.Once
}

func (t *fakeTurn) Release() {
	t.once.Do(func() {
		t.g.mu.Lock()
		delete(t.g.busy, t.host)
		t.g.mu.Unlock()
		t.g.f.Wake(t.host)
	})
}

// With a host's only slot in this process busy, Next hands out another
// host's request, not the busy host's; the busy host's next request
// comes, with its turn, once the slot is freed.
func TestRedisScheduleSkipsHostWithBusySlots(t *testing.T) {
	srv := redistest.Start(t)
	withProcs(t, srv.URL(), "slots", 1, 0, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		f := fs[0]
		f.SetGate(&fakeSlots{f: f, busy: map[string]bool{}})
		if err := groupedList(ctx, fs, []string{"a.test", "b.test"}, 2); err != nil {
			return err
		}
		c := f.Consumer()
		var got []Request
		for range 2 {
			req, err := c.Next(ctx)
			if err != nil {
				return err
			}
			if req.Turn == nil {
				return fmt.Errorf("%s came without its turn", req.URL)
			}
			got = append(got, req)
		}
		if got[0].URL != "http://a.test/1" || got[1].URL != "http://b.test/1" {
			return fmt.Errorf("took %s then %s, want a.test/1 then b.test/1 (a's slot busy)", got[0].URL, got[1].URL)
		}
		return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			waiting := &structured.Event{}
			f.onEmptyRead = waiting.Set
			third := make(chan Request, 1)
			tg.StartSoon(func(ctx context.Context) error {
				req, err := c.Next(ctx)
				third <- req
				return err
			})
			if err := waiting.Wait(ctx); err != nil {
				return err
			}
			select {
			case req := <-third:
				return fmt.Errorf("took %s while both hosts' slots were busy", req.URL)
			default:
			}
			got[1].Turn.Release() // b's slot
			if req := <-third; req.URL != "http://b.test/2" {
				return fmt.Errorf("after b's slot was freed took %s, want b.test/2", req.URL)
			}
			return nil
		})
	})
}

// A process that dies holding requests of several hosts: another process
// queues them again in their hosts' queues, and the run ends with every
// URL taken once by the heir.
func TestRedisScheduleReclaimsSeveralHosts(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	dead, err := OpenRedisFrontier(ctx, srv.URL(), "reclaim", withConsumer(fastOpts, "dead"))
	if err != nil {
		t.Fatal(err)
	}
	if err := groupedList(ctx, []*RedisFrontier{dead}, []string{"a.test", "b.test", "c.test"}, 2); err != nil {
		t.Fatal(err)
	}
	var held []string
	for range 3 {
		req, err := dead.Consumer().Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, req.URL)
	}
	dead.client.Close() // dies: no Done, no Close, no more heartbeats
	withProcs(t, srv.URL(), "reclaim", 1, 0, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		fs[0].InputDone()
		takes, err := takeAll(ctx, fs, 1)
		if err != nil {
			return err
		}
		var got []string
		for _, tk := range takes {
			got = append(got, tk.url)
		}
		all := slices.Clone(got)
		slices.Sort(all)
		want := "[http://a.test/1 http://a.test/2 http://b.test/1 http://b.test/2 http://c.test/1 http://c.test/2]"
		if fmt.Sprint(all) != want {
			return fmt.Errorf("the heir took %v, want all of %s (the dead one held %v)", got, want, held)
		}
		if p := fs[0].Pending(); p != 0 {
			return fmt.Errorf("pending = %d after the end", p)
		}
		return nil
	})
}

// A run started by an older trawl, whose queue is one stream, is refused
// with a clear error rather than half shared.
func TestRedisFrontierRefusesOldQueueLayout(t *testing.T) {
	srv := redistest.Start(t)
	client, err := newRedisClient(srv.URL(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.XAdd(t.Context(), &redis.XAddArgs{Stream: "trawl:old:queue", Values: []string{"url", "http://a.test/"}}).Err(); err != nil {
		t.Fatal(err)
	}
	_, err = OpenRedisFrontier(t.Context(), srv.URL(), "old", fastOpts)
	if !errors.Is(err, ErrOldRunLayout) {
		t.Fatalf("joining a run with a stream queue: err = %v, want ErrOldRunLayout", err)
	}
	for _, want := range []string{"run old", "trawl:old:queue", "--run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A process killed after writing a result and before acknowledging it,
// resumed on its output (which marks the URL Seen): when the URL comes
// back from the queue it is acknowledged without being handed out again,
// so the output keeps it once, and the run still ends.
func TestRedisResumedProcessSkipsDoneURL(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	dead, err := OpenRedisFrontier(ctx, srv.URL(), "resume", withConsumer(fastOpts, "dead"))
	if err != nil {
		t.Fatal(err)
	}
	if err := groupedList(ctx, []*RedisFrontier{dead}, []string{"a.test"}, 2); err != nil {
		t.Fatal(err)
	}
	written, err := dead.Consumer().Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dead.client.Close() // its result is in the output, not acknowledged
	withProcs(t, srv.URL(), "resume", 1, 0, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		fs[0].Seen(written.URL) // what --resume does with the output's URLs
		fs[0].InputDone()
		takes, err := takeAll(ctx, fs, 1)
		if err != nil {
			return err
		}
		if len(takes) != 1 || takes[0].url != "http://a.test/2" {
			return fmt.Errorf("the resumed process took %v, want only http://a.test/2 (%s is in its output)", takes, written.URL)
		}
		if p := fs[0].Pending(); p != 0 {
			return fmt.Errorf("pending = %d after the end", p)
		}
		return nil
	})
}
