// Package ratelimit keeps a crawler polite to each host it visits.
//
// A [HostLimiter] gives every host its own token bucket (requests per
// second and burst), its own limit on requests in flight, a pause that
// holds back that host alone (for Retry-After), and a minimum interval
// raised by robots.txt Crawl-delay. [HostLimiter.Acquire] waits for all of
// them, in that order: a free slot, the end of any pause, then a token.
//
// State for a host lives only while it is in use: once a host has no
// request in flight or waiting, no pause pending, and has been idle for the
// limiter's idle TTL, its state is dropped, so a crawl over millions of
// hosts holds memory for the busy ones only. Dropping a host forgets its
// crawl delay; the caller that learned it (the robots.txt cache) applies it
// again with [HostLimiter.SetCrawlDelay] before the next request.
//
// [Backoff] computes retry delays: exponential growth with full jitter.
package ratelimit
