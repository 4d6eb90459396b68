package structured

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// semAcquireAsync starts s.Acquire(ctx) in tg; the channel gets its result.
func semAcquireAsync(ctx context.Context, tg *TaskGroup, s *Semaphore) <-chan error {
	done := make(chan error, 1)
	tg.StartSoon(func(context.Context) error {
		done <- s.Acquire(ctx)
		return nil
	})
	return done
}

func TestSemaphoreAcquireRelease(t *testing.T) {
	s := NewSemaphore(2)
	ctx := t.Context()
	mustNil(t, s.Acquire(ctx))
	mustNil(t, s.TryAcquire())
	if got := s.Value(); got != 0 {
		t.Fatalf("Value = %d after taking both permits, want 0", got)
	}
	if err := s.TryAcquire(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryAcquire with no permit = %v, want ErrWouldBlock", err)
	}
	mustNil(t, s.Release())
	mustNil(t, s.Release())
	mustNil(t, s.Release()) // no max value: may grow past the initial value
	if got := s.Value(); got != 3 {
		t.Fatalf("Value = %d, want 3", got)
	}
}

func TestSemaphoreMaxValue(t *testing.T) {
	s := NewSemaphore(1, WithMaxValue(2))
	mustNil(t, s.Release())
	if err := s.Release(); !errors.Is(err, ErrMaxValueExceeded) {
		t.Fatalf("Release at the max value = %v, want ErrMaxValueExceeded", err)
	}
	if got := s.Value(); got != 2 {
		t.Fatalf("Value = %d after a rejected Release, want 2", got)
	}
}

func TestSemaphoreMaxValueWithWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSemaphore(0, WithMaxValue(1))
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			done := semAcquireAsync(ctx, tg, s)
			synctest.Wait()
			mustNil(t, s.Release()) // goes to the waiter
			mustNil(t, result(t, done))
			mustNil(t, s.Release())
			if err := s.Release(); !errors.Is(err, ErrMaxValueExceeded) {
				t.Errorf("Release past max = %v, want ErrMaxValueExceeded", err)
			}
			return nil
		}))
	})
}

func TestNewSemaphorePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"negative initial":      func() { NewSemaphore(-1) },
		"initial above max":     func() { NewSemaphore(3, WithMaxValue(2)) },
		"max below one":         func() { NewSemaphore(0, WithMaxValue(0)) },
		"limiter total below 1": func() { NewCapacityLimiter(0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("did not panic")
				}
			}()
			f()
		})
	}
}

func TestSemaphoreAlreadyCancelledAcquireTakesNothing(t *testing.T) {
	s := NewSemaphore(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a cancelled ctx = %v, want context.Canceled", err)
	}
	if got := s.Value(); got != 1 {
		t.Fatalf("Value = %d, want 1", got)
	}
}

// TestSemaphoreFIFO queues waiters one at a time and checks that released
// permits reach them in that order, ahead of TryAcquire.
func TestSemaphoreFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSemaphore(0)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			var done []<-chan error
			for range 5 {
				done = append(done, semAcquireAsync(ctx, tg, s))
				synctest.Wait() // queued before the next one starts
			}
			for i := range 5 {
				mustNil(t, s.Release())
				if err := s.TryAcquire(); !errors.Is(err, ErrWouldBlock) {
					t.Fatalf("TryAcquire after a release with waiters = %v, want ErrWouldBlock", err)
				}
				mustNil(t, result(t, done[i]))
				synctest.Wait()
				for _, later := range done[i+1:] {
					pending(t, later, "a younger waiter")
				}
			}
			return nil
		}))
		if got := s.Value(); got != 0 {
			t.Fatalf("Value = %d, want 0", got)
		}
	})
}

func TestSemaphoreCancelledWaiterLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSemaphore(0)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			cctx, cancel := context.WithCancel(ctx)
			first := semAcquireAsync(cctx, tg, s)
			synctest.Wait()
			second := semAcquireAsync(ctx, tg, s)
			synctest.Wait()
			cancel()
			if err := result(t, first); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled waiter returned %v, want context.Canceled", err)
			}
			mustNil(t, s.Release())
			mustNil(t, result(t, second))
			if got := s.Value(); got != 0 {
				t.Fatalf("Value = %d, want 0", got)
			}
			return nil
		}))
	})
}

// TestSemaphoreCancelDuringHandOff hands a permit to a waiter whose ctx is
// cancelled at the same moment: it must either keep it (nil) or pass it on.
func TestSemaphoreCancelDuringHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSemaphore(0)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			cctx, cancel := context.WithCancel(ctx)
			first := semAcquireAsync(cctx, tg, s)
			synctest.Wait()
			second := semAcquireAsync(ctx, tg, s)
			synctest.Wait()

			s.mu.Lock() // keep "first" from settling until it is granted too
			cancel()
			s.releaseLocked()
			s.mu.Unlock()

			if err := result(t, first); err == nil {
				synctest.Wait()
				pending(t, second, "second waiter while first holds the permit")
				mustNil(t, s.Release())
			} else if !errors.Is(err, context.Canceled) {
				t.Fatalf("first waiter returned %v", err)
			}
			mustNil(t, result(t, second))
			return nil
		}))
	})
}

// TestSemaphoreStressCancellation races acquisitions, releases and random
// cancellations, then checks that every permit is back.
func TestSemaphoreStressCancellation(t *testing.T) {
	const workers, rounds, permits = 16, 200, 3
	s := NewSemaphore(permits, WithMaxValue(permits))
	var inUse, maxInUse, granted atomic.Int64
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		for w := range workers {
			tg.StartSoon(func(ctx context.Context) error {
				for r := range rounds {
					err := withRandomCancel(ctx, s.Acquire)
					if errors.Is(err, context.Canceled) {
						continue
					}
					if err != nil {
						return fmt.Errorf("worker %d round %d: %w", w, r, err)
					}
					granted.Add(1)
					n := inUse.Add(1)
					for m := maxInUse.Load(); n > m && !maxInUse.CompareAndSwap(m, n); m = maxInUse.Load() {
					}
					inUse.Add(-1)
					if err := s.Release(); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return nil
	})
	mustNil(t, err)
	if got := s.Value(); got != permits {
		t.Fatalf("Value = %d after the stress, want %d", got, permits)
	}
	if m := maxInUse.Load(); m > permits {
		t.Fatalf("%d permits in use at once, want at most %d", m, permits)
	}
	if granted.Load() == 0 {
		t.Fatal("no acquisition succeeded")
	}
}

// withRandomCancel calls acquire with a context cancelled after a random
// delay of up to 100µs, which may come before, during or after the grant.
// Every call ends, so a lost permit fails the caller's final count instead
// of hanging the test.
func withRandomCancel(ctx context.Context, acquire func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := time.AfterFunc(time.Duration(rand.IntN(100))*time.Microsecond, cancel)
	defer stop.Stop()
	return acquire(ctx)
}
