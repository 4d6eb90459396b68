package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lockHelperEnv names the environment variable that turns the test binary
// into a process holding the lock at its value (see TestMain).
const lockHelperEnv = "TRAWL_LOCK_HELPER"

// lockHelper takes the lock at path, prints "locked", and holds it until
// its stdin ends.
func lockHelper(path string) int {
	l, err := AcquireLock(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestLockConflictsInProcess(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := AcquireLock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(ctx, path)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second AcquireLock: %v, want a *LockedError", err)
	}
	if le.PID != os.Getpid() || le.Path != path {
		t.Fatalf("LockedError = %+v, want pid %d path %s", le, os.Getpid(), path)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("message %q does not name the holder", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := AcquireLock(ctx, path)
	if err != nil {
		t.Fatalf("AcquireLock after Release: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Release: %v, want os.ErrClosed", err)
	}
}

func TestLockedErrorWithoutPID(t *testing.T) {
	e := &LockedError{Path: "x.lock"}
	if got, want := e.Error(), "lock x.lock: held by another process"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// startLockHolder runs the test binary as a process holding the lock.
func startLockHolder(t *testing.T, path string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("lock holder said %q, %v", line, err)
	}
	return cmd, stdin
}

func TestLockConflictsAcrossProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "run.lock")
	cmd, stdin := startLockHolder(t, path)
	defer stdin.Close()

	_, err := AcquireLock(ctx, path)
	var le *LockedError
	if !errors.As(err, &le) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("AcquireLock while another process holds it: %v", err)
	}
	if le.PID != cmd.Process.Pid {
		t.Errorf("LockedError.PID = %d, want the holder's %d", le.PID, cmd.Process.Pid)
	}

	// kill -9: the kernel releases the lock with the process.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := AcquireLock(ctx, path)
	if err != nil {
		t.Fatalf("AcquireLock after the holder was killed: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockReleasedByHolder(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "run.lock")
	cmd, stdin := startLockHolder(t, path)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lock holder: %v", err)
	}
	l, err := AcquireLock(ctx, path)
	if err != nil {
		t.Fatalf("AcquireLock after the holder released it: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestLockNeverWritesLockFile: the lock file may be any file with content
// (the output, the input): taking and releasing the lock leave it byte
// for byte as it was; the pid goes to PIDPath and is removed on Release.
func TestLockNeverWritesLockFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	const content = "{\"url\":\"https://example.com/\"}\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := AcquireLock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("lock file after AcquireLock holds %q, want it untouched %q", b, content)
	}
	if b, err := os.ReadFile(PIDPath(path)); err != nil || string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("pid file holds %q, %v; want this process's id", b, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("lock file after Release holds %q, want it untouched %q", b, content)
	}
	if _, err := os.Stat(PIDPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after Release: %v, want it removed", err)
	}
}

// TestLockCreatesMissingFileEmpty: a missing lock file is created, empty.
func TestLockCreatesMissingFileEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := AcquireLock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("lock file: %v, want an empty file", err)
	}
}

// TestLockRefusesForeignPIDFile: a FILE.pid with other content than a
// process id is not trawl's: it is not overwritten, and the lock is not
// taken.
func TestLockRefusesForeignPIDFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "run.lock")
	const content = "not a pid\n"
	if err := os.WriteFile(PIDPath(path), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := AcquireLock(ctx, path)
	if !errors.Is(err, ErrNotPIDFile) || !strings.Contains(err.Error(), PIDPath(path)) {
		t.Fatalf("AcquireLock with a foreign pid file: %v, want ErrNotPIDFile naming it", err)
	}
	if b, _ := os.ReadFile(PIDPath(path)); string(b) != content {
		t.Errorf("pid file holds %q, want it untouched", b)
	}
	// The lock was not kept.
	if err := os.Remove(PIDPath(path)); err != nil {
		t.Fatal(err)
	}
	l, err := AcquireLock(ctx, path)
	if err != nil {
		t.Fatalf("AcquireLock after the foreign pid file went: %v", err)
	}
	l.Release()
}

// TestLockFollowsNoPlantedLink: symbolic links planted where the lock
// file and its pid file go (another user, in a shared /tmp) make trawl
// create or write no file they point to.
func TestLockFollowsNoPlantedLink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.lock")
	victim := filepath.Join(dir, "victim")
	if err := os.Symlink(victim, path); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if l, err := AcquireLock(t.Context(), path); err == nil {
		l.Release()
	}
	if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a link as the lock file made trawl create its target: %v", err)
	}

	path = filepath.Join(dir, "other.lock")
	for _, content := range []string{"", "-"} { // missing, then empty
		if content == "-" {
			if err := os.WriteFile(victim, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.Remove(PIDPath(path))
		if err := os.Symlink(victim, PIDPath(path)); err != nil {
			t.Fatal(err)
		}
		if l, err := AcquireLock(t.Context(), path); err == nil {
			l.Release()
		}
		if b, err := os.ReadFile(victim); content == "" && !errors.Is(err, os.ErrNotExist) || content == "-" && len(b) != 0 {
			t.Errorf("a link as the pid file made trawl write through it: %q, %v", b, err)
		}
	}
}
