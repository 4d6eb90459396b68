package crawler

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-dev/trawl/structured"
)

func TestStoreHostDir(t *testing.T) {
	for host, want := range map[string]string{
		"example.com":      "example.com",
		"Example.COM:8080": "example.com_8080",
		"[::1]:8080":       "___1__8080",
		"":                 "_",
		".":                "_.",
		"..":               "_..",
		"../../etc":        "_.._.._etc",
		"a/b\\c":           "a_b_c",
		".hidden":          "_.hidden",
		"x\x00y":           "x_y",
		"bücher.de":        "b__cher.de",
	} {
		if got := StoreHostDir(host); got != want {
			t.Errorf("StoreHostDir(%q) = %q, want %q", host, got, want)
		}
	}
	long := strings.Repeat("a", 300)
	got := StoreHostDir(long)
	if len(got) != maxStoreHostLen || got == StoreHostDir(long+"b") {
		t.Errorf("StoreHostDir(300 bytes) = %q (%d bytes): want %d bytes, distinct from a longer host", got, len(got), maxStoreHostLen)
	}
}

func TestStoreExt(t *testing.T) {
	for ct, want := range map[string]string{
		"text/html; charset=utf-8":          ".html",
		"TEXT/HTML":                         ".html",
		"application/xhtml+xml":             ".html",
		"application/json":                  ".json",
		"application/problem+json":          ".json",
		"application/rss+xml":               ".xml",
		"application/vnd.custom+xml":        ".xml",
		"text/plain":                        ".txt",
		"application/pdf":                   ".pdf",
		"application/octet-stream":          ".bin",
		"text/html/../../../x":              ".bin",
		"../../etc/passwd":                  ".bin",
		"text/html;;; garbage":              ".html",
		"image/svg+xml":                     ".svg",
		"application/x-whatever; a=\"/..\"": ".bin",
	} {
		if got := StoreExt(ct, nil); got != want {
			t.Errorf("StoreExt(%q) = %q, want %q", ct, got, want)
		}
	}
	if got := StoreExt("", []byte("<!doctype html><p>x")); got != ".html" {
		t.Errorf("StoreExt of an HTML body without a type = %q", got)
	}
	if got := StoredContentType("/s/h/abc.HTML"); got != "text/html" {
		t.Errorf("StoredContentType(.HTML) = %q", got)
	}
}

// TestBodyStorePathInside: whatever the host, content type and hash, the
// path is a file directly in a host directory of the store.
func TestBodyStorePathInside(t *testing.T) {
	s := &BodyStore{dir: "/store"}
	for _, host := range []string{"..", "../..", "/abs", "a/../../b", "", ".", "h:1", "\\..\\x"} {
		for _, ct := range []string{"", "../../x", "text/html/../..", "a/b+json/.."} {
			for _, hash := range []string{"abc", "../x", "/", ""} {
				p := s.Path(host, ct, hash, nil)
				rel, err := filepath.Rel("/store", p)
				if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 || filepath.Clean(p) != p {
					t.Errorf("Path(%q, %q, %q) = %q: not a file of a host directory of /store", host, ct, hash, p)
				}
			}
		}
	}
}

// TestBodyStoreSave: a body is written once, atomically, under its hash;
// concurrent saves of the same body leave one file and no temporary one.
func TestBodyStoreSave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBodyStore(ctx, filepath.Join(dir, "new", "store"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("<p>hello</p>")
	paths := make([]string, 8)
	errs := make([]error, 8)
	err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		for i := range paths {
			tg.StartSoon(func(ctx context.Context) error {
				paths[i], errs[i] = s.Save(ctx, "h:80", "text/html", "abc", body)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range paths {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("save %d: %q, %v", i, paths[i], errs[i])
		}
	}
	want := filepath.Join(dir, "new", "store", "h_80", "abc.html")
	if paths[0] != want {
		t.Errorf("path %q, want %q", paths[0], want)
	}
	entries, err := os.ReadDir(filepath.Dir(want))
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want just the body", entries, err)
	}
	got, err := os.ReadFile(want)
	if err != nil || string(got) != string(body) {
		t.Errorf("file holds %q (%v)", got, err)
	}
}
