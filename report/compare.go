package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// comparer holds an older crawl to compare with: per URL its status and
// title, and whether the new crawl has it.
type comparer struct {
	old                           []string
	pages                         map[uint64]*oldPage
	added, status, title, removed Change
}

type oldPage struct {
	url, title string
	status     int
	seen       bool
}

// ReadOld adds the records of r, named name, to the older crawl that the
// report compares with. Call it before [Builder.Read]. Memory grows with
// the older crawl's URLs and titles.
func (b *Builder) ReadOld(ctx context.Context, name string, r io.Reader) error {
	if b.compare == nil {
		b.compare = &comparer{pages: map[uint64]*oldPage{}}
	}
	c := b.compare
	c.old = append(c.old, name)
	return readRecords(ctx, name, r, func(rec *record) error {
		h := b.hash(rec.URL)
		if _, dup := c.pages[h]; !dup && rec.Line == 0 {
			c.pages[h] = &oldPage{url: rec.URL, title: rec.Title, status: rec.Status}
		}
		return nil
	}, b.tornLine(name))
}

// see compares the new record r, of URL hash h, with the older crawl.
func (c *comparer) see(b *Builder, r *record, h uint64) {
	p := c.pages[h]
	if p == nil {
		c.add(b, &c.added, Item{URL: r.URL, Status: r.Status, Value: r.Title})
		return
	}
	p.seen = true
	if p.status != r.Status {
		c.add(b, &c.status, Item{URL: r.URL, Status: r.Status, Value: fmt.Sprintf("%s → %s", statusText(p.status), statusText(r.Status))})
	}
	if p.title != r.Title && r.isHTMLPage() {
		c.add(b, &c.title, Item{URL: r.URL, Value: fmt.Sprintf("%q → %q", p.title, r.Title)})
	}
}

func statusText(s int) string {
	if s == 0 {
		return "no answer"
	}
	return fmt.Sprint(s)
}

func (c *comparer) add(b *Builder, ch *Change, item Item) {
	ch.Count++
	if len(ch.Items) < b.opts.maxItems() {
		item.ID = itemID("compare", item.URL)
		ch.Items = append(ch.Items, item)
	}
}

// finish files the pages of the older crawl that the new one lacks and
// returns the comparison.
func (c *comparer) finish(b *Builder) *Comparison {
	var removed []*oldPage
	for _, p := range c.pages {
		if !p.seen {
			removed = append(removed, p)
		}
	}
	slices.SortFunc(removed, func(x, y *oldPage) int { return strings.Compare(x.url, y.url) })
	for _, p := range removed {
		c.add(b, &c.removed, Item{URL: p.url, Status: p.status, Value: p.title})
	}
	cmp := &Comparison{Old: c.old, Added: c.added, Removed: c.removed, StatusChanged: c.status, TitleChanged: c.title}
	for _, ch := range []*Change{&cmp.Added, &cmp.Removed, &cmp.StatusChanged, &cmp.TitleChanged} {
		if ch.Items == nil {
			ch.Items = []Item{}
		}
		slices.SortFunc(ch.Items, func(x, y Item) int { return strings.Compare(x.URL, y.URL) })
	}
	return cmp
}
