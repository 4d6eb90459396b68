//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestKillThenResume: a run killed with SIGKILL mid-run, then the same
// command with --resume: every input URL ends up exactly once in the
// file, whole lines only, and URLs already there are not fetched again.
func TestKillThenResume(t *testing.T) {
	t.Parallel()
	t.Run("clean", func(t *testing.T) { t.Parallel(); testKillThenResume(t, false) })
	// kill -9 in the middle of a write leaves half a line; the test
	// writes one to be sure it is there.
	t.Run("torn", func(t *testing.T) { t.Parallel(); testKillThenResume(t, true) })
}

func testKillThenResume(t *testing.T, torn bool) {
	ctx := testContext(t)
	const n, free, workers = 30, 8, 4
	s := newSite(t, numberedPages(n), free)
	urls := s.urls(numberedPaths(n)...)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	w := fmt.Sprint(workers)
	a := args("fetch", "-c", w, "--per-host", w, "-o", out, urlFile(t, urls))

	first := startTrawl(t, ctx, nil, a...)
	if err := s.waitHeld(ctx, workers); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	if err := waitFile(ctx, dir, out, lines(free)); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	first.signal(syscall.SIGKILL)
	if code := first.wait(); code != -1 {
		t.Fatalf("killed run: exit code %d, want death by signal", code)
	}
	if err := s.waitGone(ctx, workers); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	kept := strings.Count(string(before), "\n") // complete lines
	if torn {
		if !strings.HasSuffix(string(before), "\n") {
			t.Fatalf("the killed run left half a line already")
		}
		var undone string
		for _, u := range urls {
			if !strings.Contains(string(before), `"`+u+`"`) {
				undone = u
				break
			}
		}
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, `{"url":%q,"final_url":%q,"status":200,"ti`, undone, undone)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	_, servedBefore := s.counts()

	s.release()
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed run: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	after, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseJSONL(t, string(after))
	got := byURL(t, recs)
	for _, u := range urls {
		if got[u].Status != 200 {
			t.Errorf("record for %s: %+v, want status 200", u, got[u])
		}
	}
	if len(recs) != n {
		t.Errorf("%d records in %s after --resume, want %d", len(recs), out, n)
	}
	if _, served := s.counts(); served-servedBefore != n-kept {
		t.Errorf("the resumed run fetched %d pages, want %d: %d records were already in %s", served-servedBefore, n-kept, kept, out)
	}
}

// waitFile waits, with inotify on dir, until cond holds for the contents
// of the file at path (which need not exist yet).
func waitFile(ctx context.Context, dir, path string, cond func(string) bool) error {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return err
	}
	events := os.NewFile(uintptr(fd), "inotify")
	defer events.Close()
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MODIFY|syscall.IN_CLOSE_WRITE); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		events.SetReadDeadline(d)
	}
	buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
	for {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if cond(string(b)) {
			return nil
		}
		if _, err := events.Read(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("waiting for %s: %w; it holds:\n%s", path, context.DeadlineExceeded, b)
			}
			return err
		}
	}
}

