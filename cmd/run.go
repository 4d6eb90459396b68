package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// closeTimeout bounds closing the output (flush and fsync) at the end of
// a run, shielded from cancellation.
const closeTimeout = 5 * time.Second

// stopSignals stop a run: SIGINT (Ctrl-C), SIGTERM (kill, systemd) and
// SIGHUP (the terminal or ssh session went away) all mean the same.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func runPipeline(c *cobra.Command, o *RunOptions) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	return runWithSignals(c.Context(), o, sigs)
}

// runWithSignals runs the pipeline for o. The first value on sigs stops
// the intake of URLs (in-flight requests get --grace), the second cancels
// everything; output is flushed either way.
func runWithSignals(ctx context.Context, o *RunOptions, sigs <-chan os.Signal) error {
	release, err := o.takeLocks(ctx)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := &structured.Event{}
	var running, finished atomic.Bool
	interrupted := false
	var sum crawler.Summary
	var r *pipelineRun
	err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error {
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return nil
				case <-sigs:
				}
				if finished.Load() {
					continue // the run is over: nothing to interrupt
				}
				interrupted = true
				switch {
				case n == 0 && running.Load():
					stop.Set()
					if o.Grace > 0 {
						o.warnf("trawl: stopping: finishing requests in flight (up to %v); interrupt again to stop now", o.Grace)
					} else {
						o.warnf("trawl: stopping: cancelling requests in flight (--grace 0)")
					}
				default:
					// Setup, or a second signal: stop now. A third one
					// kills the process the default way.
					signal.Reset(stopSignals...)
					cancel()
				}
			}
		})
		var err error
		if r, err = newPipelineRun(ctx, o); err != nil {
			return err
		}
		if r.redis != nil {
			tg.StartSoon(r.redis.Heartbeat) // ended with the signal watcher
		}
		var progress *progressBar
		if o.wantProgress() {
			progress = startProgress(ctx, tg, o, r.stats, r.total)
			o.progress.Store(progress)
		}
		running.Store(true)
		var runErr error
		sum, runErr = r.run(ctx, stop)
		finished.Store(true)
		progress.finish(sum)
		tg.CancelScope().Cancel() // stop the signal watcher
		return runErr
	})
	if r == nil { // setup failed or was interrupted
		if interrupted {
			return &ExitError{Code: ExitInterrupted}
		}
		return err
	}
	defer r.fetcher.Close()
	closeErr := structured.Shielded(ctx, closeTimeout, r.close)
	if interrupted && errors.Is(err, context.Canceled) {
		err = nil // the second signal: reported by the exit code
	}
	if err == nil {
		err = closeErr
	}
	if err != nil && store.IsBrokenPipe(err) {
		// The reader went away (| head): what it read was whole. The
		// archive's own failure is still one.
		if r.archiveErr != nil && !store.IsBrokenPipe(r.archiveErr) {
			return finishRun(o, outcome{sum: sum, err: fmt.Errorf("--warc: %w", r.archiveErr), interrupted: interrupted})
		}
		return nil
	}
	if err == nil && sum.Complete && !interrupted {
		r.removeJournal()
		r.removeUnchanged()
		r.removeWarcRun()
	}
	if err == nil {
		o.warnEmptyStdin(sum)
	}
	return finishRun(o, outcome{sum: sum, err: err, interrupted: interrupted})
}

// pipelineRun is what one run needs, built from the options.
type pipelineRun struct {
	o        *RunOptions
	fetcher  *crawler.Fetcher
	memory   *store.MemoryFrontier
	redis    *store.RedisFrontier
	frontier crawler.Frontier // memory, journaled in crawl mode with -o; or redis
	journal  *store.Journal
	scope    *crawler.Scope
	inputs   []crawler.Input
	stdin    *structured.File
	output   crawler.ResultWriter
	closer   func(ctx context.Context) error
	stats    *crawler.Stats
	total    int      // -1 when unknown
	seeds    []string // crawl: the seeds, never nil

	bodies  *crawler.BodyStore // --store
	archive *crawler.Archive   // --warc
	done    map[string]bool    // --warc --resume: the URLs in the output
	// warcRecovered says that recoverWarc ran.
	warcRecovered bool
	// archiveErr is the error of closing (or abandoning) the archive.
	archiveErr error
	// --since and --changed-only.
	since         *store.SinceIndex
	unchanged     *unchangedFile // --changed-only -o FILE: the URLs left out
	unchangedTorn bool           // the list's last line was torn by a crash
}

