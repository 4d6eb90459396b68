package structured

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// DefaultWorkerTokens is the number of tokens of [DefaultLimiter] when the
// process starts.
const DefaultWorkerTokens = 40

var defaultLimiter = sync.OnceValue(func() *CapacityLimiter {
	return NewCapacityLimiter(DefaultWorkerTokens)
})

// DefaultLimiter returns the process-wide limiter that bounds [RunSync]
// calls made without [WithLimiter], and the operations of files opened
// without it. It starts with [DefaultWorkerTokens] tokens; change that with
// its SetTotalTokens method.
func DefaultLimiter() *CapacityLimiter { return defaultLimiter() }

// A RunSyncOption configures one call of [RunSync].
type RunSyncOption interface {
	applyRunSync(*runSyncConfig)
}

// A FileOption configures a [File] at [OpenFile] or [NewFile].
type FileOption interface {
	applyFile(*fileConfig)
}

type runSyncConfig struct {
	limiter *CapacityLimiter
	abandon bool
}

// LimiterOption selects the [CapacityLimiter] that bounds blocking calls. It
// is both a [RunSyncOption] and a [FileOption]; make one with
// [WithLimiter].
type LimiterOption struct {
	limiter *CapacityLimiter
}

// WithLimiter makes [RunSync], or every operation of a [File], borrow its
// token from l instead of [DefaultLimiter]. A nil l means DefaultLimiter.
func WithLimiter(l *CapacityLimiter) LimiterOption { return LimiterOption{limiter: l} }

func (o LimiterOption) applyRunSync(c *runSyncConfig) { c.limiter = o.limiter }
func (o LimiterOption) applyFile(c *fileConfig)       { c.limiter = o.limiter }

type abandonOption struct{}

func (abandonOption) applyRunSync(c *runSyncConfig) { c.abandon = true }

// AbandonOnCancel makes [RunSync] return as soon as ctx is done, even while
// fn runs. fn then goes on in the background, still holding its token, and
// its result is dropped. Use it only when nothing fn touches belongs to the
// caller any more once RunSync has returned (no caller's buffer, no
// caller's lock).
func AbandonOnCancel() RunSyncOption { return abandonOption{} }

// syncCall is the borrower of one RunSync call. It is not zero-sized so
// that every call is a distinct borrower, even when one task makes several
// calls at once from different goroutines.
type syncCall struct {
	state atomic.Int32 // callRunning, callFinished or callAbandoned
}

const (
	callRunning int32 = iota
	callFinished
	callAbandoned
)

// RunSync runs fn, a blocking call, in its own goroutine bounded by a
// [CapacityLimiter] ([DefaultLimiter] unless [WithLimiter] says otherwise),
// and returns fn's result.
//
// fn receives ctx, so that context values reach it and a call that can be
// cancelled may watch ctx; a blocking call that takes no context simply
// ignores it. (RunSync takes a func(ctx) rather than a func() so that there
// is a single entry point for both kinds of call.)
//
// If ctx is already done, fn is not run and RunSync returns ctx.Err(). While
// waiting for a token, RunSync is cancellable: it returns an error wrapping
// ctx.Err() without running fn, having taken no token. Once fn is running,
// RunSync waits for it to return, even if ctx is cancelled meanwhile, and
// returns fn's result: nothing fn uses is abandoned, and fn's token is
// released before RunSync returns. With [AbandonOnCancel], RunSync instead
// returns ctx.Err() as soon as ctx is done, and fn finishes in the
// background, holding its token until it returns.
//
// A panic in fn is re-raised in the caller as a [*PanicError] carrying fn's
// stack. After AbandonOnCancel has let the caller go, nobody is left to
// receive it, and the panic crashes the program, as a panic in any
// goroutine would.
//
// Each call borrows on behalf of a borrower of its own, so a task may run
// several RunSync calls at once from different goroutines.
func RunSync[T any](ctx context.Context, fn func(ctx context.Context) (T, error), opts ...RunSyncOption) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	var cfg runSyncConfig
	for _, o := range opts {
		o.applyRunSync(&cfg)
	}
	l := cfg.limiter
	if l == nil {
		l = DefaultLimiter()
	}
	call := &syncCall{}
	if err := l.AcquireOnBehalfOf(ctx, call); err != nil {
		return zero, fmt.Errorf("structured: wait for a worker token: %w", err)
	}
	if err := ctx.Err(); err != nil { // cancelled as the token came
		if relErr := l.ReleaseOnBehalfOf(call); relErr != nil {
			err = errors.Join(err, relErr)
		}
		return zero, err
	}

	var (
		v      T
		err    error
		failed *PanicError
	)
	done := make(chan struct{})
	go func() {
		defer func() {
			relErr := l.ReleaseOnBehalfOf(call)
			if !call.state.CompareAndSwap(callRunning, callFinished) {
				if failed != nil {
					panic(failed) // abandoned: no caller to re-raise it
				}
				return
			}
			if relErr != nil { // keep fn's error unchanged otherwise: io.EOF must stay io.EOF
				err = errors.Join(err, relErr)
			}
			close(done)
		}()
		v, failed, err = runCatching(ctx, fn)
	}()

	if cfg.abandon {
		select {
		case <-done:
		case <-ctx.Done():
			if call.state.CompareAndSwap(callRunning, callAbandoned) {
				return zero, ctx.Err()
			}
			<-done // fn finished at that very moment: take its result
		}
	} else {
		<-done
	}
	if failed != nil {
		panic(failed)
	}
	return v, err
}

// runCatching calls fn and turns a panic into a *PanicError with fn's stack.
func runCatching[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) (v T, failed *PanicError, err error) {
	defer func() {
		if r := recover(); r != nil {
			failed = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err = fn(ctx)
	return v, nil, err
}
