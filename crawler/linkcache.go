package crawler

import (
	"hash/maphash"
	"sync/atomic"
)

// linkCacheSlots is the size of a [linkCache]: 1 MiB of slots.
const linkCacheSlots = 1 << 16

// linkCache remembers, in a table of fixed size, links a crawl has handed
// to its frontier. A page links mostly to pages other pages link to (20
// to 40 links a page, each page found by many): handing such a link to
// the frontier again is a scope check (a URL parse) and a fingerprint
// (SHA-256) only for the frontier to find it seen. A link the cache
// holds is skipped before both: the frontier's Add of a URL it has seen
// does nothing, whatever the depth. Two hashes of 64 bits with seeds of
// their own stand for a link; a slot taken by another link forgets the
// one it held, which is then handed over again, as without the cache.
// Safe for concurrent use: a slot read while another task writes it can
// only mismatch.
type linkCache struct {
	seeds [2]maphash.Seed
	slots []linkSlot
}

type linkSlot struct{ h1, h2 atomic.Uint64 }

func newLinkCache() *linkCache {
	return &linkCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, slots: make([]linkSlot, linkCacheSlots)}
}

// key returns the hashes of link.
func (c *linkCache) key(link string) (h1, h2 uint64) {
	return maphash.String(c.seeds[0], link), maphash.String(c.seeds[1], link)
}

// has reports whether the link of key h1, h2 was added.
func (c *linkCache) has(h1, h2 uint64) bool {
	s := &c.slots[h1%linkCacheSlots]
	return s.h1.Load() == h1 && s.h2.Load() == h2
}

// add remembers the link of key h1, h2.
func (c *linkCache) add(h1, h2 uint64) {
	s := &c.slots[h1%linkCacheSlots]
	s.h1.Store(h1)
	s.h2.Store(h2)
}
