package store

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// A Gate tells a [MemoryFrontier] when a request to a host may start: the
// per-host limits (slots, pauses, rate, Crawl-delay). With a gate the
// frontier hands a consumer only requests whose host may start at once,
// and takes the host's turn for them as it hands them out.
type Gate interface {
	// HostKey returns the key of url's host: requests with one key share
	// their limits and their queue.
	HostKey(url string) string
	// TryStart takes host's turn if a request to it may start now and
	// returns it (never a nil Turn then). Otherwise it returns nil and when
	// to ask again; the zero time means after the frontier's Wake(host).
	TryStart(host string) (Turn, time.Time)
}

// A Turn is a host's turn taken by a [Gate] for one request. Release ends
// it; later calls do nothing.
type Turn interface {
	Release()
}

// MemoryFrontier is the in-process [Frontier]. It keeps one queue per host
// and a schedule of the hosts:
//
//   - Within a host, requests leave in order of depth, then of arrival:
//     first in, first out for a list (every input has depth 0), breadth
//     first for a crawl.
//   - Without a [Gate] every host is always ready. With one (see
//     [MemoryFrontier.SetGate]) a host is ready when the gate lets it
//     start a request now; a host that is not is parked until the time
//     the gate names (a timer, no polling) or until the gate's owner calls
//     [MemoryFrontier.Wake] for it.
//   - Between ready hosts, the one that has been ready the longest goes
//     first: a host just served goes behind the others, so no host starves
//     another.
//
// Next hands out a request of a ready host with the host's turn taken, or
// waits for the earliest host to become ready, for new work, or for the
// end. A consumer is thus never held up by one host while another could
// start.
//
// The seen set holds 128-bit URL fingerprints ([Fingerprint]), about 38
// bytes a URL with the map's overhead at a million URLs. A host's queue is dropped as soon as it is empty, so a run
// over millions of hosts holds queues for the hosts with queued work only.
// With a spill ([MemoryFrontier.SetSpill]) the queues past a memory
// budget are kept on disk, so that their memory stays flat.
type MemoryFrontier struct {
	mu        sync.Mutex
	seen      map[[FingerprintSize]byte]struct{}
	pending   int
	inputDone bool
	closed    bool
	admit     func() bool
	gate      Gate

	buffer      int   // most requests queued before Add waits
	budget      int64 // most bytes queued before Add waits or spills; 0: no limit
	queued      int   // requests in memory
	queuedBytes int64 // memory of the queued requests and host queues
	itemBytes   int64 // of queuedBytes, the requests'

	spill        *spill      // nil: Add waits at the budget instead
	waitForHosts bool        // with a spill, Add waits instead of overflowing
	overflow     *spillChain // requests past the budget of hosts without a queue
	overflowHead []Request   // read back from overflow, not yet in a host queue
	spilled      int         // requests on disk or in a chain's buffer
	err          error       // a spill failure: Next fails with it

	hosts map[string]*hostQueue
	ready readyHeap // hosts to try, longest ready first
	timed timedHeap // hosts parked until a known time
	later deferHeap // requests deferred (Defer) until a known time
	order uint64    // arrival counter: FIFO within a host, ties between hosts

	deferredBytes int64        // memory of the deferred requests not handed out again
	held          []*hostQueue // ready hosts set aside while deferredBytes is over maxDeferredBytes

	waiters    []chan struct{} // consumers waiting in Next, oldest first
	space      chan struct{}   // closed when Add may find room
	addWaiters int
}

var _ Frontier = (*MemoryFrontier)(nil)

// requestOverhead approximates the memory a queued request takes besides
// the bytes of its URL: the Request and its queue slot. hostOverhead is
// the same for a host's queue besides its key: the queue, its map entry
// and its place in the schedule, which a list of one URL per host pays
// for every URL.
const (
	requestOverhead = 96
	hostOverhead    = 256
)

