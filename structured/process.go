//go:build unix

package structured

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// DefaultOutputLimit is how many bytes of each of stdout and stderr
// [RunProcess] keeps unless [OutputLimit] says otherwise.
const DefaultOutputLimit = 1 << 20

// DefaultGracePeriod is how long [RunProcess] waits after SIGTERM before
// SIGKILL unless [GracePeriod] says otherwise.
const DefaultGracePeriod = 5 * time.Second

// DefaultWaitDelay is the [exec.Cmd.WaitDelay] that [RunProcess] sets when
// the command has none.
const DefaultWaitDelay = time.Second

// A ProcessOption configures [RunProcess].
type ProcessOption func(*processConfig)

type processConfig struct {
	outputLimit int
	grace       time.Duration
}

// OutputLimit sets how many bytes of each of stdout and stderr RunProcess
// keeps; the rest is read and dropped, so the process never blocks on a
// full pipe. n below 0 counts as 0.
func OutputLimit(n int) ProcessOption {
	return func(c *processConfig) { c.outputLimit = max(n, 0) }
}

// GracePeriod sets how long RunProcess waits, after sending SIGTERM on
// cancellation, before it sends SIGKILL. A period of 0 or less sends
// SIGKILL right after SIGTERM.
func GracePeriod(d time.Duration) ProcessOption {
	return func(c *processConfig) { c.grace = d }
}

// ProcessResult is what [RunProcess] learned of a process.
type ProcessResult struct {
	// ExitCode is the process's exit status, or -1 if it was killed by a
	// signal or never started.
	ExitCode int
	// State is the process's state once waited for; nil if it never
	// started.
	State *os.ProcessState
	// Stdout and Stderr hold the start of the captured output, at most the
	// output limit each. They are nil for a stream that the command had
	// already directed elsewhere.
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated report whether the process wrote
	// more than the limit, which was dropped.
	StdoutTruncated, StderrTruncated bool
}

// RunProcess starts cmd, waits for it and returns its exit status and
// output. The process is started in a process group of its own, so that
// the signals below reach the processes it started too.
//
// Stdout and stderr are captured into the result, up to [OutputLimit]
// ([DefaultOutputLimit] by default) each, unless cmd.Stdout or cmd.Stderr is
// already set, in which case that stream goes where cmd says. A nil
// cmd.Stdin reads from the null device.
//
// If ctx is done before the start, the process is not started. If ctx is
// cancelled while the process runs, RunProcess sends SIGTERM to its process
// group, waits up to [GracePeriod] ([DefaultGracePeriod] by default) in a
// [Shielded] scope for it to exit, then sends SIGKILL; it returns once the
// process has been waited for, with an error wrapping ctx.Err(). When the
// process ends, whatever it left running in its group is killed with
// SIGKILL, and cmd.WaitDelay (set to [DefaultWaitDelay] when zero) bounds
// how long its pipes may stay open after it exited: neither the process,
// its group nor its pipes outlive the call.
//
// A process that exits with a non-zero status gives an error wrapping an
// [*exec.ExitError]; the result is filled in in every case where the
// process started. RunProcess sets cmd.Stdout, cmd.Stderr, cmd.SysProcAttr
// and cmd.WaitDelay as described; cmd must not have been started.
func RunProcess(ctx context.Context, cmd *exec.Cmd, opts ...ProcessOption) (ProcessResult, error) {
	cfg := processConfig{outputLimit: DefaultOutputLimit, grace: DefaultGracePeriod}
	for _, o := range opts {
		o(&cfg)
	}
	res := ProcessResult{ExitCode: -1}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	var stdout, stderr *cappedBuffer
	if cmd.Stdout == nil {
		stdout = &cappedBuffer{limit: cfg.outputLimit}
		cmd.Stdout = stdout
	}
	if cmd.Stderr == nil {
		stderr = &cappedBuffer{limit: cfg.outputLimit}
		cmd.Stderr = stderr
	}
	ownProcessGroup(cmd)
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("run %s: %w", cmd.Path, err)
	}

	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		err = terminate(ctx, pgid, cfg.grace, waited)
	}
	// Nothing the process started may outlive the call. The group's id
	// stays reserved while any member lives; once none does, the kill
	// finds nobody (barring the reuse of that id within these few
	// instructions).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)

	res.State = cmd.ProcessState
	res.ExitCode = cmd.ProcessState.ExitCode()
	if stdout != nil {
		res.Stdout, res.StdoutTruncated = stdout.buf, stdout.truncated
	}
	if stderr != nil {
		res.Stderr, res.StderrTruncated = stderr.buf, stderr.truncated
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return res, fmt.Errorf("run %s: %w (%v)", cmd.Path, ctxErr, cmd.ProcessState)
	}
	if err != nil {
		return res, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	return res, nil
}

// ownProcessGroup makes cmd start a process group of its own (a session
// leader already leads one), without changing the caller's SysProcAttr.
func ownProcessGroup(cmd *exec.Cmd) {
	var attr syscall.SysProcAttr
	if cmd.SysProcAttr != nil {
		attr = *cmd.SysProcAttr
	}
	if !attr.Setsid {
		attr.Setpgid = true
		attr.Pgid = 0
	}
	cmd.SysProcAttr = &attr
}

// terminate stops a process group after ctx was cancelled: SIGTERM, a
// shielded wait of at most grace, then SIGKILL. It returns the result of
// cmd.Wait, once the process has been waited for.
func terminate(ctx context.Context, pgid int, grace time.Duration, waited <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	var err error
	timeout := Shielded(ctx, grace, func(ctx context.Context) error {
		select {
		case err = <-waited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if timeout == nil {
		return err
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-waited // prompt: SIGKILL cannot be caught, and WaitDelay bounds the pipes
}

// cappedBuffer keeps the first limit bytes written to it and drops the
// rest, reporting success so that the writer never sees an error.
type cappedBuffer struct {
	buf       []byte
	limit     int
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.limit - len(b.buf)
	if len(p) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:room]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}
