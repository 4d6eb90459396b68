package structured

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var (
	errA = errors.New("a failed")
	errB = errors.New("b failed")
)

func TestTaskGroupWaitsForAllTasks(t *testing.T) {
	var done atomic.Int32
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		for range 100 {
			tg.StartSoon(func(ctx context.Context) error {
				done.Add(1)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WithTaskGroup: %v", err)
	}
	if got := done.Load(); got != 100 {
		t.Fatalf("%d tasks finished before WithTaskGroup returned, want 100", got)
	}
}

func TestTaskGroupErrorCancelsSiblings(t *testing.T) {
	siblingSaw := make(chan error, 1)
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		ready := make(chan struct{})
		tg.StartSoon(func(ctx context.Context) error {
			close(ready)
			<-ctx.Done()
			siblingSaw <- ctx.Err()
			return ctx.Err()
		})
		tg.StartSoon(func(ctx context.Context) error {
			<-ready
			return errA
		})
		return nil
	})
	if !errors.Is(err, errA) {
		t.Fatalf("err = %v, want errA", err)
	}
	var ge *GroupError
	if !errors.As(err, &ge) || len(ge.Errors) != 1 {
		t.Fatalf("err = %#v, want a *GroupError with only errA (the sibling's cancellation is not an error)", err)
	}
	if e := <-siblingSaw; !errors.Is(e, context.Canceled) {
		t.Fatalf("sibling saw %v, want context.Canceled", e)
	}
}

func TestTaskGroupReturnsEveryError(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		// Both fail before either can see the other's cancellation.
		var both sync2
		both.add(2)
		tg.StartSoon(func(ctx context.Context) error { both.doneAndWait(); return errA })
		tg.StartSoon(func(ctx context.Context) error { both.doneAndWait(); return errB })
		return nil
	})
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("err = %v, want both errA and errB", err)
	}
	var ge *GroupError
	if !errors.As(err, &ge) || len(ge.Errors) != 2 {
		t.Fatalf("err = %#v, want a *GroupError of 2", err)
	}
	if !strings.Contains(err.Error(), "a failed") || !strings.Contains(err.Error(), "b failed") {
		t.Fatalf("message %q lacks a task's error", err)
	}
}

// sync2 is a barrier: every participant waits until all have arrived.
type sync2 struct {
	n  atomic.Int32
	ch chan struct{}
}

func (s *sync2) add(n int32) { s.n.Store(n); s.ch = make(chan struct{}) }
func (s *sync2) doneAndWait() {
	if s.n.Add(-1) == 0 {
		close(s.ch)
	}
	<-s.ch
}

func TestTaskGroupBodyErrorIsReported(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		return errA
	})
	if !errors.Is(err, errA) {
		t.Fatalf("err = %v, want errA", err)
	}
}

func TestTaskGroupOwnCancellationIsNotAnError(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		tg.StartSoon(func(ctx context.Context) error {
			tg.CancelScope().Cancel()
			return nil
		})
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatalf("err = %v, want nil after the group's own cancellation", err)
	}
}

func TestTaskGroupParentCancellationPropagates(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	err := WithTaskGroup(ctx, func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled from the parent", err)
	}
}

func TestTaskGroupParentCancellationPropagatesEvenIfTasksReturnNil(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	err := WithTaskGroup(ctx, func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { <-ctx.Done(); return nil })
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled from the parent", err)
	}
}

func TestTaskGroupCancellationLikeErrorBeforeCancelIsReal(t *testing.T) {
	// A task's own timeout, while the group is not cancelled, is a real error.
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { return context.DeadlineExceeded })
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the task's DeadlineExceeded reported", err)
	}
}

func TestTaskGroupNestedGroupErrorsAreKept(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		return WithTaskGroup(ctx, func(ctx context.Context, inner *TaskGroup) error {
			inner.StartSoon(func(ctx context.Context) error { return errA })
			return nil
		})
	})
	if !errors.Is(err, errA) {
		t.Fatalf("err = %v, want errA from the nested group", err)
	}
}

func TestTaskGroupTasksCanStartSiblings(t *testing.T) {
	var n atomic.Int32
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		var spawn func(depth int) func(context.Context) error
		spawn = func(depth int) func(context.Context) error {
			return func(ctx context.Context) error {
				n.Add(1)
				if depth < 5 {
					tg.StartSoon(spawn(depth + 1))
				}
				return nil
			}
		}
		tg.StartSoon(spawn(0))
		return nil
	})
	if err != nil || n.Load() != 6 {
		t.Fatalf("err = %v, tasks = %d; want nil, 6", err, n.Load())
	}
}

func TestStartSoonOnFinishedGroupPanics(t *testing.T) {
	var saved *TaskGroup
	if err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		saved = tg
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "finished task group") {
			t.Fatalf("recovered %v, want a clear message about a finished task group", r)
		}
	}()
	saved.StartSoon(func(ctx context.Context) error { return nil })
}

