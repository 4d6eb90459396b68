package structured

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// ErrNoTask is returned by the [CapacityLimiter] methods that borrow for the
// current task ([CapacityLimiter.Acquire], [CapacityLimiter.TryAcquire],
// [CapacityLimiter.Release]) when their context belongs to no task of a task
// group. Code outside a task names its borrower with the OnBehalfOf
// variants.
var ErrNoTask = errors.New("structured: context belongs to no task")

// ErrAlreadyBorrowing is returned when a borrower asks a [CapacityLimiter]
// for a token while it already holds one, or is already waiting for one.
var ErrAlreadyBorrowing = errors.New("structured: borrower already holds a token of this limiter")

// ErrNotBorrowing is returned when a borrower releases a token of a
// [CapacityLimiter] that it does not hold.
var ErrNotBorrowing = errors.New("structured: borrower holds no token of this limiter")

// ErrInvalidTotalTokens is returned by [CapacityLimiter.SetTotalTokens] for
// a total below 1.
var ErrInvalidTotalTokens = errors.New("structured: total tokens must be at least 1")

// A CapacityLimiter lends a fixed number of tokens to borrowers. Unlike a
// [Semaphore], it knows who holds each token: a borrower (by default the
// current [Task], or any comparable value) holds at most one token at a
// time, and only a borrower that holds a token can give it back. It is what
// bounds how many blocking calls, connections to a host or workers run at
// once.
//
// Waiters are served first come, first served: a released token goes
// directly to the oldest waiter, and a TryAcquire never takes a token ahead
// of a waiter. Raising the total with [CapacityLimiter.SetTotalTokens] wakes
// as many waiters as there are new tokens; lowering it below the number
// borrowed takes no token back, it only stops new grants until enough are
// released.
//
// Cancellation never leaves things half done: an Acquire whose context is
// cancelled either returns nil holding a token, or returns an error having
// taken none. A token handed to a waiter at the very moment its context was
// cancelled is passed on to the next waiter.
//
// A CapacityLimiter must be created with [NewCapacityLimiter]. All methods
// are safe for concurrent use.
type CapacityLimiter struct {
	mu        sync.Mutex
	total     int
	borrowers map[any]uint64 // borrower → order of its grant, for Statistics
	waiting   map[any]*waiter
	waiters   waitQueue
	grants    uint64
}

// LimiterStats is a snapshot of a [CapacityLimiter], from
// [CapacityLimiter.Statistics].
type LimiterStats struct {
	// TotalTokens is the limiter's total number of tokens.
	TotalTokens int
	// BorrowedTokens is the number of tokens lent out. It may exceed
	// TotalTokens after the total was lowered.
	BorrowedTokens int
	// Borrowers holds every borrower holding a token, in the order they got
	// it.
	Borrowers []any
	// Waiting is the number of borrowers waiting for a token: len(Waiters).
	Waiting int
	// Waiters holds the waiting borrowers, oldest (next to be served) first.
	Waiters []any
}

// NewCapacityLimiter returns a limiter with total tokens, none borrowed. It
// panics if total is less than 1.
func NewCapacityLimiter(total int) *CapacityLimiter {
	if total < 1 {
		panic(fmt.Sprintf("structured: capacity limiter total %d is less than 1", total))
	}
	return &CapacityLimiter{
		total:     total,
		borrowers: make(map[any]uint64),
		waiting:   make(map[any]*waiter),
	}
}

// Acquire borrows a token for the task that ctx belongs to
// ([CurrentTask]), waiting in FIFO order if none is free. See
// [CapacityLimiter.AcquireOnBehalfOf] for the outcomes; without a task it
// returns [ErrNoTask].
func (l *CapacityLimiter) Acquire(ctx context.Context) error {
	t := CurrentTask(ctx)
	if t == nil {
		return fmt.Errorf("acquire capacity limiter token: %w", ErrNoTask)
	}
	return l.AcquireOnBehalfOf(ctx, t)
}

// AcquireOnBehalfOf borrows a token for borrower, waiting in FIFO order if
// none is free. It returns nil when borrower holds the token; ctx.Err() if
// ctx is done first (also when it is done on entry, even if a token is
// free), with no token taken; or an error matching [ErrAlreadyBorrowing] if
// borrower already holds or waits for a token of l. It panics if borrower
// is not comparable.
func (l *CapacityLimiter) AcquireOnBehalfOf(ctx context.Context, borrower any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	mustBeComparable(borrower)
	l.mu.Lock()
	err := l.tryAcquireLocked(borrower)
	if !errors.Is(err, ErrWouldBlock) {
		l.mu.Unlock()
		return err
	}
	w := l.waiters.push(borrower)
	l.waiting[borrower] = w
	l.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.granted {
		// Handed a token as ctx was cancelled: pass it on rather than
		// return an error while holding it.
		l.releaseLocked(borrower)
	} else {
		l.waiters.remove(w)
		delete(l.waiting, borrower)
	}
	return ctx.Err()
}

// TryAcquire borrows a token for the task that ctx belongs to if one is
// free, without waiting. See [CapacityLimiter.TryAcquireOnBehalfOf]; without
// a task it returns [ErrNoTask].
func (l *CapacityLimiter) TryAcquire(ctx context.Context) error {
	t := CurrentTask(ctx)
	if t == nil {
		return fmt.Errorf("try to acquire capacity limiter token: %w", ErrNoTask)
	}
	return l.TryAcquireOnBehalfOf(t)
}