// TestKillThenResumeCSV: the same with --format csv: one header, every
// URL in exactly one row.
func TestKillThenResumeCSV(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	const n, free, workers = 30, 8, 4
	s := newSite(t, numberedPages(n), free)
	urls := s.urls(numberedPaths(n)...)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	w := fmt.Sprint(workers)
	a := args("fetch", "-c", w, "--per-host", w, "--format", "csv", "--fields", "url,status,title", "-o", out, urlFile(t, urls))
	first := startTrawl(t, ctx, nil, a...)
	if err := s.waitHeld(ctx, workers); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	if err := waitFile(ctx, dir, out, lines(1+free)); err != nil {
		t.Fatal(err, "\nstderr:\n", first.stderr)
	}
	first.signal(syscall.SIGKILL)
	first.wait()
	if err := s.waitGone(ctx, workers); err != nil {
		t.Fatal(err)
	}
	s.release()
	res := runTrawl(t, ctx, nil, append(a, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed run: exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatalf("%s is not CSV: %v\n%s", out, err, b)
	}
	if len(rows) != n+1 || strings.Join(rows[0], ",") != "url,status,title" {
		t.Fatalf("%s: %d rows, want a header and %d rows:\n%s", out, len(rows), n, b)
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		if seen[row[0]] || row[1] != "200" {
			t.Errorf("row %q: duplicate or not 200", row)
		}
		seen[row[0]] = true
	}
	for _, u := range urls {
		if !seen[u] {
			t.Errorf("no row for %s", u)
		}
	}
}

// TestResumeHostileInvalidLines: an input line that is not a URL, written
// cleaned (no control characters) and, in CSV, with a "'" before a
// leading '=', is still known to a resumed run, which does not report it
// again.
func TestResumeHostileInvalidLines(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	in := filepath.Join(t.TempDir(), "urls.txt")
	lines := s.URL + "/p/0\n=cmd|' /C calc'!A0\nbad\x1b[2Jline\n"
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out."+format)
			for _, extra := range [][]string{nil, {"--resume"}} {
				a := append([]string{"--format", format, "--fields", "url,status", "-o", out}, extra...)
				res := runTrawl(t, ctx, nil, args("fetch", append(a, in)...)...)
				if res.code != 0 {
					t.Fatalf("%q: exit code %d; stderr:\n%s", extra, res.code, res.stderr)
				}
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"calc", "bad[2Jline", "/p/0"} {
				if n := strings.Count(string(b), want); n != 1 {
					t.Errorf("%q appears %d times, want once, in:\n%s", want, n, b)
				}
			}
		})
	}
}

// TestResumeSummary: the summary of a resumed run says that the URLs of
// the input done before were skipped as such, not as duplicates, and
// counts one URL in the singular.
func TestResumeSummary(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "urls.txt"), filepath.Join(dir, "out.jsonl")
	for i, urls := range []string{"/p/0\n/p/1\n", "/p/0\n/p/1\n/p/2\n"} {
		if err := os.WriteFile(in, []byte(strings.ReplaceAll(urls, "/p/", s.URL+"/p/")), 0o644); err != nil {
			t.Fatal(err)
		}
		a := []string{"fetch", "-o", out, in}
		if i > 0 {
			a = append(a, "--resume")
		}
		res := runTrawl(t, ctx, nil, a...)
		if res.code != 0 {
			t.Fatalf("run %d: exit code %d; stderr:\n%s", i, res.code, res.stderr)
		}
		if i == 0 {
			if strings.Contains(res.stderr, "skipped") {
				t.Errorf("first run: the summary skips something:\n%s", res.stderr)
			}
			continue
		}
		for _, want := range []string{"trawl: 1 URL in ", "3 lines read, 2 skipped (done before --resume, or duplicates)"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("resumed run: no %q in the summary:\n%s", want, res.stderr)
			}
		}
	}
}

// TestCrawlToDevStdout: a crawl to -o /dev/stdout redirected to a file
// keeps no journal next to it (/dev/stdout.journal: refused to a user,
// a file in /dev for root), even when interrupted, and its records reach
// the file.
func TestCrawlToDevStdout(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	held := newGate()
	defer held.open()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<title>home</title><a href="/held">held</a>`)
	})
	mux.Handle("/held", held)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	f, err := os.Create(filepath.Join(t.TempDir(), "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := trawlCmd(ctx, "crawl", "-q", "--no-robots", "--grace", "0", "-o", "/dev/stdout", s.URL+"/")
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.arrived:
	case <-ctx.Done():
		t.Fatalf("the crawl never reached /held; stderr:\n%s", stderr.String())
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if _, err := os.Stat("/dev/stdout.journal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a journal next to /dev/stdout: %v", err)
	}
	if b, _ := os.ReadFile(f.Name()); !strings.Contains(string(b), `"title":"home"`) {
		t.Errorf("the record of / did not reach the file: %q; stderr:\n%s", b, stderr.String())
	}
}
