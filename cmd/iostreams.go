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
	NoColor   bool // NO_COLOR is set, or stderr is not a terminal
}

// SystemIO returns the process's streams.
func SystemIO() *IOStreams {
	_, noColor := os.LookupEnv("NO_COLOR")
	errTTY := term.IsTerminal(int(os.Stderr.Fd()))
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: errTTY,
		NoColor:   noColor || !errTTY,
	}
}

// TestIO returns streams backed by buffers, none of them a terminal, and the
// buffers for stdin, stdout and stderr.
func TestIO() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, NoColor: true}, in, out, errOut
}
