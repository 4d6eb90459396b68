package crawler

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/trawl-dev/trawl/store"
)

// DefaultHostQueueWarn is the number of URLs of one host queued and not
// yet fetched past which a crawl warns of a crawler trap.
const DefaultHostQueueWarn = 100_000

// hostWatch is a Frontier that counts, per host, the URLs it queued and
// that no worker has taken yet, and warns once, through warn, when one
// host passes threshold: a calendar or a session ID in every link makes a
// site endless, and the queue grows until memory runs out. The counts
// are this process's: on a shared frontier, URLs taken here that another
// process queued are not counted, and counts never go below zero.
type hostWatch struct {
	Frontier
	threshold int
	warn      func(msg string)

	mu     sync.Mutex
	queued map[string]int // host → URLs queued and not taken
	warned bool
}

// newHostWatch returns f watched; a [store.Deferrer] when f is one.
func newHostWatch(f Frontier, threshold int, warn func(string)) Frontier {
	w := &hostWatch{Frontier: f, threshold: threshold, warn: warn, queued: map[string]int{}}
	if d, ok := f.(store.Deferrer); ok {
		return hostWatchDeferrer{w, d}
	}
	return w
}

// hostWatchDeferrer is a hostWatch over a [store.Deferrer].
type hostWatchDeferrer struct {
	*hostWatch
	d store.Deferrer
}

// Defer implements [store.Deferrer]: a request deferred was counted as
// taken already.
func (w hostWatchDeferrer) Defer(req Request, d store.Deferral) error { return w.d.Defer(req, d) }

// Add implements [Frontier].
func (w *hostWatch) Add(ctx context.Context, req Request) (bool, error) {
	added, err := w.Frontier.Add(ctx, req)
	if !added {
		return added, err
	}
	host := hostOf(req.URL)
	w.mu.Lock()
	w.queued[host]++
	n := w.queued[host]
	fire := n > w.threshold && !w.warned
	w.warned = w.warned || fire
	w.mu.Unlock()
	if fire && w.warn != nil {
		w.warn(fmt.Sprintf("%s has more than %d URLs queued: a crawler trap? Bound the crawl with --max-pages or --depth, or --exclude the looping URLs", host, w.threshold))
	}
	return added, err
}

// Consumer implements [Frontier].
func (w *hostWatch) Consumer() Consumer { return hostWatchConsumer{w.Frontier.Consumer(), w} }

func (w *hostWatch) taken(url string) {
	host := hostOf(url)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queued[host] <= 1 {
		delete(w.queued, host)
		return
	}
	w.queued[host]--
}

type hostWatchConsumer struct {
	Consumer
	w *hostWatch
}

func (c hostWatchConsumer) Next(ctx context.Context) (Request, error) {
	req, err := c.Consumer.Next(ctx)
	if err == nil && req.Resume == nil { // a deferred one was counted when first taken
		c.w.taken(req.URL)
	}
	return req, err
}

// hostOf returns the host (and port) of a normalised URL without parsing
// it: what lies between "://" and the next '/'.
func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
