package structured

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// asyncResult runs f(ctx) in tg; the channel gets its result.
func asyncResult(ctx context.Context, tg *TaskGroup, f func(context.Context) error) <-chan error {
	done := make(chan error, 1)
	tg.StartSoon(func(context.Context) error {
		done <- f(ctx)
		return nil
	})
	return done
}

func TestEventZeroValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e Event
		if e.IsSet() {
			t.Fatal("zero Event is set")
		}
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			var waiters []<-chan error
			for range 3 {
				waiters = append(waiters, asyncResult(ctx, tg, e.Wait))
			}
			synctest.Wait()
			for _, w := range waiters {
				pending(t, w, "Wait on an unset Event")
			}
			e.Set()
			e.Set() // no effect
			for _, w := range waiters {
				mustNil(t, result(t, w))
			}
			return nil
		}))
		if !e.IsSet() {
			t.Fatal("IsSet = false after Set")
		}
		select {
		case <-e.Done():
		default:
			t.Fatal("Done not closed after Set")
		}
	})
}

func TestEventDoneAfterSet(t *testing.T) {
	var e Event
	e.Set()
	select {
	case <-e.Done():
	default:
		t.Fatal("Done of an Event set before any waiter is not closed")
	}
}

func TestEventWaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e Event
		ctx, cancel := context.WithCancel(t.Context())
		mustNil(t, WithTaskGroup(t.Context(), func(_ context.Context, tg *TaskGroup) error {
			done := asyncResult(ctx, tg, e.Wait)
			synctest.Wait()
			cancel()
			if err := result(t, done); !errors.Is(err, context.Canceled) {
				t.Errorf("Wait cancelled before Set = %v, want context.Canceled", err)
			}
			return nil
		}))
		e.Set()
		if err := e.Wait(ctx); err != nil {
			t.Fatalf("Wait on a set Event with a done ctx = %v, want nil", err)
		}
	})
}

func TestLockZeroValue(t *testing.T) {
	var l Lock
	ctx := t.Context()
	mustNil(t, l.Lock(ctx))
	if !l.Locked() {
		t.Fatal("Locked = false after Lock")
	}
	if err := l.TryLock(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryLock on a locked Lock = %v, want ErrWouldBlock", err)
	}
	l.Unlock()
	mustNil(t, l.TryLock())
	l.Unlock()
	if l.Locked() {
		t.Fatal("Locked = true after Unlock")
	}
}

func TestLockUnlockOfUnlockedPanics(t *testing.T) {
	var l Lock
	defer func() {
		if recover() == nil {
			t.Fatal("Unlock of an unlocked Lock did not panic")
		}
	}()
	l.Unlock()
}

func TestLockAlreadyCancelled(t *testing.T) {
	var l Lock
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Lock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled ctx = %v, want context.Canceled", err)
	}
	if l.Locked() {
		t.Fatal("a failed Lock left the Lock locked")
	}
}

// TestLockFIFO queues waiters one at a time and checks that Unlock hands
// the lock to them in that order, ahead of TryLock.
func TestLockFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lock
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.Lock(ctx))
			var done []<-chan error
			for range 5 {
				done = append(done, asyncResult(ctx, tg, l.Lock))
				synctest.Wait()
			}
			for i := range 5 {
				l.Unlock()
				if err := l.TryLock(); !errors.Is(err, ErrWouldBlock) {
					t.Fatalf("TryLock after Unlock with waiters = %v, want ErrWouldBlock", err)
				}
				mustNil(t, result(t, done[i]))
				synctest.Wait()
				for _, later := range done[i+1:] {
					pending(t, later, "a younger waiter")
				}
			}
			l.Unlock()
			return nil
		}))
		if l.Locked() {
			t.Fatal("Lock still locked at the end")
		}
	})
}

func TestLockCancelledWaiterLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lock
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.Lock(ctx))
			cctx, cancel := context.WithCancel(ctx)
			first := asyncResult(cctx, tg, l.Lock)
			synctest.Wait()
			second := asyncResult(ctx, tg, l.Lock)
			synctest.Wait()
			cancel()
			if err := result(t, first); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled waiter returned %v, want context.Canceled", err)
			}
			l.Unlock()
			mustNil(t, result(t, second))
			l.Unlock()
			return nil
		}))
	})
}

