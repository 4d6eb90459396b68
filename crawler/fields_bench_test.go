package crawler

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// BenchmarkRecord measures what the pipeline does for one page once its
// response is in: the record (NewResult, with its always-on
// content_hash) and the extraction, with the default fields and with
// the structured-data fields.
func BenchmarkRecord(b *testing.B) {
	page := benchPage()
	resp := &Response{URL: "https://example.com/news/2026/page.html", FinalURL: "https://example.com/news/2026/page.html",
		Status: 200, Body: page, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"x"`}}}
	req := Request{URL: resp.URL}
	for _, bc := range []struct {
		name   string
		extras Extras
	}{
		{"default", Extras{}},
		{"structured", Extras{JSONLD: true, OpenGraph: true, Meta: true, Images: true, RobotsMeta: true, Headers: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				res := NewResult(req, resp, nil, time.Time{})
				extractInto(res, resp, nil, Limits{}, bc.extras)
			}
		})
	}
}

// BenchmarkContentHash is the cost of content_hash alone on a page of
// the size of BenchmarkRecord's (about 30 KB) and on one of 120 KB.
func BenchmarkContentHash(b *testing.B) {
	page := benchPage()
	for _, n := range []int{len(page), 120 << 10} {
		body := make([]byte, n)
		for i := range body {
			body[i] = page[i%len(page)]
		}
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = sha256.Sum256(body)
			}
		})
	}
}
