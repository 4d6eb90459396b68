package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trawl-dev/trawl/store"
	"github.com/trawl-dev/trawl/structured"
)

// RunConfig is one run of the pipeline: what to read, how to fetch, where
// the results go. Zero values are documented field by field.
type RunConfig struct {
	// Inputs are the URLs, files and "-" to read URLs from (list mode) or
	// the seeds (crawl mode).
	Inputs []Input
	// Stdin is read for the input "-".
	Stdin *structured.File
	// Fetcher fetches every URL. Required.
	Fetcher *Fetcher
	// Concurrency is the number of workers. Zero means 16.
	Concurrency int
	// Crawl follows links found on fetched pages that Scope allows.
	Crawl bool
	// Scope decides which discovered links are followed, with its depth
	// and max-pages limits. Required in crawl mode.
	Scope *Scope
	// Sitemaps, in crawl mode, also seeds the crawl with the pages listed
	// in the sitemaps of the seeds' sites (see [Fetcher.SitemapURLs]).
	// Only sitemap files that Scope allows as sitemaps
	// ([Scope.AllowsSitemap]) are fetched, and only the listed pages that
	// Scope allows are queued.
	Sitemaps bool
	// Warn, when set, is told about problems that do not stop the run
	// (a sitemap that could not be read, a host with a huge queue).
	Warn func(msg string)
	// HostQueueWarn, in crawl mode, is the number of URLs of one host
	// queued and not yet fetched past which Warn is told, once per run,
	// of a likely crawler trap. Zero means [DefaultHostQueueWarn];
	// negative, never.
	HostQueueWarn int
	// Selectors are the custom fields extracted from every page.
	Selectors []Selector
	// Extras are the opt-in fields computed for every page.
	Extras Extras
	// Content says whether the main content of pages goes into the
	// records (the fields [ContentFields]), and how it is chosen.
	Content ContentOptions
	// Store, when set, saves every whole body (--store) and gives the
	// record its stored_path.
	Store *BodyStore
	// MaxLinks is the most links kept from one page (--max-links). Zero
	// means [DefaultMaxLinks]. The other limits of a page ([Limits]) come
	// from the fetcher's body limit ([PageBudget]).
	MaxLinks int
	// NoFallbackHTTP keeps a bare host input ([NormalizeInput]) on
	// https: no second try over http when https cannot connect.
	NoFallbackHTTP bool
	// Frontier holds the queue and the seen set. Nil means a new
	// in-memory frontier scheduled by the Fetcher's per-host limits (see
	// [Fetcher.Schedule]).
	Frontier Frontier
	// QueueMemory bounds, in list mode, the memory of the requests read
	// ahead into a new in-memory frontier (Frontier nil). Zero means
	// [DefaultQueueMemory].
	QueueMemory int64
	// Since, when set, is the index of the previous runs' records
	// (--since): every URL it holds is revalidated with its validators,
	// and every record gets a change ([Result.Change]).
	Since *store.SinceIndex
	// NoLastmod, with Since and Sitemaps, fetches the pages a sitemap
	// says were not modified since their previous record; by default
	// they are not requested ([ViaSitemapLastmod]).
	NoLastmod bool
	// ReportRemoved, with Since in crawl mode, ends a crawl that
	// completed with a record for every page of the previous runs in
	// Scope that it did not reach ([ViaNotReached]).
	ReportRemoved bool
	// ChangedOnly, with Since, leaves unchanged pages out of Output; they
	// are still counted and marked done.
	ChangedOnly bool
	// Unwritten, when set, is called by the writer with every result
	// that ChangedOnly leaves out of Output, before its request is
	// marked done (a resumable run records its URL).
	Unwritten func(ctx context.Context, r *Result) error
	// Output receives every result, from a single writer task.
	Output ResultWriter
	// Renderer, when set, renders the pages it picks in a browser
	// (--render): extraction then runs on the rendered document.
	Renderer PageRenderer
	// Archive, when set, gets from the writer task, before each result
	// goes to Output, every request the run made for it (robots.txt,
	// redirect hops, retries), and the sitemaps read: the Fetcher must
	// capture (Config.Capture). The result's Warc says where its
	// response record went.
	Archive *Archive
	// Stop, when set, makes the run stop taking new URLs and finish the
	// requests in flight within Grace (the first SIGINT, or --max-time).
	Stop *structured.Event
	// Grace bounds how long requests in flight may run after Stop. Zero
	// means no grace: requests in flight are cancelled at once.
	Grace time.Duration
	// MaxTime, when positive, sets Stop after that long.
	MaxTime time.Duration
	// FlushGap is the shortest time between two flushes of the output made
	// because the writer caught up with the workers. Zero flushes every
	// time; set it when a flush is costly (a crawl's flush also syncs its
	// journal to disk).
	FlushGap time.Duration
	// Stats, when not nil, is updated as results are written; a progress
	// display may read it concurrently.
	Stats *Stats
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// A ResultWriter is where the pipeline's writer task puts results. It is
// called from one task only, never concurrently.
type ResultWriter interface {
	// Write writes one result whole.
	Write(ctx context.Context, r *Result) error
	// Flush pushes buffered results to their destination.
	Flush(ctx context.Context) error
}

// Stats are the live counters of a run. Read them with the Snapshot method.
type Stats struct {
	mu       sync.Mutex
	done     int
	failed   int
	bytes    int64
	byClass  map[string]int
	byKind   map[Kind]int
	byChange map[string]int
	rendered int // pages rendered in a browser
	timedOut int // of which --render-timeout cut the wait short
	start    time.Time
	stopped  bool
	lines    int // input entries read
	dups     int // input entries skipped as duplicates
}

// Summary is a snapshot of a run's counters.
type Summary struct {
	Done     int            // results written
	Failed   int            // results with an error
	Bytes    int64          // body bytes received
	ByStatus map[string]int // results by status class: "2xx", "3xx", "4xx", "5xx", "none"
	ByKind   map[Kind]int   // failures by error kind
	// ByChange counts the records by change with --since ([Result.Change]):
	// new, changed, unchanged, gone; empty without --since.
	ByChange map[string]int
	// Rendered counts the pages rendered in a browser (--render), and
	// RenderTimeouts those of them whose wait --render-timeout cut short.
	Rendered, RenderTimeouts int
	Elapsed                  time.Duration // since the run started
	Pending                  int           // URLs queued or in flight, not yet done
	// Stopped is true when the run was stopped (signal or max time)
	// before it ran out of work.
	Stopped bool
	// Complete is true when every input URL and every discovered link in
	// scope was done.
	Complete bool
	// InputLines counts the entries read from the inputs: URL arguments
	// and the lines of files that are not blank or comments.
	InputLines int
	// Duplicates counts the input entries skipped because the same URL
	// (after normalisation) was seen before in the run, or, with
	// --resume, is already done.
	Duplicates int
}

// PagesPerSecond is Done over Elapsed.
func (s Summary) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done) / s.Elapsed.Seconds()
}

