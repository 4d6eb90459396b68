//go:build unix

package structured

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRunProcessExitStatus(t *testing.T) {
	res, err := RunProcess(t.Context(), exec.Command("sh", "-c", "exit 3"))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("err = %v, want an *exec.ExitError with status 3", err)
	}
	if !strings.Contains(err.Error(), "sh") {
		t.Errorf("error %q does not name the command", err)
	}
	if res.ExitCode != 3 || res.State == nil {
		t.Errorf("result exit code %d, state %v; want 3 and a state", res.ExitCode, res.State)
	}
}

func TestRunProcessCapturesOutput(t *testing.T) {
	res, err := RunProcess(t.Context(), exec.Command("sh", "-c", "printf out; printf err >&2"))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out" || string(res.Stderr) != "err" || res.StdoutTruncated || res.StderrTruncated {
		t.Fatalf("result %+v; want stdout \"out\", stderr \"err\", nothing truncated", res)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit code %d", res.ExitCode)
	}
}

func TestRunProcessTruncatesOutput(t *testing.T) {
	// 200 KB on stdout, 3 bytes on stderr: only stdout passes the limit, and
	// the process is not stopped by it.
	cmd := exec.Command("sh", "-c", "head -c 200000 /dev/zero; printf abc >&2")
	res, err := RunProcess(t.Context(), cmd, OutputLimit(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 10 || !res.StdoutTruncated {
		t.Errorf("stdout %d bytes, truncated %v; want 10, true", len(res.Stdout), res.StdoutTruncated)
	}
	if string(res.Stderr) != "abc" || res.StderrTruncated {
		t.Errorf("stderr %q, truncated %v; want \"abc\", false", res.Stderr, res.StderrTruncated)
	}
}

func TestRunProcessLeavesCallerStreams(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command("sh", "-c", "printf mine")
	cmd.Stdout = &out
	res, err := RunProcess(t.Context(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "mine" || res.Stdout != nil {
		t.Fatalf("caller's stdout got %q, result %q; want the caller's writer to get it all", out.String(), res.Stdout)
	}
}

func TestRunProcessCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cmd := exec.Command("sh", "-c", "exit 0")
	_, err := RunProcess(ctx, cmd)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if cmd.Process != nil {
		t.Fatal("the process was started with a cancelled context")
	}
}

// readySignal is a stdout that reports the first write, which the test
// scripts make after installing their signal traps.
type readySignal struct {
	once  sync.Once
	ready chan struct{}
	mu    sync.Mutex
	buf   bytes.Buffer
}

func newReadySignal() *readySignal { return &readySignal{ready: make(chan struct{})} }

func (r *readySignal) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.buf.Write(p)
	r.mu.Unlock()
	r.once.Do(func() { close(r.ready) })
	return len(p), nil
}

func (r *readySignal) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

type processOutcome struct {
	res ProcessResult
	err error
}

// runProcessUntilReady starts cmd with RunProcess, waits for its first
// output, cancels it and returns the outcome, failing if either step takes
// longer than bound.
func runProcessUntilReady(t *testing.T, cmd *exec.Cmd, bound time.Duration, opts ...ProcessOption) (processOutcome, time.Duration, *readySignal) {
	t.Helper()
	out := newReadySignal()
	cmd.Stdout = out
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan processOutcome, 1)
	go func() {
		res, err := RunProcess(ctx, cmd, opts...)
		done <- processOutcome{res, err}
	}()
	select {
	case <-out.ready:
	case <-time.After(bound):
		cancel()
		<-done
		t.Fatal("the process never reported ready")
	}
	cancelled := time.Now()
	cancel()
	select {
	case o := <-done:
		return o, time.Since(cancelled), out
	case <-time.After(bound):
		// cmd.Process was set before the first output arrived. Kill the
		// process and its group by hand so that a broken RunProcess cannot
		// hang the test; WaitDelay then bounds the pipes.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Process.Kill()
		<-done
		t.Fatal("RunProcess did not return after cancellation")
	}
	panic("unreachable")
}

func TestRunProcessKillsAfterGraceWhenTermIgnored(t *testing.T) {
	const grace = 300 * time.Millisecond
	cmd := exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`)
	o, took, _ := runProcessUntilReady(t, cmd, 10*time.Second, GracePeriod(grace))
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", o.err)
	}
	ws, _ := o.res.State.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("process ended with %v, want killed by SIGKILL", o.res.State)
	}
	if took < grace {
		t.Errorf("killed %v after cancellation, before the %v grace period", took, grace)
	}
	if o.res.ExitCode != -1 {
		t.Errorf("exit code %d, want -1", o.res.ExitCode)
	}
}

func TestRunProcessTermEndsCooperativeProcess(t *testing.T) {
	// The grace period is far longer than the bound: only SIGTERM can end
	// the process in time. The loop runs no child, so that the shell runs
	// its trap at once.
	cmd := exec.Command("sh", "-c", `trap "exit 7" TERM; echo ready; while :; do :; done`)
	o, _, _ := runProcessUntilReady(t, cmd, 10*time.Second, GracePeriod(time.Hour))
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", o.err)
	}
	if o.res.ExitCode != 7 {
		t.Errorf("exit code %d, want 7 from the TERM trap", o.res.ExitCode)
	}
}

// waitGone waits, for at most bound, until pid has exited (gone or a
// zombie). A pidfd becomes readable when its process exits: an event to
// wait on, where polling /proc would need sleeps.
func waitGone(t *testing.T, pid int, bound time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // already gone and reaped
	}
	if err != nil {
		t.Skipf("pidfd_open(%d): %v; this kernel cannot tell when another process exits", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(bound.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd of %d: %v", pid, err)
		}
		if n == 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still running %v after RunProcess returned", pid, bound)
		}
		return
	}
}

func backgroundPID(t *testing.T, out string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.Fields(out)[0])
	if err != nil {
		t.Fatalf("no pid in output %q", out)
	}
	return pid
}

func TestRunProcessKillsGroupOnCancel(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sh", "-c", `trap "" TERM; sleep 1000 & echo $! ready; wait`)
	o, _, out := runProcessUntilReady(t, cmd, 10*time.Second, GracePeriod(100*time.Millisecond))
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", o.err)
	}
	waitGone(t, backgroundPID(t, out.String()), 5*time.Second)
}

func TestRunProcessKillsLeftoversAfterExit(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sh", "-c", `sleep 1000 >/dev/null 2>&1 & echo $!`)
	res, err := RunProcess(t.Context(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, backgroundPID(t, string(res.Stdout)), 5*time.Second)
}
