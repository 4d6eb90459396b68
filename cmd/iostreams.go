package cmd

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the standard streams of a command and what is known about
// them. Commands decide on progress bars, colour and summaries from here,
// never from global state.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	StdoutTTY bool // stdout is a terminal
	StderrTTY bool // stderr is a terminal
	StdinTTY  bool // stdin is a terminal
	NoColor   bool // NO_COLOR is set, or stderr is not a terminal
	// StdoutFile is true when stdout is a regular file or the null
	// device: nobody reads it on the terminal while trawl runs.
	StdoutFile bool
	// ColorOut is true when stdout is a terminal and NO_COLOR is not set.
	ColorOut bool
}

// SystemIO returns the process's streams.
func SystemIO() *IOStreams {
	_, noColor := os.LookupEnv("NO_COLOR")
	errTTY := term.IsTerminal(int(os.Stderr.Fd()))
	outTTY := term.IsTerminal(int(os.Stdout.Fd()))
	return &IOStreams{
		In:         os.Stdin,
		Out:        os.Stdout,
		ErrOut:     os.Stderr,
		StdoutTTY:  outTTY,
		StderrTTY:  errTTY,
		StdinTTY:   term.IsTerminal(int(os.Stdin.Fd())),
		NoColor:    noColor || !errTTY,
		StdoutFile: isFileOrNull(os.Stdout),
		ColorOut:   outTTY && !noColor,
	}
}

// isFileOrNull tells whether f is a regular file or the null device.
func isFileOrNull(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	if st.Mode().IsRegular() {
		return true
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(st, null)
}

// TestIO returns streams backed by buffers, none of them a terminal, and the
// buffers for stdin, stdout and stderr.
func TestIO() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, NoColor: true}, in, out, errOut
}
