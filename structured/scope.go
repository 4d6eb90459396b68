package structured

import (
	"context"
	"sync"
	"time"
)

// A CancelScope delimits a piece of work that can be cancelled as a whole,
// by [CancelScope.Cancel], by a deadline that may move while the work runs,
// or by the cancellation of the context it runs in (unless shielded).
//
// Create one with [NewCancelScope] and run code in it with
// [CancelScope.Run]. A scope runs at most once. All methods are safe for
// concurrent use, before, during and after Run.
type CancelScope struct {
	mu              sync.Mutex
	deadline        time.Time
	shield          bool
	cancelCalled    bool
	cancelledCaught bool
	started         bool

	// Set while running.
	parent     context.Context
	cancel     context.CancelCauseFunc
	timer      *time.Timer
	stopParent func() bool
	ownCause   error // ErrCancelled or ErrTimeout once the scope cancelled itself
}

// ScopeOption configures a [CancelScope] at creation.
type ScopeOption func(*CancelScope)

// WithDeadline gives the scope a deadline at creation. The zero time means
// no deadline.
func WithDeadline(t time.Time) ScopeOption {
	return func(s *CancelScope) { s.deadline = t }
}

// WithShield makes the scope shielded from outer cancellation at creation.
func WithShield() ScopeOption {
	return func(s *CancelScope) { s.shield = true }
}

// NewCancelScope returns a scope that is not yet running.
func NewCancelScope(opts ...ScopeOption) *CancelScope {
	s := &CancelScope{}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Cancel cancels the scope. Calling it before Run makes Run start cancelled;
// calling it again has no further effect. Cancellation by Cancel is caught
// by the scope: Run returns nil if the body returns a cancellation error.
func (s *CancelScope) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelCalled = true
	s.cancelOwnLocked(ErrCancelled)
}

// CancelCalled reports whether Cancel was called or the deadline expired.
func (s *CancelScope) CancelCalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelCalled
}

// CancelledCaught reports whether Run swallowed a cancellation error that
// this scope caused. It is false when the body finished without seeing the
// cancellation, and false when the cancellation came from outside.
func (s *CancelScope) CancelledCaught() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelledCaught
}

// Deadline returns the scope's own deadline; the zero time means none.
func (s *CancelScope) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadline
}

// SetDeadline sets the scope's deadline; the zero time removes it. It may be
// moved earlier or later while the scope runs; a deadline already in the
// past cancels the scope at once.
//
// The scope's context reports the deadline in force when asked. A context
// derived from it with a later timeout of its own (context.WithTimeout)
// keeps no timer when the scope's deadline was earlier, so moving the
// scope's deadline later afterwards leaves that child with no deadline:
// derive such children after the last move, or bound them with a scope.
func (s *CancelScope) SetDeadline(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = t
	if s.cancel != nil {
		s.armLocked()
	}
}

// Shield reports whether the scope is shielded from outer cancellation.
func (s *CancelScope) Shield() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shield
}

// SetShield shields or unshields the scope. Unshielding a running scope
// whose parent is already cancelled cancels it at once.
func (s *CancelScope) SetShield(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shield = on
	if !on && s.cancel != nil && s.parent.Err() != nil {
		s.cancel(context.Cause(s.parent))
	}
}

// Run calls fn with a context that belongs to the scope and returns when fn
// returns. If the scope itself was cancelled (Cancel or its deadline) and fn
// returns a cancellation error, Run returns nil and CancelledCaught becomes
// true, unless the parent ctx was cancelled too and the scope is not
// shielded: a parent's cancellation always propagates. Any other error from
// fn is returned unchanged. Run panics if the scope already ran.
//
// If fn panics, the scope is ended (its timer stopped, its context
// cancelled) and the panic continues.
func (s *CancelScope) Run(ctx context.Context, fn func(ctx context.Context) error) error {
	sctx := s.enter(ctx)
	returned := false
	defer func() {
		if !returned {
			s.exit(nil)
		}
	}()
	err := fn(sctx)
	returned = true
	return s.exit(err)
}

// enter starts the scope and returns its context.
func (s *CancelScope) enter(parent context.Context) context.Context {
	inner, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		panic("structured: CancelScope.Run called on a scope that already ran")
	}
	s.started = true
	s.parent = parent
	s.cancel = cancel
	if s.cancelCalled {
		s.cancelOwnLocked(ErrCancelled)
	} else {
		s.armLocked()
	}
	if !s.shield && parent.Err() != nil {
		// AfterFunc would cancel from another goroutine, later: the body
		// must see an already-cancelled parent at once.
		cancel(context.Cause(parent))
	}
	s.stopParent = context.AfterFunc(parent, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.shield {
			cancel(context.Cause(parent))
		}
	})
	s.mu.Unlock()
	return &scopeContext{Context: inner, scope: s}
}

// exit ends the scope and decides whether err is the scope's own
// cancellation, which it swallows.
func (s *CancelScope) exit(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.stopParent()
	s.stopParent = nil
	s.cancel(context.Canceled)
	s.cancel = nil
	parentCancelled := !s.shield && s.parent.Err() != nil
	if s.ownCause != nil && !parentCancelled && isCancellation(err) {
		s.cancelledCaught = true
		err = nil
	}
	s.parent = nil
	return err
}

// armLocked (re)starts the deadline timer of a running scope.
func (s *CancelScope) armLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.deadline.IsZero() || s.ownCause != nil {
		return
	}
	d := time.Until(s.deadline)
	if d <= 0 {
		s.expireLocked()
		return
	}
	s.timer = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		// A timer stopped too late, or one for a deadline since moved,
		// must not fire: check the current deadline.
		if s.cancel == nil || s.deadline.IsZero() || time.Now().Before(s.deadline) {
			return
		}
		s.expireLocked()
	})
}

func (s *CancelScope) expireLocked() {
	s.cancelCalled = true
	s.cancelOwnLocked(ErrTimeout)
}

// cancelOwnLocked cancels a running scope for its own reason.
func (s *CancelScope) cancelOwnLocked(cause error) {
	if s.cancel == nil || s.ownCause != nil {
		return
	}
	if !s.shield && s.parent.Err() != nil {
		return // already cancelled from outside; that cause stands
	}
	s.ownCause = cause
	s.cancel(cause)
}

// timedOut reports whether the scope caught the expiry of its deadline.
func (s *CancelScope) timedOut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelledCaught && s.ownCause == ErrTimeout
}

// scopeContext is the context a scope hands to its body. It differs from
// the inner cancel context only in Deadline.
type scopeContext struct {
	context.Context
	scope *CancelScope
}

// Deadline reports the scope's effective deadline: its own, or the parent's
// when earlier and the scope is not shielded.
func (c *scopeContext) Deadline() (time.Time, bool) {
	s := c.scope
	s.mu.Lock()
	d, parent, shield := s.deadline, s.parent, s.shield
	s.mu.Unlock()
	if parent != nil && !shield {
		if pd, ok := parent.Deadline(); ok && (d.IsZero() || pd.Before(d)) {
			d = pd
		}
	}
	return d, !d.IsZero()
}
