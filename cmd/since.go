package cmd

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/store"
)

// addSinceFlags defines --since and --changed-only on fs.
func addSinceFlags(fs *pflag.FlagSet, o *RunOptions) {
	fs.StringArrayVar(&o.Since, "since", nil, "previous run's JSON Lines output `FILE`: revalidate its URLs (If-None-Match/If-Modified-Since), add change: new, changed, unchanged or gone (repeatable; a missing file holds nothing)")
	fs.BoolVar(&o.ChangedOnly, "changed-only", false, "with --since, write only new, changed and gone records (the summary counts all)")
}

// validateSince checks the combinations of --since and --changed-only.
func (o *RunOptions) validateSince() error {
	switch {
	case o.ChangedOnly && len(o.Since) == 0:
		return usageError("--changed-only needs --since FILE: changes are against a previous run")
	case o.ChangedOnly && o.Resume:
		return usageError("--changed-only cannot be resumed (--resume): the unchanged URLs it leaves out of -o would be fetched again")
	}
	return nil
}

// sinceFiles are the --since files, inputs of the run.
func (o *RunOptions) sinceFiles() []runFile {
	var fs []runFile
	for _, p := range o.Since {
		fs = append(fs, runFile{what: "--since", path: p})
	}
	return fs
}

// openSince indexes the --since files. A record that cannot be read is
// a usage error naming the file and the line; a missing file is a
// warning (the first run of a cron job has no previous output).
func (r *pipelineRun) openSince(ctx context.Context) error {
	if len(r.o.Since) == 0 {
		return nil
	}
	idx, missing, err := store.OpenSince(ctx, r.o.Since)
	if errors.Is(err, store.ErrCorruptRecord) {
		return usageError("--since: %v: not the JSON Lines output of trawl", err)
	}
	if err != nil {
		return usageError("%v", err)
	}
	for _, p := range missing {
		r.o.warnf("trawl: --since %s: no such file: its URLs are new", p)
	}
	r.since = idx
	return nil
}