func (s *Stats) begin(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start = now
	s.byClass = map[string]int{}
	s.byKind = map[Kind]int{}
	s.byChange = map[string]int{}
}

func (s *Stats) record(r *Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done++
	s.bytes += r.Bytes
	s.byClass[statusClass(r.Status)]++
	if r.Error != nil {
		s.failed++
		s.byKind[r.Error.Kind]++
	}
	if r.Change != "" {
		s.byChange[r.Change]++
	}
	if r.Rendered != nil && *r.Rendered {
		s.rendered++
		if r.RenderTimeout {
			s.timedOut++
		}
	}
}

// input counts one input entry read, and whether it was a duplicate.
func (s *Stats) input(dup bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines++
	if dup {
		s.dups++
	}
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return fmt.Sprintf("%dxx", status/100)
}

// Snapshot returns the counters as of now.
func (s *Stats) Snapshot(now time.Time) Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := Summary{
		Done: s.done, Failed: s.failed, Bytes: s.bytes,
		ByStatus:   make(map[string]int, len(s.byClass)),
		ByKind:     make(map[Kind]int, len(s.byKind)),
		ByChange:   make(map[string]int, len(s.byChange)),
		Stopped:    s.stopped,
		InputLines: s.lines, Duplicates: s.dups,
		Rendered: s.rendered, RenderTimeouts: s.timedOut,
	}
	if !s.start.IsZero() {
		sum.Elapsed = now.Sub(s.start)
	}
	for k, v := range s.byClass {
		sum.ByStatus[k] = v
	}
	for k, v := range s.byKind {
		sum.ByKind[k] = v
	}
	for k, v := range s.byChange {
		sum.ByChange[k] = v
	}
	return sum
}

// finishedRequest travels from a worker to the writer: the result to write
// and the request to mark done once it is written.
type finishedRequest struct {
	req    Request
	result *Result
	fromQ  bool // the request came from the frontier and must be marked done
	// archive holds the records of the requests made for it
	// (RunConfig.Archive); a finishedRequest with no result carries only
	// those.
	archive *PreparedPage
}

