package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/crawler"
)

// ExtractOptions are the flags of `trawl extract`. The output and
// extraction flags are those of fetch, kept in a [RunOptions] so that
// they are checked and applied the same way.
type ExtractOptions struct {
	IO    *IOStreams
	Files []string
	Base  string
	From  string

	run RunOptions // output and extraction flags only
}

// NewCmdExtract returns `trawl extract`: the extraction of a fetch run
// again on bodies saved by --store, without fetching. runF, when not nil,
// replaces the run function (tests).
func NewCmdExtract(io *IOStreams, runF func(context.Context, *ExtractOptions) error) *cobra.Command {
	o := &ExtractOptions{IO: io}
	o.run.IO = io
	c := &cobra.Command{
		Use:   "extract [FILE...] [--from RECORDS]",
		Short: "Extract records again from bodies saved by --store, without fetching",
		Long: `extract runs the extraction of fetch and crawl (--select, --fields +markdown,
...) on response bodies saved with --store DIR, and writes one record per
body, as fetch does, without fetching anything.

With --from RECORDS, the records of an earlier run written with --store
are read (JSON Lines, or CSV with url and stored_path columns: --fields
+stored_path), and each one with a stored_path is extracted again from its
file with the flags given now; url, final_url, status, content_type,
fetched_at and the other facts of the fetch come from the record. FILE
arguments are stored bodies extracted as if fetched from --base URL (their
url and final_url), the content type from their extension.

-o FILE is locked as fetch locks it (a second run writing it exits 3), and
--lock FILE takes the same lock as fetch's --lock. --format md
--output-dir DIR writes one Markdown file per page, as fetch does.`,
		Example: `  trawl fetch --store bodies -o pages.jsonl urls.txt
  trawl extract --from pages.jsonl --fields url,markdown
  trawl extract --from pages.jsonl --select 'price=.price' --format csv -o prices.csv
  trawl extract --from pages.csv --format md --output-dir pages-md
  trawl extract bodies/example.com_8080/3f2a….html --base https://example.com:8080/page`,
		RunE: func(c *cobra.Command, args []string) error {
			o.Files = args
			o.run.formatSet = c.Flags().Changed("format")
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return runExtract(c.Context(), o)
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.From, "from", "", "JSON Lines or CSV `FILE` of records written with --store: extract each one's stored_path again")
	fs.StringVar(&o.Base, "base", "", "`URL` the FILE arguments were fetched from (their url; their links resolve against it)")
	r := &o.run
	fs.StringArrayVar(&r.Selects, "select", nil, "custom field name=css or name=css@attr, all matches as an array (repeatable), as for fetch")
	fs.StringSliceVar(&r.Fields, "fields", nil, "output only these fields, or +a,+b to add fields to the default ones, as for fetch")
	fs.StringVar(&r.ContentSelector, "content-selector", "", "CSS selector of the main content (markdown, text), as for fetch")
	fs.StringVar(&r.ExcludeSelector, "exclude-selector", "", "CSS selector of elements removed before the main content is chosen, as for fetch")
	fs.StringVar(&r.MarkdownLinks, "markdown-links", "reference", markdownLinksHelp)
	fs.IntVar(&r.MaxLinks, "max-links", crawler.DefaultMaxLinks, "most links kept from one page")
	fs.StringVar(&r.MaxBody, "max-body", "10MiB", "largest stored body read; a larger one gets a too_large record")
	fs.StringVarP(&r.Output, "output", "o", "", "write results to FILE instead of stdout")
	fs.StringVar(&r.Format, "format", "jsonl", "output format: jsonl, csv (-o FILE.csv means csv) or md (one Markdown file per page, with --output-dir)")
	fs.StringVar(&r.OutputDir, "output-dir", "", "with --format md: write each page's main content to `DIR`/<host>/<path>.md, with a YAML front matter")
	fs.StringVar(&r.Lock, "lock", "", "lock FILE: refuse to start while another run holds it (exit 3)")
	fs.BoolVar(&r.CSVRaw, "csv-raw", false, "CSV: write cells starting with = + - @ tab or CR as they are")
	return c
}

// validate checks the flags as fetch checks the same ones.
func (o *ExtractOptions) validate() error {
	r := &o.run
	if len(o.Files) == 0 && o.From == "" {
		return usageError("nothing to extract: give stored bodies as arguments, or --from RECORDS")
	}
	if o.Base != "" {
		if len(o.Files) == 0 {
			return usageError("--base is the URL of the FILE arguments: give some, or drop --base")
		}
		u, err := crawler.ParseURL(o.Base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return usageError("--base %q: want an http(s) URL", o.Base)
		}
		o.Base = u.String()
	}
	switch {
	case r.MaxLinks < 1:
		return usageError("--max-links must be at least 1, got %d", r.MaxLinks)
	case r.Format != "jsonl" && r.Format != "csv" && r.Format != "md":
		return usageError("--format must be jsonl, csv or md, got %q", r.Format)
	}
	if err := r.validateOutput(); err != nil {
		return err
	}
	if err := r.validateMarkdownDir(); err != nil {
		return err
	}
	var err error
	if r.maxBody, err = ParseSize(r.MaxBody); err != nil || r.maxBody <= 0 {
		return usageError("--max-body %q: want a positive size such as 512KiB or 10MiB", r.MaxBody)
	}
	for _, s := range r.Selects {
		sel, err := crawler.ParseSelector(s)
		if err != nil {
			return usageError("--select %q: %v", s, err)
		}
		r.selectors = append(r.selectors, sel)
	}
	if err := crawler.CheckSelectorNames(r.selectors); err != nil {
		return usageError("--select: %v", err)
	}
	if err := r.expandFields(); err != nil {
		return err
	}
	if err := r.validateContent(); err != nil {
		return err
	}
	var inputs []runFile
	for _, f := range o.Files {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return usageError("stored body %s: not a readable file", f)
		}
		inputs = append(inputs, runFile{what: "input", path: f})
	}
	if o.From != "" {
		inputs = append(inputs, runFile{what: "--from", path: o.From})
	}
	return checkFileClashes(inputs, r.outputFiles())
}

func runExtract(ctx context.Context, o *ExtractOptions) error {
	release, err := o.run.takeLocks(ctx)
	if err != nil {
		return err
	}
	defer release()
	p := &pipelineRun{o: &o.run}
	if err := p.openOutput(ctx); err != nil {
		return err
	}
	_, err = crawler.ExtractStored(ctx, crawler.ExtractConfig{
		Files:     o.Files,
		Base:      o.Base,
		From:      o.From,
		Selectors: o.run.selectors,
		Extras:    o.run.extras,
		Content:   o.run.contentOptions(),
		MaxLinks:  o.run.MaxLinks,
		MaxBody:   o.run.maxBody,
		Output:    p.output,
		Warn:      func(msg string) { o.run.warnf("trawl: %s", msg) },
	})
	if cerr := p.close(context.WithoutCancel(ctx)); err == nil && cerr != nil {
		err = fmt.Errorf("close output: %w", cerr)
	}
	if errors.Is(err, crawler.ErrFromFormat) {
		return usageError("%v", err)
	}
	if err != nil {
		return &ExitError{Code: ExitIncomplete, Err: err}
	}
	return nil
}
