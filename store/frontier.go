package store

import (
	"context"
	"crypto/sha256"
	"time"
)

// FingerprintSize is the size of a [Fingerprint] in bytes.
const FingerprintSize = 16

// Fingerprint returns the key of a normalised URL in the seen sets: the
// first 128 bits of its SHA-256. A seen set drops every URL whose
// fingerprint it holds, so the hash must be collision-resistant: a page
// that could make two URLs collide could hide one of them from a crawl
// (64-bit FNV-1a, used before, gave up collisions in about a minute).
// The hash is unkeyed, so it is the same in every process and release of
// trawl; the shared seen set of a Redis run depends on that.
func Fingerprint(normalized string) [FingerprintSize]byte {
	sum := sha256.Sum256([]byte(normalized))
	return [FingerprintSize]byte(sum[:FingerprintSize])
}

// A Request is one URL waiting to be fetched.
type Request struct {
	// URL is the normalised absolute URL.
	URL string
	// Depth is 0 for inputs and seeds, the referring page's depth + 1 for
	// discovered links.
	Depth int
	// Source is the input the URL came from, or the referring page.
	Source string
	// Line is the line number in Source, 0 when not read from a file.
	Line int
	// FallbackHTTP is set for an input written without a scheme (a bare
	// host, fetched over https): when https cannot connect or its TLS
	// handshake fails, the URL is fetched again over http. A shared
	// (Redis) frontier and a crawl journal do not keep it.
	FallbackHTTP bool
	// Input is the entry as read from an input file or argument (the
	// line, trimmed), written out as the record's input so that results
	// join back to the source; "" for discovered links and sitemaps.
	Input string
	// Turn, when not nil, is the host's turn the frontier took for this
	// request when it handed it out (see [Gate]): the request may start at
	// once and must not wait for the host's limits again. Whoever takes
	// the request releases it when the request is over. It is never
	// stored or sent anywhere.
	Turn Turn
	// Resume, when not nil, is the state of a request that started and
	// gave its worker back to wait (see [Deferrer]): whoever takes the
	// request goes on with it from there. It is the taker's, opaque to
	// the frontier, and never stored or sent anywhere.
	Resume any
}

// A Deferral says when a request that started may go on: its next
// request (a retry, a redirect hop) is to URL, whose host must be ready,
// and not before NotBefore.
type Deferral struct {
	// URL is the URL of the next request; its host is the one that must
	// be ready (and whose turn the request is handed out with).
	URL string
	// NotBefore is the earliest time the request is handed out again.
	NotBefore time.Time
	// Bytes is the memory the request's state (Request.Resume) takes,
	// counted against the frontier's memory budget while it waits.
	Bytes int64
}

// A Deferrer is a [Frontier] that takes back a request a consumer took
// and started, for it to wait without holding a worker or its host's
// slot: a retry whose backoff is not over, a host paused by a
// Retry-After, a redirect hop to a host that may not start now.
type Deferrer interface {
	Frontier
	// Defer puts req back: it is handed out again by Next, with its
	// Resume as given, once d.NotBefore has passed and the host of d.URL
	// may start a request, ahead of the requests queued for that host
	// (it was admitted already), and with that host's turn. It stays
	// pending meanwhile; Done is called for it once, after it finishes.
	// After Close it returns [structured.ErrClosedResource].
	Defer(req Request, d Deferral) error
}

// A Frontier holds the URLs of a run that are still to be fetched and
// remembers every URL it has seen, so that each is fetched once. It counts
// pending work (queued plus in flight): once the input is done and nothing
// is pending, consumers get [structured.ErrEndOfStream] and the run drains
// out by itself, with no polling.
//
// The pipeline uses a Frontier like this: the producer calls Add for every
// input URL and then InputDone; each worker takes a Consumer, calls Next
// until it fails, and calls Done for every request once its result has
// been written (after adding the links it discovered).
type Frontier interface {
	// Add queues req unless its URL was seen before and reports whether it
	// was queued.
	Add(ctx context.Context, req Request) (bool, error)
	// Seen marks url as seen without queueing it: done in an earlier run.
	Seen(url string)
	// MarkIfNew marks key (a URL, or an input line that is not one) as
	// seen and reports whether it was new, without queueing anything.
	MarkIfNew(ctx context.Context, key string) (bool, error)
	// InputDone says that Add will only be called for discovered links
	// from now on.
	InputDone()
	// Consumer returns a handle for one worker. Its Close must be called.
	Consumer() Consumer
	// Done reports that req is finished: its result is written and its
	// links added.
	Done(ctx context.Context, req Request) error
	// Pending returns the number of requests queued or in flight.
	Pending() int
}

// A Consumer is one worker's end of a [Frontier].
type Consumer interface {
	// Next returns the next request; [structured.ErrEndOfStream] once the
	// frontier is exhausted, or ctx's error.
	Next(ctx context.Context) (Request, error)
	// Close releases the consumer.
	Close() error
}
