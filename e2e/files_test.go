//go:build unix

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputClashesRefused: an output (-o, its crawl journal, --lock and
// its pid file) that is the same file as an input, or two outputs in one
// file, are a usage error naming both, before anything is written: the
// input is left byte for byte as it was.
func TestOutputClashesRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t, numberedPages(1), -1)
	dir := t.TempDir()
	urls := filepath.Join(dir, "urls.txt")
	content := []byte(s.URL + "/p/0\n")
	seeds := filepath.Join(dir, "seeds.journal") // the crawl journal of -o seeds
	if err := os.Symlink(urls, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		names []string // in the message
	}{
		{"output is the input", []string{"fetch", "-o", urls, urls}, []string{"-o " + urls, urls}},
		{"output is the input by a symlink", []string{"fetch", "-o", filepath.Join(dir, "link.txt"), urls}, []string{"link.txt", urls}},
		{"output is the input by another path", []string{"fetch", "-o", filepath.Join(dir, "real", "..", "urls.txt"), urls}, []string{"-o", urls}},
		{"resumed output is the input", []string{"fetch", "--resume", "-o", urls, urls}, []string{"-o " + urls, urls}},
		{"lock is the input", []string{"fetch", "--lock", urls, urls}, []string{"--lock " + urls, urls}},
		{"crawl journal is the seeds", []string{"crawl", "-o", filepath.Join(dir, "seeds"), seeds}, []string{"journal", seeds}},
		{"lock pid file is -o", []string{"fetch", "--lock", filepath.Join(dir, "real", "run.lock"), "-o", filepath.Join(dir, "linkdir", "run.lock.pid"), urls},
			[]string{"run.lock.pid", "-o"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			for _, f := range []string{urls, seeds} {
				if err := os.WriteFile(f, content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := runTrawl(t, ctx, nil, args(tc.args[0], tc.args[1:]...)...)
			if res.code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			for _, n := range tc.names {
				if !strings.Contains(res.stderr, n) {
					t.Errorf("stderr does not name %q:\n%s", n, res.stderr)
				}
			}
			for _, f := range []string{urls, seeds} {
				if b, err := os.ReadFile(f); err != nil || !bytes.Equal(b, content) {
					t.Errorf("%s after the refused run: %q, %v; want it untouched", f, b, err)
				}
			}
			if _, served := s.counts(); served != 0 {
				t.Errorf("the refused run fetched %d pages", served)
			}
		})
	}
}

// TestOutputNoClash: standard input and output are not files: "-" with
// -o /dev/stdout runs.
func TestOutputNoClash(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	res := runTrawl(t, ctx, strings.NewReader(s.URL+"/p/0\n"), args("fetch", "-o", "/dev/stdout", "-")...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	if recs := parseJSONL(t, res.stdout); len(recs) != 1 || recs[0].Status != 200 {
		t.Errorf("records %+v, want one with status 200", recs)
	}
}
