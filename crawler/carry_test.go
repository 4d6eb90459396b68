package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// memLines is a LineSink that keeps the records written.
type memLines struct{ lines [][]byte }

func (m *memLines) Write(_ context.Context, rec []byte) error {
	m.lines = append(m.lines, bytes.Clone(rec))
	return nil
}

func (m *memLines) Flush(context.Context) error { return nil }

// carryLines are previous records: trawl's own, and lines trawl does not
// write (escapes, nulls, empty members, members of another version).
func carryLines(t testing.TB) []string {
	t.Helper()
	rich := Result{
		URL: "http://h.test/a", Host: "h.test", Status: 200, ContentType: "text/html; charset=utf-8",
		Links: []string{"http://h.test/b", "http://h.test/c?q=%22x%22"}, Redirects: []string{},
		FetchedAt: Timestamp{time.Date(2026, 11, 30, 10, 0, 0, 123e6, time.UTC)}, Bytes: 123, ElapsedMS: 4,
		Fields:      map[string][]string{"price": {"12 €", "a\tb\nc"}, "empty": {}, "q": {`say "hi" \ there`}},
		PageData:    PageData{ContentHash: strings.Repeat("ab", 32), ETag: `"e1"`, LastModified: "Mon, 30 Nov 2026 10:00:00 GMT", Headers: map[string]any{"server": "nginx"}, JSONLD: []any{map[string]any{"@type": "Thing", "n": 1.5}}, Images: []string{"http://h.test/i.png"}, RobotsMeta: &RobotsMeta{Meta: []string{"noindex"}}},
		PageContent: &PageContent{Markdown: "# T\n\n<b>x</b> & y\r\n", Text: "naïve – ü 日本 \u2028 line", Extract: &ExtractInfo{Method: "readability", Coverage: 0.5}, WordCount: 3, Byline: "Ann"},
		Title:       "Ünïcödé \"title\" <&> \\ / 😀", Description: "tab\there", H1: "h1", H1Count: 3, Lang: "de", LinksDropped: 2, LinksTruncated: true,
	}
	var lines []string
	for _, r := range []Result{rich, {URL: "http://h.test/min", Status: 200, FetchedAt: rich.FetchedAt, PageData: PageData{ETag: `W/"w"`}}} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	return append(lines,
		// Escapes trawl does not write, unknown members (an older or newer
		// version), nulls and empty members, HTML escaped by another encoder.
		`{"url":"http://h.test/e","status":200,"title":"caf\u00e9 \u003cb\u003e \/ \u2028","description":"ctl \u0001\u007f\u0085 x","h1":"","lang":null,"links":null,"fetched_at":"2026-11-30T10:00:00Z","etag":"\"x\"","old_field":{"a":[1,2]},"gone":"x","fields":{"s":["a\u0000b"],"t":null}}`,
		`{"url":"http://h.test/f","status":200,"links":["http://h.test/\u0041","http://h.test/b"],"links_dropped":0,"links_truncated":false,"word_count":7,"markdown":"","text":"raw \u00ff","fetched_at":"2026-11-30T10:00:00.5+02:00","content_hash":"","images":[],"headers":{}}`,
		`{"url":"http://h.test/g","status":200,"links":[ "http://h.test/x" , "http://h.test/y" ],"title":"bad \udc00 surrogate","description":"invalid `+"\xff\xfe"+` bytes","fetched_at":"2026-11-30T10:00:00Z"}`,
		`{"url":"http://h.test/h","status":200,"Title":"case","fetched_at":"2026-11-30T10:00:00Z"}`,                                      // decoding matches it by case: decoded whole
		`{"url":"http://h.test/i","status":200,"title":"one","title":"two","links":[],"fetched_at":"2026-11-30T10:00:00Z"}`,              // twice: decoded whole
		`{"url":"http://h.test/j","status":200,"title":5,"fetched_at":"2026-11-30T10:00:00Z"}`,                                           // a wrong type: refused
		`{"url":"http://h.test/k","status":200,"bytes":"many","fetched_at":"2026-11-30T10:00:00Z"}`,                                      // a wrong type not carried: refused
		`{"url":"http://h.test/l","status":200,"links_dropped":1e2,"word_count":-3,"fetched_at":"2026-11-30T10:00:00Z"}`,                 // not an int: refused
		`{"url":"http://h.test/m","status":200,"links":["a","b\"c"],"fields":{"b":["2"],"a":["1"]},"fetched_at":"2026-11-30T10:00:00Z"}`, // map keys out of order
	)
}

