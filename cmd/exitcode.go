package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/internal/gcpolicy"
)

// Exit codes of trawl; the table is part of the root command's help.
// A run completes when every URL has a record, whatever its status: a
// 404 is a result, not a failure of the run.
const (
	ExitOK           = 0   // the run completed
	ExitIncomplete   = 1   // the run did not complete: --max-time left URLs undone, the output failed, the shared frontier was lost
	ExitUsage        = 2   // usage or configuration error
	ExitLocked       = 3   // another run holds the --lock file or writes the -o file
	ExitFailedStrict = 4   // --strict: the run completed and some URLs failed
	ExitInterrupted  = 130 // interrupted by SIGINT, SIGTERM or SIGHUP
)

const exitCodeHelp = `Exit codes:
  0    the run completed: every URL has a record, whatever its status
  1    the run did not complete (--max-time left URLs undone, the output
       failed, the shared frontier was lost)
  2    usage or configuration error
  3    another run holds the --lock file or writes the -o file
  4    --strict only: the run completed and some URLs failed
  130  interrupted (SIGINT/SIGTERM/SIGHUP)`

// runExitCode is the exit code of a run that got as far as running:
// complete says whether every URL has a record.
func runExitCode(complete, interrupted, strict bool, failed int) int {
	switch {
	case interrupted:
		return ExitInterrupted
	case !complete:
		return ExitIncomplete
	case strict && failed > 0:
		return ExitFailedStrict
	}
	return ExitOK
}

// ExitError carries an exit code out of a command. Commands return it
// (wrapped or not); Execute turns it into the process's exit code.
type ExitError struct {
	Code int
	Err  error // printed on stderr when not nil
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError returns an error that exits with ExitUsage.
func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Execute runs trawl with the process's arguments and streams and returns
// the exit code. The context it runs in is cancelled by SIGINT or SIGTERM.
func Execute() int {
	// A write to a closed pipe (trawl ... | head) must fail with EPIPE,
	// which ends the run quietly, instead of killing the process.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// Fewer GC cycles while the live heap is small (see gcpolicy).
	defer gcpolicy.Start(gcpolicy.DefaultFloor)()
	io := SystemIO()
	return run(context.Background(), io, NewCmdRoot(io), os.Args[1:])
}

// run executes root with args and maps the outcome to an exit code. It is
// the one place where exit codes are decided.
func run(ctx context.Context, io *IOStreams, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintln(io.ErrOut, "trawl:", terminalSafe(exit.Err.Error()))
		}
		return exit.Code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(io.ErrOut, "trawl: interrupted")
		return ExitInterrupted
	}
	// Anything else comes from cobra's flag and argument parsing. An
	// unknown command's suggestion spans lines ("\n\nDid you mean
	// this?\n\tfetch\n", the command quoted with %q): each line is made
	// safe, the lines are kept.
	if msg := err.Error(); strings.HasPrefix(msg, "unknown command \"") {
		msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\t", "  ")
		fmt.Fprintln(io.ErrOut, "trawl:", terminalSafeLines(msg))
		return ExitUsage
	}
	fmt.Fprintln(io.ErrOut, "trawl:", terminalSafe(err.Error()))
	return ExitUsage
}
