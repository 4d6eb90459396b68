package ratelimit

import (
	"math/rand/v2"
	"time"
)

// Backoff computes the delay before a retry: exponential backoff with full
// jitter, a uniformly random duration in [0, min(Max, Base·2^attempt)].
// Full jitter spreads the retries of many clients that failed together.
//
// The zero value is ready to use: Base 500ms, Max 30s, the global random
// source.
type Backoff struct {
	// Base is the cap of the first retry's delay. Zero means 500ms.
	Base time.Duration
	// Max caps every delay. Zero means 30s.
	Max time.Duration
	// Rand is the random source; nil uses the global source, which is safe
	// for concurrent use. A *rand.Rand is not: give each goroutine its own,
	// or use one seeded source in single-goroutine tests.
	Rand *rand.Rand
}

// Delay returns the delay before retry number attempt, counting from 0 for
// the first retry. A negative attempt counts as 0.
func (b Backoff) Delay(attempt int) time.Duration {
	ceiling := b.Ceiling(attempt)
	if ceiling <= 0 {
		return 0
	}
	n := int64(ceiling) + 1
	if b.Rand != nil {
		return time.Duration(b.Rand.Int64N(n))
	}
	return time.Duration(rand.Int64N(n))
}

// Ceiling returns the largest delay [Backoff.Delay] may return for
// attempt: min(Max, Base·2^attempt).
func (b Backoff) Ceiling(attempt int) time.Duration {
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if limit <= 0 {
		limit = 30 * time.Second
	}
	if attempt < 0 {
		attempt = 0
	}
	d := base
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
