// Package structured is structured concurrency for Go, after Python's AnyIO
// and Trio: every goroutine has an owner that waits for it, cancellation has
// a scope that knows who asked for it, and cleanup can be shielded from a
// cancellation that is already under way.
//
// # Task groups
//
// [WithTaskGroup] runs a body that may start tasks with
// [TaskGroup.StartSoon] or [Start]. It returns only when the body and every
// task have returned. The first real error cancels the group; all real
// errors come back together in a [*GroupError]. A panic in a task cancels
// the group and is re-raised in the caller of WithTaskGroup as a
// [*PanicError] that carries the task's stack.
//
// # How contexts map onto cancel scopes
//
// Trio and AnyIO use "level" cancellation: once a scope is cancelled, every
// checkpoint inside it raises Cancelled, again and again, until the code
// leaves the scope. A Go [context.Context] behaves the same way: once it is
// done, every context-aware call made with it fails at once, and keeps
// failing. A [CancelScope] is therefore a context that the scope owns. Code
// inside [CancelScope.Run] receives that context and passes it on, exactly as
// it would any other context.
//
// What the scope adds is knowledge of who cancelled it. When a scope is
// cancelled by its own [CancelScope.Cancel] or by its own deadline, the
// cancellation error that the body returns is "caught" by the scope: Run
// returns nil (or, for [FailAfter], [ErrTimeout]) and
// [CancelScope.CancelledCaught] reports it. When the cancellation came from
// outside (the parent context was cancelled), the error propagates to the
// caller, so a parent's cancellation is never swallowed by an inner scope.
//
// # Shielding
//
// A shielded scope runs on a context detached from its parent's
// cancellation, as with [context.WithoutCancel]: the parent's values still
// flow through, but neither the parent's cancellation nor its deadline reach
// the body. The scope's own deadline and Cancel still apply. [Shielded] is
// the idiom for cleanup that must run while the surrounding work is being
// cancelled: flush a file, close a body, release a slot, always with a bound
// on how long it may take.
//
// # Streams and synchronisation
//
// [NewMemoryStream] makes a memory object stream: a queue whose send and
// receive ends can each be cloned and closed, so that producers and
// consumers announce when they are done. Every value sent is received
// exactly once, even when a waiting Send or Receive is cancelled at the
// moment of the hand-off. [Event], [Lock], [Condition], [Semaphore] and
// [CapacityLimiter] are FIFO-fair and cancellable: a cancelled wait either
// completed (the lock, permit or token was taken) or had no effect.
//
// # Blocking calls, files and processes
//
// [RunSync] runs a call that blocks without looking at a context (a disk
// read, a cgo call) in a goroutine of its own, bounded by a
// [CapacityLimiter] ([DefaultLimiter], 40 tokens, unless [WithLimiter]).
// The caller's context decides whether the call starts and cancels the
// wait for a token; once started, the call runs to its end and the caller
// waits for it, unless [AbandonOnCancel] lets the caller go. [File],
// [OpenFile] and [RunProcess] are built on the same rules. AnyIO's
// from_thread has no counterpart here: Go code never runs "outside the
// event loop", and any goroutine, including one started by RunSync, may
// call any function of this package directly with the context it was
// given.
//
// # Typed attributes
//
// [NewAttribute] names a typed fact that a layer can expose (a
// connection's remote address, its TLS version); [Extra] reads it through
// any number of wrapping layers, each an [AttributeProvider], the outer
// layer winning.
//
// # Where Go differs
//
// Go has no checkpoints that the runtime can interrupt. Cancellation is seen
// only by code that looks at its context: a call that ignores ctx (a plain
// file read, a CPU loop) runs to its end, and the task group waits for it.
// Blocking calls that take no context belong in RunSync-style offloading or
// behind a context-aware API. The error a cancelled call returns is whatever
// that call returns (usually [context.Canceled] or an error wrapping it); the
// scope recognises any error that matches [context.Canceled] or
// [context.DeadlineExceeded] with [errors.Is] as a cancellation error.
//
// A scope's context reports [context.Canceled] from Err whatever the reason;
// [context.Cause] tells the reason: an error matching [ErrTimeout] and
// [context.DeadlineExceeded] for an expired scope deadline, [ErrCancelled]
// for Cancel, or the parent's cause. Its Deadline method reports the scope's
// current deadline (the earlier of its own and, unless shielded, its
// parent's), so dialers and servers that read it see the real bound.
package structured
