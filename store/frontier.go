package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/trawl-dev/trawl/structured"
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

// MemoryFrontier is the in-process [Frontier]: a [structured.MemoryStream]
// of requests and a set of 128-bit URL fingerprints ([Fingerprint]), about
// 38 bytes a URL with the map's overhead at a million URLs (as much as
// 64-bit keys took: a map slot is 16 bytes either way). Each consumer
// owns a receive clone of the stream.
type MemoryFrontier struct {
	tx *structured.SendStream[Request]
	rx *structured.ReceiveStream[Request]

	mu        sync.Mutex
	seen      map[[FingerprintSize]byte]struct{}
	pending   int
	inputDone bool
	admit     func() bool
}

var _ Frontier = (*MemoryFrontier)(nil)

// NewMemoryFrontier returns a frontier whose queue holds at most buffer
// requests before Add waits (backpressure for list mode), or any number
// with [structured.Unbounded] (crawl mode, where workers add links and
// must never wait on each other). admit, when not nil, is asked once for
// every new URL (it implements --max-pages); a URL it refuses is not queued.
func NewMemoryFrontier(buffer int, admit func() bool) *MemoryFrontier {
	tx, rx := structured.NewMemoryStream[Request](buffer)
	return &MemoryFrontier{tx: tx, rx: rx, seen: make(map[[FingerprintSize]byte]struct{}), admit: admit}
}

// Add implements [Frontier].
func (f *MemoryFrontier) Add(ctx context.Context, req Request) (bool, error) {
	fp := Fingerprint(req.URL)
	f.mu.Lock()
	if _, dup := f.seen[fp]; dup {
		f.mu.Unlock()
		return false, nil
	}
	if f.admit != nil && !f.admit() {
		f.mu.Unlock()
		return false, nil
	}
	f.seen[fp] = struct{}{}
	f.pending++
	f.mu.Unlock()
	if err := f.tx.Send(ctx, req); err != nil {
		f.mu.Lock()
		delete(f.seen, fp) // not queued: a later discovery may queue it
		f.mu.Unlock()
		f.finish()
		return false, fmt.Errorf("queue %s: %w", req.URL, err)
	}
	return true, nil
}

// Seen implements [Frontier].
func (f *MemoryFrontier) Seen(url string) {
	f.mu.Lock()
	f.seen[Fingerprint(url)] = struct{}{}
	f.mu.Unlock()
}

// MarkIfNew implements [Frontier].
func (f *MemoryFrontier) MarkIfNew(ctx context.Context, key string) (bool, error) {
	fp := Fingerprint(key)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.seen[fp]; dup {
		return false, nil
	}
	f.seen[fp] = struct{}{}
	return true, nil
}

// InputDone implements [Frontier].
func (f *MemoryFrontier) InputDone() {
	f.mu.Lock()
	f.inputDone = true
	f.mu.Unlock()
	f.finishIfIdle()
}

// Done implements [Frontier].
func (f *MemoryFrontier) Done(ctx context.Context, req Request) error {
	f.finish()
	return nil
}

// Pending implements [Frontier].
func (f *MemoryFrontier) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending
}

func (f *MemoryFrontier) finish() {
	f.mu.Lock()
	f.pending--
	f.mu.Unlock()
	f.finishIfIdle()
}

// finishIfIdle closes the send side once the input is done and no request
// is pending: receivers then drain and see the end of the stream.
func (f *MemoryFrontier) finishIfIdle() {
	f.mu.Lock()
	idle := f.inputDone && f.pending == 0
	f.mu.Unlock()
	if idle {
		f.tx.Close() // idempotent
	}
}

// Consumer implements [Frontier]: a receive clone of the queue.
func (f *MemoryFrontier) Consumer() Consumer {
	return memoryConsumer{f.rx.Clone()}
}

// Close releases the frontier's own ends of the queue. Call it when the
// run is over; requests still queued are dropped (they were never fetched,
// and a resumed run fetches them).
func (f *MemoryFrontier) Close() error {
	f.tx.Close()
	err := f.rx.Close()
	var undelivered *structured.UndeliveredError[Request]
	if errors.As(err, &undelivered) {
		return nil // the consumers were stopped early: expected on interruption
	}
	return err
}

type memoryConsumer struct {
	rx *structured.ReceiveStream[Request]
}

func (c memoryConsumer) Next(ctx context.Context) (Request, error) { return c.rx.Receive(ctx) }
func (c memoryConsumer) Close() error {
	err := c.rx.Close()
	var undelivered *structured.UndeliveredError[Request]
	if errors.As(err, &undelivered) {
		return nil
	}
	return err
}
