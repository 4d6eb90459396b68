package crawler

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/warc"
)

// TestArchiveGolden: the records of a page fetched through a redirect,
// then of its revisit by a later run, with a fixed clock and record IDs,
// byte for byte.
func TestArchiveGolden(t *testing.T) {
	dir := t.TempDir()
	n := 0
	opts := warc.Options{
		Prefix: filepath.Join(dir, "g"),
		Info:   []warc.Field{{Name: "software", Value: "trawl/test"}},
		Now:    func() time.Time { return time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC) },
		NewID: func() string {
			n++
			return fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", n)
		},
	}
	w, err := warc.NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	a := NewArchive(w)
	at := time.Date(2026, 12, 1, 8, 0, 1, 250000000, time.UTC)
	body := "<title>A</title>"
	exchanges := []*Exchange{
		{URL: "http://example.com/old", Date: at, IP: "192.0.2.7",
			Request:  []byte("GET /old HTTP/1.1\r\nHost: example.com\r\n\r\n"),
			Response: []byte("HTTP/1.1 301 Moved Permanently\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n")},
		{URL: "http://example.com/a", Date: at.Add(time.Second), IP: "192.0.2.7",
			Request:  []byte("GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"),
			Response: []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"e1\"\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body))},
	}
	res := &Result{URL: "http://example.com/old", FinalURL: "http://example.com/a", Status: 200, Title: "A",
		Redirects: []string{"http://example.com/a"}}
	ctx := t.Context()
	p, err := a.Prepare(ctx, res, exchanges)
	if err != nil {
		t.Fatal(err)
	}
	first, err := a.Write(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	opts.Prefix = filepath.Join(dir, "h")
	if w, err = warc.NewWriter(opts); err != nil {
		t.Fatal(err)
	}
	a = NewArchive(w)
	// The next run: a 304, carried forward, refers to the first capture.
	again := []*Exchange{{URL: "http://example.com/a", Date: at.Add(time.Hour), IP: "192.0.2.7",
		Request:  []byte("GET /a HTTP/1.1\r\nHost: example.com\r\nIf-None-Match: \"e1\"\r\n\r\n"),
		Response: []byte("HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\n\r\n")}}
	res2 := &Result{URL: "http://example.com/a", FinalURL: "http://example.com/a", Status: 304, Title: "A", Change: ChangeUnchanged,
		PreviousFetchedAt: Timestamp{at}, prevWarc: first}
	if p, err = a.Prepare(ctx, res2, again); err != nil {
		t.Fatal(err)
	}
	second, err := a.Write(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, f := range []string{first.File, second.File} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw)) // multistream: every member
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "warc", "archive.warc")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("records differ from %s (-update to rewrite):\n%s", golden, got)
	}
}

// TestArchiveMetadataJSON: the metadata record's block is json.Marshal of
// the result (HTML characters and line separators escaped), byte for
// byte, though it is encoded in one pass.
func TestArchiveMetadataJSON(t *testing.T) {
	w, err := warc.NewWriter(warc.Options{Prefix: filepath.Join(t.TempDir(), "m")})
	if err != nil {
		t.Fatal(err)
	}
	a := NewArchive(w)
	res := &Result{URL: "http://example.com/a?x=1&y=<2>", FinalURL: "http://example.com/a?x=1&y=<2>", Status: 200,
		Title: "Fish & <chips> \u2028 \"quoted\" é", Description: "a > b", Links: []string{"http://example.com/b?c&d"}}
	ex := &Exchange{URL: res.FinalURL, Date: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), IP: "192.0.2.7"}
	m, err := a.metadata(new(bytes.Buffer), res, ex, "<urn:uuid:00000000-0000-4000-8000-000000000001>")
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Block, want) {
		t.Fatalf("metadata block:\n%s\nwant json.Marshal's:\n%s", m.Block, want)
	}
	if !bytes.Contains(want, []byte(`\u003cchips\u003e`)) || !bytes.Contains(want, []byte(`\u2028`)) {
		t.Fatalf("the test's result has no escaped characters: %s", want)
	}
}
