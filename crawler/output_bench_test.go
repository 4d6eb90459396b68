package crawler

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type discardSink struct{}

func (discardSink) Write(ctx context.Context, record []byte) error { return nil }
func (discardSink) Flush(ctx context.Context) error                { return nil }

// BenchmarkJSONOutput encodes a typical crawled page's record.
func BenchmarkJSONOutput(b *testing.B) {
	r := &Result{
		URL: "http://example.com/page/1.html", FinalURL: "http://example.com/page/1.html", Status: 200,
		ContentType: "text/html; charset=utf-8", Title: "A page", Description: "About a page", H1: "A page",
		Bytes: 20000, ElapsedMS: 3, FetchedAt: Timestamp{time.Now()}, RemoteAddr: "127.0.0.1:80", Proto: "HTTP/1.1",
	}
	for i := range 30 {
		r.Links = append(r.Links, fmt.Sprintf("http://example.com/page/%d.html", i))
	}
	o := NewJSONOutput(discardSink{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Write(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
