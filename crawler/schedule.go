package crawler

import (
	"context"
	"net/url"
	"time"

	"github.com/trawl-dev/trawl/ratelimit"
	"github.com/trawl-dev/trawl/store"
)

// DefaultQueueMemory is the default bound on the memory the in-memory
// frontier's queued requests take in list mode: the input is read ahead
// into the per-host queues until they hold about this much.
const DefaultQueueMemory = 32 << 20

// Schedule makes mf hand out requests by the fetcher's per-host limits:
// mf keeps a queue per host (the limiter's host key) and gives a worker
// only a request whose host may start at once, with the host's slot and
// rate token already taken (a [ratelimit.Turn] in [Request.Turn], to pass
// to [Fetcher.FetchTurn]). A host that must wait (busy slots, a
// Retry-After pause, a rate token or Crawl-delay not yet due) is parked in
// mf until it may start, without holding up any worker.
//
// A limit shared with other processes ([Config.SharedLimiter]) cannot be
// taken ahead: with one, Schedule does nothing and the fetcher waits for
// the limits as before.
func (f *Fetcher) Schedule(mf *store.MemoryFrontier) {
	if f.cfg.Limiter == nil && f.cfg.SharedLimiter != nil {
		return
	}
	mf.SetGate(hostGate{f.limiter})
	f.limiter.OnRelease(mf.Wake)
}

// WaitTurn waits for the turn of rawURL's host in the fetcher's limiter
// (slot, pause, token, shared limit), for a request that came without
// one (from a frontier that does not schedule by host), to pass to
// [Fetcher.FetchTurn]. Waiting under ctx and fetching under another
// context lets a stop end the wait at once while requests on the wire
// finish. It returns ctx's error if ctx ends first, or the error of a URL
// that cannot be parsed.
func (f *Fetcher) WaitTurn(ctx context.Context, rawURL string) (*ratelimit.Turn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, newError(KindInvalidURL, rawURL, err)
	}
	return f.limiter.AcquireTurn(ctx, hostKey(u))
}

// hostGate is a [ratelimit.HostLimiter] as a [store.Gate].
type hostGate struct{ l *ratelimit.HostLimiter }

// HostKey implements [store.Gate] with the limiter's key, [hostKey].
func (g hostGate) HostKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL // not fetchable anyway: a queue of its own
	}
	return hostKey(u)
}

// TryStart implements [store.Gate].
func (g hostGate) TryStart(host string) (store.Turn, time.Time) {
	turn, at := g.l.TryAcquire(host)
	if turn == nil {
		return nil, at // a nil interface, not a nil *Turn in one
	}
	return turn, at
}

// acquire returns the release of u's host slot for one request: the
// turn's when the turn is for u's host and not used yet, otherwise one
// waited for in the limiter. A robots.txt fetched for the turn's request
// (shareTurn) runs within the turn's slot, before the page, and takes no
// rate token of its own: it waits only for a pause of the host.
func (f *Fetcher) acquire(ctx context.Context, u *url.URL, o fetchOptions) (func(), error) {
	host := hostKey(u)
	if t := o.turn; t != nil && t.Host() == host {
		if o.shareTurn {
			if err := f.limiter.WaitPause(ctx, host); err != nil {
				return nil, err
			}
			return func() {}, nil
		}
		if release, ok, err := f.limiter.UseTurn(ctx, t); ok {
			return release, err
		}
	}
	return f.limiter.Acquire(ctx, host)
}

// requestTurn returns the turn the frontier took for req, if any.
func requestTurn(req Request) *ratelimit.Turn {
	t, _ := req.Turn.(*ratelimit.Turn)
	return t
}
