package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/internal/redistest"
	"github.com/trawl-dev/trawl/structured"
)

// fastOpts make a dead process's entries claimable quickly.
var fastOpts = RedisOptions{Block: 100 * time.Millisecond, AliveTTL: 600 * time.Millisecond, RetryFor: 10 * time.Second}

// Several processes (frontiers) on one run crawl together: every page is
// fetched once in all, and each of them sees the end.
func TestRedisFrontiersShareACrawl(t *testing.T) {
	srv := redistest.Start(t)
	const pages = 300
	var mu sync.Mutex
	fetched := map[string]int{}
	// Every empty read, by process, so that the slow first page can wait
	// until the others have found the queue empty while it is in flight.
	empties := make(chan int, 1024)
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for p := range 3 {
			tg.StartSoon(func(ctx context.Context) error {
				f, err := OpenRedisFrontier(ctx, srv.URL(), "shared", withConsumer(fastOpts, fmt.Sprint("p", p)))
				if err != nil {
					return err
				}
				defer f.Close(context.WithoutCancel(ctx))
				f.onEmptyRead = func() {
					select {
					case empties <- p:
					default: // enough are queued already
					}
				}
				return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
					tg.StartSoon(f.Heartbeat)
					defer tg.CancelScope().Cancel()
					return crawlAll(ctx, f, pages, func(u string) {
						mu.Lock()
						fetched[u]++
						mu.Unlock()
						if u == "http://a.test/0" {
							// A slow first page: the other processes find
							// the queue empty while it is in flight, and
							// must not take that for the end of the run.
							waitEmptyReads(t, ctx, empties, p)
						}
					})
				})
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
			t.Errorf("%s fetched %d times", u, n)
		}
	}
}

