package structured

import (
	"context"
	"sync"
	"sync/atomic"
)

// An Event is a flag that starts unset and, once [Event.Set], stays set:
// every [Event.Wait], past and future, returns. It cannot be cleared; make a
// new Event instead.
//
// The zero value is an unset Event, ready to use. An Event must not be
// copied after first use. All methods are safe for concurrent use.
type Event struct {
	set  atomic.Bool
	mu   sync.Mutex
	done chan struct{} // made on first need, closed by Set
}

// Set sets the event and wakes every waiter. Setting a set event does
// nothing.
func (e *Event) Set() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set.Load() {
		return
	}
	e.set.Store(true)
	if e.done != nil {
		close(e.done)
	}
}

// IsSet reports whether the event has been set.
func (e *Event) IsSet() bool { return e.set.Load() }

// Wait returns nil as soon as the event is set, at once if it already is
// (even when ctx is done: waiting has no effect to undo). If ctx is done
// while the event is still unset, Wait returns ctx.Err().
func (e *Event) Wait(ctx context.Context) error {
	if e.set.Load() {
		return nil
	}
	select {
	case <-e.Done():
		return nil
	case <-ctx.Done():
		if e.set.Load() {
			return nil // set as ctx ended: report the event, not the race
		}
		return ctx.Err()
	}
}

// Done returns a channel that is closed when the event is set, for use in a
// select statement.
func (e *Event) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done == nil {
		e.done = make(chan struct{})
		if e.set.Load() {
			close(e.done)
		}
	}
	return e.done
}
