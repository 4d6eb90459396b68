package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/structured"
)

// gcraScript reserves the next slot of a host's shared rate (the generic
// cell rate algorithm), slowed to the host's Crawl-delay and held back by
// its pause: it returns how many microseconds the caller must wait before
// sending. Time is the server's, so the clocks of the machines need not
// agree. ARGV: prefix, host, interval, burst.
var gcraScript = redis.NewScript(luaPrelude + `
local h, now = ARGV[2], now_us()
local iv, burst = limits(h, tonumber(ARGV[3]), tonumber(ARGV[4]))
local tat = tonumber(redis.call('GET', p .. 'rate:' .. h) or '0')
if tat < now then tat = now end
local wait = tat - (burst - 1) * iv - now
if wait < 0 then wait = 0 end
if iv > 0 then set_tat(h, tat + iv, now) end
return wait
`)

// SharedRate is a per-host rate limit shared by every process of a run
// through Redis: each request reserves the host's next slot, so N
// processes together send a host at most Rate requests a second (plus
// Burst at once after an idle time). It also carries the pauses
// (Retry-After) and Crawl-delays that any process learns to every other,
// and moves the host in the run's schedule. It satisfies
// ratelimit.SharedPolicy.
type SharedRate struct {
	f        *RedisFrontier
	interval time.Duration
	burst    int
}

// SharedRate returns the run's shared limiter for rate requests a second
// per host with the given burst (at least 1); a rate that is not positive
// limits nothing but the pauses and Crawl-delays. The frontier's schedule
// hands out the hosts' turns at this rate from then on.
func (f *RedisFrontier) SharedRate(rate float64, burst int) *SharedRate {
	s := &SharedRate{f: f, burst: max(burst, 1)}
	if rate > 0 && !math.IsInf(rate, 1) {
		s.interval = time.Duration(float64(time.Second) / rate)
	}
	f.mu.Lock()
	f.interval, f.burst = s.interval, s.burst
	f.mu.Unlock()
	return s
}

// Wait reserves host's next slot and waits for it, or until ctx ends. A
// slot reserved and then abandoned is lost, which only makes the host's
// rate lower.
func (s *SharedRate) Wait(ctx context.Context, host string) error {
	var us int64
	err := s.f.retry(ctx, "rate limit "+host, func(ctx context.Context) error {
		var err error
		us, err = gcraScript.Run(ctx, s.f.client, nil, s.f.keys.prefix, host, s.interval.Microseconds(), s.burst).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("shared rate for %s: %w", host, err)
	}
	if us <= 0 {
		return nil
	}
	return structured.Sleep(ctx, time.Duration(us)*time.Microsecond)
}

// policyTimeout bounds telling Redis of a pause or a Crawl-delay: the
// fetch waits for it, and this process's own limiter holds either way.
const policyTimeout = 2 * time.Second

// PauseUntil holds back every request to host, in every process, until
// t (measured from now on Redis's clock). A failure to reach Redis is
// ignored: this process's limiter still holds the pause.
func (s *SharedRate) PauseUntil(host string, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	_ = pauseScript.Run(ctx, s.f.client, nil, s.f.keys.prefix, host, d.Microseconds(), s.interval.Microseconds(), s.burst).Err()
}

// SetCrawlDelay spaces the requests to host, from every process, at
// least d apart (0: no Crawl-delay). A failure to reach Redis is
// ignored: this process's limiter still holds the delay.
func (s *SharedRate) SetCrawlDelay(host string, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	_ = crawlDelayScript.Run(ctx, s.f.client, nil, s.f.keys.prefix, host, max(d, 0).Microseconds()).Err()
}
