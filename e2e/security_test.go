//go:build unix

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Tests of the fetch path under attack (issue 11), through the binary.

// TestMaxRetryAfter: a Retry-After beyond --max-retry-after is not
// waited for: the URL is recorded with its 429 as rate_limited, and the
// host's other URL is fetched without delay.
func TestMaxRetryAfter(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/limited" {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "<html><title>fine</title></html>")
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	res := runTrawl(t, testContext(t), nil, "fetch", "--no-robots", "-c", "1", "--max-retry-after", "1s",
		srv.URL+"/limited", srv.URL+"/ok")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the run took %v: the 30s Retry-After held it", d)
	}
	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (a URL failed); stderr:\n%s", res.code, res.stderr)
	}
	recs := byURL(t, parseJSONL(t, res.stdout))
	lim := recs[srv.URL+"/limited"]
	if lim.Status != 429 || lim.Error == nil || lim.Error.Kind != "rate_limited" {
		t.Errorf("/limited: status %d error %+v; want 429 rate_limited", lim.Status, lim.Error)
	}
	if ok := recs[srv.URL+"/ok"]; ok.Status != 200 || ok.Error != nil {
		t.Errorf("/ok: status %d error %+v; want 200", ok.Status, ok.Error)
	}
}
