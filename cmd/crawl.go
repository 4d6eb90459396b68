package cmd

import (
	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/crawler"
)

// NewCmdCrawl returns `trawl crawl`. runF replaces the run function in
// tests; nil means the real one.
func NewCmdCrawl(io *IOStreams, runF func(*cobra.Command, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: io, Crawl: true}
	if runF == nil {
		runF = runPipeline
	}
	c := &cobra.Command{
		Use:   "crawl URL...",
		Short: "Follow links from the given URLs within a scope",
		Long: `crawl fetches the given seed URLs (or files of them, or - for standard
input) and follows the links it finds that are in scope, each page once,
until there is nothing left, --max-pages is reached, or it is stopped.

Scope: by default links on the seeds' hosts and ports are followed (www.
and the bare host count as one, and so do http on port 80 and https on
port 443). --scope host-any-port follows any port of those hosts, domain
the whole registrable domain, prefix the seeds' directories, any
everything. --include and --exclude narrow that with regular expressions
over the normalised URL; --depth bounds link depth.

` + exitCodeHelp,
		Example: `  trawl crawl https://example.com/ -o site.jsonl
  trawl crawl --scope domain --depth 2 --max-pages 500 https://example.com/
  trawl crawl --exclude '\?(sort|page)=' --select 'price=.price' https://shop.example/`,
		RunE: runCmdE(opts, runF),
	}
	addRunFlags(c.Flags(), opts)
	addCrawlFlags(c.Flags(), opts)
	completeScope(c)
	groupHelp(c)
	return c
}

// completeScope completes the values of --scope in the shell.
func completeScope(c *cobra.Command) {
	_ = c.RegisterFlagCompletionFunc("scope", cobra.FixedCompletions(crawler.ScopeModeNames(), cobra.ShellCompDirectiveNoFileComp))
}
