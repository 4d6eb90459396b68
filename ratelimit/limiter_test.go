package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// acquireAt acquires host and returns the time it was granted, relative to
// start, releasing at once.
func acquireAt(t *testing.T, l *HostLimiter, host string, start time.Time) time.Duration {
	t.Helper()
	release, err := l.Acquire(t.Context(), host)
	if err != nil {
		t.Fatalf("acquire %s: %v", host, err)
	}
	release()
	return time.Since(start)
}

func TestRateHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 10})
		start := time.Now()
		var last time.Duration
		for range 11 {
			last = acquireAt(t, l, "a.example", start)
		}
		// A burst of 1 then 10 more at 10/s: exactly one second.
		if last != time.Second {
			t.Fatalf("11 requests at 10/s took %v, want 1s", last)
		}
	})
}

func TestBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 1, Burst: 5})
		start := time.Now()
		for i := range 5 {
			if d := acquireAt(t, l, "a.example", start); d != 0 {
				t.Fatalf("request %d of the burst waited %v", i, d)
			}
		}
		if d := acquireAt(t, l, "a.example", start); d != time.Second {
			t.Fatalf("request after the burst at %v, want 1s", d)
		}
		// Another host has its own bucket.
		if d := acquireAt(t, l, "b.example", start); d != time.Second {
			t.Fatalf("b.example waited for a.example's bucket: at %v", d)
		}
	})
}

func TestPauseHoldsOnlyThatHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{})
		start := time.Now()
		l.PauseUntil("a.example", start.Add(10*time.Second))
		l.PauseUntil("a.example", start.Add(3*time.Second)) // earlier: ignored
		if d := acquireAt(t, l, "b.example", start); d != 0 {
			t.Fatalf("b.example held back %v by a.example's pause", d)
		}
		if d := acquireAt(t, l, "a.example", start); d != 10*time.Second {
			t.Fatalf("a.example granted at %v, want 10s", d)
		}
	})
}

func TestPauseDuringTokenWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 1})
		start := time.Now()
		acquireAt(t, l, "a.example", start) // spends the burst
		err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				if d := acquireAt(t, l, "a.example", start); d != 5*time.Second {
					t.Errorf("granted at %v, want 5s: a pause set while waiting for a token must hold", d)
				}
				return nil
			})
			synctest.Wait() // the task waits for its token, due at 1s
			l.PauseUntil("a.example", start.Add(5*time.Second))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestCrawlDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 100, Burst: 10})
		l.SetCrawlDelay("a.example", 2*time.Second)
		start := time.Now()
		for i, want := range []time.Duration{0, 2 * time.Second, 4 * time.Second} {
			if d := acquireAt(t, l, "a.example", start); d != want {
				t.Fatalf("request %d at %v, want %v", i, d, want)
			}
		}
		l.SetCrawlDelay("a.example", 0)
		if d := acquireAt(t, l, "a.example", start); d != 4*time.Second+10*time.Millisecond {
			t.Fatalf("after removing the delay: at %v, want 4.01s (the 100/s rate)", d)
		}
	})
}

func TestConcurrencyNeverExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perHost = 3
		l := New(Config{PerHost: perHost})
		start := time.Now()
		var mu sync.Mutex
		inFlight, peak := map[string]int{}, map[string]int{}
		err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			for i := range 40 {
				host := fmt.Sprintf("h%d.example", i%2)
				tg.StartSoon(func(ctx context.Context) error {
					release, err := l.Acquire(ctx, host)
					if err != nil {
						return err
					}
					defer release()
					mu.Lock()
					inFlight[host]++
					peak[host] = max(peak[host], inFlight[host])
					mu.Unlock()
					time.Sleep(time.Second) // the request's work, in fake time
					mu.Lock()
					inFlight[host]--
					mu.Unlock()
					return nil
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for host, p := range peak {
			if p != perHost {
				t.Errorf("%s: peak %d in flight, want %d", host, p, perHost)
			}
		}
		// 20 requests per host, 3 at a time, 1s each: 7 rounds.
		if d := time.Since(start); d != 7*time.Second {
			t.Errorf("took %v, want 7s", d)
		}
	})
}

func TestSlotsFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{PerHost: 1})
		release, err := l.Acquire(t.Context(), "a.example")
		if err != nil {
			t.Fatal(err)
		}
		var order []int
		err = structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			for i := range 5 {
				tg.StartSoon(func(ctx context.Context) error {
					r, err := l.Acquire(ctx, "a.example")
					if err != nil {
						return err
					}
					order = append(order, i) // serialised by the slot
					r()
					return nil
				})
				synctest.Wait() // task i is queued before task i+1 starts
			}
			release()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(order) != "[0 1 2 3 4]" {
			t.Fatalf("slots granted in order %v, want first come first served", order)
		}
	})
}

func TestCancelWhileWaitingTakesNoSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{PerHost: 1})
		release, err := l.Acquire(t.Context(), "a.example")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		err = structured.WithTaskGroup(t.Context(), func(_ context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(context.Context) error {
				_, err := l.Acquire(ctx, "a.example")
				done <- err
				return nil
			})
			synctest.Wait()
			cancel()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Acquire returned %v, want context.Canceled", err)
		}
		release()
		// The only slot must be free again: a bounded Acquire succeeds.
		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel2()
		r, err := l.Acquire(ctx2, "a.example")
		if err != nil {
			t.Fatalf("slot leaked by the cancelled Acquire: %v", err)
		}
		r()
		r() // a second release does nothing
		r2, err := l.Acquire(ctx2, "a.example")
		if err != nil {
			t.Fatalf("after a double release: %v", err)
		}
		r2()
		// No rate, no pause: the host is forgotten as its slot is freed.
		if n := l.Hosts(); n != 0 {
			t.Fatalf("holding %d hosts, want 0: the cancelled Acquire still counts as a user", n)
		}
	})
}

func TestCancelWhilePaused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{PerHost: 1})
		l.PauseUntil("a.example", time.Now().Add(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.Acquire(ctx, "a.example"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire during a pause returned %v, want the ctx's deadline", err)
		}
		l.PauseUntil("a.example", time.Time{}) // no effect: pauses only extend
		if n := l.Sweep(time.Now().Add(2 * time.Hour)); n != 1 {
			t.Fatalf("swept %d hosts, want 1", n)
		}
		// The slot of the cancelled Acquire was given back.
		r, err := l.Acquire(t.Context(), "a.example")
		if err != nil {
			t.Fatal(err)
		}
		r()
	})
}

func TestIdleHostsEvicted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 5, PerHost: 2, IdleTTL: time.Minute})
		for i := range 1000 {
			acquireAt(t, l, fmt.Sprintf("h%d.example", i), time.Now())
		}
		busy, err := l.Acquire(t.Context(), "busy.example")
		if err != nil {
			t.Fatal(err)
		}
		l.PauseUntil("paused.example", time.Now().Add(time.Hour))
		if n := l.Hosts(); n != 1002 {
			t.Fatalf("holding %d hosts, want 1002", n)
		}
		if n := l.Sweep(time.Now()); n != 0 {
			t.Fatalf("swept %d hosts used just now", n)
		}
		time.Sleep(time.Minute)
		// Lazy eviction: the next Acquire sweeps.
		acquireAt(t, l, "new.example", time.Now())
		if n := l.Hosts(); n != 3 {
			t.Fatalf("holding %d hosts after the idle TTL, want 3 (busy, paused, new)", n)
		}
		busy()
		// busy's bucket filled up again during the minute: its state goes
		// at release.
		if n := l.Hosts(); n != 2 {
			t.Fatalf("holding %d hosts after busy's release, want 2 (paused, new)", n)
		}
		if n := l.Sweep(time.Now().Add(2 * time.Hour)); n != 2 {
			t.Fatalf("swept %d, want 2 once idle and unpaused", n)
		}
		if n := l.Hosts(); n != 0 {
			t.Fatalf("holding %d hosts, want 0", n)
		}
	})
}

// TestLimiterForgetsIdleHostsAtOnce: a host with nothing owed (no rate
// debt, no pause, no Crawl-delay) leaves no state once its slot is free,
// while a host owing a wait keeps its state until the wait is over, so
// that politeness holds across the drop.
func TestLimiterForgetsIdleHostsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{PerHost: 2})
		for i := range 1000 {
			host := fmt.Sprintf("h%d.example", i)
			release, err := l.Acquire(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Hosts(); got != 1 {
				t.Fatalf("while %s is held: %d hosts, want 1", host, got)
			}
			release()
			turn, _ := l.TryAcquire(host)
			if turn == nil {
				t.Fatalf("TryAcquire %s: no turn", host)
			}
			turn.Release()
		}
		if got := l.Hosts(); got != 0 {
			t.Fatalf("after 1000 hosts without limits: %d hosts kept, want 0", got)
		}

		// A pause, a Crawl-delay and a spent token are kept, and hold.
		l.PauseUntil("paused.example", time.Now().Add(time.Minute))
		l.SetCrawlDelay("slow.example", 5*time.Second)
		start := time.Now()
		acquireAt(t, l, "slow.example", start)
		if got := l.Hosts(); got != 2 {
			t.Fatalf("with a pause and a Crawl-delay: %d hosts kept, want 2", got)
		}
		if got := acquireAt(t, l, "slow.example", start); got != 5*time.Second {
			t.Fatalf("second request under Crawl-delay 5s after %v, want 5s", got)
		}
		if got := acquireAt(t, l, "paused.example", start); got != time.Minute {
			t.Fatalf("request to a host paused 1m started after %v, want 1m", got)
		}

		r := New(Config{Rate: 1, Burst: 2})
		start = time.Now()
		acquireAt(t, r, "rate.example", start)
		if got := r.Hosts(); got != 1 {
			t.Fatalf("with a token spent: %d hosts kept, want 1", got)
		}
		acquireAt(t, r, "rate.example", start)
		if got := acquireAt(t, r, "rate.example", start); got != time.Second {
			t.Fatalf("third request at rate 1 burst 2 after %v, want 1s", got)
		}
	})
}
