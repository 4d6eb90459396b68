package structured

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrTimeout is returned by [FailAfter], [FailAt] and [Shielded] when the
// deadline expired and cancelled the body. It also matches
// [context.DeadlineExceeded] with [errors.Is].
var ErrTimeout error = timeoutError{}

// ErrCancelled is the cause ([context.Cause]) of a scope's context after
// [CancelScope.Cancel]. It matches [context.Canceled] with [errors.Is].
var ErrCancelled error = cancelledError{}

// ErrNotStarted is returned by [Start] when the task returned nil without
// calling started.
var ErrNotStarted = errors.New("structured: task returned without signalling started")

// ErrWouldBlock is returned by the Try variants (TrySend, TryReceive,
// TryAcquire, TryLock) when the operation would have had to wait.
var ErrWouldBlock = errors.New("structured: operation would block")

// ErrEndOfStream is returned by Receive once every send clone of a memory
// stream is closed and its buffer is drained.
var ErrEndOfStream = errors.New("structured: end of stream")

// ErrBrokenResource is returned by Send once every receive clone of a memory
// stream is closed: nobody will ever receive the value.
var ErrBrokenResource = errors.New("structured: broken resource: no receiver left")

// ErrClosedResource is returned when a stream clone (or another resource) is
// used after its own Close.
var ErrClosedResource = errors.New("structured: resource closed")

type timeoutError struct{}

func (timeoutError) Error() string          { return "structured: deadline exceeded" }
func (timeoutError) Is(target error) bool   { return target == context.DeadlineExceeded }
func (timeoutError) Timeout() bool          { return true }
func (timeoutError) Temporary() bool        { return true }
func (cancelledError) Error() string        { return "structured: cancel scope cancelled" }
func (cancelledError) Is(target error) bool { return target == context.Canceled }

type cancelledError struct{}

// GroupError holds every real error returned by the tasks and the body of a
// task group, in the order they happened. Errors caused by the group's own
// cancellation are not included. [errors.Is] and [errors.As] look at each.
type GroupError struct {
	Errors []error
}

// Error joins the messages of all errors, one per line after the first.
func (e *GroupError) Error() string {
	if len(e.Errors) == 1 {
		return e.Errors[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors in task group:", len(e.Errors))
	for _, err := range e.Errors {
		b.WriteString("\n\t")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for [errors.Is] and [errors.As].
func (e *GroupError) Unwrap() []error { return e.Errors }

// PanicError is the value with which [WithTaskGroup] re-panics when a task
// panicked. It carries the task's original panic value and its stack as text
// at the moment of the panic.
type PanicError struct {
	Value any
	Stack []byte
}

// Error describes the panic and includes the task's stack.
func (p *PanicError) Error() string {
	return fmt.Sprintf("structured: task panicked: %v\n\ntask stack:\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value when it is an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// isCancellation reports whether err is a cancellation error in the sense of
// the scope contract. A *GroupError is never one: it carries real errors even
// when some of them happen to wrap context.Canceled.
func isCancellation(err error) bool {
	var ge *GroupError
	if errors.As(err, &ge) {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
