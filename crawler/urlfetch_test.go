package crawler

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Issue 12, item 8: a redirect's Location is resolved as links are (the
// WHATWG way), through the real Fetcher.
func TestFetchRedirectLocationWHATWG(t *testing.T) {
	tests := []struct{ location, wantPath string }{
		{`\x`, "/x"},                      // net/url: /foo/%5Cx
		{"http:foo.com", "/foo/foo.com"},  // net/url: refused
		{":a", "/foo/:a"},                 // http.Client: "missing protocol scheme"
		{"/a/../b?q=it's", "/b?q=it%27s"}, // dot segments, query escaping
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/foo/bar" {
			i, err := strconv.Atoi(r.URL.Query().Get("case"))
			if err != nil || i < 0 || i >= len(tests) {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header()["Location"] = []string{tests[i].location}
			w.WriteHeader(http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
	for i, tt := range tests {
		resp, err := f.Fetch(t.Context(), srv.URL+"/foo/bar?case="+strconv.Itoa(i))
		if err != nil {
			t.Errorf("Location %q: %v; want %s", tt.location, err, tt.wantPath)
			continue
		}
		if want := srv.URL + tt.wantPath; resp.FinalURL != want {
			t.Errorf("Location %q: final URL %s; want %s", tt.location, resp.FinalURL, want)
		}
	}
	// Not following, the redirect response keeps its Location header.
	nf := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1, MaxRedirects: -1})
	resp, err := nf.Fetch(t.Context(), srv.URL+"/foo/bar?case=0")
	if resp == nil || resp.Status != http.StatusFound || resp.Header.Get("Location") != tests[0].location || len(resp.Header.Values(hiddenLocation)) != 0 {
		t.Errorf("redirect not followed: %+v, %v; want status 302 with Location %q", resp, err, tests[0].location)
	}
}

// Issue 12, item 9: "a:@host" is the same resource as "a@host", and empty
// user information sends no Authorization header at all.
func TestFetchEmptyPasswordAuthorization(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got[r.URL.Path] = r.Header.Values("Authorization")
	}))
	defer srv.Close()
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, u := range []string{"http://a:@" + host + "/empty-password", "http://a@" + host + "/no-password", "http://:@" + host + "/empty", "http://@" + host + "/at"} {
		resp, err := f.Fetch(t.Context(), u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if strings.Contains(resp.FinalURL, ":@") || strings.Contains(resp.FinalURL, "//@") {
			t.Errorf("%s: final URL %s keeps empty user information", u, resp.FinalURL)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if a, b := got["/empty-password"], got["/no-password"]; len(a) != 1 || len(b) != 1 || a[0] != b[0] {
		t.Errorf("Authorization for a:@ %q, for a@ %q; want the same", a, b)
	}
	for _, p := range []string{"/empty", "/at"} {
		if a, ok := got[p]; !ok || len(a) != 0 {
			t.Errorf("%s: Authorization %q (request seen: %v); want none", p, a, ok)
		}
	}
}
