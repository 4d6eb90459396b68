package crawler

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trawl-dev/trawl/store"
)

// FuzzReadInputs checks that ReadInputs reads any file content without
// failing or panicking, and yields only trimmed, non-empty, non-comment
// lines, in increasing line order.
func FuzzReadInputs(f *testing.F) {
	for _, s := range []string{
		"http://example.com/\n",
		"# comment\n\n  http://a.example/  \r\nnot a url\n",
		"\xef\xbb\xbfhttp://bom.example/\n#x\n\t#y\n",
		"no newline at end",
		"\r\n\r\n\x00\n \v\f\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		name := filepath.Join(t.TempDir(), "urls.txt")
		if err := os.WriteFile(name, content, 0o644); err != nil {
			t.Fatal(err)
		}
		last := 0
		err := ReadInputs(context.Background(), []Input{{Name: name}}, nil, func(_ context.Context, l InputLine) error {
			if l.Line <= last {
				t.Fatalf("line %d after line %d", l.Line, last)
			}
			last = l.Line
			if l.Err != nil {
				return nil
			}
			if l.Text == "" || l.Text != strings.TrimSpace(l.Text) || strings.HasPrefix(l.Text, "#") {
				t.Fatalf("line %d yielded as %q", l.Line, l.Text)
			}
			if !bytes.Contains(content, []byte(l.Text)) {
				t.Fatalf("line %d text %q is not in the input", l.Line, l.Text)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ReadInputs: %v", err)
		}
	})
}

// FuzzDecodeBody checks that DecodeBody never panics on any body and
// Content-Type, fails only with an *Error, and that an HTML body decoded
// from another encoding reads as valid UTF-8, while a UTF-8 one is passed
// through as documented (less its byte order mark). DecodeBytes must
// decode the same.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []struct{ body, ct string }{
		{"<html><title>x</title>", "text/html"},
		{"<meta charset=iso-8859-1><p>caf\xe9", ""},
		{"\xff\xfe<\x00p\x00>\x00", "text/html; charset=utf-8"},
		{"\xef\xbb\xbf<p>bom", "text/html; charset=shift_jis"},
		{"<p>\x82\xa0\x82", "text/html; charset=shift_jis"},
		{"%PDF-1.4", "application/pdf"},
		{"<meta http-equiv=Content-Type content='text/html; charset=utf-16be'>", "text/html;;charset=\"x"},
		{"<script>" + strings.Repeat("x", 1100) + "</script><meta charset=koi8-r>\xe9", "text/html"},
		{"<!-- x --><meta a=b charset = 'iso-8859-2' content=\"charset='x'\"><?xml encoding='utf-8'?>", "text/html"},
		{"<?xml version='1.0' encoding='shift_jis'?>\x82\xa0", "text/html"},
	} {
		f.Add([]byte(s.body), s.ct)
	}
	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		b, err := DecodeBody(bytes.NewReader(data), contentType)
		if err != nil {
			if KindOf(err) == "" {
				t.Fatalf("error %v has no kind", err)
			}
			return
		}
		if b.MediaType != strings.ToLower(b.MediaType) {
			t.Fatalf("media type %q is not lower case", b.MediaType)
		}
		out, err := io.ReadAll(b)
		if err != nil {
			t.Fatalf("read decoded body: %v", err)
		}
		mem := DecodeBytes(data, contentType)
		if memOut, _ := io.ReadAll(mem); mem.Charset != b.Charset || mem.MediaType != b.MediaType || !bytes.Equal(memOut, out) {
			t.Fatalf("DecodeBytes %q %q %q, DecodeBody %q %q %q", mem.MediaType, mem.Charset, memOut, b.MediaType, b.Charset, out)
		}
		switch {
		case !b.HTML:
			if !bytes.Equal(out, data) {
				t.Fatalf("non-HTML body changed: %q -> %q", data, out)
			}
		case b.Charset == "":
			t.Fatal("HTML body without a charset")
		case b.Charset == "utf-8":
			if !bytes.Equal(out, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
				t.Fatalf("UTF-8 body changed: %q -> %q", data, out)
			}
		case !utf8.Valid(out):
			t.Fatalf("body decoded from %s is not valid UTF-8: %q", b.Charset, out)
		}
	})
}

// FuzzRobots checks that any robots.txt body is read into rules without a
// panic, with a Crawl-delay within bounds, and that allows never panics.
func FuzzRobots(f *testing.F) {
	for _, s := range []struct{ body, path string }{
		{"User-agent: *\nDisallow: /private\n", "/private/x"},
		{"User-agent: trawl\nAllow: /a$\nDisallow: /\nCrawl-delay: 2.5\n", "/a"},
		{"User-agent: *\nDisallow: /*.pdf$\nSitemap: http://h/s.xml\n", "/x.pdf?q=1"},
		{"Crawl-delay: -1\nuser-agent:trawl\ncrawl-delay: 1e9\n", "/"},
		{"\xef\xbb\xbfUser-agent: *\nDisallow: /%E2%82%AC\n", "/\u20ac"},
		{"garbage without colon\n\x00\n", ""},
	} {
		f.Add([]byte(s.body), s.path)
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		rules, ttl := robotsFromResponse(&Response{Status: http.StatusOK, Body: body}, nil)
		if rules == nil || ttl <= 0 {
			t.Fatalf("rules %v for %v", rules, ttl)
		}
		if rules.crawlDelay < 0 || rules.crawlDelay > maxCrawlDelay {
			t.Fatalf("crawl delay %v out of [0, %v]", rules.crawlDelay, maxCrawlDelay)
		}
		u, err := url.Parse("http://example.com" + path)
		if err != nil {
			u = &url.URL{Scheme: "http", Host: "example.com", Path: path}
		}
		rules.allows(u)
		rules.allows(&url.URL{Scheme: "http", Host: "example.com", Opaque: path, RawQuery: path})
	})
}

