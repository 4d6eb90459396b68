package structured

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// acquireAsync starts AcquireOnBehalfOf(ctx, borrower) in tg and returns
// the channel that receives its result.
func acquireAsync(ctx context.Context, tg *TaskGroup, l *CapacityLimiter, borrower any) <-chan error {
	done := make(chan error, 1)
	tg.StartSoon(func(context.Context) error {
		done <- l.AcquireOnBehalfOf(ctx, borrower)
		return nil
	})
	return done
}

// result returns what ch delivers, failing the test if nothing comes
// within a minute (of the bubble's fake time, inside synctest).
func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(time.Minute):
		t.Fatal("operation did not complete")
		return nil
	}
}

// pending fails the test if ch has delivered a result. Call it after
// synctest.Wait, when the operation behind ch must still be blocked.
func pending(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned %v, want it still waiting", what, err)
	default:
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLimiterAcquireForCurrentTask(t *testing.T) {
	l := NewCapacityLimiter(2)
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		for range 2 {
			tg.StartSoon(func(ctx context.Context) error {
				if err := l.Acquire(ctx); err != nil {
					return err
				}
				st := l.Statistics()
				if !slices.Contains(st.Borrowers, any(CurrentTask(ctx))) {
					return fmt.Errorf("borrowers %v lack the current task", st.Borrowers)
				}
				if err := l.Acquire(ctx); !errors.Is(err, ErrAlreadyBorrowing) {
					return fmt.Errorf("second Acquire by the same task: %v, want ErrAlreadyBorrowing", err)
				}
				if err := l.TryAcquire(ctx); !errors.Is(err, ErrAlreadyBorrowing) {
					return fmt.Errorf("TryAcquire by a borrowing task: %v, want ErrAlreadyBorrowing", err)
				}
				return l.Release(ctx)
			})
		}
		return nil
	})
	mustNil(t, err)
	if got := l.BorrowedTokens(); got != 0 {
		t.Fatalf("BorrowedTokens = %d after every task released, want 0", got)
	}
}

func TestLimiterWithoutTask(t *testing.T) {
	l := NewCapacityLimiter(1)
	ctx := t.Context()
	for name, err := range map[string]error{
		"Acquire":    l.Acquire(ctx),
		"TryAcquire": l.TryAcquire(ctx),
		"Release":    l.Release(ctx),
	} {
		if !errors.Is(err, ErrNoTask) {
			t.Errorf("%s outside a task = %v, want ErrNoTask", name, err)
		}
	}
	if got := l.BorrowedTokens(); got != 0 {
		t.Fatalf("BorrowedTokens = %d, want 0", got)
	}
}

func TestLimiterDoubleBorrowAndForeignRelease(t *testing.T) {
	l := NewCapacityLimiter(3)
	ctx := t.Context()
	mustNil(t, l.AcquireOnBehalfOf(ctx, "a"))
	if err := l.AcquireOnBehalfOf(ctx, "a"); !errors.Is(err, ErrAlreadyBorrowing) {
		t.Errorf("second AcquireOnBehalfOf(a) = %v, want ErrAlreadyBorrowing", err)
	}
	if err := l.TryAcquireOnBehalfOf("a"); !errors.Is(err, ErrAlreadyBorrowing) {
		t.Errorf("TryAcquireOnBehalfOf(a) while borrowing = %v, want ErrAlreadyBorrowing", err)
	}
	if err := l.ReleaseOnBehalfOf("b"); !errors.Is(err, ErrNotBorrowing) {
		t.Errorf("ReleaseOnBehalfOf(b) = %v, want ErrNotBorrowing", err)
	}
	if got := l.BorrowedTokens(); got != 1 {
		t.Errorf("BorrowedTokens = %d after failed calls, want 1", got)
	}
	mustNil(t, l.ReleaseOnBehalfOf("a"))
	if err := l.ReleaseOnBehalfOf("a"); !errors.Is(err, ErrNotBorrowing) {
		t.Errorf("second ReleaseOnBehalfOf(a) = %v, want ErrNotBorrowing", err)
	}
	if got := l.AvailableTokens(); got != 3 {
		t.Errorf("AvailableTokens = %d, want 3", got)
	}
}

func TestLimiterWaitingBorrowerCannotAcquireAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.AcquireOnBehalfOf(ctx, "holder"))
			first := acquireAsync(ctx, tg, l, "w")
			synctest.Wait()
			if err := l.AcquireOnBehalfOf(ctx, "w"); !errors.Is(err, ErrAlreadyBorrowing) {
				t.Errorf("AcquireOnBehalfOf(w) while w waits = %v, want ErrAlreadyBorrowing", err)
			}
			mustNil(t, l.ReleaseOnBehalfOf("holder"))
			mustNil(t, result(t, first))
			return l.ReleaseOnBehalfOf("w")
		}))
	})
}

