package store

import "context"

// journaledFrontier records every URL its Frontier queues.
type journaledFrontier struct {
	Frontier
	journal *Journal
}

// JournaledFrontier returns f with every URL it newly queues also recorded
// in j. The record is made before Add returns, so it precedes the record
// of the page that found the URL; a sink that syncs the journal before its
// own writes ([WithJournal]) then guarantees that a page in the output has
// its links in the journal.
// When f is a [Deferrer], so is the frontier returned.
func JournaledFrontier(f Frontier, j *Journal) Frontier {
	jf := journaledFrontier{Frontier: f, journal: j}
	if d, ok := f.(Deferrer); ok {
		return journaledDeferrer{jf, d}
	}
	return jf
}

// journaledDeferrer is a journaledFrontier over a [Deferrer]: a request
// deferred was journaled when it was queued, and is done once.
type journaledDeferrer struct {
	journaledFrontier
	d Deferrer
}

// Defer implements [Deferrer].
func (f journaledDeferrer) Defer(req Request, d Deferral) error { return f.d.Defer(req, d) }

// Add implements [Frontier].
func (f journaledFrontier) Add(ctx context.Context, req Request) (bool, error) {
	added, err := f.Frontier.Add(ctx, req)
	if !added || err != nil {
		return added, err
	}
	// A buffered append: it must not be skipped because the run is being
	// cancelled, or a queued URL could be missing from the journal.
	referrer := ""
	if req.Depth > 0 {
		referrer = req.Source // the page that found it; an input's Source is its file
	}
	return true, f.journal.EnqueueFrom(context.WithoutCancel(ctx), req.Depth, req.URL, referrer)
}