func newPipelineRun(ctx context.Context, o *RunOptions) (*pipelineRun, error) {
	r := &pipelineRun{o: o, inputs: o.Inputs, stats: &crawler.Stats{}, total: -1}
	if w := o.proxyWarning(); w != "" {
		o.warnf("%s", w)
	}
	if f, ok := o.IO.In.(*os.File); ok {
		r.stdin = structured.NewFile(f)
	}
	o.warnEmptyFiles(ctx)
	if o.Store != "" {
		var err error
		if r.bodies, err = crawler.OpenBodyStore(ctx, o.Store); err != nil {
			return nil, usageError("--store: %v", err)
		}
	}
	if err := r.openSince(ctx); err != nil {
		return nil, err
	}
	if o.Crawl {
		if err := r.prepareCrawl(ctx); err != nil {
			return nil, err
		}
	} else if o.wantProgress() {
		// A cheap pass over the input files gives the bar its total; runs
		// without a bar (cron, pipes) skip it.
		if n, known, err := crawler.CountInputs(ctx, r.inputs); err == nil && known {
			r.total = n
		}
	}
	if isRedisURL(o.Frontier) {
		if err := r.openRedis(ctx); err != nil {
			return nil, err
		}
	} else {
		var admit func() bool
		if o.Crawl {
			admit = r.scope.Admit
		}
		r.memory = store.NewMemoryFrontier(structured.Unbounded, admit)
		// Past the budget the queue spills to disk: the producer reads
		// ahead and a crawl's workers add links without ever waiting.
		r.memory.SetMemoryBudget(o.queueMemory)
		parent := o.spillParent()
		if abs, err := filepath.Abs(parent); err == nil {
			parent = abs // the warning names it whole
		}
		store.RemoveStaleSpills(parent)
		r.memory.SetSpill(parent, func(dir string) {
			o.warnf("trawl: the queue passed --queue-memory %s: spilling it to %s", o.QueueMemory, dir)
		})
		// A list's producer waits for room for new hosts; a crawl's
		// workers add links and must never wait.
		r.memory.SetWaitForHosts(!o.Crawl)
		r.frontier = r.memory
	}
	if err := r.resumeUnchanged(); err != nil {
		r.close(ctx)
		return nil, err
	}
	if err := r.openOutput(ctx); err != nil {
		r.close(ctx)
		return nil, err
	}
	if err := r.openUnchanged(); err != nil {
		r.close(ctx)
		return nil, err
	}
	if err := r.openWarc(ctx); err != nil {
		r.close(ctx)
		return nil, err
	}
	r.done = nil
	cfg := o.fetchConfig()
	if r.unchanged != nil {
		r.output = unchangedOutput{ResultWriter: r.output, u: r.unchanged, journal: r.journal}
	}
	if r.redis != nil {
		r.output = redisOutput{ResultWriter: r.output, f: r.redis}
	}
	if r.redis != nil {
		// Without --rate it still carries pauses and Crawl-delays to the
		// other processes.
		cfg.SharedLimiter = r.redis.SharedRate(o.Rate, o.Burst)
	}
	if r.scope != nil {
		scope := r.scope
		cfg.CheckRedirect = func(from, to *url.URL) error { return scope.Check(to.String(), 0) }
		cfg.TrustedOrigins = r.seeds // credentials go to the seeds' origins only
	}
	var err error
	if r.fetcher, err = crawler.NewFetcher(cfg); err != nil {
		r.close(ctx)
		return nil, usageError("%v", err)
	}
	if r.memory != nil {
		r.fetcher.Schedule(r.memory)
	}
	if r.redis != nil {
		r.fetcher.ScheduleShared(r.redis)
	}
	return r, nil
}

