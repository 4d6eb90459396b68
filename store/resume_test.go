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
	var urls []string
	res, err := ScanJSONL(t.Context(), path, func(u string) { urls = append(urls, u) })
	if err != nil {
		t.Fatalf("ScanJSONL: %v", err)
	}
	return urls, res
}

func TestScanJSONL(t *testing.T) {
	big := `{"url":"https://big/","body":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name      string
		content   string
		urls      []string
		after     string // the file after the scan
		truncated int64
		corrupt   []int
	}{
		{name: "empty", content: "", after: ""},
		{name: "whole", content: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n"},
		{name: "torn last line", content: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n{\"url\":\"c",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\n{\"url\":\"b\"}\n", truncated: 9},
		{name: "torn valid-looking last line", content: "{\"url\":\"a\"}\n{\"url\":\"b\"}",
			urls: []string{"a"}, after: "{\"url\":\"a\"}\n", truncated: 11},
		{name: "only a torn line", content: "{\"url\"", after: "", truncated: 6},
		{name: "garbage last line", content: "{\"url\":\"a\"}\n\x00\x00\x00\n",
			urls: []string{"a"}, after: "{\"url\":\"a\"}\n", truncated: 4},
		{name: "corrupt middle", content: "{\"url\":\"a\"}\n{\"url\":\n[1]\n{\"url\":\"d\"}\n",
			urls: []string{"a", "d"}, after: "{\"url\":\"a\"}\n{\"url\":\n[1]\n{\"url\":\"d\"}\n", corrupt: []int{2, 3}},
		{name: "crlf", content: "{\"url\":\"a\"}\r\n{\"url\":\"b\"}\r\n",
			urls: []string{"a", "b"}, after: "{\"url\":\"a\"}\r\n{\"url\":\"b\"}\r\n"},
		{name: "blank lines", content: "\n{\"url\":\"a\"}\n\n  \n{\"url\":\"b\"}\n",
			urls: []string{"a", "b"}, after: "\n{\"url\":\"a\"}\n\n  \n{\"url\":\"b\"}\n"},
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
			var lines []int
			for _, c := range res.Corrupt {
				lines = append(lines, c.Line)
				if !errors.Is(c, ErrCorruptRecord) || !strings.Contains(c.Error(), path) {
					t.Errorf("corrupt record error %q", c)
				}
			}
			if !slices.Equal(lines, tt.corrupt) || res.CorruptCount != len(tt.corrupt) {
				t.Errorf("corrupt lines %v (count %d), want %v", lines, res.CorruptCount, tt.corrupt)
			}
			if want := len(tt.urls); res.Records < want {
				t.Errorf("Records %d, want at least %d", res.Records, want)
			}
		})
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
	if !slices.Equal(urls, []string{"a", "b"}) || res.CorruptCount != 0 {
		t.Fatalf("after resume and append: %q, %+v", urls, res)
	}
}

func scanCSV(t *testing.T, path string) ([]string, ScanResult, error) {
	t.Helper()
	var urls []string
	res, err := ScanCSV(t.Context(), path, "url", func(u string) { urls = append(urls, u) })
	return urls, res, err
}

func TestScanCSV(t *testing.T) {
	const head = "title,url\n"
	tests := []struct {
		name    string
		content string
		urls    []string
		after   string
		corrupt []int
	}{
		{name: "empty", content: ""},
		{name: "header only", content: head, after: head},
		{name: "torn header", content: "title,u", after: ""},
		{name: "whole", content: head + "A,https://a/\n\"two\nlines\",https://b/\n",
			urls: []string{"https://a/", "https://b/"}, after: head + "A,https://a/\n\"two\nlines\",https://b/\n"},
		{name: "torn last line", content: head + "A,https://a/\nB,https://b",
			urls: []string{"https://a/"}, after: head + "A,https://a/\n"},
		{name: "torn inside a quoted line break", content: head + "A,https://a/\n\"two\n",
			urls: []string{"https://a/"}, after: head + "A,https://a/\n"},
		{name: "short last record", content: head + "A,https://a/\nB\n",
			urls: []string{"https://a/"}, after: head + "A,https://a/\n"},
		{name: "bad middle record", content: head + "A,https://a/\nB\nC,https://c/\n",
			urls: []string{"https://a/", "https://c/"}, after: head + "A,https://a/\nB\nC,https://c/\n", corrupt: []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			urls, res, err := scanCSV(t, path)
			if err != nil {
				t.Fatal(err)
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
			var lines []int
			for _, c := range res.Corrupt {
				lines = append(lines, c.Line)
			}
			if !slices.Equal(lines, tt.corrupt) {
				t.Errorf("corrupt lines %v, want %v", lines, tt.corrupt)
			}
		})
	}
}

func TestScanCSVNoURLColumn(t *testing.T) {
	path := writeFile(t, "title,status\nA,200\n")
	if _, _, err := scanCSV(t, path); !errors.Is(err, ErrNoURLColumn) {
		t.Fatalf("ScanCSV without a url column: %v, want ErrNoURLColumn", err)
	}
}

func TestScanCSVMissingFile(t *testing.T) {
	urls, res, err := scanCSV(t, filepath.Join(t.TempDir(), "none.csv"))
	if err != nil || len(urls) != 0 || res.Records != 0 {
		t.Fatalf("ScanCSV of a missing file: %q, %+v, %v", urls, res, err)
	}
}

func TestScanJSONLCutsGarbageRun(t *testing.T) {
	path := writeFile(t, "{\"url\":\"a\"}\nbad\n{\"url\":\"b\"}\n[1]\n\n\x00\x00\n")
	urls, res := scanJSONL(t, path)
	if !slices.Equal(urls, []string{"a", "b"}) || res.CorruptCount != 1 || res.Corrupt[0].Line != 2 {
		t.Fatalf("urls %q, result %+v", urls, res)
	}
	if got, want := readString(t, path), "{\"url\":\"a\"}\nbad\n{\"url\":\"b\"}\n"; got != want {
		t.Fatalf("file after the scan %q, want %q", got, want)
	}
}