// Run runs the pipeline until every URL is done, Stop was honoured, or ctx
// is cancelled, and returns the final counters.
//
// The shape: a producer task reads the inputs and adds them to the
// frontier; Concurrency workers take requests from it, fetch, extract and
// (in crawl mode) add the links in scope; one writer task writes every
// result and only then marks its request done, so the frontier ends, and
// the run with it, exactly when the last result is written.
//
// Stopping: when Stop is set (or MaxTime passes) the producer and the
// workers stop taking URLs; requests in flight get Grace to finish, then
// are cancelled. A request cancelled this way writes no result: a resumed
// run fetches it again. Every result fetched before that is written. When
// ctx is cancelled (the second signal) requests in flight are cancelled at
// once; results already fetched are still written and flushed in a
// shielded scope, bounded in time.
//
// The error is nil unless something stopped the run from writing results
// (a full disk, a closed pipe) or ctx was cancelled.
func Run(ctx context.Context, cfg RunConfig) (Summary, error) {
	cfg = cfg.withDefaults()
	stats := cfg.Stats
	stats.begin(cfg.Now())
	frontier := cfg.Frontier
	if frontier == nil {
		var admit func() bool
		if cfg.Crawl && cfg.Scope != nil {
			admit = cfg.Scope.Admit
		}
		mf := store.NewMemoryFrontier(structured.Unbounded, admit)
		if !cfg.Crawl { // workers add links and must never wait for each other
			mf.SetMemoryBudget(cfg.QueueMemory)
		}
		cfg.Fetcher.Schedule(mf)
		defer mf.Close()
		frontier = mf
	}
	if cfg.Crawl && cfg.HostQueueWarn >= 0 {
		frontier = newHostWatch(frontier, cfg.HostQueueWarn, cfg.Warn)
	}
	r := &run{cfg: cfg, frontier: frontier, stats: stats}
	if cfg.Crawl {
		r.links = newLinkCache()
	}
	err := r.run(ctx)
	sum := stats.Snapshot(cfg.Now())
	sum.Pending = frontier.Pending()
	sum.Complete = err == nil && r.inputDone.Load() && sum.Pending == 0 && !r.removedCut.Load()
	return sum, err
}

func (cfg RunConfig) withDefaults() RunConfig {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HostQueueWarn == 0 {
		cfg.HostQueueWarn = DefaultHostQueueWarn
	}
	if cfg.Stats == nil {
		cfg.Stats = &Stats{}
	}
	if cfg.Stop == nil {
		cfg.Stop = &structured.Event{}
	}
	if cfg.QueueMemory <= 0 {
		cfg.QueueMemory = DefaultQueueMemory
	}
	return cfg
}

type run struct {
	cfg      RunConfig
	frontier Frontier
	stats    *Stats

	inputDone  atomic.Bool // the producer read every input
	removedCut atomic.Bool // a stop cut the list of --report-removed short
	linksCut   atomic.Bool // with --report-removed, --max-links left links of a page out
	origins    []string    // sites of the seeds, for --sitemap
	links      *linkCache  // links handed to the frontier, in crawl mode
}

// flushTimeout bounds the final flush of the output, which runs shielded
// from cancellation.
const flushTimeout = 5 * time.Second

func (r *run) run(ctx context.Context) error {
	results, toWriter := structured.NewMemoryStream[finishedRequest](2 * r.cfg.Concurrency)
	return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		// The writer drains results until every worker and the producer
		// have closed their clones, whatever happens to ctx: nothing
		// fetched is dropped on the floor.
		tg.StartSoon(func(ctx context.Context) error { return r.writer(ctx, toWriter) })
		defer results.Close()
		return structured.WithTaskGroup(ctx, func(ctx context.Context, ctl *structured.TaskGroup) error {
			soft := structured.NewCancelScope() // stop taking new URLs
			hard := structured.NewCancelScope() // cancel requests in flight
			ctl.StartSoon(func(ctx context.Context) error { return r.stopper(ctx, soft, hard) })
			err := hard.Run(ctx, func(hctx context.Context) error {
				return soft.Run(hctx, func(sctx context.Context) error {
					return r.reportRemoved(sctx, results, r.work(hctx, sctx, results))
				})
			})
			ctl.CancelScope().Cancel() // the work is over: end the stopper
			return err
		})
	})
}

// stopper waits for Stop or MaxTime, stops the intake, and cancels what is
// still in flight after the grace period. The run cancels it when the work
// ends first.
func (r *run) stopper(ctx context.Context, soft, hard *structured.CancelScope) error {
	wait := func(ctx context.Context) error { return r.cfg.Stop.Wait(ctx) }
	if r.cfg.MaxTime > 0 {
		if _, err := structured.MoveOnAfter(ctx, r.cfg.MaxTime, wait); err != nil {
			return nil
		}
	} else if err := wait(ctx); err != nil {
		return nil
	}
	r.stats.mu.Lock()
	r.stats.stopped = true
	r.stats.mu.Unlock()
	soft.Cancel()
	if r.cfg.Grace <= 0 {
		hard.Cancel()
		return nil
	}
	if timedOut, _ := structured.MoveOnAfter(ctx, r.cfg.Grace, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}); timedOut {
		hard.Cancel()
	}
	return nil
}

