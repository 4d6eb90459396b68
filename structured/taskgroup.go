package structured

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// A TaskGroup owns a set of concurrently running tasks. It exists only
// inside [WithTaskGroup], which waits for all of them.
type TaskGroup struct {
	scope *CancelScope
	// ctx is the group scope's context. Tasks derive theirs from it; a
	// group is a scope, so it must hold the context it hands out.
	ctx context.Context

	allDone chan struct{}

	// pending counts the body plus running tasks; 0 means finished. Every
	// task's end writes it, so it has a cache line of its own, apart from
	// the fields that StartSoon reads.
	_       [64]byte
	pending atomic.Int64
	_       [56]byte

	slabMu sync.Mutex
	slab   []taskContext // unused task contexts

	mu        sync.Mutex
	errs      []error
	panicked  *PanicError
	bodyPanic any
}

// WithTaskGroup runs body with a new task group and returns only after the
// body and every task started in the group have returned.
//
// The first real error, from the body or a task, cancels the group's scope
// so that the other tasks see their context done. WithTaskGroup returns nil
// when there was no real error, or a [*GroupError] holding every real error
// in the order they happened. Cancellation errors (matching
// [context.Canceled] or [context.DeadlineExceeded]) returned while the
// group's context is done are consequences, not errors, and are dropped.
// Cancelling the group through [TaskGroup.CancelScope] ends it without
// error. If ctx is cancelled, WithTaskGroup returns ctx.Err(), or a
// *GroupError holding the real errors and ctx.Err() last: either way
// errors.Is matches the parent's cancellation, which is never swallowed.
//
// A panic in a task cancels the group at once; when every other task has
// returned, WithTaskGroup panics with a [*PanicError] carrying the value and
// the task's stack. A task that ignores its context delays that re-panic
// until it returns: the group never abandons a goroutine it owns. A panic in
// the body is re-raised as is, after the tasks have returned.
func WithTaskGroup(ctx context.Context, body func(ctx context.Context, tg *TaskGroup) error) error {
	tg := &TaskGroup{scope: NewCancelScope(), allDone: make(chan struct{})}
	tg.pending.Store(1)
	tg.ctx = tg.scope.enter(ctx)
	tg.runBody(body)
	<-tg.allDone

	tg.mu.Lock()
	errs, panicked, bodyPanic := tg.errs, tg.panicked, tg.bodyPanic
	tg.mu.Unlock()
	var err error
	switch {
	case len(errs) > 0:
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err()) // a parent's cancellation is never swallowed
		}
		err = &GroupError{Errors: errs}
	case ctx.Err() != nil:
		err = ctx.Err()
	case tg.ctx.Err() != nil:
		err = context.Canceled // the group's own cancellation, swallowed below
	}
	err = tg.scope.exit(err)
	if panicked != nil {
		panic(panicked)
	}
	if bodyPanic != nil {
		panic(bodyPanic)
	}
	return err
}

func (tg *TaskGroup) runBody(body func(ctx context.Context, tg *TaskGroup) error) {
	defer tg.finishOne()
	defer func() {
		if r := recover(); r != nil {
			tg.mu.Lock()
			tg.bodyPanic = r
			tg.mu.Unlock()
			tg.scope.Cancel()
		}
	}()
	tg.record(body(tg.ctx, tg))
}

// StartSoon starts fn as a new task of the group. fn receives a context
// that is done when the group is cancelled and that carries the task's
// identity ([CurrentTask]). StartSoon may be called from the body or from
// any task of the group while the group is running; calling it on a group
// whose body and tasks have all returned panics.
func (tg *TaskGroup) StartSoon(fn func(ctx context.Context) error) {
	for {
		n := tg.pending.Load()
		if n == 0 {
			panic("structured: StartSoon called on a finished task group; start tasks only while its body or one of its tasks is running")
		}
		if tg.pending.CompareAndSwap(n, n+1) {
			break
		}
	}
	tc := tg.newTaskContext()
	tc.fn = fn
	go tc.run()
}

// taskSlab is how many task contexts are allocated at once: one
// allocation serves many spawns. A slab stays alive while any of its
// contexts is referenced, a few kilobytes at most.
const taskSlab = 32

// newTaskContext returns a fresh task context from the group's slab.
func (tg *TaskGroup) newTaskContext() *taskContext {
	tg.slabMu.Lock()
	if len(tg.slab) == 0 {
		tg.slab = make([]taskContext, taskSlab)
	}
	tc := &tg.slab[0]
	tg.slab = tg.slab[1:]
	tg.slabMu.Unlock()
	tc.Context, tc.group = tg.ctx, tg
	return tc
}

// run is the body of a task's goroutine.
func (tc *taskContext) run() {
	tg := tc.group
	defer func() {
		if r := recover(); r != nil {
			tg.recordPanic(r, debug.Stack())
		}
		tg.finishOne()
	}()
	fn := tc.fn
	tc.fn = nil // let the closure be collected while a long task runs
	tg.record(fn(tc))
}

// CancelScope returns the group's cancel scope. Cancelling it cancels every
// task and ends the group without error.
func (tg *TaskGroup) CancelScope() *CancelScope { return tg.scope }

func (tg *TaskGroup) finishOne() {
	if tg.pending.Add(-1) == 0 {
		close(tg.allDone)
	}
}

// record keeps err if it is a real error and cancels the group.
func (tg *TaskGroup) record(err error) {
	if err == nil || (isCancellation(err) && tg.ctx.Err() != nil) {
		return
	}
	tg.mu.Lock()
	tg.errs = append(tg.errs, err)
	tg.mu.Unlock()
	tg.scope.Cancel()
}

func (tg *TaskGroup) recordPanic(value any, stack []byte) {
	tg.mu.Lock()
	if tg.panicked == nil {
		tg.panicked = &PanicError{Value: value, Stack: stack}
	}
	tg.mu.Unlock()
	tg.scope.Cancel()
}

var errPanickedBeforeStarted = errors.New("structured: task panicked before signalling started")

// Start starts fn as a task of tg and waits until it calls started. It
// returns the value passed to started, and from then on fn belongs to the
// group like any other task: its error goes to the group.
//
// If fn returns before calling started, its error is returned by Start and
// not reported to the group; a nil return becomes [ErrNotStarted]. If fn
// panics before calling started, the panic goes to the group and Start
// returns an error. Calling started a second time panics.
func Start[T any](tg *TaskGroup, fn func(ctx context.Context, started func(T)) error) (T, error) {
	type outcome struct {
		v   T
		err error
	}
	ch := make(chan outcome, 1)
	var signalled atomic.Bool
	started := func(v T) {
		if !signalled.CompareAndSwap(false, true) {
			panic("structured: started called more than once, or after the task returned")
		}
		ch <- outcome{v: v}
	}
	tg.StartSoon(func(ctx context.Context) (err error) {
		returned := false
		defer func() {
			if !signalled.CompareAndSwap(false, true) {
				return
			}
			switch {
			case !returned:
				ch <- outcome{err: errPanickedBeforeStarted}
			case err == nil:
				ch <- outcome{err: ErrNotStarted}
			default:
				ch <- outcome{err: err}
				err = nil
			}
		}()
		err = fn(ctx, started)
		returned = true
		return err
	})
	o := <-ch
	return o.v, o.err
}
