package structured

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrMaxValueExceeded is returned by [Semaphore.Release] when the release
// would raise the semaphore's value past the maximum set with
// [WithMaxValue]: the semaphore was released more often than acquired.
var ErrMaxValueExceeded = errors.New("structured: semaphore released past its max value")

// A Semaphore holds a number of permits. [Semaphore.Acquire] takes one,
// waiting while there is none; [Semaphore.Release] gives one back.
//
// A Semaphore is fair: waiters are served first come, first served. A
// released permit is handed directly to the oldest waiter, so neither a
// later Acquire nor [Semaphore.TryAcquire] can take it first.
//
// Cancellation never leaves things half done: an Acquire whose context is
// cancelled either returns nil holding a permit, or returns an error having
// taken none. A permit handed to a waiter at the very moment its context was
// cancelled is passed on to the next waiter (or back to the semaphore).
//
// A Semaphore must be created with [NewSemaphore]. All methods are safe for
// concurrent use. Permits are not tied to goroutines or tasks: any goroutine
// may release a permit that another acquired.
type Semaphore struct {
	mu      sync.Mutex
	value   int
	max     int // 0: no maximum
	waiters waitQueue
}

// A SemaphoreOption configures a [Semaphore] at creation.
type SemaphoreOption func(*Semaphore)

// WithMaxValue bounds the semaphore's value: a [Semaphore.Release] that
// would raise it above max returns [ErrMaxValueExceeded]. max must be at
// least 1 and at least the initial value, or [NewSemaphore] panics.
func WithMaxValue(max int) SemaphoreOption {
	return func(s *Semaphore) {
		if max < 1 {
			panic(fmt.Sprintf("structured: semaphore max value %d is less than 1", max))
		}
		s.max = max
	}
}

// NewSemaphore returns a semaphore holding initial permits. It panics if
// initial is negative, or greater than the maximum given with
// [WithMaxValue].
func NewSemaphore(initial int, opts ...SemaphoreOption) *Semaphore {
	if initial < 0 {
		panic(fmt.Sprintf("structured: semaphore initial value %d is negative", initial))
	}
	s := &Semaphore{value: initial}
	for _, o := range opts {
		o(s)
	}
	if s.max != 0 && initial > s.max {
		panic(fmt.Sprintf("structured: semaphore initial value %d exceeds max value %d", initial, s.max))
	}
	return s
}

// Acquire takes a permit, waiting for one in FIFO order if there is none.
// It returns nil holding the permit, or ctx.Err() without one if ctx is
// done first. A ctx that is already done makes Acquire fail even when a
// permit is free, so a cancelled task does not start new work.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.value > 0 {
		s.value--
		s.mu.Unlock()
		return nil
	}
	w := s.waiters.push(nil)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		// Handed a permit as ctx was cancelled: pass it on rather than
		// return an error while holding it.
		s.releaseLocked()
	} else {
		s.waiters.remove(w)
	}
	return ctx.Err()
}

// TryAcquire takes a permit if one is free and returns nil; otherwise it
// returns [ErrWouldBlock] at once. It never takes a permit ahead of a
// waiting Acquire.
func (s *Semaphore) TryAcquire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value == 0 {
		return ErrWouldBlock
	}
	s.value--
	return nil
}

// Release gives a permit back: to the oldest waiter if there is one,
// otherwise to the semaphore. If the semaphore has a maximum value and is
// already at it, Release changes nothing and returns an error matching
// [ErrMaxValueExceeded].
func (s *Semaphore) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max != 0 && s.value >= s.max {
		return fmt.Errorf("release semaphore at value %d: %w", s.value, ErrMaxValueExceeded)
	}
	s.releaseLocked()
	return nil
}

// releaseLocked hands a permit to the oldest waiter or adds it to value.
// Whenever waiters are queued value is 0, so this never exceeds max.
func (s *Semaphore) releaseLocked() {
	if s.waiters.grantFront() == nil {
		s.value++
	}
}

// Value returns the number of permits free right now. It is 0 whenever an
// Acquire is waiting.
func (s *Semaphore) Value() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// waiter is one goroutine queued in a waitQueue. The queue's owner grants it
// under the owner's mutex (grantFront: unlinks it, sets granted, closes
// ready), so a waiter whose context ends can tell, under that same mutex,
// whether it was granted and must pass the grant on, or is still queued and
// must unlink itself.
type waiter struct {
	prev, next *waiter
	ready      chan struct{}
	granted    bool
	notified   bool // Condition only: moved to the lock's queue
	borrower   any  // the CapacityLimiter borrower; nil elsewhere
}

// waitQueue is an intrusive FIFO list of waiters, guarded by its owner's
// mutex. Unlinking a cancelled waiter is O(1).
type waitQueue struct {
	head, tail *waiter
	len        int
}

// push appends a new waiter for borrower and returns it.
func (q *waitQueue) push(borrower any) *waiter {
	w := &waiter{ready: make(chan struct{}), borrower: borrower}
	q.pushWaiter(w)
	return w
}

// pushWaiter appends w, which must be in no queue.
func (q *waitQueue) pushWaiter(w *waiter) {
	w.prev = q.tail
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.len++
}

// remove unlinks w, which must be queued in q.
func (q *waitQueue) remove(w *waiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	q.len--
}

// grantFront unlinks the oldest waiter, marks it granted and wakes it. It
// returns that waiter, or nil when the queue is empty.
func (q *waitQueue) grantFront() *waiter {
	w := q.head
	if w == nil {
		return nil
	}
	q.remove(w)
	w.granted = true
	close(w.ready)
	return w
}