// prepareCrawl reads the seeds (they define the scope) and turns them into
// URL inputs, so that standard input is read only once.
func (r *pipelineRun) prepareCrawl(ctx context.Context) error {
	var seeds []*url.URL
	var inputs []crawler.Input
	err := crawler.ReadInputs(ctx, r.inputs, r.stdin, func(ctx context.Context, l crawler.InputLine) error {
		if l.Err != nil {
			return nil
		}
		inputs = append(inputs, crawler.Input{Name: l.Text, IsURL: true})
		if n, bare, err := crawler.NormalizeInput(l.Text); err == nil {
			if u, err := crawler.ParseURL(n); err == nil {
				seeds = append(seeds, u)
				r.seeds = append(r.seeds, n)
			}
			if u, err := crawler.ParseURL(crawler.HTTPForm(n)); err == nil && bare && !r.o.NoFallback {
				seeds = append(seeds, u) // in scope too, should https fail
			}
		}
		return nil
	})
	if err != nil {
		return usageError("read seeds: %v", err)
	}
	r.inputs = inputs
	if r.seeds == nil {
		r.seeds = []string{} // no seed, no trusted origin
	}
	r.scope = crawler.NewScope(seeds, crawler.ScopeOptions{
		Mode:     r.o.scopeMode,
		Include:  r.o.include,
		Exclude:  r.o.exclude,
		MaxDepth: r.o.Depth,
		MaxPages: r.o.MaxPages,
	})
	return nil
}

// openOutput opens the sink: after scanning it for done URLs with
// --resume, or emptying it otherwise. A crawl into a file also keeps a
// journal of its frontier next to it, so that it can be resumed.
func (r *pipelineRun) openOutput(ctx context.Context) error {
	o := r.o
	if o.Format == "md" {
		return r.openMarkdownDir(ctx)
	}
	csv := o.Format == "csv"
	var columns []string
	if csv {
		columns = crawler.CSVColumns(o.Fields, o.selectors)
	}
	if o.Output == "" || o.Output == "-" { // "-" as for the inputs
		return r.openStdout(ctx, columns)
	}
	if o.Resume {
		if err := r.resume(ctx, columns); err != nil {
			return err
		}
	} else if err := truncate(o.Output, o.Crawl); err != nil {
		return usageError("-o %s: %v", o.Output, err)
	}
	var sinkOpts []store.SinkOption
	// A Redis frontier is its own journal; an output that cannot be
	// resumed (-o /dev/stdout into a file) has none.
	if o.Crawl && r.memory != nil && o.outputResumable() {
		j, err := store.OpenJournal(ctx, store.JournalPath(o.Output))
		if err != nil {
			return usageError("-o %s: %v", o.Output, err)
		}
		r.journal = j
		r.frontier = store.JournaledFrontier(r.memory, j)
		sinkOpts = append(sinkOpts, store.WithJournal(j))
	}
	if csv {
		sinkOpts = append(sinkOpts, store.WithCSVRaw(o.CSVRaw))
		sink, err := store.OpenCSV(ctx, o.Output, columns, sinkOpts...)
		if err != nil {
			return usageError("-o %s: %v", o.Output, err)
		}
		r.output, r.closer = crawler.NewCSVOutput(sink, columns), sink.Close
		return nil
	}
	sink, err := store.OpenJSONL(ctx, o.Output, sinkOpts...)
	if err != nil {
		return usageError("-o %s: %v", o.Output, err)
	}
	r.output, r.closer = crawler.NewJSONOutput(sink, o.Fields), sink.Close
	return nil
}

