package report

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"slices"
	"strings"
)

// Options tune a [Builder]. The zero value is ready to use.
type Options struct {
	// MaxItems bounds the items kept per finding (the count stays
	// exact); 0 means 10,000.
	MaxItems int
	// MaxGroupURLs bounds the pages listed per group of duplicates; 0
	// means 20.
	MaxGroupURLs int
	// TopN is the length of the slowest, largest and deepest lists; 0
	// means 50.
	TopN int
}

func (o Options) maxItems() int     { return orDefault(o.MaxItems, 10_000) }
func (o Options) maxGroupURLs() int { return orDefault(o.MaxGroupURLs, 20) }
func (o Options) topN() int         { return orDefault(o.TopN, 50) }

// maxPending bounds the canonical URLs kept to check at the end.
func (o Options) maxPending() int { return 200_000 }

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// Page flags in [pageInfo].
const (
	flagFailed     = 1 << iota // an error status or no answer
	flagRedirected             // redirected to another URL
	flagNoindex                // asks not to be indexed
	flagSitemap                // depth 0 and not an input: a sitemap page
)

// pageInfo is what the builder keeps per URL.
type pageInfo struct {
	idx    uint32 // the URL in the arena
	status int16
	flags  uint8
}

// linksIn values: the count of pages linking to a URL, and whether one
// of them is on the URL's host.
const (
	countMask    = 1<<31 - 1
	sameHostFlag = 1 << 31
)

// pending is a broken-URL item waiting for its link count.
type pending struct {
	check Check
	item  Item
}

// canonicalRef is a canonical URL to look up once every page is known.
type canonicalRef struct {
	page   uint32
	target string
}

// A Builder aggregates records into a [Report], streaming: feed it with
// [Builder.Read], then call [Builder.Report] once.
type Builder struct {
	opts  Options
	seed  maphash.Seed
	urls  arena
	pages table[pageInfo]
	// linksIn counts, per URL hash, the pages that link to it.
	linksIn               table[uint32]
	linkHashes            []uint64 // countLinks' buffer
	titles, descs, bodies dupIndex
	broken                []pending
	pendingBroken         map[string]int
	canonicals            []canonicalRef
	canonicalsDropped     int
	canonicalsUnknown     int
	findings              map[string]*Finding
	hosts                 map[string]struct{}
	cov                   Coverage
	status, kinds, depths map[string]int
	times                 [len(timeBuckets) + 1]int
	slow, large, deep     topList
	sawRobotsMeta         bool
	sawH1Count            bool // a record has h1_count: its trawl writes it
	checked, notes        []string
	inputs                []string
	compare               *comparer
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	b := &Builder{
		opts: opts, seed: maphash.MakeSeed(),
		findings: map[string]*Finding{}, pendingBroken: map[string]int{}, hosts: map[string]struct{}{},
		status: map[string]int{}, kinds: map[string]int{}, depths: map[string]int{},
		slow: topList{n: opts.topN()}, large: topList{n: opts.topN()}, deep: topList{n: opts.topN()},
	}
	b.titles.init(b)
	b.descs.init(b)
	b.bodies.init(b)
	b.cov.Mode = "list"
	b.cov.Seeds = []string{}
	return b
}

// hash returns the key of s in the builder's tables: 63 bits of hash,
// the lowest bit always 0 (countLinks uses it for a flag).
func (b *Builder) hash(s string) uint64 { return maphash.String(b.seed, s) &^ 1 }

// Read adds the records of r, named name in errors and in the report.
func (b *Builder) Read(ctx context.Context, name string, r io.Reader) error {
	b.inputs = append(b.inputs, name)
	return readRecords(ctx, name, r, func(rec *record) error {
		b.addRecord(rec)
		return nil
	}, b.tornLine(name))
}

// tornLine notes a last line of name left out because it was cut short.
func (b *Builder) tornLine(name string) func(line int) {
	return func(line int) {
		b.notes = append(b.notes, fmt.Sprintf("%s line %d left out: the last line is cut short (a crawl still being written, or stopped mid-record)", name, line))
	}
}

