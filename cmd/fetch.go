package cmd

import (
	"github.com/spf13/cobra"
)

// NewCmdFetch returns `trawl fetch`. runF replaces the run function in
// tests; nil means the real one.
func NewCmdFetch(io *IOStreams, runF func(*cobra.Command, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: io}
	if runF == nil {
		runF = runPipeline
	}
	c := &cobra.Command{
		Use:   "fetch [URL | FILE | -]...",
		Short: "Fetch each given URL once and write one JSON line per URL",
		Long: `fetch reads URLs from its arguments, from files (one URL a line; blank lines
and # comments are skipped) and from standard input ("-", or when no
input is given and stdin is not a terminal), fetches each
once, and writes one record per URL, failed ones included. Input is
streamed: a file of millions of lines is never held in memory, and
duplicates (after normalisation) are fetched once.

A line (or argument) is an http(s) URL or a bare host such as
example.com/path or 127.0.0.1:8080/x, fetched over https and, when https
cannot connect, over http (--no-fallback-http: https only). A byte order
mark, quotes around a line and a trailing " # comment" are dropped. A line
that is none of these becomes an invalid_url record carrying its line
number, and the run goes on; an input with no URL at all gets a warning.

` + exitCodeHelp,
		Example: `  trawl fetch urls.txt | jq -r 'select(.status==200) | .title'
  cat urls.txt | trawl fetch - -o results.jsonl
  trawl fetch --format csv --fields url,status,title urls.txt > out.csv
  trawl fetch --select 'price=.price' --select 'img=img@src' https://example.com/
  # from cron: resumable, never two runs at once, bounded in time
  */30 * * * * trawl fetch --resume -o /data/out.jsonl --lock /tmp/trawl.lock --max-time 25m /data/urls.txt`,
		RunE: runCmdE(opts, runF),
	}
	addRunFlags(c.Flags(), opts)
	groupHelp(c)
	return c
}