// carryOwn are the 304s the previous records are carried into: with and
// without validators, headers and a content type of their own.
func carryOwn() []Result {
	at := Timestamp{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	return []Result{
		{URL: "http://h.test/a", Input: "http://h.test/a", Host: "h.test", Status: 304, FetchedAt: at, ElapsedMS: 3, Change: ChangeUnchanged, RemoteAddr: "127.0.0.1:80", Proto: "HTTP/1.1"},
		{URL: "http://h.test/a", Status: 304, FetchedAt: at, ContentType: "text/html", Change: ChangeUnchanged, Depth: 2, Referrer: "http://h.test/",
			PageData: PageData{ETag: `"new"`, LastModified: "Tue, 01 Dec 2026 09:00:00 GMT", Headers: map[string]any{"etag": `"new"`}, ContentHash: "ignored"}},
		{URL: "http://h.test/a", Status: 200, FetchedAt: at, Change: ChangeUnchanged, Via: ViaSitemapLastmod, Title: "own title is not kept", Links: []string{"http://h.test/own"}},
	}
}

// TestCarrySpliceMatchesDecoding checks that a record carried forward
// and spliced from its previous record as written is byte for byte the
// record of decoding the previous record into a Result, copying its
// fields and encoding it (what trawl did before), with and without
// --fields; that outputs which do not splice get the same fields
// (materialize); and that a previous record refused by decoding is
// refused by both.
func TestCarrySpliceMatchesDecoding(t *testing.T) {
	spliced := 0
	for _, line := range carryLines(t) {
		if _, ok := splitRecord(layout(), []byte(line)); ok {
			spliced++
		}
	}
	if spliced < 8 {
		t.Fatalf("%d previous records split, want most of them", spliced)
	}
	fieldSets := [][]string{nil, {"url", "status", "title", "links", "price", "change", "previous_fetched_at", "etag", "markdown"}, {"fields", "content_type", "q"}}
	for i, line := range carryLines(t) {
		for j, own := range carryOwn() {
			for _, fields := range fieldSets {
				for _, links := range []bool{false, true} {
					checkCarrySplice(t, line, own, fields, links, i, j)
				}
			}
		}
	}
}

// checkCarrySplice compares the spliced record of line carried into own
// with the decoded one.
func checkCarrySplice(t *testing.T, line string, own Result, fields []string, links bool, i, j int) {
	t.Helper()
	var prev Result
	decErr := json.Unmarshal([]byte(line), &prev)
	old := own
	if decErr == nil {
		copyPrevious(&old, &prev)
	}

	got := own
	rec, err := readPreviousLine([]byte(line))
	if err == nil {
		err = carryRecord(&got, rec)
	}
	if (err != nil) != (decErr != nil) {
		t.Fatalf("line %d own %d: carrying: %v, decoding: %v\n%s", i, j, err, decErr, line)
	}
	if err != nil {
		return
	}
	if rec.whole == nil && got.carry == nil {
		t.Fatalf("line %d own %d: split but not carried as written", i, j)
	}
	if links {
		gotLinks := got.Links
		if got.carry != nil {
			gotLinks = carriedLinks(t, got.carry)
		}
		if !slices.Equal(gotLinks, old.Links) && !(len(gotLinks) == 0 && len(old.Links) == 0) {
			t.Errorf("line %d own %d: links %q, want %q", i, j, gotLinks, old.Links)
		}
	}
	want := encodeWith(t, &old, fields)
	if s := encodeWith(t, &got, fields); !bytes.Equal(s, want) {
		t.Errorf("line %d own %d fields %v: spliced\n%s\nwant (decoded and encoded)\n%s", i, j, fields, s, want)
	}
	if err := got.materialize(); err != nil {
		t.Fatalf("line %d own %d: materialize: %v", i, j, err)
	}
	if s := encodeWith(t, &got, fields); !bytes.Equal(s, want) {
		t.Errorf("line %d own %d fields %v: materialized\n%s\nwant\n%s", i, j, fields, s, want)
	}
}

// encodeWith is the JSON output's record of r.
func encodeWith(t *testing.T, r *Result, fields []string) []byte {
	t.Helper()
	var sink memLines
	c := *r
	if err := NewJSONOutput(&sink, fields).Write(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return sink.lines[0]
}

// FuzzCarrySplice: whatever the previous record, carrying it forward
// spliced gives the record of decoding and encoding it, or both refuse it.
func FuzzCarrySplice(f *testing.F) {
	for _, l := range carryLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for j, own := range carryOwn() {
			checkCarrySplice(t, line, own, nil, j == 0, 0, j)
		}
	})
}

// FuzzRawString: a JSON string of a previous record (an etag, a
// last_modified) decodes as encoding/json decodes it.
func FuzzRawString(f *testing.F) {
	for _, s := range []string{`"\"5f3a-7530\""`, `"W/\"x\""`, `"Tue, 01 Dec 2026 21:00:00 GMT"`, `""`, `"\ud800"`, "\"\xff\"", `"\u00e9\\"`, `null`, `"a\nb"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var want string
		if !json.Valid([]byte(v)) || json.Unmarshal([]byte(v), &want) != nil {
			return // not a string: records that split hold valid JSON
		}
		got, err := rawString([]byte(v))
		if err != nil || got != want {
			t.Fatalf("rawString(%q) = %q, %v; want %q", v, got, err, want)
		}
	})
}

// TestCarrySpliceOneOutput: records carried forward one after another
// through one JSON output (which splices each into the same buffer) are
// each the record a fresh output writes.
func TestCarrySpliceOneOutput(t *testing.T) {
	var sink memLines
	out := NewJSONOutput(&sink, nil)
	var want [][]byte
	for i, line := range carryLines(t) {
		for j, own := range carryOwn() {
			rec, err := readPreviousLine([]byte(line))
			if err == nil {
				err = carryRecord(&own, rec)
			}
			if err != nil {
				continue
			}
			want = append(want, encodeWith(t, &own, nil))
			if err := out.Write(context.Background(), &own); err != nil {
				t.Fatalf("line %d own %d: %v", i, j, err)
			}
		}
	}
	if len(want) < 10 || len(sink.lines) != len(want) {
		t.Fatalf("%d records written, %d expected", len(sink.lines), len(want))
	}
	for i := range want {
		if !bytes.Equal(sink.lines[i], want[i]) {
			t.Errorf("record %d:\n%s\nwant\n%s", i, sink.lines[i], want[i])
		}
	}
}

// carriedLinks returns the links of c as a crawl reads them
// (forCarriedLinks).
func carriedLinks(t *testing.T, c *carriedRecord) []string {
	t.Helper()
	var links []string
	if err := forCarriedLinks(layout(), c, func(link []byte) error {
		links = append(links, string(link))
		return nil
	}); err != nil {
		t.Fatalf("links: %v", err)
	}
	return links
}
