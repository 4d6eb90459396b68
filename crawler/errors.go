package crawler

import (
	"errors"
	"fmt"
)

// Kind is the stable name of what went wrong with a URL. Kinds appear in
// the output as error.kind and are part of trawl's output format: they are
// never renamed.
type Kind string

// The error kinds, as they appear in the output.
const (
	KindInvalidURL        Kind = "invalid_url"        // the input is not a fetchable http(s) URL
	KindDNS               Kind = "dns"                // the host name did not resolve
	KindConnect           Kind = "connect"            // the TCP connection failed or was refused
	KindTLS               Kind = "tls"                // the TLS handshake or certificate check failed
	KindTimeout           Kind = "timeout"            // the per-request deadline expired (headers or body)
	KindReset             Kind = "reset"              // the peer reset or closed the connection mid-response
	KindTruncated         Kind = "truncated"          // the body ended before its declared length
	KindTooLarge          Kind = "too_large"          // the decoded body passed the max-body limit, or the record store.MaxRecordBytes
	KindTooManyRedirects  Kind = "too_many_redirects" // more redirects than allowed
	KindRedirectLoop      Kind = "redirect_loop"      // a redirect led back to a URL already visited
	KindRobotsDisallowed  Kind = "robots_disallowed"  // robots.txt forbids the URL for trawl
	KindRobotsUnavailable Kind = "robots_unavailable" // robots.txt answered 429 or 5xx: the host is held off for a while
	KindDeniedPrivate     Kind = "denied_private"     // the address is private and --deny-private is on
	KindOutOfScope        Kind = "out_of_scope"       // a redirect left the crawl scope
	KindDecode            Kind = "decode"             // the body could not be decompressed or decoded
	KindHTTP              Kind = "http"               // the final status was 400 or above after retries
	KindRateLimited       Kind = "rate_limited"       // a 429 or 503 asked to wait longer than the max Retry-After
	KindCancelled         Kind = "cancelled"          // the run stopped before the URL was done
	KindStore             Kind = "store"              // --store could not save the body (the record is written all the same)
	KindRender            Kind = "render"             // --render: the browser crashed twice on the page or did not answer (the record keeps the page as fetched)
)

// Error is what happened to one URL. Match it with [errors.As]; Kind is
// stable, Err carries the detail.
type Error struct {
	Kind Kind
	URL  string
	Err  error
}

// Error formats as "<kind> <url>: <detail>", with the password of every
// URL in it redacted (see [RedactURL]).
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s %s", e.Kind, RedactURL(e.URL))
	}
	return redactURLsIn(fmt.Sprintf("%s %s: %v", e.Kind, e.URL, e.Err))
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// newError returns an *Error of the given kind.
func newError(kind Kind, url string, err error) *Error {
	return &Error{Kind: kind, URL: url, Err: err}
}

// KindOf returns the kind of err when it is or wraps an *Error, and "" for
// nil or any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
