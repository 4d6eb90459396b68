package crawler

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// A host whose queue passes HostQueueWarn makes the crawl warn once,
// naming the host and the flags that bound a crawler trap; below the
// threshold nothing is said.
func TestRunWarnsOnceOfAHugeHostQueue(t *testing.T) {
	const links = 50
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			for i := range links {
				fmt.Fprintf(w, `<a href="/t/%d">%d</a>`, i, i)
			}
		}
	}))
	defer srv.Close()
	seed, _ := ParseURL(srv.URL + "/")
	for _, tt := range []struct {
		threshold int
		warnings  int
	}{{10, 1}, {links, 0}, {-1, 0}} {
		var mu sync.Mutex
		var warnings []string
		sum, err := Run(t.Context(), RunConfig{
			Inputs:        []Input{{Name: seed.String(), IsURL: true}},
			Fetcher:       newPipelineFetcher(t, Config{IgnoreRobots: true}),
			Concurrency:   1, // the root's links are all queued before one is taken
			Crawl:         true,
			Scope:         NewScope([]*url.URL{seed}, ScopeOptions{}),
			Output:        &memoryOutput{},
			HostQueueWarn: tt.threshold,
			Warn: func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				warnings = append(warnings, msg)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Done != links+1 {
			t.Errorf("threshold %d: %d pages done, want %d", tt.threshold, sum.Done, links+1)
		}
		if len(warnings) != tt.warnings {
			t.Fatalf("threshold %d: warnings %q, want %d", tt.threshold, warnings, tt.warnings)
		}
		for _, w := range warnings {
			for _, want := range []string{seed.Host, "more than 10 URLs queued", "--max-pages", "--depth"} {
				if !strings.Contains(w, want) {
					t.Errorf("warning %q does not say %q", w, want)
				}
			}
		}
	}
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"http://a.test/x":       "a.test",
		"https://a.test:8443/":  "a.test:8443",
		"http://[::1]:80/p?q=1": "[::1]:80",
		"http://a.test?q":       "a.test",
		"not a url":             "",
	} {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
	}
}
