package structured

import (
	"context"
	"time"
)

// MoveOnAfter runs fn in a scope with a deadline d from now. If the deadline
// expires and fn returns a cancellation error, MoveOnAfter returns
// (true, nil): the work was abandoned and the caller moves on. Any other
// error from fn is returned with timedOut false. A cancellation of ctx
// itself propagates as an error.
func MoveOnAfter(ctx context.Context, d time.Duration, fn func(ctx context.Context) error) (timedOut bool, err error) {
	return MoveOnAt(ctx, time.Now().Add(d), fn)
}

// MoveOnAt is [MoveOnAfter] with an absolute deadline.
func MoveOnAt(ctx context.Context, deadline time.Time, fn func(ctx context.Context) error) (timedOut bool, err error) {
	s := NewCancelScope(WithDeadline(deadline))
	err = s.Run(ctx, fn)
	return s.timedOut(), err
}

// FailAfter runs fn in a scope with a deadline d from now. If the deadline
// expires and fn returns a cancellation error, FailAfter returns
// [ErrTimeout], which also matches [context.DeadlineExceeded]. Other errors
// from fn, and a cancellation of ctx itself, are returned unchanged.
func FailAfter(ctx context.Context, d time.Duration, fn func(ctx context.Context) error) error {
	return FailAt(ctx, time.Now().Add(d), fn)
}

// FailAt is [FailAfter] with an absolute deadline.
func FailAt(ctx context.Context, deadline time.Time, fn func(ctx context.Context) error) error {
	s := NewCancelScope(WithDeadline(deadline))
	if err := s.Run(ctx, fn); err != nil {
		return err
	}
	if s.timedOut() {
		return ErrTimeout
	}
	return nil
}

// Shielded runs fn protected from the cancellation of ctx for at most d:
// the cleanup idiom. fn sees ctx's values but not its cancellation or
// deadline; it is cancelled only when d elapses, and then Shielded returns
// [ErrTimeout]. Use it for work that must happen even while the caller is
// being cancelled (flushing output, closing a body, releasing a slot).
func Shielded(ctx context.Context, d time.Duration, fn func(ctx context.Context) error) error {
	s := NewCancelScope(WithShield(), WithDeadline(time.Now().Add(d)))
	if err := s.Run(ctx, fn); err != nil {
		return err
	}
	if s.timedOut() {
		return ErrTimeout
	}
	return nil
}
