// Command faultsite serves trawl's generated sample site on 127.0.0.1 with
// injected faults, for scripts/soak.sh. A seeded fraction of page
// requests fail: the connection is reset, the body comes slowly (half,
// a pause, the rest), or the page answers a burst of 5xx (on two attempts
// in a row). Of every three requests to a page (first, second, third;
// fourth, fifth, sixth; ...) only the first two may fail, so trawl's
// default two retries always get the page, and a crawl repeated against
// the same server meets faults again; /robots.txt is never faulted. The same seed gives the same faults for the same
// sequence of requests to a page.
//
// It prints the base URL on stdout, serves until SIGINT or SIGTERM or
// until --for elapses, then prints what it injected on stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/crawler/demosite"
)

func main() {
	pages := flag.Int("pages", 3000, "pages in the site")
	seed := flag.Uint64("seed", 1, "seed of the site and of the faults")
	fault := flag.Float64("fault", 0.15, "fraction of first attempts at a page that fail")
	slow := flag.Duration("slow", time.Second, "longest pause in a slow body")
	limit := flag.Duration("for", 30*time.Minute, "stop serving after this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	s := &faults{
		site: demosite.Site{Pages: *pages, Seed: *seed}, seed: *seed,
		rate: *fault, slow: *slow, attempts: map[string]int{},
	}
	err := demosite.Serve(ctx, s, func(base string) { fmt.Println(base) })
	fmt.Fprintf(os.Stderr, "faultsite: %d requests, %d resets, %d slow bodies, %d 5xx\n",
		s.stats.requests, s.stats.resets, s.stats.slow, s.stats.errors)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsite:", err)
		os.Exit(1)
	}
}

// faults wraps the site with injected failures.
type faults struct {
	site demosite.Site
	seed uint64
	rate float64
	slow time.Duration

	mu       sync.Mutex
	attempts map[string]int // requests so far, per path and query
	stats    struct{ requests, resets, slow, errors int }
}

type kind int

const (
	none kind = iota
	reset
	slowBody
	burst
)

// roll returns a number in [0, 1) fixed by the seed, key and n.
func (s *faults) roll(key string, n int) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%d", s.seed, key, n)
	return float64(h.Sum64()>>11) / (1 << 53)
}

// decide picks the fault of this request to key, and counts it.
func (s *faults) decide(key string) kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.attempts[key]
	s.attempts[key] = n + 1
	s.stats.requests++
	k := s.kindAt(key, n)
	if n%3 == 1 && s.kindAt(key, n-1) == burst {
		k = burst // the second 5xx of a burst
	}
	switch k {
	case reset:
		s.stats.resets++
	case slowBody:
		s.stats.slow++
	case burst:
		s.stats.errors++
	}
	return k
}

// kindAt is the fault of attempt n at key, before bursts are extended:
// none on every third attempt, and otherwise a fault with chance rate.
func (s *faults) kindAt(key string, n int) kind {
	if n%3 == 2 || s.roll(key, n) >= s.rate {
		return none
	}
	return kind(1 + int(s.roll(key, n+100)*3))
}

// ServeHTTP serves the site through the faults.
func (s *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		s.site.ServeHTTP(w, r)
		return
	}
	key := r.URL.RequestURI()
	switch s.decide(key) {
	case reset:
		resetConn(w)
	case burst:
		if s.roll(key, 7) < 0.5 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "injected burst", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "injected burst", http.StatusInternalServerError)
	case slowBody:
		s.slowly(w, r, time.Duration(s.roll(key, 9)*float64(s.slow)))
	default:
		s.site.ServeHTTP(w, r)
	}
}

// resetConn closes the connection with a TCP reset, before any response.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// bufferedResponse records a response to replay it slowly.
type bufferedResponse struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	b.body = append(b.body, p...)
	return len(p), nil
}

// slowly sends the page's first half, pauses for d, then sends the rest.
func (s *faults) slowly(w http.ResponseWriter, r *http.Request, d time.Duration) {
	rec := &bufferedResponse{header: http.Header{}}
	s.site.ServeHTTP(rec, r)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(rec.body)))
	w.WriteHeader(rec.status)
	half := len(rec.body) / 2
	w.Write(rec.body[:half])
	http.NewResponseController(w).Flush()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		w.Write(rec.body[half:])
	case <-r.Context().Done():
	}
}
