package store

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// checkResumed checks what every resume scan guarantees: the file after
// the scan is a prefix of before that is empty or ends with a line break,
// and a second scan finds the same URLs and cuts nothing.
func checkResumed(t *testing.T, before, after string, urls []string, rescan func() ([]string, ScanResult, error)) {
	t.Helper()
	if !strings.HasPrefix(before, after) {
		t.Fatalf("the scan left %q, not a prefix of %q", after, before)
	}
	if after != "" && !strings.HasSuffix(after, "\n") {
		t.Fatalf("the scan left a file without a final line break: %q", after)
	}
	again, res, err := rescan()
	if err != nil {
		t.Fatalf("second scan: %v", err)
	}
	if !slices.Equal(again, urls) || res.Truncated != 0 {
		t.Fatalf("second scan found %q and cut %d bytes, first found %q", again, res.Truncated, urls)
	}
}

func FuzzScanJSONL(f *testing.F) {
	f.Add("{\"url\":\"a\"}\n{\"url\":\"b\"}\n")
	f.Add("{\"url\":\"a\"}\n{\"url\":\"b\"}")
	f.Add("{\"url\":\"a\"}\r\n[1]\n\n{\"url\":\"c\n")
	f.Add("\x00\n{\"url\":\"a\"}\n{\"url\":1}\n")
	f.Fuzz(func(t *testing.T, content string) {
		path := writeFile(t, content)
		urls, _, err := scanJSONLErr(t, path)
		after := readString(t, path)
		if err != nil {
			// Not JSON Lines: the file is left alone.
			if after != content {
				t.Fatalf("a refused scan changed %q to %q", content, after)
			}
			return
		}

		// Every URL comes from a complete line that is still in the file.
		complete := map[string]int{}
		for _, line := range strings.SplitAfter(after, "\n") {
			if u, _, err := jsonlURLs(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")); err == nil && strings.HasSuffix(line, "\n") {
				complete[u]++
			}
		}
		for _, u := range urls {
			if complete[u]--; complete[u] < 0 {
				t.Fatalf("URL %q reported but not on a complete line of %q", u, after)
			}
		}
		// A last line that is a whole object without a line break gets
		// one; nothing else is added.
		before := content
		last := content[strings.LastIndexByte(content, '\n')+1:]
		if t := strings.TrimSpace(last); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
			before += "\n"
		}
		checkResumed(t, before, after, urls, func() ([]string, ScanResult, error) {
			u, res := scanJSONL(t, path)
			return u, res, nil
		})
	})
}

func FuzzScanCSV(f *testing.F) {
	f.Add("title,url\nA,https://a/\n\"two\nlines\",https://b/\n")
	f.Add("title,url\nA,https://a/\n\"two\n")
	f.Add("title,url\nA\nB,b\n\"x\"y,z\n")
	f.Fuzz(func(t *testing.T, content string) {
		path := writeFile(t, content)
		urls, _, err := scanCSV(t, path)
		after := readString(t, path)
		if err != nil {
			// A bad header, no url column, a bad record: the file is
			// left alone.
			if after != content {
				t.Fatalf("a refused scan changed %q to %q", content, after)
			}
			return
		}
		for _, u := range urls {
			if !strings.Contains(after, strings.ReplaceAll(u, `"`, `""`)) {
				t.Fatalf("URL %q reported but not in %q", u, after)
			}
		}
		checkResumed(t, content, after, urls, func() ([]string, ScanResult, error) {
			return scanCSV(t, path)
		})
	})
}