// NewMemoryFrontier returns a frontier whose queues hold at most buffer
// requests in all before Add waits (backpressure for list mode; less than
// 1 means 1), or any number with [structured.Unbounded] (crawl mode,
// where workers add links and must never wait on each other). admit, when
// not nil, is asked once for every new URL (it implements --max-pages); a
// URL it refuses is not queued.
func NewMemoryFrontier(buffer int, admit func() bool) *MemoryFrontier {
	return &MemoryFrontier{
		seen:   make(map[[FingerprintSize]byte]struct{}),
		admit:  admit,
		buffer: max(buffer, 1),
		hosts:  make(map[string]*hostQueue),
		space:  make(chan struct{}),
	}
}

// SetGate makes the frontier schedule hosts by g (nil: every host is
// always ready). Call it before consumers take requests; requests queued
// before (a resumed crawl's journal) move to their hosts' queues, in
// order.
func (f *MemoryFrontier) SetGate(g Gate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = g
	if f.spilledLocked() {
		f.rekeyLocked()
		return
	}
	var queued []queuedRequest
	for _, h := range f.hosts {
		queued = append(queued, h.items...)
	}
	slices.SortFunc(queued, func(a, b queuedRequest) int { return cmp.Compare(a.order, b.order) })
	clear(f.hosts)
	f.ready, f.timed = nil, nil
	f.queued, f.queuedBytes, f.itemBytes = 0, 0, 0
	now := time.Now()
	for _, q := range queued {
		if err := f.enqueueLocked(f.keyLocked(q.req.URL), q.req, now); err != nil {
			f.err = err // a spill that failed: Next reports it
			return
		}
	}
}

// SetMemoryBudget bounds the memory the queued requests take, roughly
// (the URL's bytes plus a fixed overhead each, and the same for each
// host's queue), besides the request count
// given to [NewMemoryFrontier]: Add waits while the queues hold more,
// or, with a spill ([MemoryFrontier.SetSpill]), puts what is past it on
// disk. Zero or less means no bound but the count. A single request is
// always accepted into empty queues, whatever its size.
func (f *MemoryFrontier) SetMemoryBudget(bytes int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.budget = max(bytes, 0)
	if f.spill != nil {
		f.spill.maxStaged = f.budget / 8
	}
	f.signalSpaceLocked()
}

// Add implements [Frontier]. It waits while the queues are full.
func (f *MemoryFrontier) Add(ctx context.Context, req Request) (bool, error) {
	fp := Fingerprint(req.URL)
	f.mu.Lock()
	key := f.keyLocked(req.URL)
	if _, dup := f.seen[fp]; dup {
		f.mu.Unlock()
		return false, nil
	}
	if f.admit != nil && !f.admit() {
		f.mu.Unlock()
		return false, nil
	}
	f.seen[fp] = struct{}{}
	f.pending++
	for !f.closed && f.fullLocked(key) {
		ch := f.space
		f.addWaiters++
		f.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		f.mu.Lock()
		f.addWaiters--
		if err != nil {
			return false, f.failAddLocked(req, fp, err)
		}
	}
	if f.closed {
		return false, f.failAddLocked(req, fp, structured.ErrClosedResource)
	}
	if err := f.enqueueLocked(key, req, time.Now()); err != nil {
		f.err = err // the spill may hold part of it: no more Next
		f.broadcastLocked()
		return false, f.failAddLocked(req, fp, err)
	}
	f.unlockAndAnnounce()
	return true, nil
}

// keyLocked returns the key of url's host queue: "" without a gate.
func (f *MemoryFrontier) keyLocked(url string) string {
	if f.gate == nil {
		return ""
	}
	return f.gate.HostKey(url)
}

// failAddLocked undoes an Add that could not queue req and unlocks.
func (f *MemoryFrontier) failAddLocked(req Request, fp [FingerprintSize]byte, err error) error {
	delete(f.seen, fp) // not queued: a later discovery may queue it
	f.pending--
	f.endIfIdleLocked()
	f.mu.Unlock()
	return fmt.Errorf("queue %s: %w", req.URL, err)
}

