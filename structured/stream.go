package structured

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"sync"
)

// Unbounded, given as the size to [NewMemoryStream], makes a stream whose
// buffer grows without limit, so that Send never waits. It is
// [math.MaxInt], which is also what [MemoryStreamStats.MaxBufferSize]
// reports for such a stream.
const Unbounded = math.MaxInt

// NewMemoryStream returns the two ends of a new in-memory stream of values
// of type T, each the first of its clones.
//
// size is the number of values the stream buffers: 0 makes a rendezvous
// stream, where Send returns only once a receiver has taken the value, and
// [Unbounded] makes a stream that buffers without limit. NewMemoryStream
// panics if size is negative.
//
// Every value sent is delivered to exactly one receiver, in the order sent.
// Senders blocked on a full buffer are served first come, first served, and
// so are receivers blocked on an empty one.
func NewMemoryStream[T any](size int) (*SendStream[T], *ReceiveStream[T]) {
	if size < 0 {
		panic(fmt.Sprintf("structured: NewMemoryStream with negative size %d", size))
	}
	s := &memoryStream[T]{max: size, openSend: 1, openRecv: 1}
	s.pool.New = func() any { return &streamWaiter[T]{ready: make(chan struct{}, 1)} }
	return &SendStream[T]{s: s}, &ReceiveStream[T]{s: s}
}

// A SendStream is one clone of the sending end of a memory stream made by
// [NewMemoryStream]. Its methods are safe for concurrent use; typically each
// producer owns a clone made with [SendStream.Clone] and closes it when it
// is done. Once every clone is closed, receivers drain the buffer and then
// get [ErrEndOfStream].
type SendStream[T any] struct {
	s *memoryStream[T]
	// closed is guarded by s.mu.
	closed bool
}

// A ReceiveStream is one clone of the receiving end of a memory stream made
// by [NewMemoryStream]. Its methods are safe for concurrent use; typically
// each consumer owns a clone made with [ReceiveStream.Clone] and closes it
// when it is done. Once every clone is closed, senders get
// [ErrBrokenResource], and the last Close reports the values that were
// buffered but never received.
type ReceiveStream[T any] struct {
	s *memoryStream[T]
	// closed and allErr are guarded by s.mu.
	closed bool
	allErr error
}

// MemoryStreamStats is a snapshot of the state of a memory stream, shared
// by all the clones of both of its ends.
type MemoryStreamStats struct {
	// CurrentBufferUsed is the number of values in the buffer.
	CurrentBufferUsed int
	// MaxBufferSize is the size the stream was made with; [Unbounded] for
	// an unbounded one.
	MaxBufferSize int
	// OpenSendStreams is the number of send clones not yet closed.
	OpenSendStreams int
	// OpenReceiveStreams is the number of receive clones not yet closed.
	OpenReceiveStreams int
	// TasksWaitingSend is the number of Send calls waiting for room.
	TasksWaitingSend int
	// TasksWaitingReceive is the number of Receive calls waiting for a value.
	TasksWaitingReceive int
}

// UndeliveredError is returned by the [ReceiveStream.Close] that closes the
// last receive clone of a stream whose buffer still held values. Those
// values were sent successfully but will never be received; they are handed
// back in Values, in the order they were sent, so that the caller can act on
// them (requeue, persist, count). Match it with [errors.As] and the stream's
// element type:
//
//	var ue *structured.UndeliveredError[Request]
//	if errors.As(err, &ue) { requeue(ue.Values) }
type UndeliveredError[T any] struct {
	Values []T
}

// Error reports how many values were never received.
func (e *UndeliveredError[T]) Error() string {
	return fmt.Sprintf("structured: receive stream closed with %d buffered values never received", len(e.Values))
}

// Send sends v, waiting while the buffer is full (or, on a rendezvous
// stream, until a receiver takes v).
//
// It returns nil once v is in the buffer or in the hands of a receiver;
// otherwise v was not sent, and the error says why: [ErrClosedResource]
// when this clone is closed (also when another goroutine closes it while
// Send waits), [ErrBrokenResource] when every receive clone is closed, or
// ctx.Err() when ctx is done. Like every context-aware call, Send fails at
// once if ctx is already done, even when there is room; use
// [SendStream.TrySend] to send without regard to a context. A Send
// cancelled while it waits either completed or failed, never half: when it
// returns ctx.Err(), no receiver will ever see v.
func (tx *SendStream[T]) Send(ctx context.Context, v T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := tx.s
	s.mu.Lock()
	if err := tx.checkLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	if r, ok := s.offerLocked(v); ok {
		s.mu.Unlock()
		if r != nil {
			r.ready <- struct{}{}
		}
		return nil
	}
	w := s.getWaiter(tx)
	w.value = v
	err := s.park(ctx, &s.senders, w)
	s.putWaiter(w)
	return err
}

