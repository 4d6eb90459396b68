package warc

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixed returns options with a fixed clock and sequential record IDs.
func fixed(prefix string) Options {
	n := 0
	return Options{
		Prefix: prefix,
		Info:   []Field{{"software", "trawl/test"}, {"format", "WARC File Format 1.1"}},
		Now:    func() time.Time { return time.Date(2026, 12, 1, 10, 20, 30, 0, time.UTC) },
		NewID: func() string {
			n++
			return fmt.Sprintf("<urn:uuid:00000000-0000-4000-8000-%012d>", n)
		},
	}
}

// sha1B32 is the digest computed here, independently of DigestOf.
func sha1B32(b []byte) string {
	s := sha1.Sum(b)
	return "sha1:" + base32.StdEncoding.EncodeToString(s[:])
}

const chunkedResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"6\r\n<p>hel\r\n5;ext=1\r\nlo</p\r\n1\r\n>\r\n0\r\n\r\n"

// page returns the request, response and metadata records of one page.
func page(w *Writer, uri string, response string) []*Record {
	respID := w.NewID()
	req := &Record{Block: []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")}
	req.Header.Add("WARC-Type", TypeRequest)
	req.Header.Add("WARC-Record-ID", w.NewID())
	req.Header.Add("WARC-Date", "2026-12-01T10:20:31Z")
	req.Header.Add("WARC-Target-URI", uri)
	req.Header.Add("WARC-Concurrent-To", respID)
	req.Header.Add("Content-Type", ContentTypeHTTPRequest)
	resp := &Record{Block: []byte(response)}
	resp.Header.Add("WARC-Type", TypeResponse)
	resp.Header.Add("WARC-Record-ID", respID)
	resp.Header.Add("WARC-Date", "2026-12-01T10:20:31Z")
	resp.Header.Add("WARC-Target-URI", uri)
	resp.Header.Add("WARC-IP-Address", "192.0.2.1")
	resp.Header.Add("Content-Type", ContentTypeHTTPResponse)
	resp.Header.Add("WARC-Payload-Digest", DigestOf(SHA1, HTTPPayload(resp.Block)))
	meta := &Record{Block: []byte(`{"url":"` + uri + `"}`)}
	meta.Header.Add("WARC-Type", TypeMetadata)
	meta.Header.Add("WARC-Record-ID", w.NewID())
	meta.Header.Add("WARC-Date", "2026-12-01T10:20:31Z")
	meta.Header.Add("WARC-Target-URI", uri)
	meta.Header.Add("WARC-Concurrent-To", respID)
	meta.Header.Add("Content-Type", "application/json")
	return []*Record{req, resp, meta}
}

// members returns the gzip members of a file, each decompressed.
func members(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	br := bytes.NewReader(b)
	var out []string
	for br.Len() > 0 {
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatalf("%s: member %d: %v", path, len(out), err)
		}
		zr.Multistream(false)
		m, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: member %d: %v", path, len(out), err)
		}
		out = append(out, string(m))
	}
	return out
}

