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
// cell rate algorithm): it returns how many microseconds the caller must
// wait before sending. Time is the server's, so the clocks of the
// machines need not agree.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.floor((next - now) / 1000) + 1000)
return wait
`)

// SharedRate is a per-host rate limit shared by every process of a run
// through Redis: each request reserves the host's next slot, so N
// processes together send a host at most Rate requests a second (plus
// Burst at once after an idle time). It satisfies ratelimit.Shared.
type SharedRate struct {
	f        *RedisFrontier
	interval time.Duration
	burst    int
}

// SharedRate returns the run's shared limiter for rate requests a second
// per host with the given burst (at least 1); nil when rate is not
// positive.
func (f *RedisFrontier) SharedRate(rate float64, burst int) *SharedRate {
	if rate <= 0 || math.IsInf(rate, 1) {
		return nil
	}
	return &SharedRate{f: f, interval: time.Duration(float64(time.Second) / rate), burst: max(burst, 1)}
}

// Wait reserves host's next slot and waits for it, or until ctx ends. A
// slot reserved and then abandoned is lost, which only makes the host's
// rate lower.
func (s *SharedRate) Wait(ctx context.Context, host string) error {
	var us int64
	err := s.f.retry(ctx, "rate limit "+host, func(ctx context.Context) error {
		var err error
		us, err = gcraScript.Run(ctx, s.f.client, []string{s.f.keys.prefix + "rate:" + host},
			s.interval.Microseconds(), s.burst).Int64()
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
