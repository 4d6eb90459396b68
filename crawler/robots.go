package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/ratelimit"
)

// RobotsAgent is the product token trawl matches in robots.txt groups
// ("User-agent: trawl"), whatever User-Agent header is sent.
const RobotsAgent = "trawl"

const (
	// robotsTTL is how long a robots.txt is trusted (RFC 9309 §2.4: not
	// more than 24 hours).
	robotsTTL = 24 * time.Hour
	// robotsFailTTL is how long a failure to get robots.txt (5xx, 429,
	// unreachable) holds before it is fetched again.
	robotsFailTTL = time.Minute
	// robotsMaxBody is how much of a robots.txt is read: what is parsed
	// (RFC 9309 §2.5 asks for at least 500 KiB) and one byte more, for
	// the parser to see that the file was cut; a longer file is cut, not
	// refused.
	robotsMaxBody = robotsParseLimit + 1
	// robotsMaxRedirects follows RFC 9309 §2.3.1.2: at least five hops.
	robotsMaxRedirects = 5
	// robotsMaxEntries bounds the cache; expired and then arbitrary
	// entries are dropped past it.
	robotsMaxEntries = 10000
	// maxCrawlDelay caps a Crawl-delay, so that one robots.txt cannot
	// park the crawl on its host for hours.
	maxCrawlDelay = time.Minute
)

// robotsRules is what robots.txt says for one origin.
type robotsRules struct {
	allowAll, disallowAll bool
	group                 *robotsGroup // when neither of the above
	crawlDelay            time.Duration
	sitemaps              []string
	reason                string // why disallowAll, for the error message
	unavailable           bool   // disallowAll because robots.txt answered 429 or 5xx
	err                   error  // robots.txt was unreachable: pages fail with its kind
}

// allows reports whether the rules let trawl fetch u.
func (r *robotsRules) allows(u *url.URL) bool {
	switch {
	case r.allowAll:
		return true
	case r.disallowAll:
		return false
	case u.EscapedPath() == "/robots.txt":
		return true // RFC 9309 §2.2.2: implicitly allowed
	}
	return r.group.allows(u.RequestURI())
}

// robotsEntry is one origin's cache slot. The first caller for an origin
// fetches; later ones wait for ready. rules and expires are written before
// ready is closed and never after.
type robotsEntry struct {
	ready     chan struct{}
	rules     *robotsRules
	expires   time.Time
	abandoned bool // the fetching caller was cancelled: ask again
}

func (e *robotsEntry) done() bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// robotsCache holds robots.txt rules per origin (scheme, host and port),
// fetching each once however many requests want it at the same time.
type robotsCache struct {
	agent   string // the product token groups are matched against
	mu      sync.Mutex
	entries map[string]*robotsEntry
}

func newRobotsCache() *robotsCache {
	return &robotsCache{agent: RobotsAgent, entries: make(map[string]*robotsEntry)}
}

// robotsOrigin is the cache key of u: "scheme://host:port" as robots.txt
// applies to one origin (RFC 9309 §2.3).
func robotsOrigin(u *url.URL) string {
	return u.Scheme + "://" + hostKey(u)
}

// checkRobots returns nil when robots.txt lets trawl fetch u, an error of
// kind robots_disallowed when it does not, or the error that kept
// robots.txt from being read. It feeds the host's Crawl-delay to the
// limiter. turn, when not nil, is the host's turn taken for the page: a
// robots.txt fetch runs within its slot (see [Fetcher.FetchTurn]).
func (f *Fetcher) checkRobots(ctx context.Context, u *url.URL, turn *ratelimit.Turn) error {
	rules, err := f.robotsRules(ctx, u, turn)
	if err != nil {
		return err
	}
	if rules.err != nil {
		kind := KindOf(rules.err)
		if kind == "" {
			kind = KindRobotsDisallowed
		}
		detail := rules.err
		if e, ok := detail.(*Error); ok && e.Err != nil {
			detail = e.Err // the robots.txt URL is no news: the host is the page's
		}
		return newError(kind, u.String(), fmt.Errorf("%w (getting robots.txt)", detail))
	}
	if rules.crawlDelay > 0 {
		f.limiter.SetCrawlDelay(hostKey(u), rules.crawlDelay)
	}
	if !rules.allows(u) {
		msg := "disallowed by robots.txt for " + RobotsAgent
		if rules.reason != "" {
			msg = rules.reason
		}
		kind := KindRobotsDisallowed
		if rules.unavailable {
			kind = KindRobotsUnavailable
		}
		return newError(kind, u.String(), errors.New(msg))
	}
	return nil
}

