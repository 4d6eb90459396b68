//go:build unix

package e2e

import (
	"context"
	"fmt"
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
