package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/structured"
)

// handout is a request handed out to process proc, on the local clock.
type handout struct {
	proc    int
	url     string
	resumed bool
	at      time.Time
}

// takeEach has one consumer of each frontier take requests until the run
// ends, marking each done at once.
func takeEach(ctx context.Context, fs []*RedisFrontier) ([]handout, error) {
	var mu sync.Mutex
	var got []handout
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		for i, f := range fs {
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
					mu.Lock()
					got = append(got, handout{i, req.URL, req.Resume != nil, time.Now()})
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
		return nil
	})
	return got, err
}

// A retry across two processes: process 0 takes a.test/1, is answered
// with a Retry-After (the host's pause, shared through Redis) and defers
// the request. It stays process 0's (process 1 never gets it), neither
// process sends anything to a.test before the pause ends, b.test is
// served meanwhile, and process 0 hands the retry out, with its state,
// once the pause is over; every URL is done once and the run ends.
func TestRedisDeferredRetryAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	// Alive for longer than fastOpts: a heartbeat late on a loaded
	// machine must not hand the taken request to the other process.
	opts := fastOpts
	opts.AliveTTL = 5 * time.Second
	withProcs(t, srv.URL(), "deferred", 2, 0, opts, func(ctx context.Context, fs []*RedisFrontier) error {
		if err := groupedList(ctx, fs, []string{"a.test", "b.test"}, 3); err != nil {
			return err
		}
		first, err := fs[0].Consumer().Next(ctx)
		if err != nil {
			return err
		}
		if first.URL != "http://a.test/1" {
			return fmt.Errorf("first request %s, want a.test/1", first.URL)
		}
		const pause = 700 * time.Millisecond
		paused := time.Now()
		fs[0].SharedRate(0, 1).PauseUntil("a.test", paused.Add(pause))
		first.Resume = "attempt 2"
		if err := fs[0].Defer(first, Deferral{URL: first.URL, NotBefore: paused}); err != nil {
			return err
		}
		got, err := takeEach(ctx, fs)
		if err != nil {
			return err
		}
		var urls []string
		for _, h := range got {
			urls = append(urls, h.url)
			d := h.at.Sub(paused)
			switch {
			case h.url == "http://a.test/1" && (h.proc != 0 || !h.resumed):
				return fmt.Errorf("a.test/1 handed out to process %d (resumed %v): it is process 0's deferred retry", h.proc, h.resumed)
			case h.url[:len("http://a.test")] == "http://a.test" && d < pause-50*time.Millisecond:
				return fmt.Errorf("%s handed out %v into the host's pause of %v", h.url, d, pause)
			case h.url[:len("http://b.test")] == "http://b.test" && d > pause/2:
				return fmt.Errorf("%s handed out %v after a.test's pause began: held up by it", h.url, d)
			}
		}
		slices.Sort(urls)
		want := "[http://a.test/1 http://a.test/2 http://a.test/3 http://b.test/1 http://b.test/2 http://b.test/3]"
		if fmt.Sprint(urls) != want {
			return fmt.Errorf("handed out %v, want each of %s once", urls, want)
		}
		for _, f := range fs {
			if p := f.Pending(); p != 0 {
				return fmt.Errorf("pending = %d after the end", p)
			}
		}
		return nil
	})
}

// A process that dies holding a deferred request (its retry not due yet)
// leaves it to be reclaimed like any other request it took: another
// process fetches it, and the run ends.
func TestRedisDeferredReclaimedFromDeadProcess(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	dead, err := OpenRedisFrontier(ctx, srv.URL(), "deferdead", withConsumer(fastOpts, "dead"))
	if err != nil {
		t.Fatal(err)
	}
	if err := groupedList(ctx, []*RedisFrontier{dead}, []string{"a.test", "b.test"}, 1); err != nil {
		t.Fatal(err)
	}
	req, err := dead.Consumer().Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.Defer(req, Deferral{URL: req.URL, NotBefore: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	dead.client.Close() // dies: no Done, no Close, no more heartbeats
	withProcs(t, srv.URL(), "deferdead", 1, 0, fastOpts, func(ctx context.Context, fs []*RedisFrontier) error {
		fs[0].InputDone()
		got, err := takeEach(ctx, fs)
		if err != nil {
			return err
		}
		var urls []string
		for _, h := range got {
			urls = append(urls, h.url)
		}
		slices.Sort(urls)
		if want := "[http://a.test/1 http://b.test/1]"; fmt.Sprint(urls) != want {
			return fmt.Errorf("the heir took %v, want %s (the dead one deferred %s)", urls, want, req.URL)
		}
		return nil
	})
}

// A deferred request due while its host's slot is busy does not hide the
// due times of those deferred behind it: one due 300ms later, of a free
// host, is handed out then, not after --redis-block (here 5s) or the
// busy slot's release.
func TestRedisDeferredBehindBusyHostComesWhenDue(t *testing.T) {
	srv := redistest.Start(t)
	opts := fastOpts
	opts.Block = 5 * time.Second
	opts.AliveTTL = 5 * time.Second
	withProcs(t, srv.URL(), "deferbusy", 1, 0, opts, func(ctx context.Context, fs []*RedisFrontier) error {
		f := fs[0]
		f.SetGate(&fakeSlots{f: f, busy: map[string]bool{}})
		if err := groupedList(ctx, fs, []string{"a.test", "b.test"}, 1); err != nil {
			return err
		}
		c := f.Consumer()
		a, err := c.Next(ctx) // holds a.test's only slot until the end
		if err != nil {
			return err
		}
		b, err := c.Next(ctx)
		if err != nil {
			return err
		}
		b.Turn.Release()
		start := time.Now()
		// Due now, but its next request is to a.test, whose slot is busy.
		if err := f.Defer(b, Deferral{URL: "http://a.test/2", NotBefore: start}); err != nil {
			return err
		}
		// The other deferred request: a retry of a.test/1 on c.test.
		const due = 300 * time.Millisecond
		if err := f.Defer(Request{URL: "http://c.test/1", Resume: "retry"}, Deferral{URL: "http://c.test/1", NotBefore: start.Add(due)}); err != nil {
			return err
		}
		got, err := c.Next(ctx)
		if err != nil {
			return err
		}
		took := time.Since(start)
		if got.URL != "http://c.test/1" {
			return fmt.Errorf("got %s, want the deferred c.test/1", got.URL)
		}
		if took > 2*time.Second {
			return fmt.Errorf("c.test/1, due in %v, handed out after %v: its due time was lost behind the busy host's request", due, took)
		}
		got.Turn.Release()
		a.Turn.Release() // b.test/1 goes on now
		if again, err := c.Next(ctx); err != nil || again.URL != "http://b.test/1" {
			return fmt.Errorf("after a.test's slot was freed: %v, %v, want b.test/1", again.URL, err)
		}
		return nil
	})
}
