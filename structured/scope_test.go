package structured

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// waitDone blocks until ctx is done and returns its error, the way a
// context-aware call would.
func waitDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestScopeCancelIsCaught(t *testing.T) {
	s := NewCancelScope()
	err := s.Run(t.Context(), func(ctx context.Context) error {
		s.Cancel()
		return waitDone(ctx)
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if !s.CancelCalled() || !s.CancelledCaught() {
		t.Fatalf("CancelCalled=%v CancelledCaught=%v, want both true", s.CancelCalled(), s.CancelledCaught())
	}
}

func TestScopeCancelledBeforeRun(t *testing.T) {
	s := NewCancelScope()
	s.Cancel()
	err := s.Run(t.Context(), waitDone)
	if err != nil || !s.CancelledCaught() {
		t.Fatalf("Run = %v, caught = %v; want nil, true", err, s.CancelledCaught())
	}
}

func TestScopeCancelCalledButNotCaught(t *testing.T) {
	s := NewCancelScope()
	err := s.Run(t.Context(), func(ctx context.Context) error {
		s.Cancel()
		return nil // finished without looking at ctx
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.CancelCalled() || s.CancelledCaught() {
		t.Fatalf("CancelCalled=%v CancelledCaught=%v, want true, false", s.CancelCalled(), s.CancelledCaught())
	}
}

func TestScopeOtherErrorsPassThrough(t *testing.T) {
	s := NewCancelScope()
	err := s.Run(t.Context(), func(ctx context.Context) error {
		s.Cancel()
		return errA
	})
	if !errors.Is(err, errA) || s.CancelledCaught() {
		t.Fatalf("Run = %v, caught = %v; want errA, false", err, s.CancelledCaught())
	}
}

func TestScopeParentCancellationPropagatesFromNestedScope(t *testing.T) {
	parent, cancel := context.WithCancel(t.Context())
	inner := NewCancelScope()
	outer := NewCancelScope()
	err := outer.Run(parent, func(ctx context.Context) error {
		return inner.Run(ctx, func(ctx context.Context) error {
			cancel()
			return waitDone(ctx)
		})
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want the parent's context.Canceled", err)
	}
	if inner.CancelledCaught() || outer.CancelledCaught() || inner.CancelCalled() {
		t.Fatal("a scope claimed a cancellation that came from outside")
	}
}

func TestScopeParentCancelWinsOverOwnCancel(t *testing.T) {
	parent, cancel := context.WithCancel(t.Context())
	s := NewCancelScope()
	err := s.Run(parent, func(ctx context.Context) error {
		s.Cancel()
		cancel()
		return waitDone(ctx)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want the parent's cancellation to propagate", err)
	}
}

func TestShieldedScopeSurvivesOuterCancellation(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "v"))
	s := NewCancelScope(WithShield())
	err := s.Run(parent, func(ctx context.Context) error {
		cancel()
		if ctx.Err() != nil {
			return errors.New("shielded context saw the outer cancellation")
		}
		if ctx.Value(key{}) != "v" {
			return errors.New("shielded context lost the parent's values")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestShieldedScopeHonoursOwnCancel(t *testing.T) {
	parent, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := NewCancelScope(WithShield())
	err := s.Run(parent, func(ctx context.Context) error {
		cancel()
		s.Cancel()
		return waitDone(ctx)
	})
	if err != nil || !s.CancelledCaught() {
		t.Fatalf("Run = %v caught = %v, want nil, true (own Cancel caught despite the parent)", err, s.CancelledCaught())
	}
}

func TestShieldedHonoursOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(t.Context())
		start := time.Now()
		err := Shielded(parent, 5*time.Second, func(ctx context.Context) error {
			cancel()
			return waitDone(ctx)
		})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Shielded = %v, want ErrTimeout", err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Fatalf("shielded body ran %v, want exactly its own 5s bound", got)
		}
	})
}

func TestShieldedIgnoresParentDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := Shielded(parent, time.Minute, func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			if !d.Equal(time.Now().Add(time.Minute)) {
				t.Errorf("shielded deadline = %v, want its own", d)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		})
		if err != nil {
			t.Fatalf("Shielded = %v, want nil: the parent's deadline must not reach it", err)
		}
	})
}

func TestUnshieldingAfterParentCancelCancels(t *testing.T) {
	parent, cancel := context.WithCancel(t.Context())
	s := NewCancelScope(WithShield())
	err := s.Run(parent, func(ctx context.Context) error {
		cancel()
		s.SetShield(false)
		return waitDone(ctx)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want the parent's cancellation once unshielded", err)
	}
}

func TestDeadlineMovedEarlierAndLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := NewCancelScope(WithDeadline(start.Add(10 * time.Second)))
		err := s.Run(t.Context(), func(ctx context.Context) error {
			time.Sleep(time.Second) // fake time: advances the bubble's clock
			s.SetDeadline(start.Add(30 * time.Second))
			time.Sleep(15 * time.Second) // past the original deadline
			if ctx.Err() != nil {
				return errors.New("cancelled at the old deadline after it was moved later")
			}
			s.SetDeadline(start.Add(20 * time.Second))
			return waitDone(ctx)
		})
		if err != nil || !s.CancelledCaught() {
			t.Fatalf("Run = %v caught = %v", err, s.CancelledCaught())
		}
		if got := time.Since(start); got != 20*time.Second {
			t.Fatalf("cancelled after %v, want 20s", got)
		}
	})
}

func TestDeadlineInThePastCancelsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewCancelScope()
		err := s.Run(t.Context(), func(ctx context.Context) error {
			s.SetDeadline(time.Now().Add(-time.Second))
			if ctx.Err() == nil {
				return errors.New("not cancelled by a past deadline")
			}
			return ctx.Err()
		})
		if err != nil || !s.CancelCalled() {
			t.Fatalf("Run = %v, CancelCalled = %v", err, s.CancelCalled())
		}
	})
}