// lineCapture is a LineSink that keeps the records written to it.
type lineCapture struct{ records [][]byte }

func (c *lineCapture) Write(_ context.Context, rec []byte) error {
	c.records = append(c.records, bytes.Clone(rec))
	return nil
}

func (c *lineCapture) Flush(context.Context) error { return nil }

// fuzzResult builds a Result with outside strings in every text field.
func fuzzResult(u, title, msg string, status int) *Result {
	return &Result{
		URL: u, FinalURL: u, Status: status, Title: title, Description: msg,
		Canonical: u, H1: title, Lang: msg, ContentType: msg,
		Links: []string{u, title}, Redirects: []string{msg},
		Fields: map[string][]string{title: {msg, u}, "price": {title}},
		Error:  &ResultError{Kind: Kind(msg), Message: msg},
	}
}

// wantJSONString is s as it reads back from JSON: cleaned by CleanText
// (each invalid UTF-8 byte becomes U+FFFD, control characters go).
func wantJSONString(s string) string { return CleanText(s) }

// FuzzJSONOutput checks that a result with any strings is encoded as
// exactly one line of valid JSON whose url, title and error read back the
// same, with every field or with a chosen subset.
func FuzzJSONOutput(f *testing.F) {
	f.Add("http://example.com/", "Title", "message", 200)
	f.Add("http://e.com/\u2028\n\"\\", "<script>&amp;\x00", "\xff\xfe bad utf-8 \r\n", 0)
	f.Add("", "\u0085\u2029", "{\"kind\":1}", -1)
	f.Fuzz(func(t *testing.T, u, title, msg string, status int) {
		for _, fields := range [][]string{nil, {"title", "url", "error", "price", "nope"}} {
			var sink lineCapture
			out := NewJSONOutput(&sink, fields)
			if err := out.Write(context.Background(), fuzzResult(u, title, msg, status)); err != nil {
				t.Fatalf("write: %v", err)
			}
			if len(sink.records) != 1 {
				t.Fatalf("%d records", len(sink.records))
			}
			rec := sink.records[0]
			if bytes.ContainsAny(rec, "\n\r") || !json.Valid(rec) {
				t.Fatalf("record is not one line of JSON: %q", rec)
			}
			var back struct {
				URL   string
				Title string
				Error ResultError
			}
			if err := json.Unmarshal(rec, &back); err != nil {
				t.Fatalf("unmarshal %q: %v", rec, err)
			}
			if back.URL != wantJSONString(u) || back.Title != wantJSONString(title) || back.Error.Message != wantJSONString(msg) {
				t.Fatalf("round trip of %q, %q, %q gave %+v", u, title, msg, back)
			}
		}
	})
}

// FuzzCSVOutput checks that a result with any strings, written through
// the CSV sink, parses back to the same header and fields, cleaned and
// with formulas neutralised.
func FuzzCSVOutput(f *testing.F) {
	f.Add("http://example.com/", "Title", "message", 200)
	f.Add("http://e.com/a,b", "say \"hi\"\r\nline two", "\n", 0)
	f.Add("\"", "\xff\xfe", " leading space, trailing\r", -7)
	f.Fuzz(func(t *testing.T, u, title, msg string, status int) {
		ctx := context.Background()
		name := filepath.Join(t.TempDir(), "out.csv")
		cols := CSVColumns(nil, []Selector{{Name: "price"}})
		sink, err := store.OpenCSV(ctx, name, cols)
		if err != nil {
			t.Fatal(err)
		}
		r := fuzzResult(u, title, msg, status)
		if err := NewCSVOutput(sink, cols).Write(ctx, r); err != nil {
			t.Fatalf("write: %v", err)
		}
		if err := sink.Close(ctx); err != nil {
			t.Fatalf("close: %v", err)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rd := csv.NewReader(bytes.NewReader(data))
		rows, err := rd.ReadAll()
		if err != nil {
			t.Fatalf("parse %q: %v", data, err)
		}
		want := make([]string, len(cols))
		for i, c := range cols {
			want[i] = csvValue(r, c)
			if want[i] != "" && strings.ContainsRune("=+-@\t\r", rune(want[i][0])) {
				want[i] = "'" + want[i] // the sink's formula guard
			}
		}
		if len(rows) != 2 || !equalCSV(rows[0], cols) || !equalCSV(rows[1], want) {
			t.Fatalf("wrote %q, read back %q", want, rows)
		}
		for _, v := range rows[1] {
			if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' }) {
				t.Fatalf("field %q holds a control character or invalid UTF-8", v)
			}
		}
	})
}

// equalCSV compares fields as encoding/csv reads them back: a "\r\n"
// inside a quoted field reads as "\n".
func equalCSV(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != strings.ReplaceAll(want[i], "\r\n", "\n") {
			return false
		}
	}
	return true
}
