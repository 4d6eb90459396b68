package store

import (
	"cmp"
	"slices"
	"time"
)

// SetSpill makes the frontier keep the requests past its memory budget
// ([MemoryFrontier.SetMemoryBudget]) on disk instead of making Add wait,
// so that the producer reads ahead on any input order and a crawl's
// workers never wait for each other, in flat memory. The files go into a
// directory the frontier makes in parent (named [SpillPrefix]...) when
// it first needs one, and created (unless nil) is then called with its
// path, from the Add or Next that made it, without the frontier's lock;
// [MemoryFrontier.Close] removes it.
//
// The budget is split in two halves. One holds the heads of the host
// queues (a host read back from disk may take a few more, up to the whole
// budget): each host keeps its first requests in memory, at most a
// sixteenth of the budget, and the rest of its queue goes to one
// append-only file a depth, read back from the front in order into the
// head as it drains (first in, first out within a depth, so a list stays
// FIFO and a crawl breadth-first). A spilled host costs O(1) memory a
// depth, whatever the length of its queue, so a host with a million
// URLs queued does not keep the hosts behind it from being read ahead
// and scheduled. The other half holds the host queues themselves: past
// it (millions of hosts), requests go to one overflow file in the order
// they came, and move to their hosts' queues as hosts drain; or Add waits
// for room instead ([MemoryFrontier.SetWaitForHosts]).
//
// The spill is scratch: it is not synced, and a resumed run rebuilds its
// queue from its input and output (and its journal, for a crawl). Call
// SetSpill before the first Add.
func (f *MemoryFrontier) SetSpill(parent string, created func(dir string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spill = newSpill(parent, created)
	f.spill.maxStaged = f.budget / 8
}

// SetWaitForHosts makes Add wait, under a spill, while the host queues
// are full (half the budget) and the request is of a host that has none,
// instead of putting it in the overflow file; it goes on as soon as a
// host queue drains. For a list: its producer gains nothing by reading
// past hosts that cannot be scheduled yet, and a list of millions of
// hosts then fills the seen set as it is fetched, not all at once. A
// host's own tail still spills, so a host with a million URLs does not
// hold up the hosts behind it. A crawl must not set it: its workers add
// links and must never wait for each other.
func (f *MemoryFrontier) SetWaitForHosts(wait bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waitForHosts = wait
	f.signalSpaceLocked()
}

// unlockAndAnnounce unlocks f and then, if the spill directory was
// just made, tells SetSpill's created: outside the lock, since it may
// block (a warning on a stderr that is a full pipe).
func (f *MemoryFrontier) unlockAndAnnounce() {
	var created func(string)
	var dir string
	if s := f.spill; s != nil && s.announce {
		s.announce = false
		created, dir = s.created, s.dir
	}
	f.mu.Unlock()
	if created != nil {
		created(dir)
	}
}

// SpillDir returns the directory of the frontier's spill: "" until a
// request was spilled, and after Close.
func (f *MemoryFrontier) SpillDir() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.spill == nil {
		return ""
	}
	return f.spill.dir
}

// headCap is the most memory one host's head may take.
func (f *MemoryFrontier) headCap() int64 { return f.budget / 16 }

// hostBytesLocked is the memory of the host queues (and the spill's
// bookkeeping), against half of the budget.
func (f *MemoryFrontier) hostBytesLocked() int64 {
	return f.queuedBytes - f.itemBytes + f.spill.bytes()
}

func (f *MemoryFrontier) overflowingLocked() bool {
	return f.overflow != nil || len(f.overflowHead) > 0
}

func (f *MemoryFrontier) spilledLocked() bool {
	return f.spilled > 0 || f.overflowingLocked()
}

// spillEnqueueLocked queues req under a spill: in the overflow while it
// holds anything (requests there came first), else in its host's queue,
// made if there is room for it, else in the overflow.
func (f *MemoryFrontier) spillEnqueueLocked(key string, req Request, now time.Time) error {
	if !f.overflowingLocked() {
		h := f.hosts[key]
		if h == nil && f.roomForHostLocked(key) {
			h = f.newHostLocked(key)
		}
		if h != nil {
			return f.placeLocked(h, req, now)
		}
		f.overflow = f.spill.newChain(-1)
	}
	if f.overflow == nil {
		f.overflow = f.spill.newChain(-1) // read to its end, head still full
	}
	if err := f.spill.append(f.overflow, req); err != nil {
		return err
	}
	f.spilled++
	return nil
}

func (f *MemoryFrontier) roomForHostLocked(key string) bool {
	return len(f.hosts) == 0 || f.hostBytesLocked()+hostCost(key) <= f.budget/2
}

// placeLocked puts req in h's head if h has no chain of its depth and
// both h's head and the heads in all have room for it, else at the end
// of the chain of its depth.
func (f *MemoryFrontier) placeLocked(h *hostQueue, req Request, now time.Time) error {
	i, found := slices.BinarySearchFunc(h.chains, req.Depth, func(c *spillChain, d int) int { return c.depth - d })
	cost := requestCost(req)
	if !found && h.headBytes+cost <= f.headCap() && f.itemBytes+cost <= f.budget/2 {
		f.pushLocked(h, req)
	} else {
		if !found {
			h.chains = slices.Insert(h.chains, i, f.spill.newChain(req.Depth))
		}
		if err := f.spill.append(h.chains[i], req); err != nil {
			return err
		}
		f.spilled++
	}
	if h.state == hostIdle {
		f.readyLocked(h, now)
	}
	return nil
}