// fullLocked reports whether Add must wait before it queues a request
// of host key.
func (f *MemoryFrontier) fullLocked(key string) bool {
	if f.spill != nil {
		return f.waitForHosts && f.budget > 0 && f.hosts[key] == nil && !f.roomForHostLocked(key)
	}
	if f.queued == 0 {
		return false
	}
	return f.queued >= f.buffer || (f.budget > 0 && f.queuedBytes >= f.budget)
}

func requestCost(req Request) int64 { return int64(len(req.URL)) + requestOverhead }
func hostCost(key string) int64     { return int64(len(key)) + hostOverhead }

// enqueueLocked puts req at its place in its host's queue, and the host in
// the schedule if it was not there. With a spill, it may put req on disk
// instead (see [MemoryFrontier.SetSpill]).
func (f *MemoryFrontier) enqueueLocked(key string, req Request, now time.Time) error {
	if f.spill != nil && f.budget > 0 {
		return f.spillEnqueueLocked(key, req, now)
	}
	h := f.hosts[key]
	if h == nil {
		h = f.newHostLocked(key)
	}
	f.pushLocked(h, req)
	if h.state == hostIdle {
		f.readyLocked(h, now)
	}
	return nil
}

func (f *MemoryFrontier) newHostLocked(key string) *hostQueue {
	h := &hostQueue{key: key}
	f.hosts[key] = h
	f.queuedBytes += hostCost(key)
	return h
}

// pushLocked puts req in h's queue in memory.
func (f *MemoryFrontier) pushLocked(h *hostQueue, req Request) {
	f.order++
	heap.Push(&h.items, queuedRequest{req: req, order: f.order})
	cost := requestCost(req)
	f.queued++
	f.queuedBytes += cost
	f.itemBytes += cost
	h.headBytes += cost
}

// popLocked takes the first request of h, which has one: a deferred
// request due first, or the head of its queue, read back from disk if it
// was spilled.
func (f *MemoryFrontier) popLocked(h *hostQueue) (Request, error) {
	if len(h.resumed) > 0 {
		d := h.resumed[0]
		h.resumed[0] = deferredRequest{}
		h.resumed = h.resumed[1:]
		f.queued--
		f.queuedBytes -= d.cost
		f.itemBytes -= d.cost
		f.deferredBytes -= d.cost
		return d.req, nil
	}
	if err := f.refillLocked(h); err != nil {
		return Request{}, err
	}
	q := heap.Pop(&h.items).(queuedRequest)
	cost := requestCost(q.req)
	f.queued--
	f.queuedBytes -= cost
	f.itemBytes -= cost
	h.headBytes -= cost
	return q.req, nil
}

// dropIfEmptyLocked forgets h when nothing of it is queued.
func (f *MemoryFrontier) dropIfEmptyLocked(h *hostQueue) bool {
	if len(h.items) > 0 || len(h.chains) > 0 || len(h.resumed) > 0 {
		return false
	}
	h.state = hostIdle
	delete(f.hosts, h.key)
	f.queuedBytes -= hostCost(h.key)
	return true
}

// readyLocked puts h among the ready hosts, ready since since, and tells
// a waiting consumer.
func (f *MemoryFrontier) readyLocked(h *hostQueue, since time.Time) {
	f.order++
	h.state, h.since, h.order = hostReady, since, f.order
	heap.Push(&f.ready, h)
	f.signalChangedLocked()
}

// signalChangedLocked wakes the consumer waiting the longest, if any: a
// host became ready, and one consumer is enough to take it (taking a
// request from a host that has more wakes the next one).
func (f *MemoryFrontier) signalChangedLocked() {
	if len(f.waiters) > 0 {
		f.waiters[0] <- struct{}{} // buffered, used once: never blocks
		f.waiters = f.waiters[1:]
	}
}

// broadcastLocked wakes every waiting consumer: the frontier ended.
func (f *MemoryFrontier) broadcastLocked() {
	for _, ch := range f.waiters {
		ch <- struct{}{}
	}
	f.waiters = nil
}

