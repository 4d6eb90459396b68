package crawler

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryableStatus reports whether a response status is worth another
// attempt: 429 Too Many Requests and the 5xx server errors, except 501 Not
// Implemented, which will not change.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests ||
		(status >= 500 && status <= 599 && status != http.StatusNotImplemented)
}

// retryableKind reports whether a failure of this kind may pass on a new
// attempt: the network faults. DNS failures, TLS failures, refusals by the
// guard, oversize and undecodable bodies are answers, not accidents.
func retryableKind(k Kind) bool {
	switch k {
	case KindConnect, KindReset, KindTimeout, KindTruncated:
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP date, and returns how long to wait from now. ok is false for a
// missing or malformed value; a date in the past gives 0.
func parseRetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	const maxSecs = int64(1<<63-1) / int64(time.Second)
	secs, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err == nil && secs >= 0:
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	case errors.Is(err, strconv.ErrRange) && v[0] != '-':
		// More seconds than an int64 holds: as long as can be, which
		// --max-retry-after refuses, rather than no Retry-After at all.
		return time.Duration(maxSecs) * time.Second, true
	case err == nil:
		return 0, false // negative
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
