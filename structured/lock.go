package structured

import (
	"context"
	"sync"
)

// A Lock is a mutual exclusion lock whose Lock method waits with a context.
//
// A Lock is fair: waiters get it first come, first served. [Lock.Unlock]
// hands it directly to the oldest waiter, so neither a later Lock nor
// [Lock.TryLock] can take it first.
//
// Cancellation never leaves things half done: a Lock call whose context is
// cancelled either returns nil holding the lock, or returns an error without
// it. A lock handed to a waiter at the very moment its context was cancelled
// is passed on to the next waiter (or unlocked), never left locked with no
// owner.
//
// As with [sync.Mutex], the zero value is an unlocked Lock, a Lock must not
// be copied after first use, and it is not tied to a goroutine or task: one
// may lock it and another unlock it.
type Lock struct {
	mu      sync.Mutex
	locked  bool
	waiters waitQueue
}

// Lock locks l, waiting in FIFO order while it is locked. It returns nil
// holding the lock, or ctx.Err() without it if ctx is done first. A ctx that
// is already done makes Lock fail even when l is free.
func (l *Lock) Lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	if !l.locked {
		l.locked = true
		l.mu.Unlock()
		return nil
	}
	w := l.waiters.push(nil)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.granted {
		// Handed the lock as ctx was cancelled: pass it on rather than
		// return an error while holding it.
		l.unlockLocked()
	} else {
		l.waiters.remove(w)
	}
	return ctx.Err()
}

// TryLock locks l if it is free and returns nil; otherwise it returns
// [ErrWouldBlock] at once. (It returns an error rather than a bool, unlike
// [sync.Mutex.TryLock], to match the other Try methods of this package.)
func (l *Lock) TryLock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked {
		return ErrWouldBlock
	}
	l.locked = true
	return nil
}

// Unlock unlocks l, handing it to the oldest waiter if there is one. Like
// [sync.Mutex.Unlock], it panics if l is not locked.
func (l *Lock) Unlock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.locked {
		panic("structured: Unlock of unlocked Lock")
	}
	l.unlockLocked()
}

func (l *Lock) unlockLocked() {
	if l.waiters.grantFront() == nil {
		l.locked = false
	}
}

// admit gives l to w at once if l is free, or queues w for it.
func (l *Lock) admit(w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.locked && l.waiters.head == nil {
		l.locked = true
		w.granted = true
		close(w.ready)
		return
	}
	l.waiters.pushWaiter(w)
}

// Locked reports whether l is locked right now.
func (l *Lock) Locked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.locked
}

// A Condition lets tasks wait, holding a [Lock], until another tells them
// that something changed: the context-aware counterpart of [sync.Cond].
//
// Waiters are notified in the order they started waiting. A Condition must
// be created with [NewCondition]. All methods are safe for concurrent use.
type Condition struct {
	lock    *Lock
	mu      sync.Mutex
	waiters waitQueue
}

// NewCondition returns a condition that uses l, or a new Lock if l is nil.
func NewCondition(l *Lock) *Condition {
	if l == nil {
		l = new(Lock)
	}
	return &Condition{lock: l}
}

// Lock locks the condition's lock; see [Lock.Lock].
func (c *Condition) Lock(ctx context.Context) error { return c.lock.Lock(ctx) }

// TryLock locks the condition's lock if it is free; see [Lock.TryLock].
func (c *Condition) TryLock() error { return c.lock.TryLock() }

// Unlock unlocks the condition's lock; see [Lock.Unlock].
func (c *Condition) Unlock() { c.lock.Unlock() }

// Wait unlocks the condition's lock, which the caller must hold, waits for
// a notification, and locks it again before returning, whatever the
// outcome: like [sync.Cond.Wait], Wait always returns with the lock held.
//
// It returns nil when notified, or ctx.Err() if ctx is done first. A
// notification is never lost: a waiter notified just as ctx was cancelled
// returns nil. A ctx that is already done makes Wait return ctx.Err() at
// once, without unlocking. Notified waiters get the lock back in the order
// they were notified, once the notifier unlocks it.
func (c *Condition) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	w := c.waiters.push(nil)
	c.mu.Unlock()
	c.lock.Unlock()

	select {
	case <-w.ready: // notified, and handed the lock
		return nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	notified := w.notified
	if !notified {
		c.waiters.remove(w)
	}
	c.mu.Unlock()
	if notified {
		// Queued for the lock by Notify: the notification is ours, and
		// so will the lock be.
		<-w.ready
		return nil
	}
	// Re-locking cannot be cancelled: the caller's code after Wait, and
	// its deferred Unlock, count on holding the lock.
	_ = c.lock.Lock(context.Background())
	return ctx.Err()
}

// Notify wakes up to n waiters, oldest first. They get the lock back in
// that order, after the caller (who normally holds it) unlocks it.
func (c *Condition) Notify(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notifyLocked(n)
}

// NotifyAll wakes every waiter.
func (c *Condition) NotifyAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notifyLocked(c.waiters.len)
}

// notifyLocked moves up to n waiters, oldest first, to the lock's queue.
func (c *Condition) notifyLocked(n int) {
	for ; n > 0 && c.waiters.head != nil; n-- {
		w := c.waiters.head
		c.waiters.remove(w)
		w.notified = true
		c.lock.admit(w)
	}
}
