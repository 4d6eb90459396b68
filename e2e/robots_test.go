//go:build unix

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// robotsServer serves robots as /robots.txt (stalling in the body until
// the request is cancelled when robots is "hang") and a page everywhere
// else, counting the page requests.
type robotsServer struct {
	*httptest.Server
	mu    sync.Mutex
	pages map[string]int
}

func newRobotsServer(t *testing.T, robots string) *robotsServer {
	t.Helper()
	s := &robotsServer{pages: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			if robots == "hang" {
				// Headers and a first line, then nothing: only the
				// request's own deadline ends this.
				fmt.Fprint(w, "User-agent: *\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			fmt.Fprint(w, robots)
			return
		}
		s.mu.Lock()
		s.pages[r.URL.Path]++
		s.mu.Unlock()
		fmt.Fprint(w, "<html><title>page</title></html>")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *robotsServer) hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pages[path]
}

// TestRobotsFetchWithinTimeout: --timeout bounds the robots.txt fetch,
// retries included (issue 11 #17: 30.8s with --timeout 2s).
func TestRobotsFetchWithinTimeout(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newRobotsServer(t, "hang")
	start := time.Now()
	res := runTrawl(t, ctx, nil, "fetch", "--timeout", "1s", s.URL+"/page")
	took := time.Since(start)
	got := byURL(t, parseJSONL(t, res.stdout))
	if r := got[s.URL+"/page"]; r.Error == nil || r.Error.Kind != "timeout" {
		t.Errorf("record %+v, want error.kind timeout from the robots.txt fetch; stderr:\n%s", r, res.stderr)
	}
	if took > 8*time.Second {
		t.Errorf("run took %v with --timeout 1s", took)
	}
	if n := s.hits("/page"); n != 0 {
		t.Errorf("page fetched %d times while robots.txt was unreachable", n)
	}
}

// TestRobotsRulesAfterBadLinesAndLimit: a robots.txt with lines the
// parser cannot use and more than 500 KiB still disallows what its first
// 500 KiB disallow (issue 12 #1, issue 11 #13).
func TestRobotsRulesAfterBadLinesAndLimit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	robots := "Disallow: /early\n" + // before any User-agent: ignored
		"User-agent: trawl/1.0\n" +
		"Crawl-delay: 1s\n" +
		"Disallow: /private # comment\n" +
		"Disallow: /café/\n" +
		strings.Repeat("# padding to pass the 500 KiB parse limit\n", 600<<10/43) +
		"Disallow: /late\n"
	s := newRobotsServer(t, robots)
	u := func(p string) string { return s.URL + p }
	res := runTrawl(t, ctx, nil, "fetch", "--timeout", "5s",
		u("/private/x"), u("/caf%C3%A9/menu"), u("/early"), u("/late"))
	got := byURL(t, parseJSONL(t, res.stdout))
	for p, want := range map[string]string{"/private/x": "robots_disallowed", "/caf%C3%A9/menu": "robots_disallowed", "/early": "", "/late": ""} {
		kind := ""
		if e := got[u(p)].Error; e != nil {
			kind = e.Kind
		}
		if kind != want {
			t.Errorf("%s: error kind %q, want %q; record %+v", p, kind, want, got[u(p)])
		}
	}
	if s.hits("/private/x")+s.hits("/café/menu") != 0 {
		t.Errorf("disallowed pages were requested")
	}
}
