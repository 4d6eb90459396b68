package crawler

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/warc"
)

// BenchmarkArchivePage: the archive's CPU per page (request, response and
// metadata records made, digested, compressed and written) for a page of
// about 20 KB of HTML, as in scripts/bench.sh --warc.
func BenchmarkArchivePage(b *testing.B) {
	for _, uncompressed := range []bool{false, true} {
		b.Run(fmt.Sprintf("uncompressed=%v", uncompressed), func(b *testing.B) {
			w, err := warc.NewWriter(warc.Options{Prefix: filepath.Join(b.TempDir(), "b"), CDX: true, Uncompressed: uncompressed})
			if err != nil {
				b.Fatal(err)
			}
			a := NewArchive(w)
			var body strings.Builder
			for i := 0; body.Len() < 20000; i++ {
				fmt.Fprintf(&body, "<p>Paragraph %d of the page, with <a href=\"/page/%d.html\">a link</a> and some words.</p>\n", i, i*7919%20000)
			}
			req := []byte("GET /page/1.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: trawl/dev\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, br\r\n\r\n")
			resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nLast-Modified: Tue, 01 Dec 2026 08:00:00 GMT\r\nDate: Tue, 01 Dec 2026 08:00:00 GMT\r\n\r\n%s", body.Len(), body.String()))
			links := make([]string, 30)
			for i := range links {
				links[i] = fmt.Sprintf("http://127.0.0.1:8080/page/%d.html", i*31)
			}
			res := &Result{URL: "http://127.0.0.1:8080/page/1.html", FinalURL: "http://127.0.0.1:8080/page/1.html", Status: 200,
				Title: "Page 1", Links: links, ContentType: "text/html"}
			ctx := b.Context()
			b.SetBytes(int64(len(resp)))
			b.ReportAllocs()
			for b.Loop() {
				ex := []*Exchange{{URL: res.FinalURL, Date: time.Now(), IP: "127.0.0.1", Request: req, Response: resp}}
				p, err := a.Prepare(ctx, res, ex)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := a.Write(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := a.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
