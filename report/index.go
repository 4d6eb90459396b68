package report

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
)

// arena holds strings end to end in large chunks, so that a million URLs
// cost their bytes and four bytes of index each, not a string header
// and an allocation.
type arena struct {
	chunks [][]byte
	offs   []uint64 // chunk<<32 | offset of each string's start
	lens   []uint32
}

const arenaChunk = 4 << 20

// add stores s and returns its index.
func (a *arena) add(s string) uint32 {
	n := len(a.chunks)
	if n == 0 || len(a.chunks[n-1])+len(s) > cap(a.chunks[n-1]) {
		a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, len(s))))
		n++
	}
	c := &a.chunks[n-1]
	a.offs = append(a.offs, uint64(n-1)<<32|uint64(len(*c)))
	a.lens = append(a.lens, uint32(len(s)))
	*c = append(*c, s...)
	return uint32(len(a.offs) - 1)
}

// get returns the string at index i.
func (a *arena) get(i uint32) string {
	o := a.offs[i]
	c := a.chunks[o>>32]
	start := uint32(o)
	return string(c[start : start+a.lens[i]])
}

// dupIndex finds values (titles, descriptions, body hashes) shared by
// several pages: per value hash the first page, and a group only once a
// second page has the value.
type dupIndex struct {
	b      *Builder
	first  table[uint32]
	groups map[uint64]*dupGroup
}

type dupGroup struct {
	value string
	count int
	pages []uint32
}

func (d *dupIndex) init(b *Builder) {
	d.b, d.groups = b, map[uint64]*dupGroup{}
}

// add records that page idx has value v.
func (d *dupIndex) add(v string, idx uint32) {
	h := d.b.hash(v)
	first, seen := d.first.upsert(h)
	if !seen {
		*first = idx
		return
	}
	g := d.groups[h]
	if g == nil {
		g = &dupGroup{value: v, pages: []uint32{*first}, count: 1}
		d.groups[h] = g
	}
	g.count++
	if len(g.pages) < d.b.opts.maxGroupURLs() {
		g.pages = append(g.pages, idx)
	}
}

// groups files every group of d under check.
func (b *Builder) groups(c Check, d *dupIndex) {
	gs := make([]*dupGroup, 0, len(d.groups))
	for _, g := range d.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(x, y *dupGroup) int {
		return cmp.Or(cmp.Compare(y.count, x.count), strings.Compare(x.value, y.value))
	})
	for _, g := range gs {
		urls := make([]string, len(g.pages))
		for i, p := range g.pages {
			urls[i] = b.urls.get(p)
		}
		slices.Sort(urls) // the same pages in any order of records give the same item
		b.add(c, Item{URL: urls[0], Value: g.value, Count: g.count, URLs: urls})
	}
}

// topList keeps the n pages of largest value: a min-heap of them.
type topList struct {
	n int
	h statHeap
}

func (t *topList) add(url string, v int64) {
	if len(t.h) < t.n {
		heap.Push(&t.h, PageStat{URL: url, Value: v})
		return
	}
	if less(t.h[0], PageStat{URL: url, Value: v}) {
		t.h[0] = PageStat{URL: url, Value: v}
		heap.Fix(&t.h, 0)
	}
}

// sorted returns the list, largest first.
func (t *topList) sorted() []PageStat {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(x, y PageStat) int {
		if less(x, y) {
			return 1
		}
		return -1
	})
	if out == nil {
		out = []PageStat{}
	}
	return out
}

// less orders page stats by value, then by URL (the later URL is less),
// so that the list does not depend on the order of the records.
func less(x, y PageStat) bool {
	if x.Value != y.Value {
		return x.Value < y.Value
	}
	return x.URL > y.URL
}

type statHeap []PageStat

func (h statHeap) Len() int           { return len(h) }
func (h statHeap) Less(i, j int) bool { return less(h[i], h[j]) }
func (h statHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *statHeap) Push(x any)        { *h = append(*h, x.(PageStat)) }
func (h *statHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
