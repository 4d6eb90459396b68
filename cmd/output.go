package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trawl-dev/trawl/store"
)

// formatOfPath is the output format a file name asks for by its
// extension: csv for .csv, jsonl for .jsonl, .ndjson and .json; "" for
// any other name.
func formatOfPath(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	return ""
}

// validateOutput checks the options about -o FILE: the format follows
// FILE's extension unless --format says otherwise, and a --format that
// contradicts the extension is a usage error; --resume needs url among
// --fields, since it finds the done URLs by it.
func (o *RunOptions) validateOutput() error {
	if f := formatOfPath(o.Output); f != "" && o.Output != "" {
		switch {
		case !o.formatSet:
			o.Format = f
		case o.Format != f:
			return usageError("-o %s names a %s file but --format is %s: drop --format, or give the file a .%s name", o.Output, formatName(f), o.Format, o.Format)
		}
	}
	if o.Resume && o.Fields != nil && !isAddForm(o.Fields) && !slices.Contains(o.Fields, "url") {
		return usageError("--resume needs url among --fields: it finds the URLs already done by it")
	}
	return nil
}

// formatName is the name of an output format in messages.
func formatName(format string) string {
	if format == "csv" {
		return "CSV"
	}
	return "JSON Lines"
}

// outputLocked reports whether the run locks its -o FILE: a regular file
// (or one still to be created), not standard output or a device, and not
// the --lock file itself, which is locked already.
func (o *RunOptions) outputLocked() bool {
	if o.Output == "" || o.Output == "-" {
		return false
	}
	id := identify(o.Output)
	if id.skip {
		return false
	}
	return o.Lock == "" || !id.same(identify(o.Lock))
}

// takeLocks takes the --lock FILE and the lock on -o FILE ([lockOutput])
// for a run: ExitLocked when another run holds either. release frees
// what was taken.
func (o *RunOptions) takeLocks(ctx context.Context) (release func(), err error) {
	var held []func() error
	release = func() {
		for i := len(held) - 1; i >= 0; i-- {
			_ = held[i]()
		}
	}
	if o.Lock != "" {
		lock, err := store.AcquireLock(ctx, o.Lock)
		var locked *store.LockedError
		if errors.As(err, &locked) {
			return nil, &ExitError{Code: ExitLocked, Err: fmt.Errorf("another run holds the lock %s (pid %d)", locked.Path, locked.PID)}
		}
		if err != nil {
			return nil, usageError("--lock %s: %v", o.Lock, err)
		}
		held = append(held, lock.Release)
	}
	out, err := o.lockOutput(ctx)
	if err != nil {
		release()
		return nil, err
	}
	if out != nil {
		held = append(held, out)
	}
	return release, nil
}

// lockOutput takes the lock on -o FILE, so that two runs never write one
// file: the second is refused with ExitLocked, as with --lock. The lock
// never writes FILE; the holder's pid goes to FILE.pid. release is nil
// when nothing was locked.
func (o *RunOptions) lockOutput(ctx context.Context) (release func() error, err error) {
	if !o.outputLocked() {
		return nil, nil
	}
	lock, err := store.AcquireLock(ctx, o.Output)
	var locked *store.LockedError
	if errors.As(err, &locked) {
		holder := "another process"
		if locked.PID != 0 {
			holder = fmt.Sprintf("process %d", locked.PID)
		}
		return nil, &ExitError{Code: ExitLocked, Err: fmt.Errorf("-o %s: another run (%s) is writing it", o.Output, holder)}
	}
	if err != nil {
		return nil, usageError("-o %s: %v", o.Output, err)
	}
	return lock.Release, nil
}

// checkResumeFormat refuses to resume into a file written in the other
// format: a JSON Lines file resumed as CSV or the other way round, with a
// message naming the format the file is in.
func checkResumeFormat(path, format string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // missing: nothing to resume; other errors: the scan says
	}
	defer f.Close()
	first, err := bufio.NewReader(io.LimitReader(f, 64<<10)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	first = bytes.TrimSpace(first)
	if len(first) == 0 {
		return nil
	}
	found := "csv"
	if first[0] == '{' {
		found = "jsonl"
	} else if !bytes.HasPrefix(first, []byte("url,")) && !bytes.Equal(first, []byte("url")) && !bytes.Contains(first, []byte(",url")) {
		return nil // neither: the scan names the line it cannot read
	}
	if found == format {
		return nil
	}
	remedy := "resume it with --format " + found
	if formatOfPath(path) != "" {
		// The name sets the format: a --format against it is refused.
		remedy = "give it a ." + found + " name to resume it"
	}
	return usageError("--resume: %s holds %s output, not %s: %s; left as it is", path, formatName(found), formatName(format), remedy)
}

// removeJournal removes the crawl journal of a crawl that completed:
// there is nothing left to resume.
func (r *pipelineRun) removeJournal() {
	if r.journal == nil {
		return
	}
	path := store.JournalPath(r.o.Output)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.o.warnf("trawl: could not remove %s: %v", path, err)
	}
}
