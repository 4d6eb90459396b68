package cmd

import (
	"context"
	"fmt"
	"slices"

	"github.com/trawl-dev/trawl/crawler"
)

// defaultToStdin makes standard input the input of a run given none, as
// `cat urls.txt | trawl fetch` expects; a terminal on stdin gets a hint
// instead of a run waiting for typing.
func (o *RunOptions) defaultToStdin() error {
	if len(o.Args) > 0 {
		return nil
	}
	if o.IO.StdinTTY {
		return usageError("no input: give URLs or files of URLs, or pipe them in (cat urls.txt | trawl fetch)")
	}
	o.Args = []string{"-"}
	return nil
}

// warnEmptyFiles warns about each input file with no URL in it, even
// under --quiet: in cron, an empty export is a broken job, not a quiet
// night.
func (o *RunOptions) warnEmptyFiles(ctx context.Context) {
	for _, in := range o.Inputs {
		if in.IsURL || in.Name == "-" {
			continue
		}
		if ok, err := crawler.HasEntries(ctx, in.Name); err == nil && !ok {
			fmt.Fprintf(o.IO.ErrOut, "trawl: warning: %s: no URLs\n", terminalSafe(in.Name))
		}
	}
}

// warnEmptyStdin warns, even under --quiet, when a run reading standard
// input did nothing at all: the input was empty. A run that was stopped,
// resumed (its URLs may all be done) or shares a frontier (others may
// have done them) can do nothing with input, and is not warned about.
func (o *RunOptions) warnEmptyStdin(sum crawler.Summary) {
	if sum.Done == 0 && !sum.Stopped && !o.Resume && !isRedisURL(o.Frontier) && slices.Contains(o.Args, "-") {
		fmt.Fprintln(o.IO.ErrOut, "trawl: warning: standard input: no URLs")
	}
}