func TestScopeRunTwicePanics(t *testing.T) {
	s := NewCancelScope()
	_ = s.Run(t.Context(), func(context.Context) error { return nil })
	defer func() {
		if recover() == nil {
			t.Fatal("second Run did not panic")
		}
	}()
	_ = s.Run(t.Context(), func(context.Context) error { return nil })
}

func TestScopeCauseTellsWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_ = FailAfter(t.Context(), time.Second, func(ctx context.Context) error {
			<-ctx.Done()
			if c := context.Cause(ctx); !errors.Is(c, ErrTimeout) || !errors.Is(c, context.DeadlineExceeded) {
				t.Errorf("cause = %v, want ErrTimeout", c)
			}
			return ctx.Err()
		})
		s := NewCancelScope()
		_ = s.Run(t.Context(), func(ctx context.Context) error {
			s.Cancel()
			if c := context.Cause(ctx); !errors.Is(c, ErrCancelled) || !errors.Is(c, context.Canceled) {
				t.Errorf("cause = %v, want ErrCancelled", c)
			}
			return ctx.Err()
		})
	})
}

func TestFailAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := FailAfter(t.Context(), 3*time.Second, waitDone)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("FailAfter = %v, want ErrTimeout matching DeadlineExceeded", err)
		}
		if time.Since(start) != 3*time.Second {
			t.Fatalf("timed out after %v", time.Since(start))
		}
		if err := FailAfter(t.Context(), time.Second, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("FailAfter on fast work = %v", err)
		}
		if err := FailAfter(t.Context(), time.Second, func(context.Context) error { return errA }); !errors.Is(err, errA) {
			t.Fatalf("FailAfter = %v, want errA", err)
		}
	})
}

func TestFailAtAndMoveOnAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := time.Now().Add(time.Hour)
		if err := FailAt(t.Context(), at, waitDone); !errors.Is(err, ErrTimeout) {
			t.Fatalf("FailAt = %v", err)
		}
		at = time.Now().Add(time.Hour)
		timedOut, err := MoveOnAt(t.Context(), at, waitDone)
		if !timedOut || err != nil {
			t.Fatalf("MoveOnAt = %v, %v", timedOut, err)
		}
		if !time.Now().Equal(at) {
			t.Fatalf("moved on at %v, want %v", time.Now(), at)
		}
	})
}

func TestMoveOnAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		timedOut, err := MoveOnAfter(t.Context(), time.Second, waitDone)
		if !timedOut || err != nil {
			t.Fatalf("MoveOnAfter = %v, %v; want true, nil", timedOut, err)
		}
		timedOut, err = MoveOnAfter(t.Context(), time.Second, func(context.Context) error { return nil })
		if timedOut || err != nil {
			t.Fatalf("MoveOnAfter on fast work = %v, %v", timedOut, err)
		}
	})
}

func TestNestedTimeoutsOuterExpiresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var innerErr error
		err := FailAfter(t.Context(), time.Second, func(ctx context.Context) error {
			innerErr = FailAfter(ctx, time.Minute, waitDone)
			return innerErr
		})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("outer = %v, want ErrTimeout", err)
		}
		if errors.Is(innerErr, ErrTimeout) {
			t.Fatalf("inner = %v: the inner scope claimed the outer one's timeout", innerErr)
		}
		if !errors.Is(innerErr, context.Canceled) {
			t.Fatalf("inner = %v, want the propagated cancellation", innerErr)
		}
	})
}

func TestNestedTimeoutsInnerExpiresFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var innerTimedOut bool
		err := FailAfter(t.Context(), time.Minute, func(ctx context.Context) error {
			var err error
			innerTimedOut, err = MoveOnAfter(ctx, time.Second, waitDone)
			return err
		})
		if err != nil || !innerTimedOut {
			t.Fatalf("outer = %v, inner timed out = %v; want nil, true", err, innerTimedOut)
		}
	})
}

func TestScopeDeadlineIsVisibleToCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_ = FailAfter(parent, time.Minute, func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); !ok || !d.Equal(time.Now().Add(time.Second)) {
				t.Errorf("deadline = %v %v, want the parent's earlier one", d, ok)
			}
			return nil
		})
		_ = FailAfter(t.Context(), time.Minute, func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); !ok || !d.Equal(time.Now().Add(time.Minute)) {
				t.Errorf("deadline = %v %v, want the scope's own", d, ok)
			}
			return nil
		})
	})
}

func TestScopeEndsWhenBodyPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inner context.Context
		func() {
			defer func() { recover() }()
			_ = FailAfter(t.Context(), time.Hour, func(ctx context.Context) error {
				inner = ctx
				panic("boom")
			})
		}()
		if inner.Err() == nil {
			t.Fatal("the scope's context outlived a panicking body")
		}
		// The bubble ends only if the scope's timer was stopped.
	})
}

func TestScopeUnderCancelledParentStartsCancelled(t *testing.T) {
	parent, cancel := context.WithCancel(t.Context())
	cancel()
	for range 100 {
		err := NewCancelScope().Run(parent, func(ctx context.Context) error {
			if ctx.Err() == nil {
				return errors.New("the body saw a live context under a cancelled parent")
			}
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		ran := false
		_ = WithTaskGroup(parent, func(ctx context.Context, tg *TaskGroup) error {
			_, err := RunSync(ctx, func(context.Context) (int, error) { ran = true; return 0, nil })
			return err
		})
		if ran {
			t.Fatal("RunSync ran fn under a cancelled parent")
		}
	}
}
