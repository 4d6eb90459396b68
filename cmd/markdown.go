package cmd

import (
	"context"

	"github.com/trawl-dev/trawl/crawler"
)

// validateMarkdownDir checks --format md and --output-dir, which go
// together: the Markdown files go to the directory, so neither -o nor
// --resume (which reads -o) makes sense with them.
func (o *RunOptions) validateMarkdownDir() error {
	switch {
	case o.OutputDir != "" && o.Format != "md":
		return usageError("--output-dir is where --format md writes its Markdown files: add --format md, or use -o FILE for %s", o.Format)
	case o.Format != "md":
		return nil
	case o.OutputDir == "":
		return usageError("--format md writes one file per page: name their directory with --output-dir DIR")
	case o.Output != "":
		return usageError("--format md writes into --output-dir, not -o %s: drop -o", o.Output)
	case o.Resume:
		return usageError("--resume continues a -o FILE: it does not go with --format md")
	}
	return nil
}

// openMarkdownDir makes the run's output the Markdown files of
// --output-dir.
func (r *pipelineRun) openMarkdownDir(ctx context.Context) error {
	w, err := crawler.NewMarkdownDirOutput(ctx, r.o.OutputDir)
	if err != nil {
		return usageError("--output-dir: %v", err)
	}
	r.output, r.closer = w, w.Flush
	return nil
}