// addRecord adds one record; a URL seen before is counted and skipped.
func (b *Builder) addRecord(r *record) {
	b.cov.Records++
	if r.Line > 0 && r.errorKind() == "invalid_url" {
		b.cov.Invalid++
		return
	}
	h := b.hash(r.URL)
	slot, dup := b.pages.upsert(h)
	if dup {
		b.cov.Duplicates++
		return
	}
	idx := b.urls.add(r.URL)
	info := pageInfo{idx: idx, status: int16(min(r.Status, 999))}
	if r.failed() {
		info.flags |= flagFailed
	}
	if r.redirected() {
		info.flags |= flagRedirected
	}
	if r.noindex() {
		info.flags |= flagNoindex
	}
	if r.Depth == 0 && r.Input == "" {
		info.flags |= flagSitemap
	}
	*slot = info
	b.countRecord(r)
	b.countLinks(r)
	b.checkRecord(r, idx)
	if b.compare != nil {
		b.compare.see(b, r, h)
	}
}

// countRecord adds r to the coverage, the charts and the top lists.
func (b *Builder) countRecord(r *record) {
	c := &b.cov
	if r.Depth > 0 || r.Referrer != "" {
		c.Mode = "crawl"
	}
	if r.Depth == 0 {
		c.SeedCount++
		if len(c.Seeds) < 20 {
			c.Seeds = append(c.Seeds, r.URL)
		}
	}
	c.MaxDepth = max(c.MaxDepth, r.Depth)
	if h := hostOf(r.URL); h != "" && len(b.hosts) < 100_000 {
		b.hosts[h] = struct{}{}
	}
	switch k := r.errorKind(); k {
	case "":
	case "robots_disallowed":
		c.RobotsBlocked++
	case "out_of_scope":
		c.OutOfScope++
	case "cancelled":
		c.Cancelled++
	}
	if k := r.errorKind(); k != "" && k != "http" {
		c.Errors++
		b.kinds[k]++
	}
	if r.LinksTruncated {
		c.LinksTruncated++
	}
	if r.RobotsMeta != nil {
		b.sawRobotsMeta = true
	}
	if r.FetchedAt != "" {
		if c.First == "" || r.FetchedAt < c.First {
			c.First = r.FetchedAt
		}
		c.Last = max(c.Last, r.FetchedAt)
	}
	b.status[statusClass(r)]++
	b.depths[depthLabel(r.Depth)]++
	if r.Status > 0 {
		b.times[timeBucket(r.ElapsedMS)]++
		b.slow.add(r.URL, r.ElapsedMS)
		b.large.add(r.URL, r.Bytes)
	}
	b.deep.add(r.URL, int64(r.Depth))
}

// countLinks counts r's links, each once per page (trawl writes them
// without duplicates). The hashes are computed first and the table
// touched after, in a loop short enough for the processor to have many
// of its cache misses in flight at once: the table is far larger than
// the cache, and these misses were the largest cost of a report.
func (b *Builder) countLinks(r *record) {
	host := hostOf(r.self())
	b.linkHashes = b.linkHashes[:0]
	for i := range r.Links.Len() {
		l := r.Links.At(i)
		h := maphash.Bytes(b.seed, l) &^ 1 // as b.hash
		if onHost(l, host) {
			h |= 1 // "same host", for the loop below
		}
		b.linkHashes = append(b.linkHashes, h)
	}
	for _, h := range b.linkHashes {
		v, _ := b.linksIn.upsert(h &^ 1)
		if *v&countMask < countMask {
			*v++
		}
		if h&1 != 0 {
			*v |= sameHostFlag
		}
	}
}

// linkedFrom returns the number of crawled pages that link to u.
func (b *Builder) linkedFrom(u string) int {
	v, _ := b.linksIn.get(b.hash(u))
	return int(v & countMask)
}

