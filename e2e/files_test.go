//go:build unix

package e2e

import (
	"bytes"
	"cmp"
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

// TestResumeRefusesForeignFiles: --resume into a file that is not what
// the run writes is a usage error naming the file and the line, and the
// file is left byte for byte as it was; it used to be cut to nothing
// with exit 0.
func TestResumeRefusesForeignFiles(t *testing.T) {
	t.Parallel()
	s := newSite(t, numberedPages(2), -1)
	urls := urlFile(t, s.urls("/p/0", "/p/1"))
	for _, tc := range []struct {
		name    string
		content string
		extra   []string
		line    string
		file    string // the output's name; "out" when empty
	}{
		{"csv resumed as jsonl", "url,status,title\n" + s.URL + "/p/0,200,Page 0\n", nil, "--format csv", ""},
		{"a list of urls", s.URL + "/p/0\n" + s.URL + "/p/1", nil, "line 1", ""},
		{"a corrupt record", `{"url":"` + s.URL + `/p/0","status":200}` + "\nnot json\n", nil, "line 2", ""},
		{"jsonl resumed as csv", `{"url":"` + s.URL + `/p/0","status":200}` + "\n", []string{"--format", "csv"}, "--format jsonl", ""},
		{"csv with other columns", "title,url\nPage 0," + s.URL + "/p/0", []string{"--format", "csv"}, "title", ""},
		{"a corrupt csv row", "url,status,title\n" + s.URL + "/p/0,200\n" + s.URL + "/p/1,200,Page 1\n", []string{"--format", "csv", "--fields", "url,status,title"}, "line 2", ""},
		// The name sets the format: --format jsonl would be refused as
		// contradicting it, so the advice is a new name.
		{"jsonl named .csv", `{"url":"` + s.URL + `/p/0","status":200}` + "\n", nil, "give it a .jsonl name", "out.csv"},
		{"csv named .jsonl", "url,status,title\n" + s.URL + "/p/0,200,Page 0\n", nil, "give it a .csv name", "out.jsonl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			out := writeFile(t, cmp.Or(tc.file, "out"), tc.content)
			a := append([]string{"--resume", "-o", out}, tc.extra...)
			res := runTrawl(t, ctx, nil, args("fetch", append(a, urls)...)...)
			if res.code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, out) || !strings.Contains(res.stderr, tc.line) {
				t.Errorf("stderr does not name %s and %q:\n%s", out, tc.line, res.stderr)
			}
			if b, err := os.ReadFile(out); err != nil || string(b) != tc.content {
				t.Errorf("%s after the refused resume: %q, %v; want it untouched", out, b, err)
			}
		})
	}
	if _, served := s.counts(); served != 0 {
		t.Errorf("refused runs fetched %d pages", served)
	}
}

// TestResumeKeepsJSONWithoutLineBreak: a file whose last line is a whole
// JSON object without a line break (minified JSON, or a record whose line
// break was lost) is not cut away by --resume as if torn: it is kept, and
// the line break added before the new records. It used to be emptied,
// with exit 0.
func TestResumeKeepsJSONWithoutLineBreak(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	content := `{"name":"my data","items":[1,2,3]}`
	out := writeFile(t, "data.json", content)
	res := runTrawl(t, ctx, nil, "fetch", "--resume", "-o", out, s.URL+"/p/0")
	if res.code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(b), "\n")
	if first != content {
		t.Fatalf("%s after --resume: %q; want it to start with its line %q", out, b, content)
	}
	if recs := parseJSONL(t, rest); len(recs) != 1 || recs[0].URL != s.URL+"/p/0" {
		t.Errorf("want the record of /p/0 on a line of its own after it:\n%s", b)
	}
}

// TestRecordOverTheLimit: a page whose record would pass the 16 MiB
// limit of a record (here by a huge title, which only the body limit
// bounds) gets a small error
// record of kind too_large instead, with its url; a resumed run reads it
// back and does not fetch the page again.
func TestRecordOverTheLimit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{
		"/big":   htmlPage(strings.Repeat("x", 17<<20), "<p>big</p>"),
		"/small": htmlPage("Small", "<p>small</p>"),
	}, -1)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	a := args("fetch", "--max-body", "64MiB", "--select", "para=p", "-o", out, s.URL+"/big", s.URL+"/small")
	res := runTrawl(t, ctx, nil, a...)
	if res.code != 0 {
		t.Errorf("exit code %d, want 0 (the run completed; a record failed); stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1<<20 {
		t.Fatalf("%s holds %d bytes: the huge record was written", out, len(b))
	}
	got := byURL(t, parseJSONL(t, string(b)))
	big := got[s.URL+"/big"]
	if big.Error == nil || big.Error.Kind != "too_large" || !strings.Contains(big.Error.Message, "16 MiB") || big.Status != 200 {
		t.Errorf("record of /big: %+v, want status 200 and a too_large error naming the 16 MiB limit", big)
	}
	if got[s.URL+"/small"].Status != 200 || len(got) != 2 {
		t.Errorf("records %+v, want /big and /small", got)
	}
	res = runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Errorf("resumed run: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	if hits, _ := s.counts(); hits["/big"] != 1 || hits["/small"] != 1 {
		t.Errorf("requests %v, want each page fetched once", hits)
	}
}

// TestOutputDiskFull: -o on a full disk (/dev/full fails every write
// with ENOSPC) ends the run with exit 1 and an error that says so; no
// summary claims success.
func TestOutputDiskFull(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	res := runTrawl(t, ctx, nil, args("fetch", "-o", "/dev/full", urlFile(t, s.urls(numberedPaths(3)...)))...)
	if res.code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "no space left on device") || !strings.Contains(res.stderr, "/dev/full") {
		t.Errorf("stderr does not report the full disk on /dev/full:\n%s", res.stderr)
	}
}
