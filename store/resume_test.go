package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func scanJSONL(t *testing.T, path string) ([]string, ScanResult) {
	t.Helper()
	urls, res, err := scanJSONLErr(t, path)
	if err != nil {
		t.Fatalf("ScanJSONL: %v", err)
	}
	return urls, res
}

func scanJSONLErr(t *testing.T, path string) ([]string, ScanResult, error) {
	t.Helper()
	var urls []string
	res, err := ScanJSONL(t.Context(), path, func(u string) { urls = append(urls, u) })
	return urls, res, err
}

func TestScanJSONL(t *testing.T) {
	big := `{"url":"https://big/","body":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name      string
		content   string
		urls      []string
		after     string // the file after the scan
		truncated int64
	}{
		{name: "empty", content: "", after: ""},
		{name: "whole", content: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n"},
		{name: "torn last line", content: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n{\"url\":\"c",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n", truncated: 9},
		// A whole record whose line break was lost is kept, and gets it.
		{name: "whole last line without a line break", content: "{\"url\":\"a\"}\n{\"url\":\"b\"}",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n"},
		// So is a file of minified JSON: it must not be cut away.
		// (Lines that are not JSON at all are refused: see
		// TestScanJSONLRefusesForeignLines.)
		{name: "minified JSON", content: "{\"name\":\"data\",\"items\":[1,2]}",
			after: "{\"name\":\"data\",\"items\":[1,2]}\n"},
		{name: "torn after the closing brace of a field", content: "{\"url\":\"a\"}\n{\"url\":\"b\",\"fields\":{}",
			urls: []string{"a"}, after: "{\"url\":\"a\"}\n", truncated: 22},
		{name: "only a torn line", content: "{\"url\"", after: "", truncated: 6},
		{name: "crlf", content: "{\"url\":\"a\"}\r\n{\"url\":\"b\"}\r\n",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\r\n{\"url\":\"b\"}\r\n"},
		{name: "blank lines", content: "\n{\"url\":\"a\"}\n\n  \n{\"url\":\"b\"}\n",
			urls: []string{"a", "b"}, after: "\n{\"url\":\"a\"}\n\n  \n{\"url\":\"b\"}\n"},
		{name: "blank unended last line", content: "{\"url\":\"a\"}\n  ",
			urls: []string{"a"}, after: "{\"url\":\"a\"}\n", truncated: 2},
		{name: "no url", content: "{\"error\":\"bad input\"}\n{\"url\":\"b\"}\n",
			urls: []string{"b"}, after: "{\"error\":\"bad input\"}\n{\"url\":\"b\"}\n"},
		{name: "1 MiB line", content: big + "\n" + big[:1000],
			urls: []string{"https://big/"}, after: big + "\n", truncated: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			urls, res := scanJSONL(t, path)
			if !slices.Equal(urls, tt.urls) {
				t.Errorf("urls %q, want %q", urls, tt.urls)
			}
			if got := readString(t, path); got != tt.after {
				t.Errorf("file after the scan %q, want %q", trim(got), trim(tt.after))
			}
			if res.Truncated != tt.truncated {
				t.Errorf("Truncated %d, want %d", res.Truncated, tt.truncated)
			}
			if want := len(tt.urls); res.Records < want {
				t.Errorf("Records %d, want at least %d", res.Records, want)
			}
		})
	}
}

// TestScanJSONLRefusesForeignLines: a complete line that is not a JSON
// object (a CSV resumed as JSON Lines, the URL list given as -o, a
// corrupt record) fails the scan with an error naming the file and the
// line, and the file is left byte for byte as it was, torn last line
// included.
func TestScanJSONLRefusesForeignLines(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int
	}{
		{"csv", "url,status,title\nhttps://a/,200,A\n", 1},
		{"url list", "https://a/\nhttps://b/\n", 1},
		{"url list without a final line break", "https://a/\nhttps://b/", 1},
		{"one url without a line break", "https://a/", 1},
		{"corrupt middle", "{\"url\":\"a\"}\n{\"url\":\n{\"url\":\"d\"}\n", 2},
		{"not an object", "{\"url\":\"a\"}\n[1]\n", 2},
		{"garbage after the records", "{\"url\":\"a\"}\n\x00\x00\x00\n", 2},
		{"garbage before a torn line", "{\"url\":\"a\"}\nbad\n{\"url\":\"b", 2},
		{"too long", "{\"url\":\"a\"}\n{\"url\":\"" + strings.Repeat("x", MaxRecordBytes) + "\"}\n", 2},
		{"one byte too long", "{\"url\":\"a\"}\n{\"url\":\"" + strings.Repeat("x", MaxRecordBytes-len(`{"url":""}`)+1) + "\"}\r\n", 2},
		// A last line without a line break that starts with "{" but is
		// not JSON cut short is no torn record: it is not cut away.
		{"a template without a final line break", "{{ range .Items }}{{ .Name }}{{ end }}", 1},
		{"a JavaScript object without a final line break", "{\"url\":\"a\"}\n{url: 'b'}", 2},
		{"a line longer than a record without a final line break", "{\"url\":\"" + strings.Repeat("x", MaxRecordBytes), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			_, _, err := scanJSONLErr(t, path)
			var ce *CorruptRecordError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorruptRecord) || ce.Line != tt.line || !strings.Contains(err.Error(), path) {
				t.Errorf("ScanJSONL: %v, want a corrupt record error naming %s line %d", err, path, tt.line)
			}
			if got := readString(t, path); got != tt.content {
				t.Errorf("the refused scan changed the file to %q", trim(got))
			}
		})
	}
}

// TestScanJSONLRecordLimit: a record of MaxRecordBytes, the most a sink
// writes, reads back.
func TestScanJSONLRecordLimit(t *testing.T) {
	rec := `{"url":"https://big/","x":"` + strings.Repeat("x", MaxRecordBytes-len(`{"url":"https://big/","x":""}`)) + `"}`
	if len(rec) != MaxRecordBytes {
		t.Fatalf("record of %d bytes", len(rec))
	}
	path := writeFile(t, rec+"\r\n"+`{"url":"b"}`+"\n")
	urls, _ := scanJSONL(t, path)
	if !slices.Equal(urls, []string{"https://big/", "b"}) {
		t.Fatalf("urls %q", urls)
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-40:]
	}
	return s
}

func TestScanJSONLMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.jsonl")
	res, err := ScanJSONL(t.Context(), path, func(string) { t.Error("a URL from a missing file") })
	if err != nil || res.Records != 0 {
		t.Fatalf("ScanJSONL of a missing file: %+v, %v", res, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the scan created the file: %v", err)
	}
}

// After a scan, appending continues on a line boundary.
func TestResumeThenAppend(t *testing.T) {
	ctx := t.Context()
	path := writeFile(t, "{\"url\":\"a\"}\n{\"url\":\"b")
	scanJSONL(t, path)
	s, err := OpenJSONL(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []byte(`{"url":"b"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	urls, res := scanJSONL(t, path)
	if !slices.Equal(urls, []string{"a", "b"}) || res.Records != 2 {
		t.Fatalf("after resume and append: %q, %+v", urls, res)
	}
}

func scanCSV(t *testing.T, path string) ([]string, ScanResult, error) {
	t.Helper()
	var urls []string
	res, err := ScanCSV(t.Context(), path, nil, "url", func(u string) { urls = append(urls, u) })
	return urls, res, err
}

func TestScanCSV(t *testing.T) {
	const head = "title,url\n"
	tests := []struct {
		name    string
		content string
		urls    []string
		after   string
		errLine int // a corrupt record there: the file is left as it was
	}{
		{name: "empty", content: ""},
		{name: "header only", content: head, after: head},
		{name: "whole", content: head + "A,https://a/\n\"two\nlines\",https://b/\n",
			urls: []string{"https://a/", "https://b/"}, after: head + "A,https://a/\n\"two\nlines\",https://b/\n"},
		{name: "torn last line", content: head + "A,https://a/\nB,https://b",
			urls: []string{"https://a/"}, after: head + "A,https://a/\n"},
		{name: "torn short last line", content: head + "A,https://a/\nB",
			urls: []string{"https://a/"}, after: head + "A,https://a/\n"},
		{name: "torn inside a quoted line break", content: head + "A,https://a/\n\"two\n",
			urls: []string{"https://a/"}, after: head + "A,https://a/\n"},
		{name: "short last record", content: head + "A,https://a/\nB\n",
			urls: []string{"https://a/"}, after: head + "A,https://a/\nB\n", errLine: 3},
		{name: "bad middle record", content: head + "A,https://a/\nB\nC,https://c/\n",
			urls: []string{"https://a/"}, after: head + "A,https://a/\nB\nC,https://c/\n", errLine: 3},
		{name: "bad record before a torn one", content: head + "A\"x,https://a/\nC,https://c",
			after: head + "A\"x,https://a/\nC,https://c", errLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			urls, res, err := scanCSV(t, path)
			var ce *CorruptRecordError
			switch {
			case tt.errLine == 0 && err != nil:
				t.Fatal(err)
			case tt.errLine != 0 && (!errors.As(err, &ce) || ce.Line != tt.errLine || !strings.Contains(err.Error(), path)):
				t.Fatalf("ScanCSV: %v, want a corrupt record error naming %s line %d", err, path, tt.errLine)
			}
			if !slices.Equal(urls, tt.urls) {
				t.Errorf("urls %q, want %q", urls, tt.urls)
			}
			if got := readString(t, path); got != tt.after {
				t.Errorf("file after the scan %q, want %q", got, tt.after)
			}
			if want := int64(len(tt.content) - len(tt.after)); res.Truncated != want {
				t.Errorf("Truncated %d, want %d", res.Truncated, want)
			}
		})
	}
}

func TestScanCSVNoURLColumn(t *testing.T) {
	// A torn header is not cut either: it may be a file of the user's.
	for _, content := range []string{"title,status\nA,200\n", "title,u"} {
		path := writeFile(t, content)
		if _, _, err := scanCSV(t, path); !errors.Is(err, ErrNoURLColumn) {
			t.Errorf("ScanCSV of %q: %v, want ErrNoURLColumn", content, err)
		}
		if got := readString(t, path); got != content {
			t.Errorf("the refused scan changed the file to %q", got)
		}
	}
}

func TestScanCSVMissingFile(t *testing.T) {
	urls, res, err := scanCSV(t, filepath.Join(t.TempDir(), "none.csv"))
	if err != nil || len(urls) != 0 || res.Records != 0 {
		t.Fatalf("ScanCSV of a missing file: %q, %+v, %v", urls, res, err)
	}
}

// TestScanCSVHeader: with the expected header given, a file of other
// columns is refused before anything is cut (its last row has no line
// break here), and a file that holds only the start of the header, torn
// by a crash, is emptied.
func TestScanCSVHeader(t *testing.T) {
	header := []string{"url", "status", "title"}
	scan := func(path string) (ScanResult, error) {
		return ScanCSV(t.Context(), path, header, "url", func(string) {})
	}
	foreign := "title,url\nA,https://a/\nB,https://b/"
	path := writeFile(t, foreign)
	if _, err := scan(path); !errors.Is(err, ErrHeaderMismatch) {
		t.Errorf("ScanCSV of other columns: %v, want ErrHeaderMismatch", err)
	}
	if got := readString(t, path); got != foreign {
		t.Errorf("the refused scan changed the file to %q", got)
	}
	for _, torn := range []string{"url,sta", "url", "u"} {
		path := writeFile(t, torn)
		if res, err := scan(path); err != nil || res.Truncated != int64(len(torn)) {
			t.Errorf("ScanCSV of the torn header %q: %+v, %v; want it cut", torn, res, err)
		}
		if got := readString(t, path); got != "" {
			t.Errorf("torn header %q left %q", torn, got)
		}
	}
	whole := "url,status,title\nhttps://a/,200,A\n"
	path = writeFile(t, whole)
	if res, err := scan(path); err != nil || res.Records != 1 || readString(t, path) != whole {
		t.Errorf("ScanCSV of a good file: %+v, %v", res, err)
	}
}