// TestLockCancelDuringHandOff hands the lock to a waiter whose ctx is
// cancelled at the same moment: it must keep it (nil) or pass it on.
func TestLockCancelDuringHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lock
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			mustNil(t, l.Lock(ctx))
			cctx, cancel := context.WithCancel(ctx)
			first := asyncResult(cctx, tg, l.Lock)
			synctest.Wait()
			second := asyncResult(ctx, tg, l.Lock)
			synctest.Wait()

			l.mu.Lock() // keep "first" from settling until it is granted too
			cancel()
			l.unlockLocked()
			l.mu.Unlock()

			if err := result(t, first); err == nil {
				synctest.Wait()
				pending(t, second, "second waiter while first holds the lock")
				l.Unlock()
			} else if !errors.Is(err, context.Canceled) {
				t.Fatalf("first waiter returned %v", err)
			}
			mustNil(t, result(t, second))
			l.Unlock()
			return nil
		}))
		if l.Locked() {
			t.Fatal("Lock left locked with no owner")
		}
	})
}

// TestLockStressCancellation checks mutual exclusion and that the lock ends
// unlocked when lockers are cancelled at random.
func TestLockStressCancellation(t *testing.T) {
	const workers, rounds = 16, 200
	var l Lock
	var inside atomic.Int32
	var granted atomic.Int64
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		for w := range workers {
			tg.StartSoon(func(ctx context.Context) error {
				for r := range rounds {
					err := withRandomCancel(ctx, l.Lock)
					if errors.Is(err, context.Canceled) {
						continue
					}
					if err != nil {
						return fmt.Errorf("worker %d round %d: %w", w, r, err)
					}
					granted.Add(1)
					if n := inside.Add(1); n != 1 {
						return fmt.Errorf("%d holders of the lock at once", n)
					}
					inside.Add(-1)
					l.Unlock()
				}
				return nil
			})
		}
		return nil
	})
	mustNil(t, err)
	if l.Locked() {
		t.Fatal("Lock still locked after every holder unlocked")
	}
	if granted.Load() == 0 {
		t.Fatal("no Lock succeeded")
	}
}

func TestConditionNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCondition(nil)
		var order []int
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			var done []<-chan error
			for i := range 4 {
				done = append(done, asyncResult(ctx, tg, func(ctx context.Context) error {
					if err := c.Lock(ctx); err != nil {
						return err
					}
					defer c.Unlock()
					if err := c.Wait(ctx); err != nil {
						return err
					}
					order = append(order, i) // under the lock
					return nil
				}))
				synctest.Wait() // waiting, lock released, before the next
			}
			mustNil(t, c.Lock(ctx))
			c.Notify(2)
			c.Unlock()
			mustNil(t, result(t, done[0]))
			mustNil(t, result(t, done[1]))
			synctest.Wait()
			pending(t, done[2], "waiter 2 before NotifyAll")
			c.NotifyAll()
			mustNil(t, result(t, done[2]))
			mustNil(t, result(t, done[3]))
			return nil
		}))
		if !slices.Equal(order, []int{0, 1, 2, 3}) {
			t.Fatalf("woke holding the lock in order %v, want [0 1 2 3]", order)
		}
	})
}

func TestConditionWaitCancelledRelocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCondition(nil)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			cctx, cancel := context.WithCancel(ctx)
			var lockedAfter atomic.Bool
			done := asyncResult(cctx, tg, func(ctx context.Context) error {
				mustNil(t, c.Lock(ctx))
				err := c.Wait(ctx)
				lockedAfter.Store(c.lock.Locked())
				c.Unlock()
				return err
			})
			synctest.Wait()
			mustNil(t, c.Lock(ctx)) // Wait released the lock
			cancel()
			synctest.Wait()
			pending(t, done, "Wait while another holds the lock")
			c.Unlock()
			if err := result(t, done); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Wait = %v, want context.Canceled", err)
			}
			if !lockedAfter.Load() {
				t.Fatal("cancelled Wait returned without the lock")
			}
			c.Notify(1) // nobody waits any more: no effect
			return nil
		}))
	})
}

// TestConditionNotifyNotLostOnCancel notifies a waiter whose ctx is
// cancelled at the same moment: the notification must not be lost, so Wait
// returns nil.
func TestConditionNotifyNotLostOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCondition(nil)
		mustNil(t, WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			cctx, cancel := context.WithCancel(ctx)
			done := asyncResult(cctx, tg, func(ctx context.Context) error {
				mustNil(t, c.Lock(ctx))
				defer c.Unlock()
				return c.Wait(ctx)
			})
			synctest.Wait()
			c.mu.Lock() // keep the waiter from settling until notified too
			cancel()
			c.notifyLocked(1)
			c.mu.Unlock()
			mustNil(t, result(t, done))
			return nil
		}))
	})
}
