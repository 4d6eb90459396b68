package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/crawler/demosite"
	"github.com/trawl-dev/trawl/structured"
)

// DemoOptions is everything `trawl demo` needs: the sample site, and the
// crawl options that `trawl crawl` takes.
type DemoOptions struct {
	Run   *RunOptions
	Pages int
	Seed  uint64
}

// NewCmdDemo returns `trawl demo`. runF replaces the run function in tests;
// nil means the real one.
func NewCmdDemo(io *IOStreams, runF func(context.Context, *DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{Run: &RunOptions{IO: io, Crawl: true}}
	if runF == nil {
		runF = runDemo
	}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Crawl a bundled sample site served on loopback",
		Long: `demo serves a generated sample site (300 linked pages by default, plus a few
deliberately broken ones: a 404, a 500, a redirect, a redirect loop, broken
HTML, a Latin-1 page and a PDF) on 127.0.0.1 and a free port, and crawls it
with the same pipeline as trawl crawl: JSON Lines on stdout, a progress bar
on a terminal, a summary on stderr. It needs no network. It exits 0 when
the crawl completed, whatever the broken pages returned.`,
		Example: `  trawl demo | jq -r 'select(.error) | "\(.url) \(.error.kind)"'
  trawl demo --pages 2000 -c 64 -o demo.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Pages < 1 {
				return usageError("--pages must be at least 1, got %d", opts.Pages)
			}
			// Validate with a placeholder seed; the real one is known
			// once the site listens.
			opts.Run.Args = []string{"http://127.0.0.1/"}
			opts.Run.formatSet = c.Flags().Changed("format")
			if err := opts.Run.Validate(); err != nil {
				return err
			}
			return runF(c.Context(), opts)
		},
	}
	c.Flags().IntVar(&opts.Pages, "pages", 300, "number of pages in the sample site")
	c.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the generated site")
	addRunFlags(c.Flags(), opts.Run)
	addCrawlFlags(c.Flags(), opts.Run)
	completeScope(c)
	groupHelp(c)
	return c
}

func runDemo(ctx context.Context, opts *DemoOptions) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	return demo(ctx, opts, sigs)
}

// reportHint is what `trawl demo` prints last: how to turn the crawl
// written to output ("" or "-" for standard output) into a report.
func reportHint(output string) string {
	if output == "" || output == "-" {
		return "trawl: for a site audit in one HTML page: trawl demo -o demo.jsonl && trawl report demo.jsonl -o report.html"
	}
	return fmt.Sprintf("trawl: for a site audit in one HTML page: trawl report %s -o report.html", shellWord(output))
}

// shellWord quotes s for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+,:@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// demo serves the site in a task, crawls it, then stops the server.
func demo(ctx context.Context, opts *DemoOptions, sigs <-chan os.Signal) error {
	site := demosite.Site{Pages: opts.Pages, Seed: opts.Seed, Broken: true}
	var runErr error
	err := structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		base, err := structured.Start(tg, func(ctx context.Context, ready func(string)) error {
			return demosite.Serve(ctx, site, ready)
		})
		if err != nil {
			return err
		}
		opts.Run.Args = []string{base + "/"}
		if err := opts.Run.Validate(); err != nil {
			return err
		}
		runErr = runWithSignals(ctx, opts.Run, sigs)
		if opts.Run.wantPretty() && !opts.Run.Quiet {
			fmt.Fprintln(opts.Run.IO.ErrOut, prettyHint)
		}
		if !opts.Run.Quiet {
			fmt.Fprintln(opts.Run.IO.ErrOut, reportHint(opts.Run.Output))
		}
		tg.CancelScope().Cancel() // stop the server
		return nil
	})
	if err != nil {
		return err
	}
	return runErr
}