// TrySend sends v if that needs no waiting: there is room in the buffer or
// a receiver is waiting. Otherwise it returns [ErrWouldBlock] and v is not
// sent. It returns [ErrClosedResource] and [ErrBrokenResource] as
// [SendStream.Send] does.
func (tx *SendStream[T]) TrySend(v T) error {
	s := tx.s
	s.mu.Lock()
	if err := tx.checkLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	r, ok := s.offerLocked(v)
	s.mu.Unlock()
	if !ok {
		return ErrWouldBlock
	}
	if r != nil {
		r.ready <- struct{}{}
	}
	return nil
}

func (tx *SendStream[T]) checkLocked() error {
	switch {
	case tx.closed:
		return ErrClosedResource
	case tx.s.openRecv == 0:
		return ErrBrokenResource
	}
	return nil
}

// Clone returns a new, open send clone of the same stream. The stream's
// receivers see the end of the stream only when every clone is closed.
// Clone panics if tx is closed: a closed clone can no longer vouch for the
// stream being open.
func (tx *SendStream[T]) Clone() *SendStream[T] {
	s := tx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx.closed {
		panic("structured: Clone of a closed SendStream")
	}
	s.openSend++
	return &SendStream[T]{s: s}
}

// Close closes this clone; closing it again does nothing. Sends waiting on
// this clone fail with [ErrClosedResource], and later calls on it return
// that error too. When this was the last open send clone, receivers drain
// what is buffered and then get [ErrEndOfStream]; receivers already waiting
// get it at once. Close always returns nil; it returns an error only to
// satisfy [io.Closer].
func (tx *SendStream[T]) Close() error {
	s := tx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx.closed {
		return nil
	}
	tx.closed = true
	s.senders.failOwned(tx, ErrClosedResource)
	s.openSend--
	if s.openSend == 0 {
		s.receivers.failOwned(nil, ErrEndOfStream)
	}
	return nil
}

// Stats returns a snapshot of the stream's state.
func (tx *SendStream[T]) Stats() MemoryStreamStats { return tx.s.stats() }

// Receive returns the next value, waiting while the stream is empty.
//
// It fails with [ErrEndOfStream] once every send clone is closed and the
// buffer is drained, with [ErrClosedResource] when this clone is closed
// (also when another goroutine closes it while Receive waits), or with
// ctx.Err() when ctx is done. Like every context-aware call, Receive fails
// at once if ctx is already done, even when a value is buffered; use
// [ReceiveStream.TryReceive] to drain without regard to a context. A
// Receive cancelled while it waits either returned a value or took none,
// never half: a value is never lost to a cancelled Receive.
func (rx *ReceiveStream[T]) Receive(ctx context.Context) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	s := rx.s
	s.mu.Lock()
	if rx.closed {
		s.mu.Unlock()
		return zero, ErrClosedResource
	}
	if v, w, ok := s.takeLocked(); ok {
		s.mu.Unlock()
		if w != nil {
			w.ready <- struct{}{}
		}
		return v, nil
	}
	if s.openSend == 0 {
		s.mu.Unlock()
		return zero, ErrEndOfStream
	}
	w := s.getWaiter(rx)
	err := s.park(ctx, &s.receivers, w)
	v := w.value
	s.putWaiter(w)
	return v, err
}

// TryReceive returns the next value if that needs no waiting: a value is
// buffered or a sender is waiting. Otherwise it fails with [ErrWouldBlock],
// or [ErrEndOfStream] when every send clone is closed. It returns
// [ErrClosedResource] when this clone is closed.
func (rx *ReceiveStream[T]) TryReceive() (T, error) {
	var zero T
	s := rx.s
	s.mu.Lock()
	if rx.closed {
		s.mu.Unlock()
		return zero, ErrClosedResource
	}
	v, w, ok := s.takeLocked()
	openSend := s.openSend
	s.mu.Unlock()
	switch {
	case ok:
		if w != nil {
			w.ready <- struct{}{}
		}
		return v, nil
	case openSend == 0:
		return zero, ErrEndOfStream
	}
	return zero, ErrWouldBlock
}

