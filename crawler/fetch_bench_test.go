package crawler

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// BenchmarkFetchThroughput fetches a 16 KiB page from a loopback server
// with 64 workers in a task group, no per-host limit, and reports pages/s.
func BenchmarkFetchThroughput(b *testing.B) {
	page := strings.Repeat("<p>trawl benchmark page</p>\n", 600)
	srv := serve(b, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	f := newTestFetcher(b, Config{IgnoreRobots: true, PerHost: -1})
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	err := structured.WithTaskGroup(b.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		for range 64 {
			tg.StartSoon(func(ctx context.Context) error {
				for next.Add(1) <= int64(b.N) {
					if _, err := f.Fetch(ctx, srv.URL+"/page"); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
}

// BenchmarkFetchBomb fetches a 256 MiB gzip bomb with a 1 MiB limit and
// reports the bytes allocated per fetch: about the limit, not the bomb.
func BenchmarkFetchBomb(b *testing.B) {
	bomb := gzipBomb()
	srv := serve(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	})
	const limit = 1 << 20
	f := newTestFetcher(b, Config{IgnoreRobots: true, MaxBody: limit, Retries: -1})
	var total uint64
	for b.Loop() {
		total += allocDuring(func() {
			if _, err := f.Fetch(b.Context(), srv.URL); KindOf(err) != KindTooLarge {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(total)/float64(b.N), "alloc-bytes/fetch")
}
