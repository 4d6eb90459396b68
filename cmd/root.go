// Package cmd holds trawl's cobra commands: flag parsing and validation
// only. The work happens in the crawler and store packages.
package cmd

import (
	"runtime/debug"

	"github.com/spf13/cobra"
)

// NewCmdRoot returns the trawl command with all its subcommands.
func NewCmdRoot(io *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "trawl",
		Short: "A concurrent web scraper that writes JSON Lines",
		Long: `trawl fetches web pages concurrently, politely and without hanging, and
writes one JSON object per URL to stdout (or a file), ready for jq, a
database or any other tool. It obeys robots.txt, limits itself per host,
retries with backoff, and never loses a result it already fetched.

` + exitCodeHelp,
		Example: `  # Crawl a bundled sample site on loopback
  trawl demo

  # Fetch a list of URLs and keep the titles of the pages that worked
  trawl fetch urls.txt | jq -r 'select(.status==200) | .title'`,
		Version:       versionString(debug.ReadBuildInfo()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: flagError(c, err)}
	})
	root.Flags().BoolP("version", "V", false, "print trawl's version and exit")
	root.SetVersionTemplate("{{.Version}}\n")
	addProfileFlag(root)
	root.AddCommand(NewCmdFetch(io, nil))
	root.AddCommand(NewCmdCrawl(io, nil))
	root.AddCommand(NewCmdExtract(io, nil))
	root.AddCommand(NewCmdVersion(io))
	root.AddCommand(NewCmdDemo(io, nil))
	root.AddCommand(NewCmdStats(io, nil))
	root.AddCommand(NewCmdReport(io, nil))
	return root
}
