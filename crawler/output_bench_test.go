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

// BenchmarkCarry304 is what a 304 costs past its request with --since: its
// previous record (a typical crawled page's, as written) split, its
// validators read, its members carried forward and the record written
// spliced.
func BenchmarkCarry304(b *testing.B) {
	prev := &Result{
		URL: "http://example.com/page/1.html", FinalURL: "http://example.com/page/1.html", Status: 200,
		ContentType: "text/html; charset=utf-8", Title: "A page", Description: "About a page", H1: "A page",
		Bytes: 20000, ElapsedMS: 3, FetchedAt: Timestamp{time.Now()}, RemoteAddr: "127.0.0.1:80", Proto: "HTTP/1.1",
		PageData: PageData{ETag: `"6763a1-7530"`, LastModified: "Tue, 01 Dec 2026 21:00:00 GMT", ContentHash: fmt.Sprintf("%064x", 7)},
	}
	for i := range 30 {
		prev.Links = append(prev.Links, fmt.Sprintf("http://example.com/page/%d.html", i))
	}
	var sink memLines
	if err := NewJSONOutput(&sink, nil).Write(context.Background(), prev); err != nil {
		b.Fatal(err)
	}
	line := sink.lines[0]
	o := NewJSONOutput(discardSink{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		p, err := readPreviousLine(line)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := p.validators(); err != nil {
			b.Fatal(err)
		}
		res := &Result{URL: prev.URL, FinalURL: prev.URL, Status: 304, Change: ChangeUnchanged, FetchedAt: Timestamp{time.Now()}}
		if err := carryRecord(res, p); err != nil {
			b.Fatal(err)
		}
		if err := o.Write(context.Background(), res); err != nil {
			b.Fatal(err)
		}
	}
}
