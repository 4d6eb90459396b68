//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// page is what a site serves at one path.
type page struct {
	status int    // 0 means 200
	ctype  string // "" means text/html; charset=utf-8
	body   string
}

// htmlPage returns a 200 HTML page with title and body.
func htmlPage(title, body string) page {
	return page{body: fmt.Sprintf("<!doctype html><html><head><title>%s</title></head><body>%s</body></html>", title, body)}
}

// numberedPages returns n pages at /p/0 … /p/{n-1} titled "Page i".
func numberedPages(n int) map[string]page {
	pages := make(map[string]page, n)
	for i := range n {
		pages[fmt.Sprintf("/p/%d", i)] = htmlPage(fmt.Sprintf("Page %d", i), "<p>hello</p>")
	}
	return pages
}

// site is a test web site on 127.0.0.1. It counts the requests it
// serves and, when gated, serves the first free requests at once and
// holds every later one until release is called or the client goes away.
type site struct {
	*httptest.Server
	pages map[string]page
	free  int // requests served before the gate closes; -1: no gate

	mu       sync.Mutex
	hits     map[string]int // path → requests answered
	served   int            // page requests answered (robots.txt aside)
	arrived  int            // page requests that reached the gate
	held     int            // page requests held at the gate now
	released bool
	changed  chan struct{} // closed and replaced when the counters change
	open     chan struct{} // closed by release
	gone     int           // held requests whose client went away
}

// newSite starts a site serving pages, a permissive robots.txt, and 404
// elsewhere. free < 0 means no gate. The site is closed at the end of
// the test, after its held requests are released.
func newSite(t *testing.T, pages map[string]page, free int) *site {
	t.Helper()
	s := &site{pages: pages, free: free, hits: map[string]int{}, open: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	t.Cleanup(s.release) // runs first: Close waits for held requests
	return s
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		s.count(r.URL.Path, false)
		fmt.Fprint(w, "User-agent: *\nAllow: /\n")
		return
	}
	if !s.pass(r) {
		return
	}
	p, ok := s.pages[r.URL.Path]
	if !ok {
		p = page{status: http.StatusNotFound, ctype: "text/plain", body: "not found"}
	}
	if p.ctype == "" {
		p.ctype = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", p.ctype)
	if p.status != 0 {
		w.WriteHeader(p.status)
	}
	fmt.Fprint(w, p.body)
	s.count(r.URL.Path, true)
}

// pass waits at the gate; false when the client went away first.
func (s *site) pass(r *http.Request) bool {
	if s.free < 0 {
		return true
	}
	s.mu.Lock()
	s.arrived++
	through := s.arrived <= s.free || s.released
	if !through {
		s.held++
		s.notify()
	}
	s.mu.Unlock()
	if through {
		return true
	}
	select {
	case <-s.open:
		s.mu.Lock()
		s.held--
		s.mu.Unlock()
		return true
	case <-r.Context().Done():
		s.mu.Lock()
		s.held--
		s.gone++
		s.notify()
		s.mu.Unlock()
		return false
	}
}

func (s *site) count(path string, isPage bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[path]++
	if isPage {
		s.served++
	}
	s.notify()
}

// notify wakes the waiters; s.mu is held.
func (s *site) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// release opens the gate for good.
func (s *site) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.released {
		s.released = true
		close(s.open)
	}
}

// waitFor waits until cond, called with s.mu held, is true.
func (s *site) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			defer s.mu.Unlock()
			return fmt.Errorf("waiting for the site: %s: %w (served %d, held %d)", what, ctx.Err(), s.served, s.held)
		}
	}
}

// waitHeld waits until n requests are held at the gate.
func (s *site) waitHeld(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("%d requests held", n), func() bool { return s.held >= n })
}

// counts returns the requests answered per path, robots.txt aside, and
// their total.
func (s *site) counts() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.hits))
	for k, v := range s.hits {
		if k != "/robots.txt" {
			m[k] = v
		}
	}
	return m, s.served
}

// urls returns the site's URLs for paths.
func (s *site) urls(paths ...string) []string {
	us := make([]string, len(paths))
	for i, p := range paths {
		us[i] = s.URL + p
	}
	return us
}

// numberedPaths returns /p/0 … /p/{n-1}.
func numberedPaths(n int) []string {
	ps := make([]string, n)
	for i := range n {
		ps[i] = fmt.Sprintf("/p/%d", i)
	}
	return ps
}

// urlFile writes urls, one a line, to a file and returns its path.
func urlFile(t *testing.T, urls []string) string {
	t.Helper()
	return writeFile(t, "urls.txt", strings.Join(urls, "\n")+"\n")
}

// waitGone waits until n held requests saw their client go away.
func (s *site) waitGone(ctx context.Context, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("%d clients gone", n), func() bool { return s.gone >= n })
}

// hitsOf returns the requests answered at path.
func (s *site) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}