// waitEmptyReads waits until each process other than self has reported
// two empty reads of the queue since the call began.
func waitEmptyReads(t *testing.T, ctx context.Context, empties <-chan int, self int) {
	t.Helper()
	for drained := false; !drained; { // reads from before this page do not count
		select {
		case <-empties:
		default:
			drained = true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	seen := map[int]int{}
	for waiting := 2; waiting > 0; {
		select {
		case p := <-empties:
			if p == self {
				continue
			}
			if seen[p]++; seen[p] == 2 {
				waiting--
			}
		case <-ctx.Done():
			t.Errorf("the other processes did not read the empty queue: %v", seen)
			return
		}
	}
}

// crawlAll seeds f with page 0 and works through a crawl of pages pages
// with 4 workers, calling fetch for each request taken.
func crawlAll(ctx context.Context, f Frontier, pages int, fetch func(string)) error {
	link := func(i int) string { return fmt.Sprintf("http://a.test/%d", i%pages) }
	if _, err := f.Add(ctx, Request{URL: link(0)}); err != nil {
		return err
	}
	f.InputDone()
	return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		for range 4 {
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
					fetch(req.URL)
					var i int
					fmt.Sscanf(req.URL, "http://a.test/%d", &i)
					for _, j := range []int{i + 1, 3*i + 1} {
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
}

// A request taken by a process that dies without finishing it is taken
// over by another once the dead one stops heart-beating, and the run then
// ends.
func TestRedisFrontierReclaimsFromDeadProcess(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	dead, err := OpenRedisFrontier(ctx, srv.URL(), "reclaim", withConsumer(fastOpts, "dead"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://a.test/1", "http://a.test/2"} {
		if _, err := dead.Add(ctx, Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	dead.InputDone()
	taken, err := dead.Consumer().Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The process dies: no Done, no Close, no more heartbeats.
	dead.client.Close()

	var got []string
	withRedisFrontier(t, srv.URL(), "reclaim", withConsumer(fastOpts, "heir"), func(ctx context.Context, f Frontier) error {
		f.InputDone()
		got, err = drain(ctx, f)
		return err
	})
	slices.Sort(got)
	if fmt.Sprint(got) != "[http://a.test/1 http://a.test/2]" {
		t.Fatalf("the heir fetched %v, want both URLs (the dead one held %s)", got, taken.URL)
	}
}

// A live process's slow request is never taken over: it is still
// heart-beating, however long the request takes.
func TestRedisFrontierLeavesLiveProcessAlone(t *testing.T) {
	srv := redistest.Start(t)
	withRedisFrontier(t, srv.URL(), "live", withConsumer(fastOpts, "slow"), func(ctx context.Context, slow Frontier) error {
		if _, err := slow.Add(ctx, Request{URL: "http://a.test/slow"}); err != nil {
			return err
		}
		slow.InputDone()
		req, err := slow.Consumer().Next(ctx)
		if err != nil {
			return err
		}
		// Another process looks for work for several claim periods.
		withRedisFrontier(t, srv.URL(), "live", withConsumer(fastOpts, "other"), func(ctx context.Context, other Frontier) error {
			other.InputDone()
			timedOut, err := structured.MoveOnAfter(ctx, 4*fastOpts.AliveTTL, func(ctx context.Context) error {
				got, err := other.Consumer().Next(ctx)
				if err == nil {
					return fmt.Errorf("took %s from a live process", got.URL)
				}
				return err
			})
			if !timedOut {
				return fmt.Errorf("Next returned before the run ended: %v", err)
			}
			return nil
		})
		return done(ctx, slow, req)
	})
}

// The run is not over while a live process is still seeding, even with an
// empty queue.
func TestRedisFrontierWaitsForSeeders(t *testing.T) {
	srv := redistest.Start(t)
	withRedisFrontier(t, srv.URL(), "seeding", withConsumer(fastOpts, "seeder"), func(ctx context.Context, seeder Frontier) error {
		return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			var got []string
			started := &structured.Event{}
			finished := &structured.Event{}
			tg.StartSoon(func(ctx context.Context) error {
				withRedisFrontier(t, srv.URL(), "seeding", withConsumer(fastOpts, "worker"), func(ctx context.Context, w Frontier) error {
					w.InputDone()
					started.Set()
					var err error
					got, err = drain(ctx, w)
					return err
				})
				finished.Set()
				return nil
			})
			if err := started.Wait(ctx); err != nil {
				return err
			}
			// The worker keeps waiting through several empty reads.
			if timedOut, _ := structured.MoveOnAfter(ctx, 5*fastOpts.Block, finished.Wait); !timedOut {
				return errors.New("the worker ended while a process was still seeding")
			}
			if _, err := seeder.Add(ctx, Request{URL: "http://a.test/late-seed"}); err != nil {
				return err
			}
			seeder.InputDone()
			if err := finished.Wait(ctx); err != nil {
				return err
			}
			if fmt.Sprint(got) != "[http://a.test/late-seed]" {
				return fmt.Errorf("worker got %v", got)
			}
			return nil
		})
	})
}

// --max-pages holds across processes.
func TestRedisFrontierMaxPagesShared(t *testing.T) {
	srv := redistest.Start(t)
	added := 0
	for p := range 2 {
		opts := withConsumer(fastOpts, fmt.Sprint("p", p))
		opts.MaxPages = 3
		withRedisFrontier(t, srv.URL(), "max", opts, func(ctx context.Context, f Frontier) error {
			for i := range 4 {
				ok, err := f.Add(ctx, Request{URL: fmt.Sprintf("http://a.test/%d-%d", p, i)})
				if err != nil {
					return err
				}
				if ok {
					added++
				}
			}
			return nil
		})
	}
	if added != 3 {
		t.Fatalf("%d URLs queued by two processes, want 3", added)
	}
}

// Three processes at 20 requests/s to one host send it 20 a second in all.
func TestRedisSharedRateHoldsAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	const rate, perProc = 20.0, 10
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	var times []time.Time
	err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for p := range 3 {
			f, err := OpenRedisFrontier(ctx, srv.URL(), "rate", withConsumer(fastOpts, fmt.Sprint("p", p)))
			if err != nil {
				return err
			}
			tg.StartSoon(func(ctx context.Context) error {
				defer f.Close(context.WithoutCancel(ctx))
				limit := f.SharedRate(rate, 1)
				for range perProc {
					if err := limit.Wait(ctx, "a.test"); err != nil {
						return err
					}
					mu.Lock()
					times = append(times, time.Now())
					mu.Unlock()
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	// Burst 1: n requests span at least (n-1) intervals, give or take the
	// scheduling of the waiters: a waiter descheduled between its grant
	// and time.Now (100 ms and more on a loaded 2-core machine) bunches
	// the times it records (at a load average of 28, more than 120 ms).
	// Windows of 11 and more requests still catch three processes that
	// each keep the rate to themselves (3x as fast: 11 within 167 ms).
	const slack = 250 * time.Millisecond
	for k := 10; k < len(times); k += 5 {
		for i := 0; i+k < len(times); i++ {
			if d := times[i+k].Sub(times[i]); d < time.Duration(k)*interval-slack {
				t.Fatalf("%d requests within %v, want at least %v apart", k+1, d, time.Duration(k)*interval)
			}
		}
	}
	if total := times[len(times)-1].Sub(times[0]); total < time.Duration(len(times)-1)*interval-slack {
		t.Fatalf("%d requests in %v: faster than %v/s", len(times), total, rate)
	}
}

// Statistics from several processes add up, and a run nobody started
// reads as zeros.
func TestRedisRunStats(t *testing.T) {
	srv := redistest.Start(t)
	for p, kinds := range [][]string{{"", "timeout"}, {"", "http", "timeout"}} {
		withRedisFrontier(t, srv.URL(), "stats", withConsumer(fastOpts, fmt.Sprint("p", p)), func(ctx context.Context, f Frontier) error {
			for _, k := range kinds {
				f.(*RedisFrontier).RecordResult(k)
			}
			return f.(*RedisFrontier).Commit(ctx)
		})
	}
	s, err := ReadRunStats(t.Context(), srv.URL(), "stats")
	if err != nil {
		t.Fatal(err)
	}
	if s.Done != 5 || s.Failed != 3 || s.ByKind["timeout"] != 2 || s.ByKind["http"] != 1 {
		t.Fatalf("stats = %+v, want done 5, failed 3 (timeout 2, http 1)", s)
	}
	if s, err := ReadRunStats(t.Context(), srv.URL(), "nobody"); err != nil || s.Done != 0 || s.Queued != 0 {
		t.Fatalf("stats of an unknown run = %+v, %v", s, err)
	}
}

// A Redis that restarts (with its data) mid-run: the calls made while it
// is down are retried, and the run completes.
func TestRedisFrontierSurvivesRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Persistent())
	withRedisFrontier(t, srv.URL(), "restart", withConsumer(fastOpts, "p"), func(ctx context.Context, f Frontier) error {
		for _, u := range []string{"http://a.test/1", "http://a.test/2"} {
			if _, err := f.Add(ctx, Request{URL: u}); err != nil {
				return err
			}
		}
		f.InputDone()
		c := f.Consumer()
		req, err := c.Next(ctx)
		if err != nil {
			return err
		}
		srv.Restart()
		if added, err := f.Add(ctx, Request{URL: "http://a.test/1"}); added || err != nil {
			return fmt.Errorf("after the restart, a seen URL was queued again (err %v)", err)
		}
		if err := done(ctx, f, req); err != nil {
			return err
		}
		got, err := drain(ctx, f)
		if fmt.Sprint(got) != "[http://a.test/2]" {
			return fmt.Errorf("after the restart got %v, want the second URL", got)
		}
		return err
	})
}

// An unreachable server is reported at once, as such.
func TestOpenRedisFrontierUnreachable(t *testing.T) {
	_, err := OpenRedisFrontier(t.Context(), "redis://127.0.0.1:1/0", "x", RedisOptions{})
	if !errors.Is(err, ErrRedisUnreachable) {
		t.Fatalf("err = %v, want ErrRedisUnreachable", err)
	}
}

func withConsumer(o RedisOptions, name string) RedisOptions {
	o.Consumer = name
	return o
}

// An entry delivered to this process by a read whose reply was lost (the
// connection broke) is taken back after ClaimAfter, not left pending
// forever on a live process.
func TestRedisFrontierTakesBackLostDelivery(t *testing.T) {
	srv := redistest.Start(t)
	withRedisFrontier(t, srv.URL(), "lost", withConsumer(fastOpts, "me"), func(ctx context.Context, f Frontier) error {
		rf := f.(*RedisFrontier)
		if _, err := f.Add(ctx, Request{URL: "http://a.test/lost"}); err != nil {
			return err
		}
		f.InputDone()
		// Taken for "me", but the process never hears of it.
		if err := claimScript.Run(ctx, rf.client, nil, rf.keys.prefix, "me", 0, 1, 0).Err(); err != nil {
			return err
		}
		got, err := drain(ctx, f)
		if fmt.Sprint(got) != "[http://a.test/lost]" {
			return fmt.Errorf("got %v, want the lost delivery taken back", got)
		}
		return err
	})
}

// A run whose seen set was written by an older trawl (64-bit FNV-1a
// fingerprints, as hex) cannot be shared: joining it fails with a clear
// error rather than silently fetching its URLs again or dropping others.
// A run of this trawl records its hash and is joined again.
func TestRedisFrontierRefusesRunOfOlderFingerprint(t *testing.T) {
	srv := redistest.Start(t)
	client, err := newRedisClient(srv.URL(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.SAdd(t.Context(), "trawl:old:seen", "32522fc5fdfe06f1").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = OpenRedisFrontier(t.Context(), srv.URL(), "old", fastOpts)
	if !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("joining a run of 64-bit fingerprints: err = %v, want ErrFingerprintMismatch", err)
	}
	for _, want := range []string{"run old", "trawl:old:seen", "fnv1a-64", "sha256-128", "--run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	for range 2 { // a new run, then the same run joined again
		f, err := OpenRedisFrontier(t.Context(), srv.URL(), "new", fastOpts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Add(t.Context(), Request{URL: "http://a.test/"}); err != nil {
			t.Fatal(err)
		}
		f.Close(t.Context())
	}
	if got, _ := client.Get(t.Context(), "trawl:new:fingerprint").Result(); got != "sha256-128" {
		t.Errorf("trawl:new:fingerprint = %q, want sha256-128", got)
	}
}