// TryAcquireOnBehalfOf borrows a token for borrower if one is free and
// nobody is waiting, and returns nil. Otherwise it returns [ErrWouldBlock],
// or an error matching [ErrAlreadyBorrowing] if borrower already holds or
// waits for a token of l. It panics if borrower is not comparable.
func (l *CapacityLimiter) TryAcquireOnBehalfOf(borrower any) error {
	mustBeComparable(borrower)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tryAcquireLocked(borrower)
}

func (l *CapacityLimiter) tryAcquireLocked(borrower any) error {
	if _, ok := l.borrowers[borrower]; ok {
		return fmt.Errorf("acquire capacity limiter token for %v: %w", borrower, ErrAlreadyBorrowing)
	}
	if _, ok := l.waiting[borrower]; ok {
		return fmt.Errorf("acquire capacity limiter token for %v: already waiting: %w", borrower, ErrAlreadyBorrowing)
	}
	// No waiter is queued while tokens are free (grantLocked keeps it so),
	// so this cannot barge ahead of one.
	if len(l.borrowers) >= l.total {
		return ErrWouldBlock
	}
	l.lendLocked(borrower)
	return nil
}

// Release gives back the token held by the task that ctx belongs to. See
// [CapacityLimiter.ReleaseOnBehalfOf]; without a task it returns
// [ErrNoTask].
func (l *CapacityLimiter) Release(ctx context.Context) error {
	t := CurrentTask(ctx)
	if t == nil {
		return fmt.Errorf("release capacity limiter token: %w", ErrNoTask)
	}
	return l.ReleaseOnBehalfOf(t)
}

// ReleaseOnBehalfOf gives back the token held by borrower; it goes to the
// oldest waiter, if the total allows. It returns an error matching
// [ErrNotBorrowing], and changes nothing, if borrower holds no token of l.
func (l *CapacityLimiter) ReleaseOnBehalfOf(borrower any) error {
	mustBeComparable(borrower)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.borrowers[borrower]; !ok {
		return fmt.Errorf("release capacity limiter token for %v: %w", borrower, ErrNotBorrowing)
	}
	l.releaseLocked(borrower)
	return nil
}

func (l *CapacityLimiter) releaseLocked(borrower any) {
	delete(l.borrowers, borrower)
	l.grantLocked()
}

// grantLocked lends free tokens to the oldest waiters, as many as are free.
func (l *CapacityLimiter) grantLocked() {
	for len(l.borrowers) < l.total {
		w := l.waiters.grantFront()
		if w == nil {
			return
		}
		delete(l.waiting, w.borrower)
		l.lendLocked(w.borrower)
	}
}

func (l *CapacityLimiter) lendLocked(borrower any) {
	l.grants++
	l.borrowers[borrower] = l.grants
}

// SetTotalTokens changes the total number of tokens to n. Raising it lends
// the new tokens at once to the oldest waiters, one each; lowering it below
// the number borrowed takes nothing back but lends no more tokens until
// enough are released. It returns an error matching [ErrInvalidTotalTokens],
// and changes nothing, if n is less than 1.
func (l *CapacityLimiter) SetTotalTokens(n int) error {
	if n < 1 {
		return fmt.Errorf("set capacity limiter total to %d: %w", n, ErrInvalidTotalTokens)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total = n
	l.grantLocked()
	return nil
}

// TotalTokens returns the total number of tokens.
func (l *CapacityLimiter) TotalTokens() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// BorrowedTokens returns the number of tokens lent out. It may exceed
// [CapacityLimiter.TotalTokens] after the total was lowered.
func (l *CapacityLimiter) BorrowedTokens() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.borrowers)
}

// AvailableTokens returns the number of tokens free to lend: the total minus
// those borrowed, or 0 if more are borrowed than the total.
func (l *CapacityLimiter) AvailableTokens() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, l.total-len(l.borrowers))
}

// Statistics returns a snapshot of the limiter: its total, the borrowers
// holding tokens and those waiting for one.
func (l *CapacityLimiter) Statistics() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := LimiterStats{
		TotalTokens:    l.total,
		BorrowedTokens: len(l.borrowers),
		Borrowers:      make([]any, 0, len(l.borrowers)),
		Waiting:        l.waiters.len,
		Waiters:        make([]any, 0, l.waiters.len),
	}
	for b := range l.borrowers {
		st.Borrowers = append(st.Borrowers, b)
	}
	slices.SortFunc(st.Borrowers, func(a, b any) int {
		return cmp.Compare(l.borrowers[a], l.borrowers[b])
	})
	for w := l.waiters.head; w != nil; w = w.next {
		st.Waiters = append(st.Waiters, w.borrower)
	}
	return st
}

// mustBeComparable panics with a clear message, rather than a map's runtime
// error deep inside the limiter, when borrower cannot be a map key.
func mustBeComparable(borrower any) {
	t := reflect.TypeOf(borrower)
	if t == nil {
		return
	}
	ok := t.Comparable()
	switch t.Kind() {
	case reflect.Struct, reflect.Array, reflect.Interface:
		// May hold an interface whose dynamic value is not comparable.
		ok = ok && reflect.ValueOf(borrower).Comparable()
	}
	if !ok {
		panic(fmt.Sprintf("structured: capacity limiter borrower of type %T is not comparable", borrower))
	}
}
