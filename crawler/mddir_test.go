package crawler

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMarkdownPath(t *testing.T) {
	for raw, want := range map[string]string{
		"https://example.com/":             "example.com/index.md",
		"https://example.com":              "example.com/index.md",
		"https://example.com/docs/":        "example.com/docs/index.md",
		"https://example.com/docs/a":       "example.com/docs/a.md",
		"http://127.0.0.1:8080/a/b.html":   "127.0.0.1_8080/a/b.html.md",
		"https://example.com/under_score_": "example.com/under_score_.md",
	} {
		got, err := MarkdownPath(raw)
		if err != nil || got != want {
			t.Errorf("MarkdownPath(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	// Paths changed by sanitising get a hash: distinct URLs, distinct files.
	seen := map[string]string{}
	for _, raw := range []string{
		"https://h/a", "https://h/a?x=1", "https://h/a?x=2", "https://h/a?", "https://h/a%20b", "https://h/a_b",
		"https://h/a%2Fb", "https://h/a/b", "https://h/index", "https://h/", "https://h/x/", "https://h/x/index",
		"https://h/.hidden", "https://h/_.hidden", "https://h/" + strings.Repeat("x", 150), "https://h/" + strings.Repeat("x", 151),
		"https://h/a//b", "https://h/a/_/b",
	} {
		got, err := MarkdownPath(raw)
		if err != nil {
			t.Fatalf("MarkdownPath(%q): %v", raw, err)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q both map to %q", raw, other, got)
		}
		seen[got] = raw
	}
}

// TestMarkdownPathInside: no URL names a file outside the directory.
func TestMarkdownPathInside(t *testing.T) {
	for _, raw := range []string{
		"https://h/../../etc/passwd", "https://h/%2e%2e/%2e%2e/x", "https://h/a/../../../b", "https://../x",
		"https://h/..", "https://h/.", "https://h/%00", "https://h/a\\..\\..\\b", "https://[::1]:80/..%2f..%2f",
	} {
		got, err := MarkdownPath(raw)
		if err != nil {
			continue
		}
		if !filepath.IsLocal(got) || filepath.Clean(got) != got || !strings.HasSuffix(got, ".md") {
			t.Errorf("MarkdownPath(%q) = %q: not a .md file inside the directory", raw, got)
		}
		for _, seg := range strings.Split(got, string(filepath.Separator)) {
			if seg == ".." || seg == "." || seg == "" {
				t.Errorf("MarkdownPath(%q) = %q has segment %q", raw, got, seg)
			}
		}
	}
}
