//go:build linux

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSinceCronRecipeKilled: the README's --since cron line killed with
// kill -9 in the middle of its second run, then run again: the run is
// resumed (the URLs done are not fetched again), and last.jsonl ends with
// every URL exactly once and the right changes.
func TestSinceCronRecipeKilled(t *testing.T) {
	t.Parallel()
	needTools(t, "bash")
	ctx := testContext(t)
	s, dir, script := cronRecipe(t)
	if out, err := trawlShell(ctx, dir, script).CombinedOutput(); err != nil {
		t.Fatalf("run 1: %v\n%s", err, out)
	}

	s.set("/a", &sincePage{body: "<title>a2</title>", etag: `"a2"`})
	s.mu.Lock()
	s.holdPath, s.hold, s.arrived = "/c", make(chan struct{}), make(chan struct{}, 4)
	s.mu.Unlock()
	cmd := trawlShell(ctx, dir, script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.arrived:
	case <-ctx.Done():
		t.Fatal("the held request never came")
	}
	run := filepath.Join(dir, "run.jsonl")
	if err := waitFile(ctx, dir, run, lines(2)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The shell is reaped, but trawl, its child, may still be dying with
	// its lock held: wait until nothing of the group is left.
	if err := groupGone(ctx, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	close(s.hold)
	s.mu.Lock()
	aBefore := len(s.inm["/a"])
	s.mu.Unlock()

	if out, err := trawlShell(ctx, dir, script).CombinedOutput(); err != nil {
		t.Fatalf("run 2 again: %v\n%s", err, out)
	}
	s.mu.Lock()
	if len(s.inm["/a"]) != aBefore {
		t.Errorf("/a, done before the kill, was fetched again")
	}
	s.mu.Unlock()
	got := readSinceRecords(t, filepath.Join(dir, "last.jsonl")) // fails on a URL twice
	want := map[string]string{"/a": "changed", "/b": "unchanged", "/c": "unchanged"}
	if len(got) != len(want) {
		t.Errorf("last.jsonl: %d records, want %d", len(got), len(want))
	}
	for path, change := range want {
		if r := got[s.URL+path]; r.Change != change {
			t.Errorf("%s: change %q, want %q", path, r.Change, change)
		}
	}
}

// groupGone waits until no live process of the process group pgid is
// left (a zombie has closed its files and released its locks: here
// nobody may reap it).
func groupGone(ctx context.Context, pgid int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for groupAlive(pgid) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("process group %d still there: %w", pgid, ctx.Err())
		}
	}
	return nil
}

// groupAlive reports whether a process of group pgid is running.
func groupAlive(pgid int) bool {
	return len(liveProcs(func(_ string, stat []string) bool { return stat[2] == strconv.Itoa(pgid) })) > 0
}