// TestGoldenRecords: the bytes of a file with a fixed clock and IDs, one
// gzip member per record.
func TestGoldenRecords(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(fixed(filepath.Join(dir, "crawl")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	places, err := w.Write(ctx, page(w, "https://example.com/", chunkedResponse)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "crawl-20261201102030-00000.warc.gz")
	if places[1].File != name {
		t.Errorf("placement names %q, want %q", places[1].File, name)
	}
	ms := members(t, name)
	if len(ms) != 4 {
		t.Fatalf("%d gzip members, want 4 (warcinfo and three records)", len(ms))
	}
	got := strings.Join(ms, "")
	golden := filepath.Join("testdata", "golden.warc")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("records differ from %s (-update to rewrite):\n%s", golden, got)
	}
	if _, err := os.Stat(name + OpenSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Close: %v", name+OpenSuffix, err)
	}
}

// TestDigestsIndependent: the digests in the records are those computed
// here with crypto/sha1 over the entity body as sent, chunked framing
// removed, content coding kept.
func TestDigestsIndependent(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	body := gz("<p>hello</p>")
	cases := []struct {
		name, resp string
		payload    []byte
	}{
		{"chunked", chunkedResponse, []byte("<p>hello</p>")},
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", []byte("hello")},
		{"gzip-chunked", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body), body},
		{"no-length", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", []byte("until close")},
		{"cut chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01234", []byte("01234")},
		{"304", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", nil},
		{"large", "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("y", 20000), []byte(strings.Repeat("y", 20000))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWriter(fixed(filepath.Join(dir, "d")))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			recs := page(w, "http://example.com/", c.resp)
			if _, err := w.Write(ctx, recs...); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			files, _ := Files(filepath.Join(dir, "d"))
			f, err := os.Open(files[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rd := NewReader(f)
			for {
				r, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if got, want := r.Header.Get("WARC-Block-Digest"), sha1B32(r.Block); got != want {
					t.Errorf("%s: block digest %s, want %s", r.Type(), got, want)
				}
				if r.Type() == TypeResponse {
					if string(r.Block) != c.resp {
						t.Errorf("response block %q, want the response as sent", r.Block)
					}
					if got, want := r.Header.Get("WARC-Payload-Digest"), sha1B32(c.payload); got != want {
						t.Errorf("payload digest %s, want %s", got, want)
					}
				}
				if err := r.Verify(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestSHA256: --warc-digest sha256 digests, base32.
func TestSHA256(t *testing.T) {
	b := []byte("hello")
	s := sha256.Sum256(b)
	if got, want := DigestOf(SHA256, b), "sha256:"+base32.StdEncoding.EncodeToString(s[:]); got != want {
		t.Errorf("DigestOf(sha256) = %s, want %s", got, want)
	}
	if _, err := NewWriter(Options{Prefix: "x", Digest: "md5"}); !errors.Is(err, ErrUnknownDigest) {
		t.Errorf("md5: %v, want ErrUnknownDigest", err)
	}
}

// TestVerifyCatchesTampering: a changed block fails Verify.
func TestVerifyCatchesTampering(t *testing.T) {
	w, _ := NewWriter(fixed("x"))
	recs := page(w, "http://example.com/", chunkedResponse)
	r := recs[1]
	r.Header.Add("WARC-Block-Digest", DigestOf(SHA1, r.Block))
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	r.Block = bytes.Replace(r.Block, []byte("hel"), []byte("HEL"), 1)
	if err := r.Verify(); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered record: %v, want ErrDigestMismatch", err)
	}
}

// readAll reads every record of path, failing the test on any error.
func readAll(t *testing.T, path string) []*ReadRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := NewReader(f)
	var out []*ReadRecord
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := r.Verify(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
}

// TestRotation: past MaxSize a new file starts, each with its warcinfo
// first; placements point at the records.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "r"))
	opts.MaxSize = 600
	opts.CDX = true
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var places []Placement
	for i := range 5 {
		p, err := w.Write(ctx, page(w, fmt.Sprintf("http://example.com/%d", i), chunkedResponse)...)
		if err != nil {
			t.Fatal(err)
		}
		places = append(places, p[1])
	}
	files, err := Files(opts.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !f.Open {
			t.Errorf("%s closed before Commit: a crash could leave records the output never named", f.Path)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if files, _ = Files(opts.Prefix); len(files) != 5 || files[3].Open || !files[4].Open {
		t.Errorf("after Commit: %+v, want the four full files closed and the last open", files)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if files, err = Files(opts.Prefix); err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("%d files, want 5 (one page each past 600 bytes): %v", len(files), files)
	}
	for i, f := range files {
		if f.Open || f.Serial != i {
			t.Errorf("file %d: %+v, want closed with serial %d", i, f, i)
		}
		recs := readAll(t, f.Path)
		if len(recs) != 4 || recs[0].Type() != TypeWarcinfo {
			t.Errorf("%s: %d records, first %s; want warcinfo and 3", f.Path, len(recs), recs[0].Type())
		}
		cdx, err := os.ReadFile(CDXPath(f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(cdx), `"offset":"`+fmt.Sprint(places[i].Offset)+`"`) {
			t.Errorf("%s: %s, want the response at offset %d", CDXPath(f.Path), cdx, places[i].Offset)
		}
	}
	for i, p := range places {
		r, err := ReadAt(p.File, p.Offset)
		if err != nil {
			t.Fatal(err)
		}
		if r.Type() != TypeResponse || r.Header.Get("WARC-Target-URI") != fmt.Sprintf("http://example.com/%d", i) || r.Length != p.Length {
			t.Errorf("placement %+v: %s record of %s, length %d", p, r.Type(), r.Header.Get("WARC-Target-URI"), r.Length)
		}
	}
	// A new writer of the same prefix goes on with the next serial.
	w2, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w2.Write(ctx, page(w2, "http://example.com/x", chunkedResponse)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p[0].File, "-00005.warc.gz") {
		t.Errorf("next writer's file %s, want serial 00005", p[0].File)
	}
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRecover: an .open file with a torn last member is cut after its
// last whole record (or the last committed one), indexed and renamed.
func TestRecover(t *testing.T) {
	for _, committed := range []bool{false, true} {
		t.Run(fmt.Sprint("committed=", committed), func(t *testing.T) {
			dir := t.TempDir()
			opts := fixed(filepath.Join(dir, "c"))
			w, err := NewWriter(opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var ends []int64
			var first int64 // length of a page's first member
			for i := range 3 {
				p, err := w.Write(ctx, page(w, fmt.Sprintf("http://example.com/%d", i), chunkedResponse)...)
				if err != nil {
					t.Fatal(err)
				}
				ends, first = append(ends, p[2].Offset+p[2].Length), p[0].Length
			}
			// The crash: the writer is never closed, and the next page
			// was half written.
			open := filepath.Join(dir, "c-20261201102030-00000.warc.gz"+OpenSuffix)
			whole, err := os.ReadFile(open)
			if err != nil {
				t.Fatal(err)
			}
			torn := whole[ends[0] : ends[0]+first/2]
			if err := os.WriteFile(open, append(whole, torn...), 0o644); err != nil {
				t.Fatal(err)
			}
			w.f.Close(ctx)
			ropts := RecoverOptions{CDX: true}
			wantEnd, wantRecords := ends[2], 10
			if committed {
				ropts.Committed = func(r *ReadRecord) bool {
					return r.Type() == TypeMetadata && string(r.Block) != `{"url":"http://example.com/2"}`
				}
				wantEnd, wantRecords = ends[1], 7
			}
			got, err := Recover(ctx, opts.Prefix, ropts)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(open, OpenSuffix)
			if len(got) != 1 || got[0].File != name || got[0].Records != wantRecords {
				t.Fatalf("Recover = %+v, want %s with %d records", got, name, wantRecords)
			}
			st, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != wantEnd {
				t.Errorf("recovered size %d, want %d", st.Size(), wantEnd)
			}
			if n := len(readAll(t, name)); n != wantRecords {
				t.Errorf("%d records read back, want %d", n, wantRecords)
			}
			cdx, err := os.ReadFile(CDXPath(name))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(cdx), "\n"); n != (wantRecords-1)/3 {
				t.Errorf("cdx of %d lines, want %d:\n%s", n, (wantRecords-1)/3, cdx)
			}
		})
	}
}

func TestSURT(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://www.Example.com/", "com,example)/"},
		{"https://example.com/A/b?z=1&a=2", "com,example)/a/b?a=2&z=1"},
		{"http://example.com:8080/x", "com,example:8080)/x"},
		{"https://example.com:443", "com,example)/"},
		{"http://127.0.0.1:8000/p", "127.0.0.1:8000)/p"},
		{"http://sub.example.co.uk/", "uk,co,example,sub)/"},
	} {
		if got := SURT(c.in); got != c.want {
			t.Errorf("SURT(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestPayloadDigest: Record.PayloadDigest is the digest computed here
// of the entity body as sent (chunked framing removed, content coding
// kept), and keeps the head for the CDX line.
func TestPayloadDigest(t *testing.T) {
	var big strings.Builder
	big.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
	var bigPayload strings.Builder
	for i := range 40 {
		chunk := strings.Repeat(fmt.Sprintf("<p>%d</p>", i), 150+i)
		fmt.Fprintf(&big, "%x;n=%d\r\n%s\r\n", len(chunk), i, chunk)
		bigPayload.WriteString(chunk)
	}
	big.WriteString("0\r\nTrailer: x\r\n\r\n")
	for _, c := range []struct {
		name, resp, payload string
		status              int
	}{
		{"chunked", chunkedResponse, "<p>hello</p>", 200},
		{"chunked, many chunks past the copy buffer", big.String(), bigPayload.String(), 200},
		{"length shorter than the body", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", "abc", 200},
		{"cut chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01234", "01234", 200},
		{"cut in a size line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1", "abc", 200},
		{"no length", "HTTP/1.1 404 Not Found\r\n\r\nuntil close", "until close", 404},
		{"not HTTP", "garbage\r\n\r\nbody", "body", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, algo := range []string{SHA1, SHA256} {
				r := &Record{Block: []byte(c.resp)}
				want := sha1B32([]byte(c.payload))
				if algo == SHA256 {
					s := sha256.Sum256([]byte(c.payload))
					want = "sha256:" + base32.StdEncoding.EncodeToString(s[:])
				}
				if got := r.PayloadDigest(algo); got != want {
					t.Errorf("%s: %s, want %s", algo, got, want)
				}
				status := 0 // no head kept
				if r.head != nil {
					status = r.head.Status
				}
				if status != c.status {
					t.Errorf("head kept with status %d, want %d", status, c.status)
				}
			}
		})
	}
}

// TestPayloadDigestChunkedNoCopy: the payload digest of a chunked
// response of 64 KiB is computed without copying the body out (which
// allocated more than the body for every chunked response).
func TestPayloadDigestChunkedNoCopy(t *testing.T) {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := strings.Repeat("<p>a chunked page</p>\n", 186) // 4 KiB
	for range 16 {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	b.WriteString("0\r\n\r\n")
	r := &Record{Block: []byte(b.String())}
	r.PayloadDigest(SHA1) // fills the pools
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		r.PayloadDigest(SHA1)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 16<<10 {
		t.Errorf("%d bytes allocated for the digest of a %d-byte chunked response, want under 16 KiB", per, len(r.Block))
	}
}

func FuzzHTTPPayload(f *testing.F) {
	f.Add([]byte(chunkedResponse))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p := HTTPPayload(msg)
		if len(p) > len(msg) {
			t.Errorf("payload of %d bytes from a message of %d", len(p), len(msg))
		}
		for _, algo := range []string{SHA1, SHA256} {
			if got, want := (&Record{Block: msg}).PayloadDigest(algo), DigestOf(algo, p); got != want {
				t.Errorf("PayloadDigest %s, want %s (the digest of HTTPPayload)", got, want)
			}
		}
	})
}

func FuzzReader(f *testing.F) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("WARC/1.1\r\nWARC-Type: metadata\r\nContent-Length: 2\r\n\r\n{}\r\n\r\n"))
	zw.Close()
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		for range 100 {
			r, err := rd.Next()
			if err != nil {
				return
			}
			if r.Offset+r.Length > int64(len(data)) {
				t.Fatalf("record at %d+%d past the end %d", r.Offset, r.Length, len(data))
			}
		}
	})
}

// TestStoredMembers: a content-encoded response, and every record with
// CompressNone, is stored in its gzip member as it is (its bytes appear
// in the file); other records are compressed.
func TestStoredMembers(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	body := gz(strings.Repeat("<p>compressed already</p>", 50))
	encoded := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	plain := "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("y", 2000)
	for _, c := range []struct {
		name        string
		compression string
		resp        string
		stored      bool
	}{
		{"encoded", "", encoded, true},
		{"encoded fast", CompressFast, encoded, true},
		{"plain", "", plain, false},
		{"plain fast", CompressFast, plain, false},
		{"plain uncompressed", CompressNone, plain, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := fixed(filepath.Join(dir, "s"))
			opts.Compression = c.compression
			w, err := NewWriter(opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			p, err := w.Write(ctx, page(w, "http://example.com/", c.resp)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p[1].File)
			if err != nil {
				t.Fatal(err)
			}
			member := b[p[1].Offset : p[1].Offset+p[1].Length]
			if got := bytes.Contains(member, []byte(c.resp)); got != c.stored {
				t.Errorf("response stored as is: %v, want %v (member of %d bytes for %d)", got, c.stored, len(member), len(c.resp))
			}
			readAll(t, p[1].File)
		})
	}
}

// TestCompressionModes: the response record of an HTML page takes the
// fewest bytes with CompressNormal (LZ77 finds its repeated markup), more
// with CompressFast (Huffman coding alone), and the most stored
// (CompressNone); each mode's file reads back with the same records and
// digests.
func TestCompressionModes(t *testing.T) {
	var body strings.Builder
	for i := 0; body.Len() < 20000; i++ {
		fmt.Fprintf(&body, "<li><a href=\"/page/%d.html\">Page %d</a> of the site, with some words.</li>\n", i*7919%20000, i)
	}
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", body.Len(), body.String())
	size := map[string]int64{}
	var blocks map[string]string
	for _, mode := range []string{CompressNormal, CompressFast, CompressNone} {
		opts := fixed(filepath.Join(t.TempDir(), "c"))
		opts.Compression = mode
		w, err := NewWriter(opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		p, err := w.Write(ctx, page(w, "http://example.com/", resp)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		size[mode] = p[1].Length
		got := map[string]string{}
		for _, r := range readAll(t, p[1].File) {
			got[r.Type()] = string(r.Block)
		}
		if got[TypeResponse] != resp {
			t.Errorf("%s: response block read back differs", mode)
		}
		if blocks != nil && !maps.Equal(got, blocks) {
			t.Errorf("%s: records read back differ from %s's", mode, CompressNormal)
		}
		blocks = got
	}
	t.Logf("response member: %v bytes for a %d-byte response", size, len(resp))
	if !(size[CompressNormal] < size[CompressFast] && size[CompressFast] < size[CompressNone]) {
		t.Errorf("member sizes %v: want normal < fast < none", size)
	}
	if size[CompressFast] > int64(len(resp))*3/4 || size[CompressFast] < size[CompressNormal]*3/2 {
		t.Errorf("fast member %d bytes: want Huffman coding alone, between 1.5x normal's %d and 3/4 of the %d-byte response", size[CompressFast], size[CompressNormal], len(resp))
	}
}

// TestUnknownCompression: a mode that is not one of the three is refused.
func TestUnknownCompression(t *testing.T) {
	opts := fixed(filepath.Join(t.TempDir(), "c"))
	opts.Compression = "best"
	if _, err := NewWriter(opts); !errors.Is(err, ErrUnknownCompression) {
		t.Fatalf("NewWriter with compression best: %v, want ErrUnknownCompression", err)
	}
}

// TestSmallRecordsStored: a record under storeBelow bytes (a request
// record) is stored in its gzip member as it is, a larger one of the same
// type is compressed, and both read back.
func TestSmallRecordsStored(t *testing.T) {
	for _, c := range []struct {
		name   string
		req    string
		stored bool
	}{
		{"small", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", true},
		{"large", "GET / HTTP/1.1\r\nHost: example.com\r\nCookie: " + strings.Repeat("a", 2*storeBelow) + "\r\n\r\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := NewWriter(fixed(filepath.Join(t.TempDir(), "s")))
			if err != nil {
				t.Fatal(err)
			}
			recs := page(w, "http://example.com/", chunkedResponse)
			recs[0].Block = []byte(c.req)
			ctx := context.Background()
			p, err := w.Write(ctx, recs...)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p[0].File)
			if err != nil {
				t.Fatal(err)
			}
			member := b[p[0].Offset : p[0].Offset+p[0].Length]
			if got := bytes.Contains(member, []byte(c.req)); got != c.stored {
				t.Errorf("request record stored as is: %v, want %v (member of %d bytes for a block of %d)", got, c.stored, len(member), len(c.req))
			}
			got := readAll(t, p[0].File)
			if len(got) != 4 || string(got[1].Block) != c.req {
				t.Errorf("read back %d records, want 4 with the request's block first after warcinfo", len(got))
			}
		})
	}
}

// TestNameTaken: a name taken meanwhile (by another process writing the
// same prefix), open or closed, makes the writer take the next serial; it
// never writes into or over another's file.
func TestNameTaken(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "n"))
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "n-20261201102030-")
	for _, taken := range []string{base + "00000.warc.gz" + OpenSuffix, base + "00001.warc.gz"} {
		if err := os.WriteFile(taken, []byte("another's"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	p, err := w.Write(ctx, page(w, "http://example.com/", chunkedResponse)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if want := base + "00002.warc.gz"; p[0].File != want {
		t.Errorf("wrote %s, want %s", p[0].File, want)
	}
	for _, taken := range []string{base + "00000.warc.gz" + OpenSuffix, base + "00001.warc.gz"} {
		if b, _ := os.ReadFile(taken); string(b) != "another's" {
			t.Errorf("%s changed: %q", taken, b)
		}
	}
}

// TestCDXSpill: a file's index lines past cdxSpillSize wait in a spool
// file, not in memory; at close the index holds every line, sorted, and
// the spool is gone.
func TestCDXSpill(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "x"))
	opts.CDX = true
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 600
	var name string
	for i := range n {
		p, err := w.Write(ctx, page(w, fmt.Sprintf("http://example.com/%d", n-i), chunkedResponse)...)
		if err != nil {
			t.Fatal(err)
		}
		name = p[0].File
	}
	spool := CDXPath(name) + OpenSuffix
	if st, err := os.Stat(spool); err != nil || st.Size() < cdxSpillSize {
		t.Fatalf("spool %s: %v, want the lines past %d bytes in it", spool, err, cdxSpillSize)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spool); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool left after close: %v", err)
	}
	b, err := os.ReadFile(CDXPath(name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != n || !slices.IsSorted(lines) {
		t.Errorf("%d lines (sorted: %v), want %d sorted", len(lines), slices.IsSorted(lines), n)
	}
}

// TestNewRecordID: record IDs are random (version 4) UUIDs in lower-case
// hex, each one different, past the refills of the buffered generator.
func TestNewRecordID(t *testing.T) {
	re := regexp.MustCompile(`^<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>$`)
	seen := map[string]bool{}
	for range 3 * len(idRandom.buf) / 16 {
		id := NewRecordID()
		if !re.MatchString(id) {
			t.Fatalf("record ID %q is not a version 4 UUID URN", id)
		}
		if seen[id] {
			t.Fatalf("record ID %q made twice", id)
		}
		seen[id] = true
	}
}

// TestCDXLineAsJSONMarshal: a CDXJ line written field by field is what
// json.Marshal writes of its fields, for URLs and file names with
// characters json.Marshal escapes (HTML, quotes, controls, U+2028,
// invalid UTF-8) and without.
func TestCDXLineAsJSONMarshal(t *testing.T) {
	for _, s := range []string{
		"http://example.com/a?b=1&c=2", "http://example.com/<script>", `http://example.com/"q"\`,
		"http://example.com/\t\x01\x7f", "http://example.com/é\u2028\u2029", "http://example.com/\xff\xfe", "", "plain",
	} {
		e := cdxEntry{prefix: "com,example)/ 20261201102031 ", j: cdxJSON{URL: s, Mime: s, Status: "200", Digest: s}}
		for _, file := range []string{"w-00000.warc.gz", s} {
			p := Placement{Offset: 12345, Length: 678}
			want := e.j
			want.Length, want.Offset, want.Filename = "678", "12345", file
			b, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.line(p, file); got != e.prefix+string(b) {
				t.Errorf("line for %q, %q:\n got %s\nwant %s", s, file, got, e.prefix+string(b))
			}
		}
	}
	e := cdxEntry{prefix: "k ", j: cdxJSON{URL: "u", Mime: "unk"}} // no status, no digest
	if got, want := e.line(Placement{Length: 1}, "f"), `k {"url":"u","mime":"unk","length":"1","offset":"0","filename":"f"}`; got != want {
		t.Errorf("line = %s, want %s", got, want)
	}
}

// TestTimestamp14: the CDX timestamp written digit by digit is what
// time.Format writes, in and out of UTC.
func TestTimestamp14(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 12, 1, 10, 20, 31, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("x", -5*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := timestamp14(tm), tm.UTC().Format("20060102150405"); got != want {
			t.Errorf("timestamp14(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestAddDateIndexedAsParsed: a record dated with AddDate gets the same
// WARC-Date and CDXJ timestamp as one whose date is parsed back from its
// field.
func TestAddDateIndexedAsParsed(t *testing.T) {
	tm := time.Date(2026, 12, 1, 23, 59, 59, 123456789, time.FixedZone("x", 3600))
	var a, b Record
	for _, r := range []*Record{&a, &b} {
		r.Header.Add("WARC-Type", TypeResponse)
		r.Header.Add("WARC-Target-URI", "http://example.com/")
	}
	a.AddDate(tm)
	b.Header.Add("WARC-Date", FormatDate(tm))
	ea, oka := cdxEntryOf(&a, nil)
	eb, okb := cdxEntryOf(&b, nil)
	if !oka || !okb || ea.prefix != eb.prefix || a.Header.Get("WARC-Date") != b.Header.Get("WARC-Date") {
		t.Errorf("AddDate: %q %q (%v), parsed: %q %q (%v)", a.Header.Get("WARC-Date"), ea.prefix, oka, b.Header.Get("WARC-Date"), eb.prefix, okb)
	}
}

// TestRecoverLeavesHeldFile: Recover of a prefix that another writer (a
// process of the same run, still running) is writing leaves that writer's
// open file alone and closes only the one a crash left; the running
// writer then goes on and closes its file whole.
func TestRecoverLeavesHeldFile(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "h"))
	ctx := context.Background()
	live, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Write(ctx, page(live, "http://example.com/live/0", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	crashed, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Write(ctx, page(crashed, "http://example.com/crashed", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	crashed.f.Close(ctx) // the crash: its process is gone, and its lock with it

	files, err := Files(opts.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, f := range files {
		held[f.Path] = f.Held()
	}
	liveName, crashedName := live.name, crashed.name
	liveOpen, crashedOpen := liveName+OpenSuffix, crashedName+OpenSuffix
	if len(files) != 2 || !held[liveOpen] || held[crashedOpen] {
		t.Fatalf("Held = %v, want %s held and %s not", held, liveOpen, crashedOpen)
	}

	got, err := Recover(ctx, opts.Prefix, RecoverOptions{CDX: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Recovered{{File: crashedName, Records: 4}, {File: liveOpen, InUse: true}}
	if len(got) != 2 || !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) {
		t.Fatalf("Recover = %+v, want %+v", got, want)
	}
	if n := len(readAll(t, crashedName)); n != 4 {
		t.Errorf("%d records in the crashed writer's file, want 4", n)
	}

	if _, err := live.Write(ctx, page(live, "http://example.com/live/1", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	if err := live.Close(ctx); err != nil {
		t.Fatalf("the running writer's close: %v", err)
	}
	if n := len(readAll(t, liveName)); n != 7 {
		t.Errorf("%d records in the running writer's file, want 7 (warcinfo, two pages)", n)
	}
	if files, _ := Files(opts.Prefix); slices.ContainsFunc(files, func(f File) bool { return f.Open }) {
		t.Errorf("files left open: %+v", files)
	}
}

// TestRecoverMetadataAndCut: Recover hands each metadata record of a
// crashed file as it reads it, then the offset the file is cut at,
// before the file is renamed; an error from Cut leaves the file open
// (cut), for the next Recover to read again.
func TestRecoverMetadataAndCut(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "m"))
	ctx := context.Background()
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int64
	for i := range 3 {
		p, err := w.Write(ctx, page(w, fmt.Sprintf("http://example.com/%d", i), chunkedResponse)...)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, p[2].Offset+p[2].Length)
	}
	open := w.name + OpenSuffix
	w.f.Close(ctx) // the crash
	committed := func(r *ReadRecord) bool {
		return r.Type() == TypeMetadata && string(r.Block) != `{"url":"http://example.com/2"}`
	}
	var seen []int64
	var cutAt int64
	fail := errors.New("the list could not be written")
	ropts := RecoverOptions{
		Committed: committed,
		Metadata:  func(r *ReadRecord) { seen = append(seen, r.Offset+r.Length) },
		Cut: func(file string, end int64) error {
			if _, err := os.Stat(open); err != nil {
				t.Errorf("Cut called after the rename: %v", err)
			}
			cutAt = end
			return fail
		},
	}
	if _, err := Recover(ctx, opts.Prefix, ropts); !errors.Is(err, fail) {
		t.Fatalf("Recover = %v, want Cut's error", err)
	}
	if !slices.Equal(seen, ends) || cutAt != ends[1] {
		t.Errorf("metadata records ending at %v, cut at %d; want %v and %d", seen, cutAt, ends, ends[1])
	}
	if st, err := os.Stat(open); err != nil || st.Size() != ends[1] {
		t.Fatalf("after Cut failed: %v, want %s left open and cut to %d", err, open, ends[1])
	}
	seen, ropts.Cut = nil, func(string, int64) error { return nil }
	got, err := Recover(ctx, opts.Prefix, ropts)
	if err != nil || len(got) != 1 || got[0].Records != 7 {
		t.Fatalf("second Recover = %+v, %v; want the file closed with 7 records", got, err)
	}
	if !slices.Equal(seen, ends[:2]) {
		t.Errorf("second Recover: metadata records ending at %v, want %v", seen, ends[:2])
	}
}

// TestRecoverRenamedMeanwhile: a running writer of the prefix closes its
// file (renames it) after Recover listed the files and before Recover
// opens it: Recover goes on, and leaves the finished file whole.
func TestRecoverRenamedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "r"))
	ctx := context.Background()
	crashed, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Write(ctx, page(crashed, "http://example.com/crashed", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	crashedName := crashed.name
	crashed.f.Close(ctx) // the crash: its lock is gone
	live, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Write(ctx, page(live, "http://example.com/live", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	liveName := live.name
	closed := false
	got, err := Recover(ctx, opts.Prefix, RecoverOptions{Committed: func(r *ReadRecord) bool {
		if !closed { // the other process finishes its file meanwhile
			closed = true
			if err := live.Close(ctx); err != nil {
				t.Errorf("the running writer's close: %v", err)
			}
		}
		return true
	}})
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if len(got) != 1 || got[0].File != crashedName {
		t.Errorf("Recover = %+v, want only %s", got, crashedName)
	}
	if n := len(readAll(t, liveName)); n != 4 {
		t.Errorf("%d records in the running writer's file, want 4", n)
	}
}

// TestRecoverEmptyOpenFile: an empty ".open" file (a writer that crashed
// right after creating it, or one that has not locked it yet) is removed,
// not closed into an empty ".warc.gz", which is no gzip file.
func TestRecoverEmptyOpenFile(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "e")
	open := prefix + "-20261201102030-00000.warc.gz" + OpenSuffix
	if err := os.WriteFile(open, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Recover(context.Background(), prefix, RecoverOptions{CDX: true})
	if err != nil || len(got) != 0 {
		t.Fatalf("Recover = %+v, %v; want nothing recovered", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left in the directory: %v", entries)
	}
}

// TestRecoverTornWarcinfo: an ".open" file whose first record, its
// warcinfo, is not whole keeps nothing: it is removed, not closed into
// an empty ".warc.gz", which is no gzip file.
func TestRecoverTornWarcinfo(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "t"))
	ctx := context.Background()
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, page(w, "http://example.com/", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	open := w.name + OpenSuffix
	w.f.Close(ctx) // the crash
	if err := os.Truncate(open, 40); err != nil {
		t.Fatal(err)
	}
	got, err := Recover(ctx, opts.Prefix, RecoverOptions{CDX: true})
	if err != nil || len(got) != 1 || !got[0].Removed || got[0].Cut != 40 {
		t.Fatalf("Recover = %+v, %v; want the file given up, 40 bytes cut", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in the directory: %v", entries)
	}
}

// TestCloseAfterFailedWrite: a writer whose write failed leaves its file
// ".open" at Close, for Recover to cut back to its last whole record;
// renamed to its final name, a record cut short would stay for good.
func TestCloseAfterFailedWrite(t *testing.T) {
	dir := t.TempDir()
	opts := fixed(filepath.Join(dir, "f"))
	ctx := context.Background()
	w, err := NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, page(w, "http://example.com/0", chunkedResponse)...); err != nil {
		t.Fatal(err)
	}
	name := w.name
	w.f.Close(ctx) // the next write fails, as on a full disk
	if _, err := w.Write(ctx, page(w, "http://example.com/1", chunkedResponse)...); err == nil {
		t.Fatal("a write to a closed file succeeded")
	} else if strings.Count(err.Error(), name) > 1 {
		t.Errorf("the error names the file more than once: %v", err)
	}
	if err := w.Close(ctx); err == nil {
		t.Error("Close after a failed write returned no error")
	}
	if _, err := os.Stat(name + OpenSuffix); err != nil {
		t.Errorf("the file was not left open: %v", err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file was closed for good: %v", err)
	}
}