func (f *MemoryFrontier) signalSpaceLocked() {
	if f.addWaiters > 0 {
		close(f.space)
		f.space = make(chan struct{})
	}
}

// Wake tells the frontier that host may be able to start a request again
// (a slot of it was freed). The [Gate]'s owner calls it.
func (f *MemoryFrontier) Wake(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.hosts[host]; h != nil && h.state == hostBlocked {
		f.readyLocked(h, time.Now())
	}
}

// Seen implements [Frontier].
func (f *MemoryFrontier) Seen(url string) {
	f.mu.Lock()
	f.seen[Fingerprint(url)] = struct{}{}
	f.mu.Unlock()
}

// MarkIfNew implements [Frontier].
func (f *MemoryFrontier) MarkIfNew(ctx context.Context, key string) (bool, error) {
	fp := Fingerprint(key)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.seen[fp]; dup {
		return false, nil
	}
	f.seen[fp] = struct{}{}
	return true, nil
}

// InputDone implements [Frontier].
func (f *MemoryFrontier) InputDone() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputDone = true
	f.endIfIdleLocked()
}

// Done implements [Frontier].
func (f *MemoryFrontier) Done(ctx context.Context, req Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending--
	f.endIfIdleLocked()
	return nil
}

// Pending implements [Frontier].
func (f *MemoryFrontier) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending
}

// endedLocked reports whether the frontier is exhausted: the input is done
// and nothing is pending.
func (f *MemoryFrontier) endedLocked() bool { return f.inputDone && f.pending == 0 }

// endIfIdleLocked wakes every consumer once the frontier is exhausted, so
// that they see the end.
func (f *MemoryFrontier) endIfIdleLocked() {
	if f.endedLocked() {
		f.broadcastLocked()
	}
}

// Consumer implements [Frontier].
func (f *MemoryFrontier) Consumer() Consumer { return memoryConsumer{f} }

// Close ends the frontier when the run is over: requests still queued are
// dropped (they were never fetched, and a resumed run fetches them), and
// Next and Add fail with [structured.ErrClosedResource].
func (f *MemoryFrontier) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	clear(f.hosts)
	f.ready, f.timed, f.later, f.held = nil, nil, nil, nil
	f.queued, f.queuedBytes, f.itemBytes, f.deferredBytes = 0, 0, 0, 0
	f.broadcastLocked()
	f.signalSpaceLocked()
	return f.closeSpillLocked()
}

// next returns a request of a ready host, waiting as long as none is.
func (f *MemoryFrontier) next(ctx context.Context) (Request, error) {
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return Request{}, structured.ErrClosedResource
		}
		req, ok, wakeAt, err := f.takeLocked(time.Now())
		if err != nil {
			f.mu.Unlock()
			return Request{}, err
		}
		if ok {
			f.unlockAndAnnounce()
			return req, nil
		}
		if f.endedLocked() {
			f.mu.Unlock()
			return Request{}, structured.ErrEndOfStream
		}
		if err := ctx.Err(); err != nil {
			f.mu.Unlock()
			return Request{}, err
		}
		ch := make(chan struct{}, 1)
		f.waiters = append(f.waiters, ch)
		f.mu.Unlock()
		err = waitChange(ctx, ch, wakeAt)
		f.mu.Lock()
		if i := slices.Index(f.waiters, ch); i >= 0 {
			f.waiters = slices.Delete(f.waiters, i, i+1) // not woken
		} else if err != nil {
			f.signalChangedLocked() // woken but leaving: pass it on
		}
		f.mu.Unlock()
		if err != nil {
			return Request{}, err
		}
	}
}

