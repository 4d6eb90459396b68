package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/structured"
	"golang.org/x/time/rate"
)

// Config sets the per-host limits of a [HostLimiter]. The zero value
// limits nothing: no rate, no concurrency limit.
type Config struct {
	// Rate is the steady number of requests per second allowed to one
	// host. Zero means unlimited (only Crawl-delay and pauses apply).
	Rate float64
	// Burst is how many requests a host may receive at once after being
	// idle. Zero or less means 1. It applies only when Rate is set; a
	// Crawl-delay forces a burst of 1.
	Burst int
	// PerHost is the most requests in flight to one host at a time. Zero
	// or less means unlimited. Waiters get slots in the order they came.
	PerHost int
	// IdleTTL is how long an unused host's state is kept. Zero means one
	// minute. It should exceed Burst/Rate so that dropping a host does not
	// hand it a burst earlier than its bucket would have.
	IdleTTL time.Duration
	// Shared, when set, is also waited on after the host's own limits, for
	// a rate shared with other processes (a run spread over several
	// machines). Nil means this process alone decides. When it is a
	// [SharedPolicy], the pauses and Crawl-delays the limiter learns are
	// passed on to it.
	Shared Shared
}

// Shared is a per-host limit held outside the process, such as a rate
// shared by every process of a run through Redis.
type Shared interface {
	// Wait returns when a request to host may start, or ctx's error.
	Wait(ctx context.Context, host string) error
}

// SharedPolicy is a [Shared] limit that also learns what a host asks of
// its clients, so that every process sharing it holds back: the limiter
// passes on each pause ([HostLimiter.PauseUntil]) and each change of
// Crawl-delay ([HostLimiter.SetCrawlDelay]) it is told of. The calls are
// made without the limiter's lock held; they should be quick and must
// not fail the caller (the limiter's own state holds either way).
type SharedPolicy interface {
	Shared
	// PauseUntil holds back every request to host until t.
	PauseUntil(host string, t time.Time)
	// SetCrawlDelay spaces the requests to host at least d apart.
	SetCrawlDelay(host string, d time.Duration)
}

// HostLimiter holds back requests per host: a slot among the host's
// PerHost slots, the end of the host's pause, and a token from its bucket.
// All methods are safe for concurrent use.
type HostLimiter struct {
	cfg       Config
	mu        sync.Mutex
	hosts     map[string]*hostState
	lastSweep time.Time
	onRelease func(host string) // see OnRelease; set once, before use
}

// hostState is one host's limits. Its fields are guarded by the limiter's
// mutex.
type hostState struct {
	name       string
	slots      *structured.Semaphore // nil when PerHost is unlimited
	users      int                   // callers inside Acquire or holding a slot
	pause      time.Time             // no request starts before this
	crawlDelay time.Duration
	bucket     *rate.Limiter // nil when neither Rate nor Crawl-delay is set
	limits     uint64        // counts the changes of the crawl delay (see UseTurn)
	lastUse    time.Time
}

// New returns a HostLimiter with the limits in cfg.
func New(cfg Config) *HostLimiter {
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = time.Minute
	}
	return &HostLimiter{cfg: cfg, hosts: make(map[string]*hostState), lastSweep: time.Now()}
}

// Acquire waits until a request to host may start: a free slot, the end of
// any pause on host, a token from host's bucket, then the Shared limit. It
// returns a release func that frees the slot; call it exactly once when
// the request is over (later calls do nothing). If ctx is cancelled first,
// Acquire returns ctx's error and holds no slot.
func (l *HostLimiter) Acquire(ctx context.Context, host string) (release func(), err error) {
	t, err := l.AcquireTurn(ctx, host)
	if err != nil {
		return nil, err
	}
	return t.Release, nil
}

// enter returns host's state, creating it, and counts the caller as a
// user so that the state is not dropped while in use.
func (l *HostLimiter) enter(host string) *hostState {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastSweep) >= l.cfg.IdleTTL {
		l.sweepLocked(now)
	}
	h := l.stateLocked(host)
	h.users++
	h.lastUse = now
	return h
}

// stateLocked returns host's state, creating it.
func (l *HostLimiter) stateLocked(host string) *hostState {
	h := l.hosts[host]
	if h == nil {
		h = &hostState{name: host}
		if l.cfg.PerHost > 0 {
			h.slots = structured.NewSemaphore(l.cfg.PerHost, structured.WithMaxValue(l.cfg.PerHost))
		}
		l.configureLocked(h, time.Now())
		l.hosts[host] = h
	}
	return h
}

// leave undoes enter, and frees the slot when held, handing it to the
// oldest waiter.
func (l *HostLimiter) leave(h *hostState, held bool) {
	l.mu.Lock()
	if held && h.slots != nil {
		_ = h.slots.Release() // cannot fail: each Release pairs with an Acquire
	}
	h.users--
	h.lastUse = time.Now()
	l.forgetIfFreeLocked(h, h.lastUse)
	notify := l.onRelease
	l.mu.Unlock()
	if notify != nil {
		notify(h.name)
	}
}

