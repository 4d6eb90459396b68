package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReportOptions: the flags reach ReportOptions, an HTML report is
// refused on a terminal but not with -o or in another format, and bad
// values are usage errors naming the flag.
func TestReportOptions(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		tty     bool
		wantErr string // "" for none
	}{
		{[]string{"a.jsonl", "b.jsonl"}, false, ""},
		{[]string{"a.jsonl"}, true, "not writing an HTML report to the terminal"},
		{[]string{"-o", "-", "a.jsonl"}, true, "not writing an HTML report to the terminal"},
		{[]string{"-o", "r.html", "a.jsonl"}, true, ""},
		{[]string{"--format", "md", "a.jsonl"}, true, ""},
		{[]string{"--format", "pdf", "a.jsonl"}, false, "--format \"pdf\""},
		{[]string{"--fail-on", "medium", "a.jsonl"}, false, "--fail-on"},
		{[]string{"--compare", "-", "-"}, false, "standard input (-) can be read once only"},
	} {
		io, _, _, _ := TestIO()
		io.StdoutTTY = tc.tty
		var got *ReportOptions
		c := NewCmdReport(io, func(_ context.Context, o *ReportOptions) error { got = o; return nil })
		c.SetArgs(tc.args)
		c.SetOut(io.ErrOut)
		c.SetErr(io.ErrOut)
		err := c.Execute()
		var exit *ExitError
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v (tty %v): %v", tc.args, tc.tty, err)
		case tc.wantErr != "" && (!errors.As(err, &exit) || exit.Code != ExitUsage || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v (tty %v): %v, want a usage error with %q", tc.args, tc.tty, err, tc.wantErr)
		case tc.wantErr == "" && (got == nil || len(got.Inputs) == 0):
			t.Errorf("%v: options %+v", tc.args, got)
		}
	}
}