// waitChange waits for a wake-up on ch, for the time at (unless zero) or
// for ctx to end.
func waitChange(ctx context.Context, ch <-chan struct{}, at time.Time) error {
	var timeout <-chan time.Time
	if !at.IsZero() {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
	case <-timeout:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// takeLocked takes the next request of the ready host that has waited
// longest, with its turn. When no host is ready it returns false and the
// time the earliest parked host is due (zero when none is).
func (f *MemoryFrontier) takeLocked(now time.Time) (Request, bool, time.Time, error) {
	if f.err != nil {
		return Request{}, false, time.Time{}, f.err
	}
	for len(f.later) > 0 && !f.later[0].at.After(now) {
		f.resumeLocked(heap.Pop(&f.later).(deferredRequest))
	}
	for len(f.timed) > 0 && !f.timed[0].at.After(now) {
		h := heap.Pop(&f.timed).(*hostQueue)
		f.readyLocked(h, h.at)
	}
	over := f.deferredBytes > maxDeferredBytes
	if !over {
		f.releaseHeldLocked()
	}
	for len(f.ready) > 0 {
		h := f.ready[0]
		if over && len(h.resumed) == 0 {
			// Deferred requests hold too much memory (it cannot spill):
			// no new request starts until some of them went on.
			heap.Pop(&f.ready)
			h.state = hostHeld
			f.held = append(f.held, h)
			continue
		}
		var turn Turn
		if f.gate != nil {
			var at time.Time
			if turn, at = f.gate.TryStart(h.key); turn == nil {
				heap.Pop(&f.ready)
				if at.IsZero() {
					h.state = hostBlocked
				} else {
					h.state, h.at = hostTimed, at
					heap.Push(&f.timed, h)
				}
				continue
			}
		}
		heap.Pop(&f.ready)
		req, err := f.popLocked(h)
		if err != nil {
			f.err = err
			if turn != nil {
				turn.Release()
			}
			return Request{}, false, time.Time{}, err
		}
		f.signalSpaceLocked()
		if !f.dropIfEmptyLocked(h) {
			f.readyLocked(h, now) // behind the hosts already ready
		}
		if f.deferredBytes <= maxDeferredBytes {
			f.releaseHeldLocked()
		}
		if err := f.drainOverflowLocked(now); err != nil {
			f.err = err
			f.broadcastLocked()
		}
		req.Turn = turn
		return req, true, time.Time{}, nil
	}
	var at time.Time
	if len(f.timed) > 0 {
		at = f.timed[0].at
	}
	if len(f.later) > 0 && (at.IsZero() || f.later[0].at.Before(at)) {
		at = f.later[0].at
	}
	return Request{}, false, at, nil
}

// Defer implements [Deferrer]. The request waits in memory, outside its
// host's queue, until d.NotBefore; it then goes to the front of the
// queue of d.URL's host, ahead of the requests queued there, and leaves
// it when the gate lets that host start. While it waits it counts
// against the frontier's bounds (the request count and the memory
// budget, with d.Bytes), as queued requests do: a list's producer waits,
// or queued requests spill. A deferred request itself cannot spill: while
// those not handed out again take more than maxDeferredBytes, Next hands
// out no new request, only deferred ones as they come due (as
// [RedisFrontier.Defer] does), so that hosts that all fail and retry
// (nothing listening) do not fill the memory with their retries.
func (f *MemoryFrontier) Defer(req Request, d Deferral) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("defer %s: %w", req.URL, structured.ErrClosedResource)
	}
	req.Turn = nil
	f.order++
	cost := requestCost(req) + max(d.Bytes, 0)
	f.queued++
	f.queuedBytes += cost
	f.itemBytes += cost
	f.deferredBytes += cost
	heap.Push(&f.later, deferredRequest{req: req, key: f.keyLocked(d.URL), at: d.NotBefore, order: f.order, cost: cost})
	// A consumer waiting for a later time must look again.
	f.signalChangedLocked()
	return nil
}

// resumeLocked puts a deferred request that is due at the front of its
// host's queue, and the host in the schedule if it was not there.
func (f *MemoryFrontier) resumeLocked(d deferredRequest) {
	h := f.hosts[d.key]
	if h == nil {
		h = f.newHostLocked(d.key)
	}
	h.resumed = append(h.resumed, d)
	switch h.state {
	case hostIdle:
		f.readyLocked(h, d.at)
	case hostHeld:
		f.readyLocked(h, h.since) // its entry in held is stale now
	}
}