// All returns an iterator over the values received from rx, for use with
// range. The loop ends at the end of the stream, when ctx is done, or when
// rx is closed; after it, [ReceiveStream.Err] tells which.
//
// Each step calls [ReceiveStream.Receive] with ctx, so the loop stops as
// soon as ctx is done, even if values are still buffered.
func (rx *ReceiveStream[T]) All(ctx context.Context) iter.Seq[T] {
	return func(yield func(T) bool) {
		rx.setErr(nil)
		for {
			v, err := rx.Receive(ctx)
			if errors.Is(err, ErrEndOfStream) {
				return
			}
			if err != nil {
				rx.setErr(err)
				return
			}
			if !yield(v) {
				return
			}
		}
	}
}

// Err reports why the most recent loop over [ReceiveStream.All] on this
// clone stopped: nil when the stream ended ([ErrEndOfStream] is the normal
// end) or the loop body broke out, ctx.Err() when the context was done, or
// [ErrClosedResource] when the clone was closed. Like [bufio.Scanner.Err],
// it describes the loop of a single owner: goroutines that range over the
// same stream concurrently should each range over a clone of their own.
func (rx *ReceiveStream[T]) Err() error {
	rx.s.mu.Lock()
	defer rx.s.mu.Unlock()
	return rx.allErr
}

func (rx *ReceiveStream[T]) setErr(err error) {
	rx.s.mu.Lock()
	rx.allErr = err
	rx.s.mu.Unlock()
}

// Clone returns a new, open receive clone of the same stream. Senders see
// the stream broken only when every receive clone is closed. Clone panics
// if rx is closed: a closed clone can no longer vouch for the stream being
// open.
func (rx *ReceiveStream[T]) Clone() *ReceiveStream[T] {
	s := rx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if rx.closed {
		panic("structured: Clone of a closed ReceiveStream")
	}
	s.openRecv++
	return &ReceiveStream[T]{s: s}
}

// Close closes this clone; closing it again does nothing and returns nil.
// Receives waiting on this clone fail with [ErrClosedResource], and later
// calls on it return that error too.
//
// When this was the last open receive clone, every Send, waiting or later,
// fails with [ErrBrokenResource]. Values that were already in the buffer
// can then never be received: they are removed from the stream and
// returned in an [*UndeliveredError], so that no successfully sent value
// disappears unnoticed. Otherwise Close returns nil.
func (rx *ReceiveStream[T]) Close() error {
	s := rx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if rx.closed {
		return nil
	}
	rx.closed = true
	s.receivers.failOwned(rx, ErrClosedResource)
	s.openRecv--
	if s.openRecv > 0 {
		return nil
	}
	s.senders.failOwned(nil, ErrBrokenResource)
	if s.count == 0 {
		return nil
	}
	return &UndeliveredError[T]{Values: s.drainLocked()}
}

// Stats returns a snapshot of the stream's state.
func (rx *ReceiveStream[T]) Stats() MemoryStreamStats { return rx.s.stats() }

// memoryStream is the state shared by all clones of both ends.
//
// Invariants, under mu: receivers wait only while the buffer is empty and no
// sender waits; senders wait only while the buffer is full and no receiver
// waits. Whoever resolves a waiter (hands it a value, takes its value, or
// fails it) unlinks it and marks it resolved under mu, then sends the one
// token on its ready channel.
type memoryStream[T any] struct {
	mu sync.Mutex

	// buf is a ring of count values starting at head; it grows on demand
	// up to max.
	buf   []T
	head  int
	count int
	max   int

	openSend, openRecv int
	senders, receivers streamQueue[T]

	pool sync.Pool // of *streamWaiter[T], each with its ready channel
}

// offerLocked hands v to the first waiting receiver or puts it in the
// buffer. It reports false when neither is possible. A receiver it
// returns must be signalled once mu is released.
func (s *memoryStream[T]) offerLocked(v T) (*streamWaiter[T], bool) {
	if r := s.receivers.popFront(); r != nil {
		r.value = v
		r.resolved = true
		return r, true
	}
	if s.count < s.max {
		s.pushLocked(v)
		return nil, true
	}
	return nil, false
}

// takeLocked removes the next value: the oldest buffered one, whose place
// is taken by the value of the first waiting sender, or, with nothing
// buffered, the first waiting sender's value itself. It reports false when
// there is none. A sender it returns must be signalled once mu is released.
func (s *memoryStream[T]) takeLocked() (v T, w *streamWaiter[T], ok bool) {
	var zero T
	if s.count > 0 {
		v = s.popLocked()
		if w = s.senders.popFront(); w != nil {
			s.pushLocked(w.value)
			w.value = zero
			w.resolved = true
		}
		return v, w, true
	}
	if w = s.senders.popFront(); w != nil {
		v, w.value = w.value, zero
		w.resolved = true
		return v, w, true
	}
	return v, nil, false
}

