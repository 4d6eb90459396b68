package crawler

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/warc"
)

// BenchmarkArchivePage: the archive's CPU per page (request, response and
// metadata records made, digested, compressed and written) for a page of
// about 20 KB of HTML, as in scripts/bench.sh --warc, by compression mode.
func BenchmarkArchivePage(b *testing.B) {
	for _, mode := range []string{warc.CompressNormal, warc.CompressFast, warc.CompressNone} {
		b.Run("compress="+mode, func(b *testing.B) {
			w, err := warc.NewWriter(warc.Options{Prefix: filepath.Join(b.TempDir(), "b"), CDX: true, Compression: mode})
			if err != nil {
				b.Fatal(err)
			}
			a := NewArchive(w)
			body := benchPageBody()
			req := []byte("GET /page/1.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: trawl/dev\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, br\r\n\r\n")
			resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nLast-Modified: Tue, 01 Dec 2026 08:00:00 GMT\r\nDate: Tue, 01 Dec 2026 08:00:00 GMT\r\n\r\n%s", len(body), body))
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

// benchPageBody is a page of about 20 KB made as scripts/benchsite makes
// them (30 links, then paragraphs of words drawn at random from a small
// vocabulary), so that it compresses as the bench site's pages do: a page
// of repeated sentences compresses several times faster at level 1.
func benchPageBody() string {
	words := strings.Fields("the of net page link crawl fetch robots scope depth queue host rate limit stream task group cancel shield deadline body header status title harbour frontier lantern archive meadow signal ledger compass orchard")
	r := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Bench page 1</title>\n</head><body>\n<h1>Bench page 1</h1>\n<ul>\n")
	for range 30 {
		j := r.IntN(20000)
		fmt.Fprintf(&b, "<li><a href=\"/page/%d.html\">page %d</a></li>\n", j, j)
	}
	b.WriteString("</ul>\n")
	for b.Len() < 21000 {
		b.WriteString("<p>")
		for range 40 {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
