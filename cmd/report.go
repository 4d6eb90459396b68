package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/report"
)

// ExitFindings is the exit code of `trawl report --fail-on` when a
// finding of that severity or worse exists.
const ExitFindings = 1

// ReportOptions are the flags and arguments of `trawl report`.
type ReportOptions struct {
	IO      *IOStreams
	Inputs  []string
	Output  string
	Format  string
	FailOn  string
	Compare []string
	// Now gives the time printed in the HTML page; nil means time.Now.
	Now func() time.Time
}

// NewCmdReport returns `trawl report`. runF, when not nil, replaces the
// run function (tests).
func NewCmdReport(io *IOStreams, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	o := &ReportOptions{IO: io}
	c := &cobra.Command{
		Use:   "report [flags] FILE.jsonl...",
		Short: "Audit a crawl: one self-contained HTML page, or JSON, Markdown, JUnit",
		Long: `report reads the JSON Lines output of trawl crawl or trawl fetch (several
files are read as one crawl; - is standard input) and writes a site audit:
broken links with the pages that link to them, redirect chains and loops,
missing, duplicate and long titles and descriptions, missing h1, canonical
and noindex problems, duplicate pages, the slowest, largest and deepest
pages, and what the crawl covered.

The HTML page is one file with everything inline: it opens from disk in any
browser, needs no network, and works on a phone. It goes to -o, or to
standard output when that is not a terminal.

Every finding has a check ID and a severity: critical, high or low. With
--fail-on SEVERITY the exit code is 1 when a finding of that severity or
worse exists, so that CI can gate on broken links:

  trawl report --format junit --fail-on high -o report.xml site.jsonl

Exit codes: 0 the report was written (and --fail-on found nothing),
1 --fail-on found something (or the input held no records, so nothing
was checked), 2 usage error or an input that is not trawl's output.`,
		Example: `  trawl crawl https://example.com/ -o site.jsonl
  trawl report site.jsonl -o report.html
  trawl report --compare last-week.jsonl site.jsonl -o report.html
  trawl report --format md site.jsonl > report.md`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Inputs = args
			if c.Flags().Changed("fail-on") && o.FailOn == "" {
				// An empty value would silently turn the CI gate off.
				return usageError("--fail-on: empty: want critical, high or low")
			}
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return runReport(c.Context(), o)
		},
	}
	c.Flags().StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` (default: standard output, when it is not a terminal)")
	c.Flags().StringVar(&o.Format, "format", "html", "report format: html, json, md or junit")
	c.Flags().StringVar(&o.FailOn, "fail-on", "", "exit 1 when a finding of this `SEVERITY` or worse exists: critical, high or low")
	c.Flags().StringArrayVar(&o.Compare, "compare", nil, "compare with an older crawl's output `FILE` (repeatable): pages added, removed, status and title changed")
	return c
}

func (o *ReportOptions) validate() error {
	if !slices.Contains(report.Formats, o.Format) {
		return usageError("--format %q: want one of %s", o.Format, strings.Join(report.Formats, ", "))
	}
	if o.FailOn != "" {
		if _, err := report.ParseSeverity(o.FailOn); err != nil {
			return usageError("--fail-on: %v", err)
		}
	}
	if (o.Output == "" || o.Output == "-") && o.Format == "html" && o.IO.StdoutTTY {
		return usageError("not writing an HTML report to the terminal: give -o report.html, or redirect standard output to a file")
	}
	stdin := 0
	for _, in := range append(slices.Clone(o.Inputs), o.Compare...) {
		if in == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usageError("standard input (-) can be read once only")
	}
	return nil
}

func runReport(ctx context.Context, o *ReportOptions) error {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		// The aggregation keeps a few bytes per URL; a soft limit keeps the
		// garbage of decoding from doubling the peak.
		debug.SetMemoryLimit(256 << 20)
	}
	// Every file is opened before any is read, so that a misspelt last
	// name is a usage error at once, not after minutes of reading.
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, name := range append(slices.Clone(o.Compare), o.Inputs...) {
		if name == "-" || files[name] != nil {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return usageError("report: %v", err)
		}
		files[name] = f
	}
	b := report.NewBuilder(report.Options{})
	for _, name := range o.Compare {
		if err := o.read(ctx, files, name, b.ReadOld); err != nil {
			return err
		}
	}
	for _, name := range o.Inputs {
		if err := o.read(ctx, files, name, b.Read); err != nil {
			return err
		}
	}
	rep := b.Report()
	if err := o.write(rep); err != nil {
		return err
	}
	if o.FailOn != "" {
		if rep.Coverage.Records == 0 {
			// An empty crawl output would pass the gate with nothing checked.
			return &ExitError{Code: ExitFindings, Err: errors.New("report: --fail-on: the input holds no records: nothing was checked")}
		}
		min, _ := report.ParseSeverity(o.FailOn)
		if w := rep.Worst(); w != "" && w.AtLeast(min) {
			return &ExitError{Code: ExitFindings, Err: fmt.Errorf("report: findings of severity %s or worse (worst: %s)", min, w)}
		}
	}
	return nil
}

// read feeds the opened file name (or standard input for -) to fn. A
// file named twice is read from its start each time.
func (o *ReportOptions) read(ctx context.Context, files map[string]*os.File, name string, fn func(context.Context, string, io.Reader) error) error {
	var r io.Reader = o.IO.In
	if name != "-" {
		f := files[name]
		// Seek only a file already read: a pipe (<(zcat ...)) cannot.
		if off, _ := f.Seek(0, io.SeekCurrent); off > 0 {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("report: %s: %w", name, err)
			}
		}
		r = f
	} else {
		name = "standard input"
	}
	err := fn(ctx, name, r)
	if errors.Is(err, report.ErrBadRecord) {
		return usageError("report: %v", err)
	}
	return err
}

// write writes rep in the chosen format to -o (through a temporary file
// renamed into place, so that a failed run leaves no half report) or to
// standard output.
func (o *ReportOptions) write(rep *report.Report) error {
	if o.Output == "" || o.Output == "-" {
		return o.encode(o.IO.Out, rep)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Output), "."+filepath.Base(o.Output)+".*")
	if err != nil {
		return usageError("-o %s: %v", o.Output, err)
	}
	defer os.Remove(tmp.Name())
	if err := o.encode(tmp, rep); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.Output, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.Output, err)
	}
	if err := os.Rename(tmp.Name(), o.Output); err != nil {
		return fmt.Errorf("write %s: %w", o.Output, err)
	}
	return nil
}

func (o *ReportOptions) encode(w io.Writer, rep *report.Report) error {
	switch o.Format {
	case "json":
		return report.WriteJSON(w, rep)
	case "md":
		return report.WriteMarkdown(w, rep)
	case "junit":
		return report.WriteJUnit(w, rep)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	return report.WriteHTML(w, rep, report.HTMLOptions{Generated: now(), Version: version})
}