// minRefill is the least a refill reads back while the heads take less
// than the whole budget.
const minRefill = 2 << 10

// refillLocked reads the next requests of h back from disk into its head
// when the first of its queue is on disk: h's first chain is of a lower
// depth than its head's first request. In a depth, the head's requests
// came before the chain's, so the head goes first when the depths are
// equal. It reads what fits in h's share, at least one request, and at
// least minRefill worth while the heads take less than the budget: they
// use half of it, and up to all of it this way.
func (f *MemoryFrontier) refillLocked(h *hostQueue) error {
	if len(h.chains) == 0 || (len(h.items) > 0 && h.items[0].req.Depth <= h.chains[0].depth) {
		return nil
	}
	c := h.chains[0]
	room := min(f.headCap()-h.headBytes, f.budget/2-f.itemBytes)
	if room < minRefill && f.itemBytes < f.budget {
		// The heads' half is full (the first hosts of a grouped list
		// hold it): still read a few, one read for several takes, up
		// to the whole budget.
		room = min(minRefill, f.headCap())
	}
	// On disk a request takes about half its cost in memory.
	err := f.spill.readBatch(c, func() int64 { return room / 2 }, func(req Request) bool {
		f.pushLocked(h, req)
		f.spilled--
		room -= requestCost(req)
		return room > 0
	})
	if err != nil {
		return err
	}
	if c.n == 0 {
		h.chains = h.chains[1:]
		return f.spill.drop(c)
	}
	return nil
}

// drainOverflowLocked moves the requests of the overflow to their hosts'
// queues, in order, while there is room for the hosts.
func (f *MemoryFrontier) drainOverflowLocked(now time.Time) error {
	for f.overflowingLocked() {
		if len(f.overflowHead) == 0 {
			if err := f.readOverflowLocked(); err != nil {
				return err
			}
			continue
		}
		req := f.overflowHead[0]
		key := f.keyLocked(req.URL)
		h := f.hosts[key]
		if h == nil {
			if !f.roomForHostLocked(key) {
				return nil
			}
			h = f.newHostLocked(key)
		}
		f.overflowHead[0] = Request{}
		f.overflowHead = f.overflowHead[1:]
		if err := f.placeLocked(h, req, now); err != nil {
			return err
		}
	}
	return nil
}

// readOverflowLocked reads a batch of the overflow back, or drops it
// once it is read to the end.
func (f *MemoryFrontier) readOverflowLocked() error {
	c := f.overflow
	if c.n == 0 {
		f.overflow = nil
		return f.spill.drop(c)
	}
	n := 0
	f.overflowHead = f.overflowHead[:0]
	err := f.spill.readBatch(c, nil, func(req Request) bool {
		f.overflowHead = append(f.overflowHead, req)
		f.spilled--
		n++
		return n < 256
	})
	return err
}

// rekeyLocked moves every queued request, spilled or not, to the queue
// of its host under the gate just set: host by host, each in its order,
// then the overflow.
func (f *MemoryFrontier) rekeyLocked() {
	old := make([]*hostQueue, 0, len(f.hosts))
	for _, h := range f.hosts {
		old = append(old, h)
	}
	slices.SortFunc(old, func(a, b *hostQueue) int { return cmp.Compare(a.order, b.order) })
	overflow, overflowHead := f.overflow, f.overflowHead
	f.overflow, f.overflowHead = nil, nil
	clear(f.hosts)
	f.ready, f.timed = nil, nil
	now := time.Now()
	for _, h := range old {
		h.state = hostIdle
		f.queuedBytes -= hostCost(h.key)
		for len(h.items) > 0 || len(h.chains) > 0 {
			req, err := f.popLocked(h)
			if err == nil {
				err = f.enqueueLocked(f.keyLocked(req.URL), req, now)
			}
			if err != nil {
				f.err = err
				return
			}
		}
	}
	for _, req := range overflowHead {
		if err := f.enqueueLocked(f.keyLocked(req.URL), req, now); err != nil {
			f.err = err
			return
		}
	}
	if overflow != nil {
		for overflow.n > 0 {
			var batch []Request
			if err := f.spill.readBatch(overflow, nil, func(req Request) bool {
				batch = append(batch, req)
				return len(batch) < 256
			}); err != nil {
				f.err = err
				return
			}
			f.spilled -= len(batch)
			for _, req := range batch {
				if err := f.enqueueLocked(f.keyLocked(req.URL), req, now); err != nil {
					f.err = err
					return
				}
			}
		}
		if err := f.spill.drop(overflow); err != nil {
			f.err = err
		}
	}
}

// closeSpillLocked drops the spill: its files and its directory.
func (f *MemoryFrontier) closeSpillLocked() error {
	if f.spill == nil {
		return nil
	}
	f.overflow, f.overflowHead, f.spilled = nil, nil, 0
	return f.spill.close()
}