// park queues w on q, releases mu (held by the caller) and waits until w is
// resolved or ctx is done. Cancellation races with resolution; mu decides:
// a waiter already resolved reports that outcome, as if ctx had been done a
// moment later, so that no hand-off is lost or duplicated.
func (s *memoryStream[T]) park(ctx context.Context, q *streamQueue[T], w *streamWaiter[T]) error {
	q.pushBack(w)
	s.mu.Unlock()
	done := ctx.Done()
	if done == nil { // never cancelled: a plain receive is cheaper than select
		<-w.ready
		return w.err
	}
	select {
	case <-w.ready:
		return w.err
	case <-done:
	}
	s.mu.Lock()
	if w.resolved {
		s.mu.Unlock()
		<-w.ready // the resolver sends it right after unlocking
		return w.err
	}
	q.remove(w)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *memoryStream[T]) getWaiter(owner any) *streamWaiter[T] {
	w := s.pool.Get().(*streamWaiter[T])
	w.owner = owner
	return w
}

// putWaiter recycles w, whose ready token has been consumed.
func (s *memoryStream[T]) putWaiter(w *streamWaiter[T]) {
	var zero T
	w.value, w.owner, w.err, w.resolved = zero, nil, nil, false
	s.pool.Put(w)
}

func (s *memoryStream[T]) pushLocked(v T) {
	if s.count == len(s.buf) {
		s.growLocked()
	}
	i := s.head + s.count
	if i >= len(s.buf) {
		i -= len(s.buf)
	}
	s.buf[i] = v
	s.count++
}

func (s *memoryStream[T]) popLocked() T {
	var zero T
	v := s.buf[s.head]
	s.buf[s.head] = zero // let the value be collected
	s.head++
	if s.head == len(s.buf) {
		s.head = 0
	}
	s.count--
	return v
}

// growLocked doubles the ring (at least 8, at most max), keeping the order.
func (s *memoryStream[T]) growLocked() {
	n := max(8, 2*len(s.buf))
	if n > s.max {
		n = s.max
	}
	buf := make([]T, n)
	k := copy(buf, s.buf[s.head:])
	copy(buf[k:], s.buf[:s.head])
	s.buf, s.head = buf, 0
}

// drainLocked removes and returns every buffered value, oldest first.
func (s *memoryStream[T]) drainLocked() []T {
	vals := make([]T, 0, s.count)
	for s.count > 0 {
		vals = append(vals, s.popLocked())
	}
	s.buf, s.head = nil, 0
	return vals
}

func (s *memoryStream[T]) stats() MemoryStreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return MemoryStreamStats{
		CurrentBufferUsed:   s.count,
		MaxBufferSize:       s.max,
		OpenSendStreams:     s.openSend,
		OpenReceiveStreams:  s.openRecv,
		TasksWaitingSend:    s.senders.n,
		TasksWaitingReceive: s.receivers.n,
	}
}

// A streamWaiter is one Send or Receive waiting in a streamQueue.
type streamWaiter[T any] struct {
	value    T     // the value to send, or the value received
	err      error // the outcome, once resolved
	resolved bool
	owner    any // the clone waiting, so that its Close can fail it
	ready    chan struct{}

	prev, next *streamWaiter[T]
}

// streamQueue is a FIFO of waiters, linked through the waiters themselves
// so that a cancelled waiter leaves it in O(1) without allocation.
type streamQueue[T any] struct {
	head, tail *streamWaiter[T]
	n          int
}

func (q *streamQueue[T]) pushBack(w *streamWaiter[T]) {
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.n++
}

func (q *streamQueue[T]) popFront() *streamWaiter[T] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

func (q *streamQueue[T]) remove(w *streamWaiter[T]) {
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
	q.n--
}

// failOwned resolves with err every waiter of owner, or every waiter when
// owner is nil, and signals them. Signalling with mu held is safe: each
// ready channel has room for its one token.
func (q *streamQueue[T]) failOwned(owner any, err error) {
	for w := q.head; w != nil; {
		next := w.next
		if owner == nil || w.owner == owner {
			q.remove(w)
			w.err = err
			w.resolved = true
			w.ready <- struct{}{}
		}
		w = next
	}
}
