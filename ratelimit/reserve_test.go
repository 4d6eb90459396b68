package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// TryAcquire takes nothing when the host may not start, and says when to
// ask again: the token's due time, the pause's end, or the zero time
// while every slot is busy (then OnRelease reports the host).
func TestTryAcquireSaysWhenToAskAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 2, Burst: 2, PerHost: 1})
		var mu sync.Mutex
		var released []string
		l.OnRelease(func(host string) {
			mu.Lock()
			released = append(released, host)
			mu.Unlock()
		})
		start := time.Now()
		first, at := l.TryAcquire("a")
		if first == nil || !at.IsZero() {
			t.Fatalf("first TryAcquire = %v, %v; want a turn", first, at)
		}
		if turn, at := l.TryAcquire("a"); turn != nil || !at.IsZero() {
			t.Fatalf("TryAcquire with the slot busy = %v, %v; want nil and the zero time", turn, at)
		}
		first.Release()
		first.Release() // a second call does nothing
		if !slices.Equal(released, []string{"a"}) {
			t.Fatalf("OnRelease reported %v, want [a] once", released)
		}
		second, _ := l.TryAcquire("a") // the burst's second token
		if second == nil {
			t.Fatal("no turn with a token and a slot free")
		}
		second.Release()
		if turn, at := l.TryAcquire("a"); turn != nil || at.Sub(start) != 500*time.Millisecond {
			t.Fatalf("TryAcquire before the token = %v, %v; want nil and 500ms", turn, at.Sub(start))
		}
		time.Sleep(500 * time.Millisecond)
		turn, _ := l.TryAcquire("a")
		if turn == nil {
			t.Fatal("no turn once the token is due")
		}
		turn.Release()
		l.PauseUntil("a", start.Add(5*time.Second))
		if turn, at := l.TryAcquire("a"); turn != nil || at.Sub(start) != 5*time.Second {
			t.Fatalf("TryAcquire while paused = %v, %v; want nil and 5s", turn, at.Sub(start))
		}
		if turn, _ := l.TryAcquire("b"); turn == nil {
			t.Fatal("the pause of a held back b")
		}
	})
}

// TryAcquire never takes a slot ahead of a caller waiting in Acquire.
func TestTryAcquireNotAheadOfWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{PerHost: 1})
		held, _ := l.TryAcquire("a")
		done := make(chan struct{})
		structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				release, err := l.Acquire(ctx, "a")
				if err != nil {
					return err
				}
				<-done // holds the slot until the check is made
				release()
				return nil
			})
			synctest.Wait() // the task waits for the slot
			held.Release()  // hands it to the waiter
			if turn, at := l.TryAcquire("a"); turn != nil || !at.IsZero() {
				t.Errorf("TryAcquire = %v, %v with a waiter served first; want nil", turn, at)
			}
			close(done)
			return nil
		})
	})
}

// A turn used for its request does not wait again; a second Use fails.
// After a Crawl-delay change, a turn taken before waits for a token under
// the new limits.
func TestUseTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 10})
		start := time.Now()
		t1, _ := l.TryAcquire("a")
		release, ok, err := l.UseTurn(t.Context(), t1)
		if !ok || err != nil || time.Since(start) != 0 {
			t.Fatalf("UseTurn = %v, %v after %v; want at once", ok, err, time.Since(start))
		}
		release()
		if _, ok, _ := l.UseTurn(t.Context(), t1); ok {
			t.Fatal("a turn was used twice")
		}
		time.Sleep(100 * time.Millisecond)
		t2, _ := l.TryAcquire("a")
		if t2 == nil {
			t.Fatal("no turn at the next token")
		}
		l.SetCrawlDelay("a", 2*time.Second)
		release, ok, err = l.UseTurn(t.Context(), t2)
		if !ok || err != nil {
			t.Fatalf("UseTurn = %v, %v", ok, err)
		}
		release()
		if d := time.Since(start); d != 2100*time.Millisecond {
			t.Fatalf("a turn taken before the Crawl-delay started at %v, want 2.1s", d)
		}
	})
}

// Turns keep the limiter's eviction: once released and idle, a host's
// state is dropped, so a run over many hosts does not keep them all.
func TestTurnsLetIdleHostsGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 5, PerHost: 2, IdleTTL: time.Minute})
		for i := range 1000 {
			turn, _ := l.TryAcquire(fmt.Sprintf("h%d", i))
			turn.Release()
		}
		held, _ := l.TryAcquire("held")
		time.Sleep(time.Minute)
		if n := l.Sweep(time.Now()); n != 1000 {
			t.Fatalf("swept %d hosts, want the 1000 idle ones", n)
		}
		held.Release()
		// Its token was spent a minute ago: the bucket is full, and the
		// state goes at release.
		if n := l.Hosts(); n != 0 {
			t.Fatalf("holding %d hosts; want the last one gone at its release", n)
		}
	})
}

// TakeSlot takes only a slot: it says when the last one is taken, holds
// nothing when none is free, and spends no token of the host's bucket
// (the shared schedule granted the rate), so a request that waits in the
// limiter later still finds its token.
func TestTakeSlotSpendsNoToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Rate: 1, PerHost: 2})
		first, full := l.TakeSlot("a")
		if first == nil || full {
			t.Fatalf("first TakeSlot = %v, full %v; want a turn, a slot left", first, full)
		}
		second, full := l.TakeSlot("a")
		if second == nil || !full {
			t.Fatalf("second TakeSlot = %v, full %v; want a turn, no slot left", second, full)
		}
		if turn, full := l.TakeSlot("a"); turn != nil || !full {
			t.Fatalf("TakeSlot with every slot busy = %v, full %v; want nil, full", turn, full)
		}
		first.Release()
		start := time.Now()
		release, err := l.Acquire(t.Context(), "a")
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("Acquire after two slots taken with TakeSlot waited %v for a token, want none spent", waited)
		}
		release()
		second.Release()
	})
}

// policyRecorder is a SharedPolicy that records what it is told.
type policyRecorder struct {
	mu     sync.Mutex
	pauses []time.Duration
	delays []time.Duration
	start  time.Time
}

func (p *policyRecorder) Wait(ctx context.Context, host string) error { return ctx.Err() }

func (p *policyRecorder) PauseUntil(host string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pauses = append(p.pauses, t.Sub(p.start))
}

func (p *policyRecorder) SetCrawlDelay(host string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delays = append(p.delays, d)
}

// The limiter passes on to a SharedPolicy each pause that extends the
// host's and each change of its Crawl-delay, so that the other processes
// sharing it hold back too; repeats are not passed on.
func TestLimiterPassesPolicyToShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &policyRecorder{start: time.Now()}
		l := New(Config{Shared: p})
		l.PauseUntil("a", p.start.Add(2*time.Second))
		l.PauseUntil("a", p.start.Add(time.Second)) // within the pause: nothing new
		l.PauseUntil("a", p.start.Add(3*time.Second))
		l.SetCrawlDelay("a", 500*time.Millisecond)
		l.SetCrawlDelay("a", 500*time.Millisecond) // the same: nothing new
		l.SetCrawlDelay("a", 0)
		if fmt.Sprint(p.pauses) != "[2s 3s]" || fmt.Sprint(p.delays) != "[500ms 0s]" {
			t.Fatalf("passed on pauses %v and delays %v; want [2s 3s] and [500ms 0s]", p.pauses, p.delays)
		}
	})
}
