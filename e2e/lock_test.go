//go:build unix

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), 0)
	lock := filepath.Join(t.TempDir(), "trawl.lock")
	first := startTrawl(t, ctx, nil, args("fetch", "--lock", lock, s.URL+"/p/0")...)
	if err := s.waitHeld(ctx, 1); err != nil {
		t.Fatal(err, "\nstderr of the first run:\n", first.stderr)
	}

	// The second run must not wait for the first: give it little time.
	quickCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	second := runTrawl(t, quickCtx, nil, args("fetch", "--lock", lock, s.URL+"/p/1")...)
	if second.code != 3 {
		t.Errorf("second run: exit code %d, want 3; stderr:\n%s", second.code, second.stderr)
	}
	if !strings.Contains(second.stderr, lock) || !strings.Contains(second.stderr, fmt.Sprint(first.cmd.Process.Pid)) {
		t.Errorf("second run: stderr does not name the lock %s and the holder's pid %d:\n%s", lock, first.cmd.Process.Pid, second.stderr)
	}
	if second.stdout != "" {
		t.Errorf("second run wrote on stdout:\n%s", second.stdout)
	}
	if hits, _ := s.counts(); hits["/p/1"] != 0 {
		t.Errorf("the locked-out run fetched /p/1")
	}

	s.release()
	if code := first.wait(); code != 0 {
		t.Fatalf("first run: exit code %d, want 0; stderr:\n%s", code, first.stderr)
	}
	third := runTrawl(t, ctx, nil, args("fetch", "--lock", lock, s.URL+"/p/1")...)
	if third.code != 0 {
		t.Errorf("run after the first ended: exit code %d, want 0; stderr:\n%s", third.code, third.stderr)
	}
	if recs := parseJSONL(t, third.stdout); len(recs) != 1 || recs[0].Status != 200 {
		t.Errorf("run after the first ended: records %+v, want one with status 200", recs)
	}
}

// TestLockKeepsFile: --lock on a file with content (here the results of
// an earlier run) leaves it byte for byte as it was, during the run and
// after it; the holder's pid is in FILE.pid while it runs, which is gone
// afterwards.
func TestLockKeepsFile(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), 0)
	lock := writeFile(t, "results.jsonl", "{\"url\":\"https://example.com/\",\"status\":200}\n")
	before, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	p := startTrawl(t, ctx, nil, args("fetch", "--lock", lock, s.URL+"/p/0")...)
	if err := s.waitHeld(ctx, 1); err != nil {
		t.Fatal(err, "\nstderr:\n", p.stderr)
	}
	if b, err := os.ReadFile(lock); err != nil || !bytes.Equal(b, before) {
		t.Errorf("lock file while the run holds it: %q, %v; want it untouched", b, err)
	}
	if b, err := os.ReadFile(lock + ".pid"); err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(p.cmd.Process.Pid) {
		t.Errorf("%s.pid holds %q, %v; want the holder's pid %d", lock, b, err, p.cmd.Process.Pid)
	}
	s.release()
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, p.stderr)
	}
	if b, err := os.ReadFile(lock); err != nil || !bytes.Equal(b, before) {
		t.Errorf("lock file after the run: %q, %v; want it untouched", b, err)
	}
	if _, err := os.Stat(lock + ".pid"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.pid after the run: %v, want it removed", lock, err)
	}
}

// TestLockOnOutput: --lock may name the output itself: the lock never
// writes it, so the results of --resume runs survive.
func TestLockOnOutput(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(2), -1)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for i, a := range [][]string{
		{"fetch", "--lock", out, "-o", out, s.URL + "/p/0"},
		{"fetch", "--lock", out, "--resume", "-o", out, s.URL + "/p/0", s.URL + "/p/1"},
	} {
		res := runTrawl(t, ctx, nil, args(a[0], a[1:]...)...)
		if res.code != 0 {
			t.Fatalf("run %d: exit code %d, want 0; stderr:\n%s", i+1, res.code, res.stderr)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if recs := byURL(t, parseJSONL(t, string(b))); len(recs) != 2 {
		t.Errorf("%s holds %d records, want 2:\n%s", out, len(recs), b)
	}
	if _, err := os.Stat(out + ".pid"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.pid after the runs: %v, want it removed", out, err)
	}
}