func TestLimiterAlreadyCancelledAcquireTakesNothing(t *testing.T) {
	l := NewCapacityLimiter(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.AcquireOnBehalfOf(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a cancelled ctx = %v, want context.Canceled", err)
	}
	if got := l.BorrowedTokens(); got != 0 {
		t.Fatalf("BorrowedTokens = %d, want 0", got)
	}
}

func TestLimiterTryAcquire(t *testing.T) {
	l := NewCapacityLimiter(1)
	mustNil(t, l.TryAcquireOnBehalfOf("a"))
	if err := l.TryAcquireOnBehalfOf("b"); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryAcquireOnBehalfOf(b) with no token free = %v, want ErrWouldBlock", err)
	}
}

// TestLimiterFIFO queues waiters one at a time and checks that released
// tokens reach them in that order, and that TryAcquire cannot take a
// released token from a waiter.
func TestLimiterFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.AcquireOnBehalfOf(ctx, "holder"))
			var want []any
			var done []<-chan error
			for i := range 5 {
				done = append(done, acquireAsync(ctx, tg, l, i))
				want = append(want, i)
				synctest.Wait() // i is queued before i+1 starts
			}
			if st := l.Statistics(); !slices.Equal(st.Waiters, want) || st.Waiting != 5 {
				t.Fatalf("Waiters = %v (Waiting %d), want %v", st.Waiters, st.Waiting, want)
			}
			prev := any("holder")
			for i := range 5 {
				mustNil(t, l.ReleaseOnBehalfOf(prev))
				if err := l.TryAcquireOnBehalfOf("barger"); !errors.Is(err, ErrWouldBlock) {
					t.Fatalf("TryAcquire after a release with waiters = %v, want ErrWouldBlock", err)
				}
				mustNil(t, result(t, done[i]))
				synctest.Wait()
				for _, later := range done[i+1:] {
					pending(t, later, "a younger waiter")
				}
				if st := l.Statistics(); !slices.Equal(st.Borrowers, []any{i}) {
					t.Fatalf("after release %d: Borrowers = %v, want [%d]", i, st.Borrowers, i)
				}
				prev = i
			}
			return l.ReleaseOnBehalfOf(prev)
		}))
	})
}

func TestLimiterSetTotalTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.AcquireOnBehalfOf(ctx, "holder"))
			var done []<-chan error
			for i := range 5 {
				done = append(done, acquireAsync(ctx, tg, l, i))
				synctest.Wait()
			}

			// Raising 1 → 4 lends exactly three tokens, to the three oldest.
			mustNil(t, l.SetTotalTokens(4))
			for i := range 3 {
				mustNil(t, result(t, done[i]))
			}
			synctest.Wait()
			pending(t, done[3], "waiter 3")
			pending(t, done[4], "waiter 4")
			st := l.Statistics()
			if st.TotalTokens != 4 || st.BorrowedTokens != 4 || !slices.Equal(st.Waiters, []any{3, 4}) {
				t.Fatalf("after raising to 4: %+v", st)
			}

			// Lowering 4 → 2 takes nothing back and lends nothing until
			// borrowed drops below 2.
			mustNil(t, l.SetTotalTokens(2))
			if got := l.AvailableTokens(); got != 0 {
				t.Fatalf("AvailableTokens = %d with 4 borrowed of 2, want 0", got)
			}
			mustNil(t, l.ReleaseOnBehalfOf("holder"))
			mustNil(t, l.ReleaseOnBehalfOf(0))
			synctest.Wait()
			pending(t, done[3], "waiter 3 with 2 of 2 borrowed")
			mustNil(t, l.ReleaseOnBehalfOf(1))
			mustNil(t, result(t, done[3]))
			synctest.Wait()
			pending(t, done[4], "waiter 4")

			if err := l.SetTotalTokens(0); !errors.Is(err, ErrInvalidTotalTokens) {
				t.Fatalf("SetTotalTokens(0) = %v, want ErrInvalidTotalTokens", err)
			}
			if got := l.TotalTokens(); got != 2 {
				t.Fatalf("TotalTokens = %d after a rejected change, want 2", got)
			}
			mustNil(t, l.SetTotalTokens(3))
			mustNil(t, result(t, done[4]))
			for _, b := range []any{2, 3, 4} {
				mustNil(t, l.ReleaseOnBehalfOf(b))
			}
			return nil
		}))
		if got := l.BorrowedTokens(); got != 0 {
			t.Fatalf("BorrowedTokens = %d at the end, want 0", got)
		}
	})
}

func TestLimiterCancelledWaiterLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.AcquireOnBehalfOf(ctx, "holder"))
			cctx, cancel := context.WithCancel(ctx)
			first := acquireAsync(cctx, tg, l, "first")
			synctest.Wait()
			second := acquireAsync(ctx, tg, l, "second")
			synctest.Wait()

			cancel()
			if err := result(t, first); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled waiter returned %v, want context.Canceled", err)
			}
			if st := l.Statistics(); !slices.Equal(st.Waiters, []any{"second"}) || st.BorrowedTokens != 1 {
				t.Fatalf("after cancelling the first waiter: %+v", st)
			}
			mustNil(t, l.ReleaseOnBehalfOf("holder"))
			mustNil(t, result(t, second))
			return l.ReleaseOnBehalfOf("second")
		}))
	})
}

// TestLimiterCancelDuringHandOff cancels a waiter and hands it the token
// while it cannot run, so that it wakes with both done. Either outcome is
// legal, but the token must be accounted for: held by the waiter that
// returned nil, or passed on to the next waiter.
func TestLimiterCancelDuringHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.AcquireOnBehalfOf(ctx, "holder"))
			cctx, cancel := context.WithCancel(ctx)
			first := acquireAsync(cctx, tg, l, "first")
			synctest.Wait()
			second := acquireAsync(ctx, tg, l, "second")
			synctest.Wait()

			l.mu.Lock() // keep "first" from settling until it is granted too
			cancel()
			l.releaseLocked("holder")
			l.mu.Unlock()

			if err := result(t, first); err == nil {
				synctest.Wait()
				pending(t, second, "second waiter while first holds the token")
				mustNil(t, l.ReleaseOnBehalfOf("first"))
			} else if !errors.Is(err, context.Canceled) {
				t.Fatalf("first waiter returned %v", err)
			} else if got := l.Statistics().Borrowers; !slices.Equal(got, []any{"second"}) {
				t.Fatalf("cancelled first waiter returned an error; Borrowers = %v, want [second]", got)
			}
			mustNil(t, result(t, second))
			return l.ReleaseOnBehalfOf("second")
		}))
	})
}

// TestLimiterStressCancellation races acquisitions, releases, random
// cancellations and changes of the total, then checks that no token was
// lost or duplicated.
func TestLimiterStressCancellation(t *testing.T) {
	const workers, rounds, maxTotal = 16, 200, 4
	l := NewCapacityLimiter(2)
	var inUse, maxInUse, granted atomic.Int64
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		for w := range workers {
			tg.StartSoon(func(ctx context.Context) error {
				for r := range rounds {
					err := withRandomCancel(ctx, l.Acquire)
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
					if err := l.Release(ctx); err != nil {
						return err
					}
				}
				return nil
			})
		}
		for range rounds {
			if err := l.SetTotalTokens(1 + rand.IntN(maxTotal)); err != nil {
				return err
			}
			runtime.Gosched()
		}
		return nil
	})
	mustNil(t, err)
	if st := l.Statistics(); st.BorrowedTokens != 0 || st.Waiting != 0 {
		t.Fatalf("after the stress: %+v, want nothing borrowed or waiting", st)
	}
	if m := maxInUse.Load(); m > maxTotal {
		t.Fatalf("%d tokens in use at once, total at most %d", m, maxTotal)
	}
	if granted.Load() == 0 {
		t.Fatal("no acquisition succeeded")
	}
}

func TestLimiterNonComparableBorrowerPanics(t *testing.T) {
	type wrapper struct{ v any }
	for name, b := range map[string]any{
		"slice":                    []int{1},
		"struct holding a map":     wrapper{map[int]int{}},
		"array holding a function": [1]any{func() {}},
	} {
		t.Run(name, func(t *testing.T) {
			l := NewCapacityLimiter(1)
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "structured: capacity limiter borrower") {
					t.Fatalf("TryAcquireOnBehalfOf(%T) panicked with %q, want the limiter's message", b, msg)
				}
			}()
			_ = l.TryAcquireOnBehalfOf(b)
		})
	}
	l := NewCapacityLimiter(1)
	mustNil(t, l.TryAcquireOnBehalfOf(wrapper{"host"}))
	mustNil(t, l.ReleaseOnBehalfOf(wrapper{"host"}))
}