// add files item under check, keeping up to MaxItems items.
func (b *Builder) add(c Check, item Item) {
	f := b.findings[c.ID]
	if f == nil {
		f = &Finding{Check: c, Items: []Item{}}
		b.findings[c.ID] = f
	}
	f.Count++
	if len(f.Items) >= b.opts.maxItems() || item.URL == "" {
		f.Truncated = true
		return
	}
	key := item.URL
	if item.Count > 0 && item.Value != "" {
		key = item.Value // a group is about its value
	}
	item.ID = itemID(c.ID, key)
	f.Items = append(f.Items, item)
}

// itemID returns a finding item's stable ID.
func itemID(check, key string) string {
	sum := sha256.Sum256([]byte(check + "\x00" + key))
	return check + "-" + hex.EncodeToString(sum[:5])
}

// Report finishes the checks and returns the report. Call it once, after
// the last Read.
func (b *Builder) Report() *Report {
	b.finishCoverage()
	b.checked = append(b.checked, idsOf(Checks[:len(Checks)-1])...)
	if !b.sawRobotsMeta {
		b.checked = slices.DeleteFunc(b.checked, func(id string) bool {
			return id == checkNoindex.ID || id == checkCanonNoindex.ID
		})
		b.notes = append(b.notes, "noindex not checked: the records have no robots_meta (crawl with --fields +robots_meta)")
	}
	if !b.sawH1Count && b.cov.HTMLPages > 0 {
		// trawl writes h1_count only for two or more <h1>, and versions
		// before it never do: records without one cannot tell which.
		b.notes = append(b.notes, "multiple h1: no record has h1_count, so no page has two or more h1, unless the records come from a trawl older than h1_count")
	}
	b.finishChecks()
	if n := b.canonicalsUnknown; n > 0 {
		b.notes = append(b.notes, fmt.Sprintf("%d canonical %s not checked: not crawled", n, plural(n, "URL", "URLs")))
	}
	if n := b.canonicalsDropped; n > 0 {
		b.notes = append(b.notes, fmt.Sprintf("%d canonical %s not checked: more than %d to look up", n, plural(n, "URL", "URLs"), b.opts.maxPending()))
	}
	rep := &Report{
		Inputs: b.inputs, Coverage: b.cov, Overview: b.overview(), Findings: b.sortedFindings(),
		Checked: b.checked, Notes: b.notes,
		Slowest: b.slow.sorted(), Largest: b.large.sorted(), Deepest: b.deep.sorted(),
	}
	if b.compare != nil {
		rep.Compare = b.compare.finish(b)
	}
	return rep
}

// finishCoverage counts what the crawl left out and decides whether it
// was truncated.
func (b *Builder) finishCoverage() {
	c := &b.cov
	c.Hosts = len(b.hosts)
	c.HostNames = slices.Sorted(maps.Keys(b.hosts))
	c.HostNames = c.HostNames[:min(len(c.HostNames), 10)]
	c.Incomplete = c.Cancelled > 0
	if c.Mode == "crawl" {
		for h, v := range b.linksIn.all() {
			if _, ok := b.pages.get(h); ok {
				continue
			}
			if v&sameHostFlag != 0 {
				c.NotCrawled++
			} else {
				c.OffHost++
			}
		}
	}
	c.Truncated = c.Incomplete || c.NotCrawled > 0 || c.LinksTruncated > 0
}

// sortedFindings returns the findings in the order of [Checks], their
// items in a stable order.
func (b *Builder) sortedFindings() []Finding {
	out := []Finding{}
	for _, c := range Checks {
		f := b.findings[c.ID]
		if f == nil {
			continue
		}
		slices.SortStableFunc(f.Items, func(x, y Item) int {
			return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(y.LinkedFrom, x.LinkedFrom),
				strings.Compare(x.URL, y.URL), strings.Compare(x.Value, y.Value))
		})
		out = append(out, *f)
	}
	return out
}

func idsOf(cs []Check) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}
