package crawler

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// corpusPages returns up to n pages of the corpus dev split
// (../shared/corpus from the module root) whose size is between lo and hi
// bytes, decoded to UTF-8. It skips b when the corpus or tar is absent.
func corpusPages(b *testing.B, n, lo, hi int) [][]byte {
	b.Helper()
	dir, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			b.Fatal("no go.mod above the benchmark's directory")
		}
		dir = filepath.Dir(dir)
	}
	archive := filepath.Join(dir, "..", "shared", "corpus", "dev-pages.tar.xz")
	if _, err := os.Stat(archive); err != nil {
		b.Skipf("corpus not found: %v", err)
	}
	tmp := b.TempDir()
	if out, err := exec.Command("tar", "-xJf", archive, "-C", tmp).CombinedOutput(); err != nil {
		b.Skipf("cannot unpack %s: %v: %s", archive, err, out)
	}
	files, _ := filepath.Glob(filepath.Join(tmp, "dev", "*.html"))
	sort.Strings(files)
	var pages [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil || len(raw) < lo || len(raw) > hi {
			continue
		}
		utf8, err := io.ReadAll(DecodeBytes(raw, "text/html").Reader)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, utf8)
		if len(pages) == n {
			break
		}
	}
	if len(pages) == 0 {
		b.Skip("no corpus page of the size wanted")
	}
	return pages
}

// BenchmarkExtractMarkdown extracts the main content of real pages of
// 100–150 KB (from the corpus dev split) as Markdown and text: the cost
// per page of --fields markdown on top of the default fields. Run it on
// one core: go test ./crawler -run '^$' -bench ExtractMarkdown -cpu 1.
func BenchmarkExtractMarkdown(b *testing.B) {
	pages := corpusPages(b, 20, 100<<10, 150<<10)
	base, _ := url.Parse("https://example.com/news/article.html")
	var size int64
	for _, p := range pages {
		size += int64(len(p))
	}
	b.SetBytes(size / int64(len(pages)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := ExtractContent(bytes.NewReader(pages[i%len(pages)]), base, ContentOptions{Enabled: true}); err != nil {
			b.Fatal(err)
		}
	}
}