// work runs the producer and the workers. hctx ends requests in flight;
// sctx ends the intake of new ones.
func (r *run) work(hctx, sctx context.Context, results *structured.SendStream[finishedRequest]) error {
	// The intake (reading inputs, taking requests) ends on Stop (sctx) and
	// also when the work group ends early, on an error or a panic: sctx
	// alone would leave the other tasks waiting forever.
	ictx, cancelIntake := context.WithCancel(sctx)
	defer cancelIntake()
	// With sitemaps read first for their <lastmod> (see sitemapsFirst),
	// the workers wait until every sitemap has been read: a page taken
	// meanwhile could link to one whose lastmod is not known yet, which
	// would then be requested. The queued URLs wait in the frontier,
	// which spills past its budget.
	var sitemapsRead *structured.Event
	sitemapsFirst := r.sitemapsFirst()
	if sitemapsFirst {
		sitemapsRead = &structured.Event{}
	}
	return structured.WithTaskGroup(hctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		context.AfterFunc(ctx, cancelIntake) // fires when the group's scope ends
		out := results.Clone()
		tg.StartSoon(func(ctx context.Context) error {
			defer out.Close()
			return r.produce(ictx, out, sitemapsFirst, sitemapsRead)
		})
		for range r.cfg.Concurrency {
			out := results.Clone()
			consumer := r.frontier.Consumer()
			tg.StartSoon(func(ctx context.Context) error {
				defer out.Close()
				defer consumer.Close()
				if sitemapsRead != nil && sitemapsRead.Wait(ictx) != nil {
					return nil // stopped before the sitemaps were read
				}
				return r.worker(ctx, ictx, consumer, out)
			})
		}
		return nil
	})
}

// produce reads the inputs into the frontier. Lines that are not URLs
// become invalid_url results right away. With sitemapsFirst, the sitemaps
// are read first, and sitemapsRead is set once they are (or produce ends).
func (r *run) produce(ctx context.Context, out *structured.SendStream[finishedRequest], sitemapsFirst bool, sitemapsRead *structured.Event) error {
	var err error
	if sitemapsFirst {
		defer sitemapsRead.Set() // also when reading them failed
		err = r.addSitemaps(ctx, out)
		sitemapsRead.Set()
	}
	if err == nil {
		err = ReadInputs(ctx, r.cfg.Inputs, r.cfg.Stdin, func(ctx context.Context, line InputLine) error {
			return r.addInput(ctx, line, out)
		})
	}
	if err == nil && r.cfg.Crawl && r.cfg.Sitemaps && !sitemapsFirst {
		err = r.addSitemaps(ctx, out)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped: the rest of the input stays undone
		}
		return err
	}
	r.inputDone.Store(true)
	r.frontier.InputDone()
	return nil
}

func (r *run) addInput(ctx context.Context, line InputLine, out *structured.SendStream[finishedRequest]) error {
	u, bare, err := NormalizeInput(line.Text)
	if line.Err != nil {
		err = newError(KindInvalidURL, line.Source, line.Err)
	}
	if err != nil {
		// Reported once per run, and not again by a resumed run, which
		// finds the line redacted and cleaned in the output.
		key := CleanText(RedactURL(line.Text))
		if line.Err != nil {
			key = fmt.Sprintf("%s:%d", line.Source, line.Line) // a line too long has no text
		}
		isNew, ferr := r.frontier.MarkIfNew(ctx, key)
		if ferr == nil {
			r.stats.input(!isNew)
		}
		if ferr != nil || !isNew {
			return ferr
		}
		res := &Result{URL: RedactURL(line.Text), Input: RedactURL(line.Text), Line: line.Line, Error: ErrorFromErr(err)}
		if line.Line > 0 {
			res.Error.Message = fmt.Sprintf("%s line %d: %s", line.Source, line.Line, res.Error.Message)
		}
		err := out.Send(context.WithoutCancel(ctx), finishedRequest{result: res})
		if errors.Is(err, structured.ErrBrokenResource) {
			return nil // the writer failed; its error tells why
		}
		return err
	}
	if r.cfg.Sitemaps {
		r.noteOrigin(u)
	}
	fallback := bare && !r.cfg.NoFallbackHTTP
	if fallback {
		// Done over http by an earlier run (--resume) or line: skipped.
		if isNew, err := r.frontier.MarkIfNew(ctx, HTTPForm(u)); err != nil || !isNew {
			if err == nil {
				r.stats.input(true)
			}
			return err
		}
	}
	added, err := AddRequest(ctx, r.frontier, Request{URL: u, Source: line.Source, Line: line.Line, Input: line.Text, FallbackHTTP: fallback})
	if err == nil {
		r.stats.input(!added)
	}
	return err
}

