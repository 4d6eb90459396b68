//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-urls.txt")
	fifo := filepath.Join(t.TempDir(), "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the message on stderr
	}{
		{"concurrency", []string{"fetch", "--concurrency", "0", "http://127.0.0.1/"}, []string{"--concurrency", "0"}},
		{"format", []string{"fetch", "--format", "xml", "http://127.0.0.1/"}, []string{"--format", "xml"}},
		{"max-body", []string{"fetch", "--max-body", "abc", "http://127.0.0.1/"}, []string{"--max-body", "abc"}},
		{"queue-memory", []string{"fetch", "--queue-memory", "0", "http://127.0.0.1/"}, []string{"--queue-memory", "0"}},
		{"select", []string{"fetch", "--select", "bad[", "http://127.0.0.1/"}, []string{"--select", "bad["}},
		{"select css", []string{"fetch", "--select", "x=p[", "http://127.0.0.1/"}, []string{"--select", "x=p["}},
		{"missing file", []string{"fetch", missing}, []string{missing}},
		{"unknown flag", []string{"fetch", "--frobnicate", "http://127.0.0.1/"}, []string{"--frobnicate"}},
		{"bad duration", []string{"fetch", "--timeout", "soon", "http://127.0.0.1/"}, []string{"--timeout", "soon"}},
		{"resume without -o", []string{"fetch", "--resume", "http://127.0.0.1/"}, []string{"--resume", "-o"}},
		{"resume to stdout", []string{"fetch", "--resume", "-o", "-", "http://127.0.0.1/"}, []string{"--resume", "standard output"}},
		{"resume to a pipe", []string{"fetch", "--resume", "-o", fifo, "http://127.0.0.1/"}, []string{"--resume", fifo, "not a regular file"}},
		{"scope", []string{"crawl", "--scope", "planet", "http://127.0.0.1/"}, []string{"--scope", "planet"}},
		{"exclude", []string{"crawl", "--exclude", "(", "http://127.0.0.1/"}, []string{"--exclude", "("}},
		{"depth", []string{"crawl", "--depth", "-1", "http://127.0.0.1/"}, []string{"--depth", "-1"}},
		{"unknown command", []string{"frobnicate"}, []string{"frobnicate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runTrawl(t, testContext(t), nil, tc.args...)
			if res.code != 2 {
				t.Errorf("trawl %q: exit code %d, want 2; stderr:\n%s", tc.args, res.code, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("trawl %q wrote on stdout:\n%s", tc.args, res.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("trawl %q: stderr does not name %q:\n%s", tc.args, w, res.stderr)
				}
			}
		})
	}
}

// TestHelpGolden compares the help texts with testdata/*.golden; run
// `go test ./e2e -update` to rewrite them after a deliberate change.
func TestHelpGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"help-root.golden", []string{"--help"}},
		{"help-fetch.golden", []string{"fetch", "--help"}},
		{"help-crawl.golden", []string{"crawl", "--help"}},
		{"help-demo.golden", []string{"demo", "--help"}},
		{"help-report.golden", []string{"report", "--help"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			res := runTrawl(t, testContext(t), nil, tc.args...)
			if res.code != 0 {
				t.Fatalf("trawl %q: exit code %d, want 0; stderr:\n%s", tc.args, res.code, res.stderr)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(res.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./e2e -update to create it)", err)
			}
			if res.stdout != string(want) {
				t.Errorf("trawl %q differs from %s (go test ./e2e -update rewrites it):\n--- got\n%s\n--- want\n%s", tc.args, path, res.stdout, want)
			}
		})
	}
}

func TestHelpNamesExitCodes(t *testing.T) {
	t.Parallel()
	for _, sub := range [][]string{{"--help"}, {"fetch", "--help"}, {"crawl", "--help"}} {
		res := runTrawl(t, testContext(t), nil, sub...)
		for _, code := range []string{"0 ", "1 ", "2 ", "3 ", "130 "} {
			if !strings.Contains(res.stdout, "\n  "+code) {
				t.Errorf("trawl %q does not document exit code %s", sub, code)
			}
		}
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	res := runTrawl(t, testContext(t), nil, "demo")
	if res.code != 0 {
		t.Fatalf("trawl demo: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := byURL(t, parseJSONL(t, res.stdout))
	if len(recs) <= 300 {
		t.Errorf("trawl demo wrote %d records, want more than 300", len(recs))
	}
	if !strings.HasSuffix(res.stderr, "trawl demo -o demo.jsonl && trawl report demo.jsonl -o report.html\n") {
		t.Errorf("stderr does not end with the hint on trawl report:\n%s", res.stderr)
	}
}

// TestDemoThenReport: the hint of trawl demo -o FILE is a command that
// works: it writes the report of the demo crawl.
func TestDemoThenReport(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.jsonl")
	res := runTrawl(t, ctx, nil, "demo", "--pages", "20", "-o", out)
	want := "trawl: for a site audit in one HTML page: trawl report " + out + " -o report.html\n"
	if res.code != 0 || !strings.HasSuffix(res.stderr, want) {
		t.Fatalf("trawl demo -o: exit code %d, stderr does not end with %q:\n%s", res.code, want, res.stderr)
	}
	hint := strings.Fields(strings.TrimPrefix(strings.TrimSuffix(want, "\n"), "trawl: for a site audit in one HTML page: trawl "))
	hint[len(hint)-1] = filepath.Join(dir, "report.html")
	if rep := runTrawl(t, ctx, nil, hint...); rep.code != 0 {
		t.Fatalf("trawl %v: exit code %d:\n%s", hint, rep.code, rep.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(b), "missing.html") {
		t.Errorf("report of the demo (%v) does not list missing.html", err)
	}
}