// forgetIfFreeLocked drops h's state at once when keeping it would change
// nothing: no user, no pause pending, no Crawl-delay and a full bucket (or
// none), so that a state made afresh is the same. A run over a million
// hosts then holds state only for the hosts in flight or owing a wait,
// not for every host of the last IdleTTL.
func (l *HostLimiter) forgetIfFreeLocked(h *hostState, now time.Time) {
	if h.users != 0 || now.Before(h.pause) || h.crawlDelay != 0 || l.hosts[h.name] != h {
		return
	}
	if b := h.bucket; b != nil && b.TokensAt(now) < float64(b.Burst()) {
		return
	}
	delete(l.hosts, h.name)
}

// takeSlot waits for one of h's slots, first come first served.
func (l *HostLimiter) takeSlot(ctx context.Context, h *hostState) error {
	if h.slots == nil {
		return ctx.Err()
	}
	return h.slots.Acquire(ctx)
}

// waitTurn waits out h's pause and then for a token, checking the pause
// again after the token since a pause may be set meanwhile.
func (l *HostLimiter) waitTurn(ctx context.Context, h *hostState) error {
	reserved := false
	for {
		l.mu.Lock()
		now := time.Now()
		if pause := h.pause; now.Before(pause) {
			l.mu.Unlock()
			if err := structured.Sleep(ctx, pause.Sub(now)); err != nil {
				return err
			}
			continue
		}
		if reserved {
			l.mu.Unlock()
			return nil
		}
		var d time.Duration
		if h.bucket != nil {
			// A reservation is never cancelled, even when ctx is: the
			// token stays spent, which errs on the polite side (and
			// Reservation.CancelAt restores a wrong count, golang/go#69419).
			d = h.bucket.ReserveN(now, 1).DelayFrom(now)
		}
		reserved = true
		l.mu.Unlock()
		if err := structured.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// PauseUntil holds back every new request to host until t, as a server's
// Retry-After asks. Requests already in flight are not affected, nor are
// other hosts. A pause only ever extends: an earlier t than the current
// pause does nothing.
func (l *HostLimiter) PauseUntil(host string, t time.Time) {
	l.mu.Lock()
	h := l.stateLocked(host)
	extended := t.After(h.pause)
	if extended {
		h.pause = t
	}
	h.lastUse = time.Now()
	l.mu.Unlock()
	if sp, ok := l.cfg.Shared.(SharedPolicy); ok && extended {
		sp.PauseUntil(host, t)
	}
}

// SetCrawlDelay sets a robots.txt Crawl-delay for host: requests to it
// start at least d apart, whatever the configured rate. Zero removes it.
// The delay is forgotten when the host's idle state is dropped.
func (l *HostLimiter) SetCrawlDelay(host string, d time.Duration) {
	l.mu.Lock()
	h := l.stateLocked(host)
	changed := h.crawlDelay != max(d, 0)
	if changed {
		h.crawlDelay = max(d, 0)
		h.limits++
		l.configureLocked(h, time.Now())
	}
	h.lastUse = time.Now()
	l.mu.Unlock()
	if sp, ok := l.cfg.Shared.(SharedPolicy); ok && changed {
		sp.SetCrawlDelay(host, max(d, 0))
	}
}

// configureLocked sets h's bucket from the configured rate and h's crawl
// delay, whichever is slower.
func (l *HostLimiter) configureLocked(h *hostState, now time.Time) {
	limit, burst := rate.Inf, l.cfg.Burst
	if l.cfg.Rate > 0 {
		limit = rate.Limit(l.cfg.Rate)
	}
	if h.crawlDelay > 0 {
		limit = min(limit, rate.Every(h.crawlDelay))
		burst = 1
	}
	switch {
	case limit == rate.Inf:
		h.bucket = nil
	case h.bucket == nil:
		h.bucket = rate.NewLimiter(limit, burst)
	default:
		h.bucket.SetLimitAt(now, limit)
		h.bucket.SetBurstAt(now, burst)
	}
}

// Sweep drops the state of every host idle at now: nothing in flight or
// waiting, no pause pending, last used at least IdleTTL before now. It
// returns how many hosts it dropped. Acquire sweeps on its own about once
// per IdleTTL; call Sweep to bound memory at chosen times.
func (l *HostLimiter) Sweep(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sweepLocked(now)
}

func (l *HostLimiter) sweepLocked(now time.Time) int {
	l.lastSweep = now
	n := 0
	for host, h := range l.hosts {
		if h.users == 0 && !now.Before(h.pause) && now.Sub(h.lastUse) >= l.cfg.IdleTTL {
			delete(l.hosts, host)
			n++
		}
	}
	return n
}

// Hosts returns how many hosts the limiter holds state for.
func (l *HostLimiter) Hosts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hosts)
}