// sitemapsFirst reports whether the sitemaps are read before the seeds
// are queued: in a crawl with --sitemap and --since that heeds lastmod,
// whose seeds are URLs (their sites known without reading anything), so
// that every page a sitemap says is unmodified is marked so before the
// crawl reaches it by a link, and is not requested.
func (r *run) sitemapsFirst() bool {
	if !r.cfg.Crawl || !r.cfg.Sitemaps || r.cfg.Since == nil || r.cfg.NoLastmod {
		return false
	}
	for _, in := range r.cfg.Inputs {
		if !in.IsURL {
			return false
		}
	}
	for _, in := range r.cfg.Inputs {
		if u, _, err := NormalizeInput(in.Name); err == nil {
			r.noteOrigin(u)
		}
	}
	return true
}

// noteOrigin remembers the site of a seed, once, for --sitemap.
func (r *run) noteOrigin(seed string) {
	pu, err := ParseURL(seed)
	if err != nil {
		return
	}
	origin := pu.Scheme + "://" + pu.Host + "/"
	if !slices.Contains(r.origins, origin) {
		r.origins = append(r.origins, origin)
	}
}

// addSitemaps queues the in-scope pages listed in the sitemaps of the
// seeds' sites, as seeds.
func (r *run) addSitemaps(ctx context.Context, out *structured.SendStream[finishedRequest]) error {
	skipped := func(sitemap string, err error) {
		if r.cfg.Warn != nil {
			r.cfg.Warn(fmt.Sprintf("sitemap %s skipped: %v", RedactURL(sitemap), err))
		}
	}
	for _, origin := range r.origins {
		var allow func(string) bool
		if r.cfg.Scope != nil {
			allow = r.cfg.Scope.AllowsSitemap
		}
		sctx, captured := r.capture(ctx)
		err := r.cfg.Fetcher.SitemapURLs(sctx, origin, allow, func(ctx context.Context, loc, lastmod string) error {
			if r.cfg.Scope != nil && r.cfg.Scope.Check(loc, 0) != nil {
				return nil
			}
			r.noteLastmod(loc, lastmod)
			if _, err := AddRequest(ctx, r.frontier, Request{URL: loc, Source: "sitemap"}); err != nil {
				return err
			}
			if r.links != nil {
				// Handed to the frontier: a page's link to it is skipped
				// as one another page handed over.
				r.links.add(r.links.key(loc))
			}
			return nil
		}, skipped)
		if ex := captured(); len(ex) > 0 {
			prepared, perr := r.prepare(ctx, nil, ex)
			releaseExchanges(ex) // compressed into prepared
			if perr != nil {
				return perr
			}
			if serr := out.Send(context.WithoutCancel(ctx), finishedRequest{archive: prepared}); serr != nil && !errors.Is(serr, structured.ErrBrokenResource) {
				return serr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// worker takes requests until the frontier ends or the intake stops.
func (r *run) worker(hctx, sctx context.Context, c Consumer, out *structured.SendStream[finishedRequest]) error {
	for {
		req, err := c.Next(sctx)
		if err != nil {
			if errors.Is(err, structured.ErrEndOfStream) || sctx.Err() != nil {
				return nil
			}
			return err
		}
		// Stop takes effect at once for every worker, without waiting for
		// the stopper task to cancel the intake: a request taken after it
		// is left undone, like those still queued.
		if r.cfg.Stop.IsSet() {
			if t := requestTurn(req); t != nil {
				t.Release()
			}
			return nil
		}
		if req.Turn == nil {
			// A frontier that does not schedule by host: wait for the
			// host here, where a stop ends the wait at once (the request
			// has not started), not in the fetcher under hctx.
			turn, err := r.cfg.Fetcher.WaitTurn(sctx, nextURL(req))
			if sctx.Err() != nil || r.cfg.Stop.IsSet() {
				if turn != nil {
					turn.Release()
				}
				return nil
			}
			if err == nil {
				req.Turn = turn
			} // else: a bad URL, which the fetch reports
		}
		pctx, captured := r.capture(hctx)
		res, wait, err := r.process(pctx, req)
		if err != nil {
			return err
		}
		if wait != nil {
			// The fetch must wait: the request goes back to the frontier
			// and the worker takes other work meanwhile.
			wait.exchanges = append(wait.exchanges, captured()...)
			if err := r.deferRequest(req, wait); err != nil {
				releaseExchanges(wait.exchanges)
				if errors.Is(err, structured.ErrClosedResource) {
					return nil // the run is over: left undone, as if queued
				}
				return err
			}
			continue
		}
		if res == nil {
			return nil // cancelled in flight: left undone for a resumed run
		}
		exchanges := captured()
		if pf, _ := req.Resume.(*pageFetch); pf != nil {
			exchanges = append(pf.exchanges, exchanges...) // the earlier requests' first
			req.Resume = nil
		}
		prepared, err := r.prepare(hctx, res, exchanges)
		releaseExchanges(exchanges) // compressed into prepared
		if err != nil {
			return err
		}
		// The writer always drains, so this never waits for long; it must
		// not be cancelled, or a fetched result would be lost.
		err = out.Send(context.WithoutCancel(hctx), finishedRequest{req: req, result: res, fromQ: true, archive: prepared})
		if errors.Is(err, structured.ErrBrokenResource) {
			return nil // the writer failed; its error tells why
		}
		if err != nil {
			return fmt.Errorf("hand result of %s to the writer: %w", RedactURL(req.URL), err)
		}
	}
}

// pageFetch is a page whose fetch gave its worker back to wait (a retry,
// a redirect hop; see [Fetcher.FetchStep]), as [Request.Resume] while the
// frontier holds it: what the worker that takes it again goes on from.
type pageFetch struct {
	fetch     *Continuation
	start     time.Time    // when the request was first taken
	prev      previous     // the previous record, with --since
	cond      *conditional // the conditional request's validators, if any
	url       string       // the URL fetched: the request's, or its http form after a fallback
	fellBack  bool         // url is the http form of the request's bare host
	exchanges []*Exchange  // captured so far, for the archive
}

// size approximates the memory pf takes while it waits.
func (pf *pageFetch) size() int64 {
	n := pf.fetch.Size() + 128 + int64(len(pf.url))
	if pf.prev.record != nil {
		n += pf.prev.record.size // --since: the previous record, read back
	}
	for _, e := range pf.exchanges {
		n += int64(cap(e.Request) + cap(e.Response))
	}
	return n
}

// nextURL is the URL whose host's turn req needs: its own, or that of
// the next request of its fetch when it was deferred.
func nextURL(req Request) string {
	if pf, _ := req.Resume.(*pageFetch); pf != nil {
		return pf.fetch.URL()
	}
	return req.URL
}

// deferrer returns the frontier as a [store.Deferrer], when it is one.
func (r *run) deferrer() store.Deferrer {
	d, _ := r.frontier.(store.Deferrer)
	return d
}

// deferRequest gives req back to the frontier until its fetch may go on.
func (r *run) deferRequest(req Request, pf *pageFetch) error {
	req.Turn, req.Resume = nil, pf
	return r.deferrer().Defer(req, store.Deferral{URL: pf.fetch.URL(), NotBefore: pf.fetch.NotBefore(), Bytes: pf.size()})
}

// process fetches and extracts one request, adds its links in crawl mode,
// and returns its result; nil when ctx was cancelled before it finished.
// When the frontier takes requests back ([store.Deferrer]) and the fetch
// must wait (a retry, a redirect hop), it returns no result but the
// fetch's state instead, for the worker to defer the request with. An
// error means the frontier could not take the page's links: the page is
// left undone (for a resumed run, or for another process on a shared
// frontier) and the run stops with that error.
func (r *run) process(ctx context.Context, req Request) (*Result, *pageFetch, error) {
	turn := requestTurn(req)
	pf, _ := req.Resume.(*pageFetch)
	fctx := ctx
	if pf == nil {
		start := r.cfg.Now()
		if res, ok, err := r.notRequested(ctx, req, start); ok || err != nil {
			if turn != nil {
				turn.Release()
			}
			if err != nil {
				return nil, nil, sinceErr(ctx, err)
			}
			if r.cfg.Crawl {
				if err := r.addResultLinks(ctx, req, res); err != nil {
					return nil, nil, err
				}
			}
			return res, nil, nil
		}
		var prev previous
		var err error
		fctx, prev, err = r.lookupSince(ctx, req)
		if err != nil {
			if turn != nil {
				turn.Release()
			}
			return nil, nil, sinceErr(ctx, err)
		}
		pf = &pageFetch{start: start, prev: prev, url: req.URL}
		if c, ok := fctx.Value(conditionalKey{}).(conditional); ok {
			pf.cond = &c
		}
	} else if pf.cond != nil {
		fctx = context.WithValue(ctx, conditionalKey{}, *pf.cond)
	}
	var resp *Response
	var err error
	switch {
	case r.deferrer() == nil:
		resp, err = r.cfg.Fetcher.FetchTurn(fctx, req.URL, turn)
	case pf.fetch == nil:
		resp, pf.fetch, err = r.cfg.Fetcher.FetchStep(fctx, req.URL, turn, nil)
	default:
		var next *Continuation
		if pf.fellBack {
			fctx = ctx // the conditional request is the https URL's
		}
		resp, next, err = r.cfg.Fetcher.FetchStep(fctx, "", turn, pf.fetch)
		if next == nil {
			pf.fetch = nil
		}
	}
	if turn != nil {
		turn.Release() // when no request of the fetch used it
	}
	if pf.fetch != nil {
		return nil, pf, nil
	}
	if req.FallbackHTTP && !pf.fellBack && resp == nil && ctx.Err() == nil && (KindOf(err) == KindConnect || KindOf(err) == KindTLS) {
		// The record names the URL fetched. Another host key: its own
		// turn, waited for in the frontier when it takes requests back.
		pf.url, pf.fellBack = HTTPForm(req.URL), true
		if r.deferrer() == nil {
			resp, err = r.cfg.Fetcher.Fetch(ctx, pf.url)
		} else if pf.fetch, err = r.cfg.Fetcher.StartLater(ctx, pf.url); err == nil {
			return nil, pf, nil
		}
	}
	req.URL = pf.url
	start, prev := pf.start, pf.prev
	if ctx.Err() != nil && (err != nil || resp == nil) {
		return nil, nil, nil
	}
	res := NewResult(req, resp, err, start)
	if resp == nil {
		res.ElapsedMS = r.cfg.Now().Sub(start).Milliseconds()
	}
	var links []string
	if resp != nil && (err == nil || KindOf(err) == KindHTTP) {
		page := resp
		if r.cfg.Renderer != nil && err == nil {
			page = renderInto(ctx, r.cfg.Renderer, res, resp)
			if ctx.Err() != nil && res.Error != nil && res.Error.Kind == KindCancelled {
				return nil, nil, nil // cancelled mid-render: left undone
			}
		}
		links = extractInto(res, page, r.cfg.Selectors, r.limits(), r.cfg.Extras)
		extractContentInto(res, page, r.cfg.Content)
		if r.cfg.Store != nil {
			r.cfg.Store.storeInto(ctx, res, resp, r.cfg.Warn)
		}
	}
	if r.cfg.Since != nil {
		if err := applyChange(ctx, r.cfg.Since, res, prev); err != nil {
			return nil, nil, sinceErr(ctx, err)
		}
	}
	if r.cfg.Crawl && resp != nil && err == nil {
		var err error
		if r.cfg.Since != nil && res.Status == http.StatusNotModified {
			err = r.addResultLinks(ctx, req, res) // an unchanged page's links keep the crawl going
		} else {
			err = r.addLinks(ctx, req, links)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return res, nil, nil
}

// limits are what one page may produce.
func (r *run) limits() Limits {
	budget := PageBudget(r.cfg.Fetcher.cfg.MaxBody)
	return Limits{MaxLinks: r.cfg.MaxLinks, MaxLinkBytes: budget, MaxFieldBytes: budget}
}

// addLinks queues the links of req that are in scope. They are queued even
// while the run is being cancelled: the page's result is about to be
// written, and a resumed run would never find its links again. An error
// (a frontier that cannot take them) is returned, and the page is then
// left undone.
func (r *run) addLinks(ctx context.Context, req Request, links []string) error {
	for _, link := range links {
		var h1, h2 uint64
		if r.links != nil {
			if h1, h2 = r.links.key(link); r.links.has(h1, h2) {
				continue // handed to the frontier before, which has seen it
			}
		}
		if err := r.addLink(ctx, req, link, h1, h2); err != nil {
			return err
		}
	}
	return nil
}

// addResultLinks is addLinks of the links of res, a record carried
// forward: read from the record as written (res.carry), a string made
// only of those the link cache does not have, or res.Links when res was
// decoded whole.
func (r *run) addResultLinks(ctx context.Context, req Request, res *Result) error {
	if res.carry == nil || r.links == nil {
		return r.addLinks(ctx, req, res.Links)
	}
	return forCarriedLinks(layout(), res.carry, func(link []byte) error {
		h1, h2 := r.links.keyBytes(link)
		if r.links.has(h1, h2) {
			return nil
		}
		return r.addLink(ctx, req, string(link), h1, h2)
	})
}

// addLink hands link, found on req's page, to the frontier when the scope
// allows it, and remembers it in the link cache under h1, h2.
func (r *run) addLink(ctx context.Context, req Request, link string, h1, h2 uint64) error {
	ctx = context.WithoutCancel(ctx) // the crawl queue is unbounded: Add does not wait
	if r.cfg.Scope != nil && r.cfg.Scope.refuses(link, req.Depth+1) {
		return nil
	}
	if _, err := AddRequest(ctx, r.frontier, Request{URL: link, Depth: req.Depth + 1, Source: req.URL}); err != nil {
		return fmt.Errorf("queue links of %s: %w", RedactURL(req.URL), err)
	}
	if r.links != nil {
		r.links.add(h1, h2)
	}
	return nil
}

// writer writes every result, then marks its request done. It flushes
// when it has caught up with the workers (at most every FlushGap) and at least every flushInterval
// while busy, so a reader of the output sees results as they come. It
// drains until every worker and the producer have closed their clones,
// whatever happens to ctx, so that nothing fetched is dropped; it stops
// early only when the output fails, and closing its end then tells the
// workers to stop.
func (r *run) writer(ctx context.Context, in *structured.ReceiveStream[finishedRequest]) error {
	defer in.Close()
	w := &writerState{run: r, in: in, lastFlush: r.cfg.Now()}
	drain := context.WithoutCancel(ctx)
	var shutdown context.Context // bounds all writes after cancellation
	for {
		fr, err := w.next(ctx, drain)
		if errors.Is(err, structured.ErrEndOfStream) {
			break
		}
		if err != nil {
			return err
		}
		wctx := ctx
		if ctx.Err() != nil {
			if shutdown == nil {
				var cancel context.CancelFunc
				shutdown, cancel = context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
				defer cancel()
			}
			wctx = shutdown
		}
		if err := r.write(wctx, fr); err != nil {
			return err
		}
		w.dirty = true
		if r.cfg.Now().Sub(w.lastFlush) >= flushInterval {
			if err := w.flush(ctx); err != nil {
				return err
			}
		}
	}
	return structured.Shielded(ctx, flushTimeout, r.cfg.Output.Flush)
}

type writerState struct {
	run       *run
	in        *structured.ReceiveStream[finishedRequest]
	lastFlush time.Time
	dirty     bool
}

// next returns the next result, flushing first whenever the writer has
// caught up and holds unflushed results.
//
// drain is never cancelled: the writer drains to the end.
func (w *writerState) next(ctx, drain context.Context) (finishedRequest, error) {
	fr, err := w.in.TryReceive()
	if !errors.Is(err, structured.ErrWouldBlock) {
		return fr, err
	}
	if w.dirty {
		if gap := w.lastFlush.Add(w.run.cfg.FlushGap); w.run.cfg.Now().Before(gap) {
			var timedOut bool
			timedOut, err = structured.MoveOnAt(drain, gap, func(ctx context.Context) error {
				fr, err = w.in.Receive(ctx)
				return err
			})
			if !timedOut {
				return fr, err
			}
		}
		if err := w.flush(ctx); err != nil {
			return fr, err
		}
	}
	return w.in.Receive(drain)
}

func (w *writerState) flush(ctx context.Context) error {
	w.lastFlush = w.run.cfg.Now()
	w.dirty = false
	return w.run.flush(ctx)
}

// flushInterval is the longest a written result waits in the output
// buffer while the writer is busy.
const flushInterval = 200 * time.Millisecond

func (r *run) flush(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil // the final flush runs shielded
	}
	if err := r.cfg.Output.Flush(ctx); err != nil || r.cfg.Archive == nil {
		return err
	}
	return r.cfg.Archive.Commit(ctx) // the output naming their records is out
}

// write writes one result and marks its request done. After cancellation
// ctx is the writer's shutdown context: results fetched before still go
// out, all of them within one bound.
func (r *run) write(wctx context.Context, fr finishedRequest) error {
	if fr.archive != nil {
		place, err := r.cfg.Archive.Write(wctx, fr.archive)
		if err != nil {
			return fmt.Errorf("archive the requests of %s: %w", fr.req.URL, err)
		}
		if fr.result != nil {
			fr.result.Warc = place
		}
	}
	if fr.result == nil {
		return nil
	}
	if err := r.writeOut(wctx, fr.result); err != nil {
		return fmt.Errorf("write result for %s: %w", fr.result.URL, err)
	}
	r.stats.record(fr.result)
	if fr.fromQ && r.cfg.ReportRemoved && r.cfg.Since != nil {
		r.cfg.Since.MarkReached(fr.req.URL)
		if fr.result.FinalURL != "" {
			r.cfg.Since.MarkReached(fr.result.FinalURL) // a redirect reached it
		}
		if fr.result.LinksTruncated {
			r.linksCut.Store(true) // pages only its dropped links reach look removed
		}
	}
	if fr.fromQ {
		return r.frontier.Done(wctx, fr.req)
	}
	return nil
}

// prepare makes the archive's records of what was fetched for res (nil
// for sitemaps); nil without an archive or exchanges.
func (r *run) prepare(ctx context.Context, res *Result, exchanges []*Exchange) (*PreparedPage, error) {
	if r.cfg.Archive == nil || len(exchanges) == 0 {
		return nil, nil
	}
	p, err := r.cfg.Archive.Prepare(ctx, res, exchanges)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return p, nil
}

// capture returns ctx under which the fetcher records its requests for
// the archive, and what takes them; without an archive, ctx itself and a
// func returning nil.
func (r *run) capture(ctx context.Context) (context.Context, func() []*Exchange) {
	if r.cfg.Archive == nil {
		return ctx, func() []*Exchange { return nil }
	}
	return WithCapture(ctx)
}