// robotsRules returns the rules for u's origin, fetching them if needed.
// Concurrent callers for one origin share one fetch. turn is as for
// checkRobots.
func (f *Fetcher) robotsRules(ctx context.Context, u *url.URL, turn *ratelimit.Turn) (*robotsRules, error) {
	origin := robotsOrigin(u)
	c := f.robots
	for {
		c.mu.Lock()
		e := c.entries[origin]
		if e != nil && e.done() && (e.abandoned || !time.Now().Before(e.expires)) {
			delete(c.entries, origin)
			e = nil
		}
		if e == nil && (turn == nil || turn.Host() != hostKey(u)) {
			// Take a slot of u's host before claiming the load: a request
			// holding that host's turn may come to wait for this load,
			// and a load waiting for the slot it holds would never end.
			c.mu.Unlock()
			own, err := f.limiter.AcquireTurn(ctx, hostKey(u))
			if err != nil {
				return nil, cancelled(ctx, u)
			}
			c.mu.Lock()
			if e = c.entries[origin]; e == nil || e.done() && (e.abandoned || !time.Now().Before(e.expires)) {
				delete(c.entries, origin)
				e = &robotsEntry{ready: make(chan struct{})}
				c.entries[origin] = e
				c.trimLocked()
				c.mu.Unlock()
				defer own.Release()
				return f.loadRobots(ctx, u, origin, e, own)
			}
			c.mu.Unlock()
			own.Release() // loaded or being loaded meanwhile: wait for it
		} else if e == nil {
			e = &robotsEntry{ready: make(chan struct{})}
			c.entries[origin] = e
			c.trimLocked()
			c.mu.Unlock()
			return f.loadRobots(ctx, u, origin, e, turn)
		} else {
			c.mu.Unlock()
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, cancelled(ctx, u)
		}
		if !e.abandoned {
			return e.rules, nil
		}
	}
}

// loadRobots fetches origin's robots.txt into e and wakes its waiters.
func (f *Fetcher) loadRobots(ctx context.Context, u *url.URL, origin string, e *robotsEntry, turn *ratelimit.Turn) (*robotsRules, error) {
	resp, err := f.fetch(ctx, origin+"/robots.txt", fetchOptions{
		timeout:      min(f.cfg.RobotsTimeout, f.cfg.Timeout),
		budget:       f.cfg.Timeout,
		maxBody:      robotsMaxBody,
		cutBody:      true,
		maxRedirects: robotsMaxRedirects,
		retries:      f.cfg.Retries,
		turn:         turn,
		shareTurn:    true,
	})
	if KindOf(err) == KindCancelled || ctx.Err() != nil {
		e.abandoned = true
		close(e.ready)
		return nil, cancelled(ctx, u)
	}
	rules, ttl := robotsFor(resp, err, f.robots.agent)
	e.rules, e.expires = rules, time.Now().Add(ttl)
	close(e.ready)
	return rules, nil
}

// robotsFromResponse reads RFC 9309 §2.3.1 into rules and how long they
// hold: a 2xx is parsed; any other 4xx means no restrictions; 429, 5xx
// mean the site is unavailable and nothing may be fetched for a while; a
// network failure is kept as the error for the pages.
func robotsFromResponse(resp *Response, err error) (*robotsRules, time.Duration) {
	return robotsFor(resp, err, RobotsAgent)
}

// robotsFor is [robotsFromResponse] for the crawler whose product token
// is agent.
func robotsFor(resp *Response, err error, agent string) (*robotsRules, time.Duration) {
	switch {
	case resp == nil:
		return &robotsRules{err: err}, robotsFailTTL
	case resp.Status == http.StatusTooManyRequests || resp.Status >= 500:
		return &robotsRules{
			disallowAll: true,
			unavailable: true,
			reason: fmt.Sprintf("robots.txt answered status %d: holding off the host for %v (RFC 9309); --no-robots ignores robots.txt",
				resp.Status, robotsFailTTL),
		}, robotsFailTTL
	case resp.Status >= 400, err != nil:
		// 4xx, or a redirect chain that went nowhere: no robots.txt.
		return &robotsRules{allowAll: true}, robotsTTL
	case resp.Status >= 300:
		return &robotsRules{allowAll: true}, robotsTTL
	}
	file := parseRobots(resp.Body)
	g := file.group(agent)
	return &robotsRules{
		group:      g,
		crawlDelay: min(g.crawlDelay, maxCrawlDelay),
		sitemaps:   file.sitemaps,
	}, robotsTTL
}

// trimLocked keeps the cache under robotsMaxEntries: expired entries go
// first, then any finished ones.
func (c *robotsCache) trimLocked() {
	if len(c.entries) <= robotsMaxEntries {
		return
	}
	now := time.Now()
	for k, e := range c.entries {
		if e.done() && !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k, e := range c.entries {
		if len(c.entries) <= robotsMaxEntries*9/10 {
			return
		}
		if e.done() {
			delete(c.entries, k)
		}
	}
}

// Sitemaps returns the Sitemap: URLs of the robots.txt of rawURL's origin,
// if the fetcher has read it; nil otherwise.
func (f *Fetcher) Sitemaps(rawURL string) []string {
	if f.robots == nil {
		return nil
	}
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil
	}
	f.robots.mu.Lock()
	e := f.robots.entries[robotsOrigin(u)]
	f.robots.mu.Unlock()
	if e == nil || !e.done() || e.abandoned {
		return nil
	}
	return append([]string(nil), e.rules.sitemaps...)
}
