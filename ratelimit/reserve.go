package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// A Turn is a host's turn taken ahead of its request by
// [HostLimiter.TryAcquire]: one of the host's slots and one token from its
// bucket, both already taken. It lets a scheduler hand a worker only work
// that may start at once, with the limiter's state and the schedule never
// disagreeing: the slot and the token are spent at hand-off, and the
// request that uses the turn must not wait for them again.
//
// The first request sent on the turn's behalf claims it with [Turn.Use];
// Release frees the slot. Release may be called any number of times, from
// the request and from whoever handed the turn out; only the first call
// counts.
type Turn struct {
	host    string
	used    atomic.Bool
	release func()
	h       *hostState // kept while the turn holds its slot
	limits  uint64     // h.limits when the turn was taken
}

// Host returns the key of the host the turn belongs to.
func (t *Turn) Host() string { return t.host }

// Use claims the turn for one request and reports whether it was still
// unclaimed. Only the first call returns true.
func (t *Turn) Use() bool { return !t.used.Swap(true) }

// Release frees the turn's slot. Calls after the first do nothing. A turn
// released without being used still spent its token, which errs on the
// polite side.
func (t *Turn) Release() { t.release() }

// OnRelease sets fn to be called with a host's key whenever a slot of that
// host is freed or a waiter for one gives up, so that a scheduler waiting
// for a free slot (the zero time from [HostLimiter.TryAcquire]) can ask
// again. fn is called without the limiter's lock held, and must not
// block. Set it once, before the limiter is used.
func (l *HostLimiter) OnRelease(fn func(host string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onRelease = fn
}

// TryAcquire takes host's turn if a request to it may start now: no pause
// in force, a token in its bucket and a free slot (never ahead of a caller
// already waiting in Acquire). It then returns the turn and the zero time.
// Otherwise it takes nothing and returns nil and the time at which to ask
// again: the end of the pause, or when the next token is due; the zero
// time when every slot is busy (ask again after [HostLimiter.OnRelease]
// reports host). The time may be early when other callers take tokens in
// the meantime; asking again then gives a later one.
//
// TryAcquire does not consult [Config.Shared]: a limit shared with other
// processes is waited on by Acquire only.
func (l *HostLimiter) TryAcquire(host string) (*Turn, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastSweep) >= l.cfg.IdleTTL {
		l.sweepLocked(now)
	}
	h := l.stateLocked(host)
	h.lastUse = now
	if now.Before(h.pause) {
		return nil, h.pause
	}
	if h.bucket != nil {
		if tokens := h.bucket.TokensAt(now); tokens < 1 {
			wait := math.Ceil((1 - tokens) / float64(h.bucket.Limit()) * float64(time.Second))
			return nil, now.Add(max(time.Duration(wait), time.Nanosecond))
		}
	}
	if h.slots != nil && h.slots.TryAcquire() != nil {
		return nil, time.Time{}
	}
	if h.bucket != nil {
		h.bucket.AllowN(now, 1) // cannot fail: a whole token is there
	}
	h.users++
	var once sync.Once
	release := func() { once.Do(func() { l.leave(h, true) }) }
	return &Turn{host: host, release: release, h: h, limits: h.limits}, time.Time{}
}

// AcquireTurn is [HostLimiter.Acquire] as a [Turn]: it waits until a
// request to host may start (slot, pause, token, then the Shared limit),
// and returns the turn holding the slot. It lets a caller wait for the
// host under one context (the intake of new work) and run the request
// under another. If ctx ends first it holds nothing and returns ctx's
// error.
func (l *HostLimiter) AcquireTurn(ctx context.Context, host string) (*Turn, error) {
	h := l.enter(host)
	if err := l.takeSlot(ctx, h); err != nil {
		l.leave(h, false)
		return nil, err
	}
	if err := l.waitTurn(ctx, h); err != nil {
		l.leave(h, true)
		return nil, err
	}
	if l.cfg.Shared != nil {
		if err := l.cfg.Shared.Wait(ctx, host); err != nil {
			l.leave(h, true)
			return nil, err
		}
	}
	l.mu.Lock()
	limits := h.limits
	l.mu.Unlock()
	var once sync.Once
	release := func() { once.Do(func() { l.leave(h, true) }) }
	return &Turn{host: host, release: release, h: h, limits: limits}, nil
}

// UseTurn claims t ([Turn.Use]) for a request to t's host about to start
// and returns the release of its slot, or ok false when t was claimed
// already (the caller then waits in Acquire). The token was taken with
// the turn, under the limits of that moment. When the host's Crawl-delay
// changed since (learned from the robots.txt read for this very request,
// while other turns may have been taken under the old limits), UseTurn
// waits for a token under the new limits, so that the delay holds from
// the first page on. If ctx ends while it waits, the slot is released and
// ctx's error returned.
func (l *HostLimiter) UseTurn(ctx context.Context, t *Turn) (release func(), ok bool, err error) {
	if !t.Use() {
		return nil, false, nil
	}
	l.mu.Lock()
	var d time.Duration
	if b := t.h.bucket; b != nil && t.h.limits != t.limits {
		now := time.Now()
		d = b.ReserveN(now, 1).DelayFrom(now)
	}
	l.mu.Unlock()
	if err := structured.Sleep(ctx, d); err != nil {
		t.Release()
		return nil, true, err
	}
	return t.Release, true, nil
}

// WaitPause waits until no pause holds back host (see
// [HostLimiter.PauseUntil]), without taking a slot or a token: for a
// request that runs within a slot its caller already holds.
func (l *HostLimiter) WaitPause(ctx context.Context, host string) error {
	for {
		l.mu.Lock()
		var pause time.Time
		if h := l.hosts[host]; h != nil {
			pause = h.pause
		}
		l.mu.Unlock()
		now := time.Now()
		if !now.Before(pause) {
			return ctx.Err()
		}
		if err := structured.Sleep(ctx, pause.Sub(now)); err != nil {
			return err
		}
	}
}

// TakeSlot takes one of host's slots for a request whose other limits
// (pause, rate, Crawl-delay) a schedule shared with other processes has
// already granted, and returns it as a [Turn] that spends no token of
// this limiter. full reports that every slot of host is busy now: with
// the turn taken, or, when the turn is nil, already (ask again after
// [HostLimiter.OnRelease] reports host). It never takes a slot ahead of a
// caller waiting in Acquire.
func (l *HostLimiter) TakeSlot(host string) (t *Turn, full bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastSweep) >= l.cfg.IdleTTL {
		l.sweepLocked(now)
	}
	h := l.stateLocked(host)
	h.lastUse = now
	if h.slots != nil && h.slots.TryAcquire() != nil {
		return nil, true
	}
	h.users++
	var once sync.Once
	release := func() { once.Do(func() { l.leave(h, true) }) }
	return &Turn{host: host, release: release, h: h, limits: h.limits}, h.slots != nil && h.slots.Value() == 0
}
