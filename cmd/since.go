package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// addSinceFlags defines --since and --changed-only on fs.
func addSinceFlags(fs *pflag.FlagSet, o *RunOptions) {
	fs.StringArrayVar(&o.Since, "since", nil, "previous run's output `FILE` (JSON Lines, or CSV when named *.csv): revalidate its URLs (If-None-Match/If-Modified-Since), add change: new, changed, unchanged or gone (repeatable; a missing file holds nothing)")
	fs.BoolVar(&o.ChangedOnly, "changed-only", false, "with --since, write only new, changed and gone records (the summary counts all)")
}

// validateSince checks the combinations of --since and --changed-only.
func (o *RunOptions) validateSince() error {
	switch {
	case o.ChangedOnly && len(o.Since) == 0:
		return usageError("--changed-only needs --since FILE: changes are against a previous run")
	case o.ReportRemoved && len(o.Since) == 0:
		return usageError("--report-removed needs --since FILE: the pages removed are those of a previous run")
	case o.ReportRemoved && isRedisURL(o.Frontier):
		return usageError("--report-removed needs --frontier memory: with a shared frontier one process does not know what the others reached")
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
		return usageError("--since: %v: not the output of trawl (JSON Lines, or CSV for a file named *.csv)", err)
	}
	if err != nil {
		return usageError("%v", err)
	}
	if paths := idx.WithoutLinks(); r.o.Crawl && len(paths) > 0 {
		idx.Close()
		return usageError("--since %s: a crawl needs the links column of a CSV previous output (write it with --fields +links): a page found unchanged would have no links to follow", paths[0])
	}
	for _, p := range missing {
		r.o.warnf("trawl: --since %s: no such file: its URLs are new", p)
	}
	r.since = idx
	return nil
}

// unchangedPath is where a run with --changed-only and -o FILE lists the
// URLs it found unchanged and left out of FILE, one a line, so that
// --resume knows them done: FILE.unchanged. A run that completes removes
// it.
func unchangedPath(output string) string { return output + ".unchanged" }

// unchangedFile is the open list of unchanged URLs. Its lines wait in
// memory until the output is flushed ([unchangedOutput]), and are written
// right after: the list never names a page written after a record the
// output does not hold yet. Were it ahead, a crash could leave a WARC
// file (--warc) whose last page in the list comes after pages missing
// from the output: --resume keeps the records up to that page, and would
// fetch and archive the missing pages a second time.
type unchangedFile struct {
	f   *os.File
	buf []byte
}

// resumeUnchanged marks done, with --changed-only --resume -o FILE, the
// URLs listed in FILE.unchanged. It runs before the output is scanned
// and a crawl's journal replayed, so that the journal does not queue them
// again (they are not in FILE).
func (r *pipelineRun) resumeUnchanged() error {
	o := r.o
	if !o.ChangedOnly || o.Output == "" || !o.Resume {
		return nil
	}
	path := unchangedPath(o.Output)
	torn, err := readUnchanged(path, r.doneBefore)
	if err != nil {
		return usageError("--resume: %s: %v", path, err)
	}
	r.unchangedTorn = torn
	return nil
}

// openUnchanged opens the list of unchanged URLs of --changed-only -o
// FILE: appended to with --resume (after a line break, should a crash
// have torn its last line), emptied otherwise.
func (r *pipelineRun) openUnchanged() error {
	o := r.o
	if !o.ChangedOnly || o.Output == "" {
		return nil
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if o.Resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(unchangedPath(o.Output), flags, 0o644)
	if err != nil {
		return usageError("--changed-only: %v", err)
	}
	r.unchanged = &unchangedFile{f: f}
	if r.unchangedTorn {
		r.unchanged.buf = append(r.unchanged.buf, '\n')
	}
	return nil
}

// keepUnchanged marks done, with --changed-only --warc --resume, the
// pages found unchanged whose records a WARC file of the interrupted run
// keeps (see recoverWarc), and adds them to the list of unchanged URLs,
// synced, before the file is closed: fetched again, they would be
// archived twice, and a crash after the file's close must not forget
// them.
func (r *pipelineRun) keepUnchanged(urls []string) error {
	if len(urls) == 0 {
		return nil
	}
	var b []byte
	if r.unchangedTorn {
		b = append(b, '\n')
	}
	for _, u := range urls {
		b = append(append(b, u...), '\n')
	}
	path := unchangedPath(r.o.Output)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.unchangedTorn = false
	for _, u := range urls {
		r.doneBefore(u)
	}
	return nil
}

// readUnchanged calls done with every URL of the list at path, and
// reports whether its last line is torn (no line break). A missing list
// holds nothing.
func readUnchanged(path string, done func(string)) (torn bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return line != "", nil // a torn URL is not done
		}
		if err != nil {
			return false, err
		}
		if u := line[:len(line)-1]; u != "" {
			done(u)
		}
	}
}

// write lists the URL of res, an unchanged page left out of -o, at the
// next flush.
func (u *unchangedFile) write(_ context.Context, res *crawler.Result) error {
	u.buf = append(append(u.buf, res.URL...), '\n')
	return nil
}

// pending reports whether URLs wait for the next flush.
func (u *unchangedFile) pending() bool { return len(u.buf) > 0 }

// flush writes the URLs listed since the last flush.
func (u *unchangedFile) flush(ctx context.Context) error {
	if len(u.buf) == 0 {
		return nil
	}
	_, err := structured.RunSync(ctx, func(context.Context) (int, error) { return u.f.Write(u.buf) })
	if err != nil {
		return fmt.Errorf("%s: %w", u.f.Name(), err)
	}
	if cap(u.buf) > 64<<10 {
		u.buf = nil
	} else {
		u.buf = u.buf[:0]
	}
	return nil
}

// close flushes and closes the list.
func (u *unchangedFile) close() error {
	return errors.Join(u.flush(context.Background()), u.f.Close())
}

// unchangedOutput is the output of a run with --changed-only -o FILE:
// each flush of the output is followed by the list's (see
// [unchangedFile]), after a crawl's journal is synced: a page the list
// names is done for --resume, so the links it queued must be in the
// journal first. The output syncs the journal only when it has records
// to write, and a flush with only unchanged pages has none.
type unchangedOutput struct {
	crawler.ResultWriter
	u       *unchangedFile
	journal *store.Journal // nil but in a crawl
}

func (w unchangedOutput) Flush(ctx context.Context) error {
	if err := w.ResultWriter.Flush(ctx); err != nil {
		return err
	}
	if w.journal != nil && w.u.pending() {
		if err := w.journal.Flush(ctx); err != nil {
			return err
		}
	}
	return w.u.flush(ctx)
}

// removeUnchanged removes the list of unchanged URLs of a run that
// completed.
func (r *pipelineRun) removeUnchanged() {
	if r.unchanged == nil {
		return
	}
	path := unchangedPath(r.o.Output)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.o.warnf("trawl: could not remove %s: %v", path, err)
	}
}