// releaseHeldLocked puts the hosts set aside while deferred requests held
// too much memory back among the ready hosts, at their places.
func (f *MemoryFrontier) releaseHeldLocked() {
	for _, h := range f.held {
		if h.state == hostHeld { // else readied again, or listed twice
			h.state = hostReady
			heap.Push(&f.ready, h)
			f.signalChangedLocked()
		}
	}
	f.held = nil
}

type memoryConsumer struct{ f *MemoryFrontier }

func (c memoryConsumer) Next(ctx context.Context) (Request, error) { return c.f.next(ctx) }
func (c memoryConsumer) Close() error                              { return nil }

// hostState is where a host is in the schedule.
type hostState int

const (
	hostIdle    hostState = iota // no queued request: not in the schedule
	hostReady                    // in the ready heap
	hostTimed                    // in the timed heap, due at at
	hostBlocked                  // every slot busy: waits for Wake
	hostHeld                     // ready, set aside while deferred requests hold too much memory
)

// hostQueue is one host's queued requests and its place in the schedule.
type hostQueue struct {
	key       string
	items     requestHeap       // the queue's head, in memory
	headBytes int64             // memory of items
	chains    []*spillChain     // the rest on disk, one chain a depth, by depth
	resumed   []deferredRequest // deferred requests now due, first out
	state     hostState
	since     time.Time // ready since (hostReady)
	order     uint64    // tie-break between hosts ready at the same time
	at        time.Time // due (hostTimed)
}

type queuedRequest struct {
	req   Request
	order uint64
}

// deferredRequest is a request given back with Defer, waiting until at
// and then for its host (key).
type deferredRequest struct {
	req   Request
	key   string
	at    time.Time
	order uint64
	cost  int64 // counted in queuedBytes and itemBytes
}

// deferHeap orders deferred requests by when they are due.
type deferHeap []deferredRequest

func (q deferHeap) Len() int { return len(q) }
func (q deferHeap) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].order < q[j].order
}
func (q deferHeap) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deferHeap) Push(x any)   { *q = append(*q, x.(deferredRequest)) }
func (q *deferHeap) Pop() any {
	old := *q
	n := len(old) - 1
	x := old[n]
	old[n] = deferredRequest{}
	*q = old[:n]
	return x
}

// requestHeap orders a host's requests by depth, then arrival.
type requestHeap []queuedRequest

func (q requestHeap) Len() int { return len(q) }
func (q requestHeap) Less(i, j int) bool {
	if q[i].req.Depth != q[j].req.Depth {
		return q[i].req.Depth < q[j].req.Depth
	}
	return q[i].order < q[j].order
}
func (q requestHeap) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *requestHeap) Push(x any)   { *q = append(*q, x.(queuedRequest)) }
func (q *requestHeap) Pop() any {
	old := *q
	n := len(old) - 1
	x := old[n]
	old[n] = queuedRequest{}
	*q = old[:n]
	return x
}

// readyHeap orders ready hosts by how long they have been ready.
type readyHeap []*hostQueue

func (q readyHeap) Len() int { return len(q) }
func (q readyHeap) Less(i, j int) bool {
	if !q[i].since.Equal(q[j].since) {
		return q[i].since.Before(q[j].since)
	}
	return q[i].order < q[j].order
}
func (q readyHeap) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *readyHeap) Push(x any)   { *q = append(*q, x.(*hostQueue)) }
func (q *readyHeap) Pop() any {
	old := *q
	n := len(old) - 1
	h := old[n]
	old[n] = nil
	*q = old[:n]
	return h
}

// timedHeap orders parked hosts by when they are due.
type timedHeap []*hostQueue

func (q timedHeap) Len() int { return len(q) }
func (q timedHeap) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].order < q[j].order
}
func (q timedHeap) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *timedHeap) Push(x any)   { *q = append(*q, x.(*hostQueue)) }
func (q *timedHeap) Pop() any {
	old := *q
	n := len(old) - 1
	h := old[n]
	old[n] = nil
	*q = old[:n]
	return h
}
