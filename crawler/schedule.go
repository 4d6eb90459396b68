package crawler

import (
	"context"
	"net/url"
	"strings"
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

// ScheduleShared makes rf, a frontier shared with other processes, hand
// out requests by host as [Fetcher.Schedule] does for one process: rf's
// schedule in Redis grants a host's turn of the rate, pause and
// Crawl-delay shared by every process ([Config.SharedLimiter], which
// should be rf's [store.RedisFrontier.SharedRate]), and the fetcher's
// limiter the host's slot in this process. A request comes with its
// turn in [Request.Turn], for [Fetcher.FetchTurn].
func (f *Fetcher) ScheduleShared(rf *store.RedisFrontier) {
	rf.SetGate(hostGate{f.limiter})
	f.limiter.OnRelease(rf.Wake)
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
	if k, ok := plainHostKey(rawURL); ok {
		return k
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL // not fetchable anyway: a queue of its own
	}
	return hostKey(u)
}

// plainHostKey is [hostKey] for a URL in trawl's normal form whose
// authority is a plain lower-case host name or IPv4 address with an
// optional port: the frontier keys every URL it queues, and parsing each
// was a tenth of a crawl's CPU. It reports false for anything else
// (userinfo, IPv6, upper case), which the caller parses.
func plainHostKey(raw string) (string, bool) {
	var rest, port string
	switch {
	case strings.HasPrefix(raw, "https://"):
		rest, port = raw[len("https://"):], "443"
	case strings.HasPrefix(raw, "http://"):
		rest, port = raw[len("http://"):], "80"
	default:
		return "", false
	}
	end := len(rest)
	colon := -1
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '/' || c == '?' || c == '#':
			end = i
		case c == ':' && colon < 0:
			colon = i
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			continue
		default:
			return "", false
		}
		break
	}
	host := rest[:end]
	if colon >= 0 {
		if colon >= end {
			return "", false
		}
		host, port = rest[:colon], rest[colon+1:end]
		if port == "" || strings.IndexFunc(port, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return "", false
		}
	}
	if host == "" {
		return "", false
	}
	return host + ":" + port, true
}

// TakeSlot implements [store.SlotGate].
func (g hostGate) TakeSlot(host string) (store.Turn, bool) {
	turn, full := g.l.TakeSlot(host)
	if turn == nil {
		return nil, full // a nil interface, not a nil *Turn in one
	}
	return turn, full
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
// rate token of its own: it waits only for a pause of the host. So does
// a robots.txt redirect hop to another host: waiting there for a slot
// while holding this host's slot would deadlock with a page of that
// host whose robots.txt redirects back here (one robots.txt request,
// at most robotsMaxRedirects hops, outside the other host's slots).
func (f *Fetcher) acquire(ctx context.Context, u *url.URL, o fetchOptions) (func(), error) {
	host := hostKey(u)
	if o.shareTurn {
		if err := f.limiter.WaitPause(ctx, host); err != nil {
			return nil, err
		}
		return func() {}, nil
	}
	if t := o.turn; t != nil && t.Host() == host {
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
