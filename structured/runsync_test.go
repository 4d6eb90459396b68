package structured

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// blockingCalls counts calls running at once and keeps them blocked until
// released.
type blockingCalls struct {
	running, max, started atomic.Int32
	release               chan struct{}
}

func newBlockingCalls() *blockingCalls {
	return &blockingCalls{release: make(chan struct{})}
}

func (b *blockingCalls) call(ctx context.Context) (int32, error) {
	n := b.running.Add(1)
	for {
		m := b.max.Load()
		if n <= m || b.max.CompareAndSwap(m, n) {
			break
		}
	}
	id := b.started.Add(1)
	<-b.release
	b.running.Add(-1)
	return id, nil
}

func TestRunSyncNeverExceedsLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, calls = 3, 10
		l := NewCapacityLimiter(limit)
		b := newBlockingCalls()
		var results sync.Map
		err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			for i := range calls {
				tg.StartSoon(func(ctx context.Context) error {
					v, err := RunSync(ctx, b.call, WithLimiter(l))
					results.Store(i, v)
					return err
				})
			}
			synctest.Wait()
			if got := b.running.Load(); got != limit {
				t.Errorf("%d calls running with a limiter of %d", got, limit)
			}
			if st := l.Statistics(); st.BorrowedTokens != limit || st.Waiting != calls-limit {
				t.Errorf("limiter borrowed %d, waiting %d; want %d, %d", st.BorrowedTokens, st.Waiting, limit, calls-limit)
			}
			for range calls {
				b.release <- struct{}{} // one call ends, a waiter starts
				synctest.Wait()
				if got := b.running.Load(); got > limit {
					t.Errorf("%d calls running with a limiter of %d", got, limit)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("WithTaskGroup: %v", err)
		}
		if got := b.max.Load(); got != limit {
			t.Errorf("max concurrency %d, want %d", got, limit)
		}
		if got := b.started.Load(); got != calls {
			t.Errorf("%d calls ran, want %d", got, calls)
		}
		if got := l.BorrowedTokens(); got != 0 {
			t.Errorf("%d tokens still borrowed after every call returned", got)
		}
	})
}

func TestRunSyncSameTaskSeveralCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(2)
		b := newBlockingCalls()
		err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			tg.StartSoon(func(ctx context.Context) error {
				// Two calls at once from one task: each is its own borrower.
				errs := make(chan error, 2)
				for range 2 {
					go func() {
						_, err := RunSync(ctx, b.call, WithLimiter(l))
						errs <- err
					}()
				}
				synctest.Wait()
				if got := b.running.Load(); got != 2 {
					t.Errorf("%d calls running, want 2", got)
				}
				close(b.release)
				return errors.Join(<-errs, <-errs)
			})
			return nil
		})
		if err != nil {
			t.Fatalf("two RunSync calls from one task: %v", err)
		}
	})
}

func TestRunSyncCancelledNeverRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	_, err := RunSync(ctx, func(context.Context) (int, error) {
		ran = true
		return 1, nil
	}, WithLimiter(NewCapacityLimiter(1)))
	if ran {
		t.Error("fn ran with a context cancelled beforehand")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestRunSyncWaitForTokenIsCancellable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		if err := l.AcquireOnBehalfOf(t.Context(), "holder"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var ran atomic.Bool
		errc := make(chan error, 1)
		go func() {
			_, err := RunSync(ctx, func(context.Context) (int, error) {
				ran.Store(true)
				return 1, nil
			}, WithLimiter(l))
			errc <- err
		}()
		synctest.Wait()
		if st := l.Statistics(); st.Waiting != 1 {
			t.Fatalf("%d waiters, want the RunSync call waiting", st.Waiting)
		}
		cancel()
		synctest.Wait()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("RunSync still waiting for a token after cancellation")
		}
		if ran.Load() {
			t.Error("fn ran although its wait for a token was cancelled")
		}
		if st := l.Statistics(); st.BorrowedTokens != 1 || st.Waiting != 0 {
			t.Errorf("borrowed %d, waiting %d; want only the holder's token", st.BorrowedTokens, st.Waiting)
		}
		if err := l.ReleaseOnBehalfOf("holder"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRunSyncWaitsForRunningCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		ctx, cancel := context.WithCancel(t.Context())
		release := make(chan struct{})
		type result struct {
			v   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			v, err := RunSync(ctx, func(context.Context) (int, error) {
				<-release
				return 7, nil
			}, WithLimiter(l))
			done <- result{v, err}
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("RunSync returned while fn was still running")
		default:
		}
		close(release)
		synctest.Wait()
		r := <-done
		if r.v != 7 || r.err != nil {
			t.Errorf("RunSync = %d, %v; want fn's result 7, nil", r.v, r.err)
		}
		if got := l.BorrowedTokens(); got != 0 {
			t.Errorf("%d tokens borrowed after RunSync returned", got)
		}
	})
}

func TestRunSyncAbandonOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewCapacityLimiter(1)
		ctx, cancel := context.WithCancel(t.Context())
		release := make(chan struct{})
		finished := make(chan struct{})
		errc := make(chan error, 1)
		go func() {
			_, err := RunSync(ctx, func(context.Context) (int, error) {
				defer close(finished)
				<-release
				return 7, nil
			}, WithLimiter(l), AbandonOnCancel())
			errc <- err
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("RunSync with AbandonOnCancel did not return on cancellation")
		}
		if got := l.BorrowedTokens(); got != 1 {
			t.Errorf("%d tokens borrowed while the abandoned call runs, want 1", got)
		}
		close(release)
		<-finished
		synctest.Wait() // the call's goroutine releases its token and ends
		if got := l.BorrowedTokens(); got != 0 {
			t.Errorf("%d tokens borrowed after the abandoned call ended, want 0", got)
		}
	})
}

func TestRunSyncAbandonOnCancelReturnsResultWhenNotCancelled(t *testing.T) {
	v, err := RunSync(t.Context(), func(context.Context) (string, error) {
		return "ok", nil
	}, AbandonOnCancel(), WithLimiter(NewCapacityLimiter(1)))
	if v != "ok" || err != nil {
		t.Fatalf("RunSync = %q, %v", v, err)
	}
}

type runSyncKey struct{}

func TestRunSyncContextValuesReachFn(t *testing.T) {
	ctx := context.WithValue(t.Context(), runSyncKey{}, "trace-42")
	v, err := RunSync(ctx, func(ctx context.Context) (string, error) {
		s, _ := ctx.Value(runSyncKey{}).(string)
		return s, nil
	})
	if v != "trace-42" || err != nil {
		t.Fatalf("RunSync = %q, %v; want the context value", v, err)
	}
}

func TestRunSyncReturnsFnError(t *testing.T) {
	l := NewCapacityLimiter(1)
	_, err := RunSync(t.Context(), func(context.Context) (int, error) {
		return 0, errA
	}, WithLimiter(l))
	if err != errA {
		t.Fatalf("err = %#v, want fn's error unchanged", err)
	}
	if got := l.BorrowedTokens(); got != 0 {
		t.Errorf("%d tokens borrowed after an error", got)
	}
}

func runSyncPanickingFn(context.Context) (int, error) { panic("boom") }

func TestRunSyncRepanicsWithStack(t *testing.T) {
	l := NewCapacityLimiter(1)
	defer func() {
		pe, ok := recover().(*PanicError)
		if !ok {
			t.Fatalf("recovered %T, want *PanicError", pe)
		}
		if pe.Value != "boom" || !strings.Contains(string(pe.Stack), "runSyncPanickingFn") {
			t.Errorf("PanicError value %v, stack:\n%s", pe.Value, pe.Stack)
		}
		if got := l.BorrowedTokens(); got != 0 {
			t.Errorf("%d tokens borrowed after a panic", got)
		}
	}()
	RunSync(t.Context(), runSyncPanickingFn, WithLimiter(l))
}

func TestDefaultLimiter(t *testing.T) {
	if DefaultLimiter() != DefaultLimiter() {
		t.Fatal("DefaultLimiter returns different limiters")
	}
	if got := DefaultLimiter().TotalTokens(); got != DefaultWorkerTokens {
		t.Fatalf("default limiter has %d tokens, want %d", got, DefaultWorkerTokens)
	}
}
