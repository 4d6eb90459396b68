package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeSince(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSinceNewestWins: of several records of a URL in several files, the
// newest by fetched_at gives the outcome, the newest success the
// validators and the record read back; order of files does not matter.
func TestSinceNewestWins(t *testing.T) {
	dir := t.TempDir()
	okNew := `{"url":"http://a/","status":200,"etag":"\"new\"","content_hash":"` + strings.Repeat("2", 64) + `","fetched_at":"2026-01-03T00:00:00.000Z"}`
	okOld := `{"url":"http://a/","status":200,"etag":"\"old\"","content_hash":"h1","fetched_at":"2026-01-01T00:00:00.000Z"}`
	failed := `{"url":"http://a/","status":0,"error":{"kind":"connect","message":"refused"},"fetched_at":"2026-01-04T00:00:00.000Z"}`
	p1 := writeSince(t, dir, "1.jsonl", okNew+"\n"+`{"url":"http://b/","status":200,"fetched_at":"2026-01-01T00:00:00Z"}`+"\n")
	p2 := writeSince(t, dir, "2.jsonl", "\n"+failed+"\n"+okOld+"\n")
	idx, missing, err := OpenSince(context.Background(), []string{p1, p2, filepath.Join(dir, "none.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if len(missing) != 1 || idx.Len() != 2 {
		t.Fatalf("missing %v, %d URLs; want one missing, 2 URLs", missing, idx.Len())
	}
	e, ok := idx.Lookup("http://a/")
	if !ok || e.ErrKind != "connect" || !e.OK || !e.HasValidators || !e.SameContent(strings.Repeat("2", 64)) || !e.Direct {
		t.Fatalf("entry %+v", e)
	}
	if etag, lm, err := idx.Validators(context.Background(), e); etag != `"new"` || lm != "" || err != nil {
		t.Errorf("validators %q %q %v, want the newest success's", etag, lm, err)
	}
	rec, err := idx.Record(context.Background(), e)
	if err != nil || string(rec) != okNew {
		t.Errorf("record read back %q, %v; want %q", rec, err, okNew)
	}
	if _, ok := idx.Lookup("http://c/"); ok {
		t.Error("found a URL no file holds")
	}
}

// TestSinceLongLines: a line longer than a record is refused with its
// line, unless it is the torn last line.
func TestSinceLongLines(t *testing.T) {
	dir := t.TempDir()
	good := `{"url":"http://a/","status":200,"fetched_at":"2026-01-03T00:00:00.000Z"}` + "\n"
	huge := `{"url":"http://a/","title":"` + strings.Repeat("x", MaxRecordBytes) + `"}`
	p := writeSince(t, dir, "huge.jsonl", good+huge+"\n"+good)
	_, _, err := OpenSince(context.Background(), []string{p})
	var ce *CorruptRecordError
	if !errors.As(err, &ce) || ce.Line != 2 || ce.Path != p {
		t.Errorf("huge line: %v, want a CorruptRecordError at %s line 2", err, p)
	}
	p = writeSince(t, dir, "torn.jsonl", good+huge)
	idx, _, err := OpenSince(context.Background(), []string{p})
	if err != nil {
		t.Fatalf("huge torn last line: %v", err)
	}
	idx.Close()
}

// FuzzSinceIndex: whatever a --since file holds, OpenSince does not
// panic, fails only with a CorruptRecordError naming a line of the file,
// and every success it indexed reads back as the JSON record of its URL.
func FuzzSinceIndex(f *testing.F) {
	f.Add([]byte(`{"url":"http://a/","status":200,"etag":"\"e\"","fetched_at":"2026-01-03T00:00:00.000Z"}` + "\n"))
	f.Add([]byte(`{"url":"http://a/","status":304,"fetched_at":"2026-01-03T00:00:00Z"}` + "\r\n\n" + `{"url":"http://a/","sta`))
	f.Add([]byte(`{"url":"http://a/","status":"200"}` + "\n"))
	f.Add([]byte(`{"url":1}` + "\n" + `[1,2]` + "\n"))
	f.Add([]byte(`{"url":"http://a/","links":{},"fetched_at":"x"}`))
	f.Add([]byte("\n\n   \n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeSince(t, t.TempDir(), "prev.jsonl", string(data))
		idx, _, err := OpenSince(context.Background(), []string{p})
		if err != nil {
			var ce *CorruptRecordError
			if !errors.As(err, &ce) || ce.Path != p || ce.Line < 1 || ce.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error %v: want a CorruptRecordError naming a line of %s", err, p)
			}
			return
		}
		defer idx.Close()
		for key, n := range idx.index {
			e := SinceEntry{OK: idx.slots[n].flags&slotOK != 0, slot: idx.slots[n]}
			if !e.OK {
				continue
			}
			rec, err := idx.Record(context.Background(), e)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			var r struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(rec, &r); err != nil || Fingerprint(r.URL) != key {
				t.Fatalf("read back %q (%v) is not the record of its URL", rec, err)
			}
		}
	})
}

// TestSinceMarks: the marks of a run (unmodified, reached) are kept per
// URL, and Unreached yields the successes not reached, once each, in the
// order of the index.
func TestSinceMarks(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for _, u := range []string{"http://a/", "http://b/", "http://c/", "http://d/"} {
		b.WriteString(`{"url":"` + u + `","status":200,"fetched_at":"2026-01-01T00:00:00Z"}` + "\n")
	}
	b.WriteString(`{"url":"http://e/","status":404,"error":{"kind":"http","message":"404"},"fetched_at":"2026-01-01T00:00:00Z"}` + "\n")
	idx, _, err := OpenSince(context.Background(), []string{writeSince(t, dir, "p.jsonl", b.String())})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	a, _ := idx.Lookup("http://a/")
	c, _ := idx.Lookup("http://c/")
	idx.SetUnmodified(c)
	if idx.Unmodified(a) || !idx.Unmodified(c) {
		t.Errorf("unmodified: a %v c %v, want c only", idx.Unmodified(a), idx.Unmodified(c))
	}
	idx.MarkReached("http://b/")
	idx.MarkReached("http://x/") // not indexed: nothing
	var got []string
	err = idx.Unreached(func(e SinceEntry) error {
		rec, err := idx.Record(context.Background(), e)
		var r struct{ URL string }
		if err == nil {
			err = json.Unmarshal(rec, &r)
		}
		got = append(got, r.URL)
		return err
	})
	if err != nil || strings.Join(got, " ") != "http://a/ http://c/ http://d/" {
		t.Errorf("unreached %v (%v), want a, c, d (b reached, e never a success)", got, err)
	}
}

// FuzzSinceIndexCSV: any CSV previous output either fails with a
// CorruptRecordError naming one of its lines or a missing column, or is
// indexed so that every success reads back as a JSON record of its URL.
func FuzzSinceIndexCSV(f *testing.F) {
	f.Add([]byte("url,status,fetched_at,etag\nhttp://a/,200,2026-01-03T00:00:00Z,\"\"\"e\"\"\"\n"))
	f.Add([]byte("url,status,fetched_at,links,error_kind\nhttp://a/,200,2026-01-03T00:00:00Z,http://b/ | http://c/,\nhttp://a/,0,2026-01-04T00:00:00Z,,connect\nhttp://a/,\"2"))
	f.Add([]byte("url,status,fetched_at\nhttp://a/,x,\n"))
	f.Add([]byte("url,fetched_at\n"))
	f.Add([]byte("url,status,fetched_at,h2,bytes\n\"http://a/\n\",200,,'=x | y,12\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeSince(t, t.TempDir(), "prev.csv", string(data))
		idx, _, err := OpenSince(context.Background(), []string{p})
		if err != nil {
			var ce *CorruptRecordError
			if errors.Is(err, ErrSinceColumn) {
				return
			}
			if !errors.As(err, &ce) || ce.Path != p || ce.Line < 1 || ce.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error %v: want a CorruptRecordError naming a line of %s", err, p)
			}
			return
		}
		defer idx.Close()
		for key, n := range idx.index {
			e := idx.entry(n)
			if !e.OK {
				continue
			}
			rec, err := idx.Record(context.Background(), e)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			var r struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(rec, &r); err != nil || Fingerprint(r.URL) != key {
				t.Fatalf("read back %q (%v) is not the record of its URL", rec, err)
			}
		}
	})
}

// FuzzQuickSinceRecord: a line that quickSinceRecord reads is read alike
// by decoding it with encoding/json, as before it.
func FuzzQuickSinceRecord(f *testing.F) {
	f.Add(`{"url":"http://a/","final_url":"http://a/b","status":200,"etag":"\"e\"","last_modified":"Mon, 30 Nov 2026 10:00:00 GMT","content_hash":"ab","fetched_at":"2026-01-03T00:00:00.000Z","links":["http://a/c"],"title":"é"}`)
	f.Add(`{"url":"http://a/","status":304,"fetched_at":"2026-01-03T00:00:00+02:00","error":null,"links":null,"other":{"url":5}}`)
	f.Add(`{"URL":"http://a/","status":200}`)
	f.Add(`{"url":"http://a/","url":"http://b/"}`)
	f.Add(`{"url":"http://a/\u0041","status":"200"}`)
	f.Add(`{"url":"http://a/","status":200,"error":{"kind":"http"}} x`)
	f.Add(`{"url":"http://a/","status":-0,"links":{}}`)
	f.Fuzz(func(t *testing.T, line string) {
		quick, ok := quickSinceRecord([]byte(line))
		if !ok {
			return
		}
		slow, err := decodeSinceRecord([]byte(line))
		if err != nil {
			t.Fatalf("quick read %q, decoding refuses it: %v", line, err)
		}
		if !reflect.DeepEqual(quick, slow) {
			t.Fatalf("quick read %q as %+v, decoding as %+v", line, quick, slow)
		}
	})
}

// TestSinceRecordReadBack: records shorter and longer than one read of
// the file (4 KiB) and than the index's buffer (64 KiB), ending in \n,
// \r\n or the end of the file, are indexed and read back whole, without
// their line break.
func TestSinceRecordReadBack(t *testing.T) {
	var recs []string
	var data strings.Builder
	for i, n := range []int{10, 4000, 4095, 4096, 4097, 9000, 20000, 100 << 10, 5000} {
		rec := fmt.Sprintf(`{"url":"http://a/%d","status":200,"fetched_at":"2026-01-03T00:00:00Z","title":"%s"}`, i, strings.Repeat("t", n))
		recs = append(recs, rec)
		data.WriteString(rec)
		switch {
		case i == 8: // the last, without a line break
		case i%2 == 0:
			data.WriteString("\r\n")
		default:
			data.WriteString("  \n")
		}
	}
	p := writeSince(t, t.TempDir(), "prev.jsonl", data.String())
	idx, _, err := OpenSince(context.Background(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for i, want := range recs {
		e, ok := idx.Lookup(fmt.Sprintf("http://a/%d", i))
		if !ok {
			t.Fatalf("record %d not indexed", i)
		}
		got, err := idx.Record(context.Background(), e)
		if err != nil || string(got) != want {
			t.Errorf("record %d (%d bytes) read back as %d bytes, %v", i, len(want), len(got), err)
		}
	}
}
