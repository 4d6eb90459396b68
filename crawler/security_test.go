package crawler

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for the fetch path under attack (issue 11): stacked encodings,
// credentials across hosts, Retry-After, proxies, cookie floods.

// gzipLayers gzips data n times over.
func gzipLayers(t *testing.T, data []byte, n int) []byte {
	t.Helper()
	for range n {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	return data
}

func TestHostileStackedEncodings(t *testing.T) {
	page := []byte("<html><title>layers</title></html>")
	for _, tc := range []struct {
		name   string
		layers int
		header string
		want   Kind // "" for success
	}{
		{"four layers decode", 4, strings.Repeat("gzip, ", 3) + "gzip", ""},
		{"identity does not count", 4, "identity, " + strings.Repeat("gzip, identity, ", 3) + "gzip", ""},
		{"five layers refused", 5, strings.Repeat("gzip, ", 4) + "gzip", KindDecode},
		{"hundreds refused", 300, strings.Repeat("gzip, ", 299) + "gzip", KindDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := gzipLayers(t, page, tc.layers)
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", tc.header)
				w.Write(body)
			})
			f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
			var resp *Response
			var err error
			alloc := allocDuring(func() { resp, err = f.Fetch(t.Context(), srv.URL) })
			if tc.want != "" {
				wantKind(t, err, tc.want)
				if alloc > 4<<20 {
					t.Fatalf("a %d-deep Content-Encoding cost %d bytes", strings.Count(tc.header, ",")+1, alloc)
				}
				return
			}
			if err != nil || !bytes.Equal(resp.Body, page) {
				t.Fatalf("got %v, %q; want the page", err, resp.Body)
			}
		})
	}
}

// TestHostileInnerLayerCounts: the outer gzip layer inflates to a stream
// of empty gzip members, which the inner layer turns into nothing. The
// data between the layers counts against the body limit too.
func TestHostileInnerLayerCounts(t *testing.T) {
	var empty bytes.Buffer
	zw := gzip.NewWriter(&empty)
	zw.Close()
	inner := bytes.Repeat(empty.Bytes(), 50000) // about 1 MiB, inflating to 0 bytes
	body := gzipLayers(t, inner, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip, gzip")
		w.Write(body)
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1, MaxBody: 64 << 10})
	_, err := f.Fetch(t.Context(), srv.URL)
	if KindOf(err) != KindTooLarge {
		t.Fatalf("got %v (kind %q); want too_large: %d bytes between the layers pass the 64 KiB limit",
			err, KindOf(err), len(inner))
	}
}

// TestFetchRetryAfterBeyondCapNotHonoured: a Retry-After of a day neither
// holds the URL nor pauses its host; the URL is recorded as rate_limited
// with its status, and the host's other URLs go on at once.
func TestFetchRetryAfterBeyondCapNotHonoured(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		synctest.Test(t, func(t *testing.T) {
			rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
				if r.URL.Path == "/limited" {
					return reply(r, status, "slow down", "Retry-After", "86400"), nil
				}
				return reply(r, 200, "ok"), nil
			})
			f := fakeFetcher(t, rt, Config{IgnoreRobots: true, MaxRetryAfter: time.Minute})
			start := time.Now()
			resp, err := f.Fetch(t.Context(), "http://a.test/limited")
			wantKind(t, err, KindRateLimited)
			if resp == nil || resp.Status != status || rt.count("a.test/limited") != 1 {
				t.Fatalf("response %+v after %d calls; want the %d kept, not retried", resp, rt.count("a.test/limited"), status)
			}
			if _, err := f.Fetch(t.Context(), "http://a.test/other"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != 0 {
				t.Fatalf("the host was held %v by a Retry-After beyond the cap", d)
			}
		})
	}
}

// TestFetchRetryAfterWithinCapHonoured: up to the cap, Retry-After is
// waited for and the URL retried.
func TestFetchRetryAfterWithinCapHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if n == 1 {
				return reply(r, http.StatusTooManyRequests, "", "Retry-After", "60"), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{IgnoreRobots: true, MaxRetryAfter: time.Minute})
		start := time.Now()
		resp, err := f.Fetch(t.Context(), "http://a.test/")
		if err != nil || resp.Attempts != 2 || time.Since(start) != time.Minute {
			t.Fatalf("got %v, %+v after %v; want success on the second attempt after exactly 1m", err, resp, time.Since(start))
		}
	})
}