// truncate empties the output of an earlier run (and its crawl journal):
// without --resume, -o FILE starts afresh. Only a regular file is
// emptied: -o /dev/stdout, a pipe or a device is written as it is.
func truncate(path string, crawl bool) error {
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		if err := os.Truncate(path, 0); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if crawl {
		if err := os.Remove(store.JournalPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (r *pipelineRun) openStdout(ctx context.Context, columns []string) error {
	f, ok := r.o.IO.Out.(*os.File)
	if !ok {
		// Not a file (tests): write records straight to the writer.
		if columns != nil {
			return usageError("--format csv needs -o FILE or a real stdout")
		}
		w := &writerSink{w: r.o.IO.Out}
		r.output, r.closer = crawler.NewJSONOutput(w, r.o.Fields), w.Flush
		return nil
	}
	file := structured.NewFile(f)
	if r.o.wantPretty() {
		w := &prettyOutput{sink: store.NewJSONL(file), color: r.o.IO.ColorOut}
		r.output, r.closer = w, w.Flush
		return nil
	}
	if columns != nil {
		sink, err := store.NewCSV(ctx, file, columns, store.WithCSVRaw(r.o.CSVRaw))
		if err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
		r.output, r.closer = crawler.NewCSVOutput(sink, columns), sink.Flush
		return nil
	}
	sink := store.NewJSONL(file)
	r.output, r.closer = crawler.NewJSONOutput(sink, r.o.Fields), sink.Flush
	return nil
}

// resume marks the URLs already in the output file as done and, for a
// crawl, queues again what its journal says was queued and is not done.
//
// The scans change nothing but a record torn by a crash at the end of the
// output or the journal; a file that is not what this run writes (a CSV
// resumed without --format csv, the list of URLs given as -o) is a usage
// error naming its line, and is left as it is.
func (r *pipelineRun) resume(ctx context.Context, columns []string) error {
	if err := checkResumeFormat(r.o.Output, r.o.Format); err != nil {
		return err
	}
	done := r.doneBefore
	var res store.ScanResult
	var err error
	if r.o.Format == "csv" {
		res, err = store.ScanCSV(ctx, r.o.Output, columns, "url", done)
	} else {
		res, err = store.ScanJSONLFinal(ctx, r.o.Output, func(u, final string) {
			done(u)
			if final != "" && r.since != nil && r.o.ReportRemoved {
				r.since.MarkReached(final) // a redirect reached it, as in the run itself
			}
		})
	}
	if errors.Is(err, store.ErrCorruptRecord) {
		return usageError("--resume: %v: not the %s output of trawl; left as it is", err, r.o.Format)
	}
	if err != nil {
		return usageError("--resume: %v", err)
	}
	if err := r.recoverWarc(ctx); err != nil {
		return err
	}
	requeued := 0
	if r.o.Crawl && r.memory != nil {
		// Queued before the journal is reopened: these are in it already.
		jres, err := store.ReplayJournalFrom(ctx, store.JournalPath(r.o.Output), func(depth int, u, referrer string) {
			source := "journal"
			if referrer != "" {
				source = referrer
			}
			if added, _ := crawler.AddRequest(ctx, r.memory, crawler.Request{URL: u, Depth: depth, Source: source}); added {
				requeued++
			}
		})
		// Every event of the journal is a page the interrupted run
		// admitted, and counts against --max-pages: those requeued were
		// admitted again by Add, the others (done) are counted here.
		r.scope.Readmit(jres.Records - requeued)
		if errors.Is(err, store.ErrCorruptRecord) {
			return usageError("--resume: %v: not a crawl journal of trawl; left as it is", err)
		}
		if err != nil {
			return usageError("--resume: %v", err)
		}
	}
	r.o.warnf("trawl: --resume: %d records already in %s, %d queued URLs restored", res.Records, r.o.Output, requeued)
	return nil
}

func (r *pipelineRun) run(ctx context.Context, stop *structured.Event) (crawler.Summary, error) {
	cfg := crawler.RunConfig{
		Inputs:      r.inputs,
		Stdin:       r.stdin,
		Fetcher:     r.fetcher,
		Concurrency: r.o.Concurrency,
		Crawl:       r.o.Crawl,
		Scope:       r.scope,
		Selectors:   r.o.selectors,
		Extras:      r.o.extras,
		Content:     r.o.contentOptions(),
		Store:       r.bodies,
		MaxLinks:    r.o.MaxLinks,
		Sitemaps:    r.o.Sitemap,
		Warn:        func(msg string) { r.o.warnf("trawl: %s", msg) },
		Frontier:    r.frontier,
		Output:      r.output,
		Archive:     r.archive,
		Stop:        stop,
		Grace:       r.o.Grace,
		MaxTime:     r.o.MaxTime,
		Stats:       r.stats,
		FlushGap:    r.flushGap(),
	}
	cfg.NoFallbackHTTP = r.o.NoFallback
	cfg.Since, cfg.ChangedOnly = r.since, r.o.ChangedOnly
	cfg.NoLastmod, cfg.ReportRemoved = r.o.NoLastmod, r.o.ReportRemoved
	if r.unchanged != nil {
		cfg.Unwritten = r.unchanged.write
	}
	return r.runRendered(ctx, cfg)
}

// doneBefore marks u done by the run being resumed: seen, and reached
// for --report-removed, and committed for --warc (a resumed WARC file
// keeps the records of these pages).
func (r *pipelineRun) doneBefore(u string) {
	r.frontier.Seen(u)
	if r.o.Warc != "" {
		if r.done == nil {
			r.done = map[string]bool{}
		}
		r.done[u] = true
	}
	if r.since != nil && r.o.ReportRemoved {
		r.since.MarkReached(u)
	}
}

// flushGap paces the flushes of a crawl into a file, each of which also
// syncs the journal to disk.
func (r *pipelineRun) flushGap() time.Duration {
	if r.journal != nil {
		return 50 * time.Millisecond
	}
	return 0
}

func (r *pipelineRun) close(ctx context.Context) error {
	var err error
	if r.closer != nil {
		err = r.closer(ctx)
	}
	if r.unchanged != nil {
		// Before the archive is closed: the pages it lists are done for
		// the archive's --resume; and after the journal holds their links.
		if r.journal != nil && r.unchanged.pending() {
			err = errors.Join(err, r.journal.Flush(ctx))
		}
		err = errors.Join(err, r.unchanged.close())
	}
	if r.archive != nil {
		if err != nil && r.o.outputResumable() {
			// The output (or the list) failed: the archive may hold pages
			// it never got. Left open, --resume cuts them and fetches them
			// again; closed, they would be archived twice. An output no
			// --resume reads (stdout, a pipe that closed: | head) gets its
			// archive closed.
			r.archiveErr = r.archive.Abandon(ctx)
			err = errors.Join(err, r.archiveErr)
		} else {
			r.archiveErr = r.archive.Close(ctx)
			err = errors.Join(err, r.archiveErr)
		}
	}
	if r.journal != nil {
		err = errors.Join(err, r.journal.Close(ctx))
	}
	if r.memory != nil {
		err = errors.Join(err, r.memory.Close())
	}
	if r.redis != nil {
		err = errors.Join(err, r.redis.Close(ctx))
	}
	if r.since != nil {
		r.since.Close()
	}
	return err
}

// warnf prints a warning on stderr unless --quiet, made
// [terminalSafe]: its arguments may come from the network. A progress
// bar is cleared first and drawn again below the warning.
func (o *RunOptions) warnf(format string, args ...any) {
	if !o.Quiet {
		msg := terminalSafe(fmt.Sprintf(format, args...))
		o.progress.Load().message(func() { fmt.Fprintln(o.IO.ErrOut, msg) })
	}
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// writerSink writes records to a plain io.Writer, for streams that are
// not files (tests).
type writerSink struct{ w io.Writer }

func (s *writerSink) Write(ctx context.Context, rec []byte) error {
	_, err := s.w.Write(append(slices.Clip(rec), '\n'))
	return err
}

func (s *writerSink) Flush(ctx context.Context) error { return nil }

// spillParent returns the directory in which the queue past
// --queue-memory spills: --spill-dir, else the directory of -o FILE,
// else the system's temporary directory (stdout, a device, a pipe).
func (o *RunOptions) spillParent() string {
	if o.SpillDir != "" {
		return o.SpillDir
	}
	if o.Output != "" && o.Output != "-" {
		if st, err := os.Stat(o.Output); err != nil || st.Mode().IsRegular() || st.IsDir() {
			return filepath.Dir(o.Output)
		}
	}
	return os.TempDir()
}