func TestTaskPanicReachesCallerWithStack(t *testing.T) {
	siblingCancelled := make(chan struct{})
	defer func() {
		r := recover()
		pe, ok := r.(*PanicError)
		if !ok {
			t.Fatalf("recovered %#v, want *PanicError", r)
		}
		if pe.Value != "boom" {
			t.Fatalf("panic value = %v, want boom", pe.Value)
		}
		if !strings.Contains(string(pe.Stack), "panickyTask") {
			t.Fatalf("stack does not name the panicking function:\n%s", pe.Stack)
		}
		select {
		case <-siblingCancelled:
		default:
			t.Fatal("sibling was not cancelled by the panic")
		}
	}()
	_ = WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			<-ctx.Done()
			close(siblingCancelled)
			return ctx.Err()
		})
		tg.StartSoon(panickyTask)
		return nil
	})
	t.Fatal("WithTaskGroup returned instead of panicking")
}

func panickyTask(ctx context.Context) error { panic("boom") }

func TestBodyPanicWaitsForTasksThenRepanics(t *testing.T) {
	taskDone := make(chan struct{})
	defer func() {
		if r := recover(); r != "body boom" {
			t.Fatalf("recovered %v, want the body's own panic value", r)
		}
		select {
		case <-taskDone:
		default:
			t.Fatal("re-panicked before the task returned")
		}
	}()
	_ = WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			<-ctx.Done()
			close(taskDone)
			return nil
		})
		panic("body boom")
	})
}

func TestCurrentTaskIdentity(t *testing.T) {
	if CurrentTask(t.Context()) != nil {
		t.Fatal("a plain context has a task")
	}
	ids := make(chan *Task, 2)
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		for range 2 {
			tg.StartSoon(func(ctx context.Context) error {
				inner, cancel := context.WithCancel(ctx)
				defer cancel()
				if CurrentTask(inner) != CurrentTask(ctx) {
					return errors.New("derived context lost the task")
				}
				ids <- CurrentTask(ctx)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := <-ids, <-ids
	if a == nil || b == nil || a == b || a.ID() == b.ID() {
		t.Fatalf("tasks %v and %v do not have distinct identities", a, b)
	}
}

func TestStartReturnsValue(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		addr, err := Start(tg, func(ctx context.Context, started func(string)) error {
			started("127.0.0.1:8080")
			<-ctx.Done()
			return nil
		})
		if err != nil || addr != "127.0.0.1:8080" {
			t.Errorf("Start = %q, %v", addr, err)
		}
		tg.CancelScope().Cancel()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStartReturnsTaskErrorBeforeStarted(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		_, err := Start(tg, func(ctx context.Context, started func(int)) error { return errA })
		if !errors.Is(err, errA) {
			t.Errorf("Start err = %v, want errA", err)
		}
		_, err = Start(tg, func(ctx context.Context, started func(int)) error { return nil })
		if !errors.Is(err, ErrNotStarted) {
			t.Errorf("Start err = %v, want ErrNotStarted", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("group err = %v: an error before started belongs to Start's caller", err)
	}
}

func TestStartErrorAfterStartedGoesToGroup(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		_, err := Start(tg, func(ctx context.Context, started func(int)) error {
			started(1)
			return errA
		})
		if err != nil {
			t.Errorf("Start err = %v, want nil", err)
		}
		return nil
	})
	if !errors.Is(err, errA) {
		t.Fatalf("group err = %v, want errA", err)
	}
}

func TestStartedTwicePanics(t *testing.T) {
	err := WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
		_, err := Start(tg, func(ctx context.Context, started func(int)) (err error) {
			started(1)
			defer func() {
				if r := recover(); r == nil {
					err = errors.New("second started did not panic")
				}
			}()
			started(2)
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStartPanicBeforeStarted(t *testing.T) {
	var startErr error
	func() {
		defer func() {
			if _, ok := recover().(*PanicError); !ok {
				t.Fatal("the task's panic did not reach the group's caller")
			}
		}()
		_ = WithTaskGroup(t.Context(), func(ctx context.Context, tg *TaskGroup) error {
			_, startErr = Start(tg, func(ctx context.Context, started func(int)) error { panic("early") })
			return nil
		})
	}()
	if startErr == nil {
		t.Fatal("Start returned nil for a task that panicked before started")
	}
}

func TestTaskGroupDeadlineFromParentIsVisible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		err := WithTaskGroup(ctx, func(ctx context.Context, tg *TaskGroup) error {
			d, ok := ctx.Deadline()
			if !ok || !d.Equal(time.Now().Add(time.Minute)) {
				t.Errorf("group deadline = %v, %v; want the parent's", d, ok)
			}
			tg.StartSoon(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
			return nil
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the parent's DeadlineExceeded", err)
		}
	})
}

func TestParentCancellationKeptBesideRealErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	err := WithTaskGroup(ctx, func(ctx context.Context, tg *TaskGroup) error {
		cancel()
		return errA // e.g. a flush that failed while the run was being cancelled
	})
	if !errors.Is(err, errA) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want both the real error and the parent's cancellation", err)
	}
}
