//go:build unix

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// TestFetchFailureKinds: a server that hangs, one that stalls in the
// body, a redirect and a 503 that recovers: each gets the right record,
// and the run ends within the per-request time.
func TestFetchFailureKinds(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	hold := make(chan struct{})
	var flaky atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		case "/stall":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Length", "1000")
			fmt.Fprint(w, "<html><title>partial")
			w.(http.Flusher).Flush()
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		case "/big":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><title>big</title>"+strings.Repeat("x", 64<<10))
		case "/redirect":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/target":
			fmt.Fprint(w, "<html><title>Target</title></html>")
		case "/flaky":
			if flaky.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "<html><title>Recovered</title></html>")
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hold) })
	u := func(p string) string { return srv.URL + p }
	res := runTrawl(t, ctx, nil, "fetch", "--no-robots", "--timeout", "1s", "--retries", "1", "--max-body", "16KiB",
		u("/hang"), u("/stall"), u("/redirect"), u("/flaky"))
	if res.code != 0 {
		t.Errorf("exit code %d, want 0 (the run completed); stderr:\n%s", res.code, res.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	kind := func(p string) string {
		if e := got[u(p)].Error; e != nil {
			return e.Kind
		}
		return ""
	}
	for p, want := range map[string]string{"/hang": "timeout", "/stall": "timeout", "/redirect": "", "/flaky": ""} {
		if k := kind(p); k != want {
			t.Errorf("%s: error kind %q, want %q; record %+v", p, k, want, got[u(p)])
		}
	}
	if r := got[u("/redirect")]; r.FinalURL != u("/target") || r.Title != "Target" || r.Status != 200 {
		t.Errorf("/redirect: final_url %q title %q status %d, want %s Target 200", r.FinalURL, r.Title, r.Status, u("/target"))
	}
	if r := got[u("/flaky")]; r.Status != 200 || r.Title != "Recovered" {
		t.Errorf("/flaky: status %d title %q, want 200 Recovered after a retry", r.Status, r.Title)
	}
	if len(got) != 4 {
		t.Errorf("%d records, want 4", len(got))
	}
}

// TestCSVReaderGoesAway is `trawl fetch --format csv … | head -1`.
func TestCSVReaderGoesAway(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n = 50
	s := newSite(t, numberedPages(n), 1)
	cmd, r := pipedTrawl(t, ctx, args("fetch", "-c", "1", "--format", "csv", urlFile(t, s.urls(numberedPaths(n)...)))...)
	if line, err := readLine(r); err != nil || !slices.Contains(strings.Split(line, ","), "url") {
		t.Fatalf("first line %q, %v; want the CSV header", line, err)
	}
	r.Close()
	s.release()
	if code := exitCode(t, cmd.Wait()); code != 0 || ctx.Err() != nil {
		t.Errorf("exit code %d (deadline: %v), want 0", code, ctx.Err())
	}
}

// TestFetchTooLarge: a body over --max-body is a too_large record, and
// the run goes on and ends.
func TestFetchTooLarge(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := numberedPages(1)
	pages["/big"] = htmlPage("big", strings.Repeat("x", 64<<10))
	pages["/fits"] = htmlPage("fits", strings.Repeat("x", 15<<10))
	s := newSite(t, pages, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--max-body", "16KiB", s.URL+"/big", s.URL+"/fits", s.URL+"/p/0")...)
	if res.code != 0 {
		t.Errorf("exit code %d, want 0 (the run completed); stderr:\n%s", res.code, res.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	if r := got[s.URL+"/big"]; r.Error == nil || r.Error.Kind != "too_large" {
		t.Errorf("/big: record %+v, want error.kind too_large", r)
	}
	for _, p := range []string{"/fits", "/p/0"} {
		if r := got[s.URL+p]; r.Status != 200 || r.Error != nil {
			t.Errorf("%s: record %+v, want status 200", p, r)
		}
	}
}
