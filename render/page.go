package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// cdpTimeout bounds every CDP command trawl sends.
const cdpTimeout = 10 * time.Second

// The viewport of every tab, and of the screenshots.
const (
	viewportWidth  = 1280
	viewportHeight = 800
)

// idleQuiet is how long at most one request must be in flight for the
// page to count as idle.
const idleQuiet = 500 * time.Millisecond

// pageLoad is what one tab saw of its page, fed by the event listener
// (which sends no command) and read by the waiting code.
//
// A tab renders page after page, so an event may be of an earlier page
// or of the about:blank between two: events are told apart by the
// document loader they name. The page's lifecycle (DOMContentLoaded,
// load) is that of the loader its navigation returns (main), kept by
// loader since its events may come before the navigation's reply; a
// request counts as in flight unless its loader is of an earlier page
// (old), and only the requests counted are let go.
type pageLoad struct {
	mu       sync.Mutex
	old      map[cdp.LoaderID]bool // the loaders of the tab's earlier pages (read only)
	seen     map[cdp.LoaderID]bool // the loaders this page's events named
	main     cdp.LoaderID          // the document's, once the navigation says it
	life     map[cdp.LoaderID]*lifecycle
	inflight map[network.RequestID]bool
	dropped  time.Time     // when inflight last dropped to at most one
	changed  chan struct{} // a token when anything above changed
}

// lifecycle is when a document fired DOMContentLoaded and load.
type lifecycle struct{ dcl, load time.Time }

func newPageLoad(old map[cdp.LoaderID]bool) *pageLoad {
	return &pageLoad{
		old: old, seen: map[cdp.LoaderID]bool{}, life: map[cdp.LoaderID]*lifecycle{},
		inflight: map[network.RequestID]bool{}, changed: make(chan struct{}, 1),
	}
}

func (l *pageLoad) notify() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// setMain names the loader of the page's document.
func (l *pageLoad) setMain(id cdp.LoaderID) {
	l.mu.Lock()
	l.main = id
	l.seen[id] = true
	l.mu.Unlock()
	l.notify()
}

// setSeen records the loader id as one of the page's tab (the blank
// after it): from the next page on, its events are an earlier page's.
func (l *pageLoad) setSeen(id cdp.LoaderID) {
	l.mu.Lock()
	l.seen[id] = true
	l.mu.Unlock()
}

// observe takes one event; it never blocks and sends no command.
func (l *pageLoad) observe(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	before := len(l.inflight)
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if l.old[ev.LoaderID] {
			return // an earlier page's
		}
		if ev.LoaderID != "" {
			l.seen[ev.LoaderID] = true
		}
		if ev.Type == network.ResourceTypeWebSocket || ev.Type == network.ResourceTypeEventSource {
			return // long-lived by design: never counted
		}
		l.inflight[ev.RequestID] = true
	case *network.EventLoadingFinished:
		delete(l.inflight, ev.RequestID)
	case *network.EventLoadingFailed:
		delete(l.inflight, ev.RequestID)
	case *page.EventLifecycleEvent:
		if ev.LoaderID == "" || l.old[ev.LoaderID] {
			return
		}
		l.seen[ev.LoaderID] = true
		lc := l.life[ev.LoaderID]
		if lc == nil {
			lc = &lifecycle{}
			l.life[ev.LoaderID] = lc
		}
		switch ev.Name {
		case "DOMContentLoaded":
			lc.dcl = time.Now() // the quiet time counts from here: scripts run at DOMContentLoaded
		case "load":
			lc.load = time.Now()
		default:
			return
		}
	default:
		return
	}
	if before > 1 && len(l.inflight) <= 1 {
		l.dropped = time.Now()
	}
	l.notify()
}

// loaded reports whether the document of loader id fired load.
func (l *pageLoad) loaded(id cdp.LoaderID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lc := l.life[id]
	return lc != nil && !lc.load.IsZero()
}

// ready reports whether the page is settled for wait, and if not, how
// long until it may be without another event (0: only an event can).
func (l *pageLoad) ready(w Wait) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lc := l.life[l.main]
	if l.main == "" || lc == nil {
		return false, 0
	}
	switch w.Kind {
	case WaitLoad:
		return !lc.load.IsZero(), 0
	case WaitDOMContentLoaded:
		return !lc.dcl.IsZero(), 0
	}
	if lc.dcl.IsZero() || len(l.inflight) > 1 {
		return false, 0
	}
	since := lc.dcl
	if l.dropped.After(since) {
		since = l.dropped
	}
	left := idleQuiet - time.Since(since)
	return left <= 0, left
}

// waitSettled waits until the page is settled for w, polling the
// selector of a selector wait.
func (l *pageLoad) waitSettled(ctx, tab context.Context, w Wait) error {
	if w.Kind == WaitSelector {
		for {
			found, err := selectorPresent(tab, w.Selector)
			if err != nil {
				return err
			}
			if found {
				return nil
			}
			if err := structured.Sleep(ctx, 100*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return l.waitFor(ctx, tab, func() (bool, time.Duration) { return l.ready(w) })
}

// waitFor waits until ready says yes, looking again at each event and
// when the time it names has passed.
func (l *pageLoad) waitFor(ctx, tab context.Context, ready func() (bool, time.Duration)) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		ok, left := ready()
		if ok {
			return nil
		}
		var timer <-chan time.Time
		if left > 0 {
			t.Reset(left)
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tab.Done(): // the tab or the whole browser is gone
			return fmt.Errorf("tab closed: %w", context.Cause(tab))
		case <-l.changed:
		case <-timer:
		}
	}
}

func selectorPresent(tab context.Context, sel string) (bool, error) {
	q, _ := json.Marshal(sel)
	var found bool
	err := call(tab, func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
			Expression: "document.querySelector(" + string(q) + ") !== null", ReturnByValue: ptr(true),
		})
		if err != nil {
			return err
		}
		if res.ExceptionDetails != nil {
			return fmt.Errorf("selector %s: %s", sel, res.ExceptionDetails.Text)
		}
		return json.Unmarshal(res.Result.Value, &found)
	})
	return found, err
}

func ptr[T any](v T) *T { return &v }

// call runs one CDP exchange on the tab with its own deadline.
func call(tab context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(tab, cdpTimeout)
	defer cancel()
	return fn(ctx)
}

// pageJob is the rendering of one page in a tab.
type pageJob struct {
	resp    *crawler.Response
	cfg     *Config
	load    *pageLoad
	events  *structured.SendStream[pageEvent] // to the page's task (see answer)
	frame   cdp.FrameID                       // the tab's main frame
	served  bool                              // the navigation was answered with trawl's bytes
	blocked map[network.ResourceType]bool
	// navTimeout, when set, bounds the navigation to the page instead of
	// cdpTimeout, and its failure is errStuckTab (see renderOn).
	navTimeout time.Duration
}

// stopTimeout bounds the command that stops the scripts of the page
// before in a tab left on it (see renderOn): a responsive page takes a
// few milliseconds.
const stopTimeout = 500 * time.Millisecond

// errStuckTab is the error of a page whose navigation in a tab left on
// the page before (see renderOn) did not get through within resetTimeout:
// that page's scripts hold the tab. The page is rendered again in a new
// tab (see Renderer.renderOnce).
var errStuckTab = errors.New("render: the tab's previous page does not let go of it")

// pageEvent is an event the listener hands to the page's event task,
// which answers it with a command.
type pageEvent = any

// resetTimeout bounds the navigation of a tab to about:blank after a
// page; a tab that does not get there is closed instead of kept.
const resetTimeout = 2 * time.Second

// renderOn renders job in t, then takes t back to about:blank, and says
// whether it got there (keep): a tab is kept for another page only then.
// When next says that another page of the site will take the tab at
// once, the tab is kept as it is instead: that page's navigation
// unloads this one, and the blank would cost about a quarter of the
// CPU of a page (its own navigation and document). ctx ending closes
// the tab.
func renderOn(ctx context.Context, t *tab, job *pageJob, next func() bool) (out *crawler.Rendered, keep bool, err error) {
	start := time.Now()
	stop := context.AfterFunc(ctx, t.cancel)
	defer stop()
	events, inbox := structured.NewMemoryStream[pageEvent](structured.Unbounded)
	job.load = newPageLoad(maps.Clone(t.loaders))
	job.events = events
	job.frame = t.frame
	t.job.Store(job)
	defer t.retire(job)
	err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { return job.answer(ctx, t.ctx, inbox) })
		if t.dirty {
			// The tab still runs the scripts of the page before, which
			// may loop: the navigation would wait for them to unload it
			// (24 s measured). Stop what runs, and give the navigation
			// resetTimeout. A tab whose page does not even take that
			// (alert() after alert() keeps it in its dialogs) is given
			// up for a new one (errStuckTab).
			sctx, cancel := context.WithTimeout(t.ctx, stopTimeout)
			err := send(runtime.TerminateExecution, cdp.Empty{})(sctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				tg.CancelScope().Cancel()
				return errStuckTab
			}
			job.navTimeout = resetTimeout
		}
		var err error
		out, err = job.run(ctx, t.ctx)
		if err == nil && !out.TimedOut {
			// Unload the page while its requests are still answered: a
			// page cut off at the cap may still be running a script, and
			// its tab is not worth the wait.
			keep = next()
			t.dirty = keep
			if !keep {
				t.blanks++
				keep = job.reset(ctx, t.ctx) == nil
			}
		}
		tg.CancelScope().Cancel()
		return err
	})
	if err != nil {
		return nil, false, err
	}
	out.Elapsed = time.Since(start)
	return out, keep, nil
}

// reset navigates the tab to about:blank and waits until it loaded:
// the page is unloaded, its requests ended and its frames gone.
func (j *pageJob) reset(ctx, tab context.Context) error {
	return structured.FailAfter(ctx, resetTimeout, func(ctx context.Context) error {
		id, err := navigate(tab, "about:blank", cdpTimeout)
		if err != nil {
			return err
		}
		j.load.setSeen(id)
		return j.load.waitFor(ctx, tab, func() (bool, time.Duration) { return j.load.loaded(id), 0 })
	})
}

// navigate navigates the tab to u, giving the command at most within,
// and returns the loader of the new document.
func navigate(tab context.Context, u string, within time.Duration) (cdp.LoaderID, error) {
	var id cdp.LoaderID
	ctx, cancel := context.WithTimeout(tab, within)
	defer cancel()
	err := func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: u})
		if err == nil && res.ErrorText != "" {
			err = errors.New(res.ErrorText)
		}
		if err == nil && res.LoaderID == "" {
			// A navigation within the document (the tab showed u
			// already, with another fragment): it has no new document,
			// which the tab's blank between pages rules out.
			err = errors.New("no new document")
		}
		id = res.LoaderID
		return err
	}(ctx)
	return id, err
}

// answer handles the events of the page that need a command: paused
// requests (the tab answers dialogs itself: see tab.answerDialogs).
func (j *pageJob) answer(ctx, tab context.Context, inbox *structured.ReceiveStream[pageEvent]) error {
	for ev := range inbox.All(ctx) {
		if ev, ok := ev.(*fetch.EventRequestPaused); ok {
			j.answerRequest(tab, ev)
		}
	}
	return nil
}

// answerRequest fulfils the first document request with trawl's bytes,
// fails blocked resource types, and lets the rest go on to the proxy.
func (j *pageJob) answerRequest(tab context.Context, ev *fetch.EventRequestPaused) {
	call(tab, func(ctx context.Context) error {
		var err error
		switch {
		case ev.ResourceType == network.ResourceTypeDocument && ev.FrameID == j.frame && !j.served:
			// The navigation of the page (an earlier page's frames are
			// gone: its tab went to about:blank after it).
			j.served = true
			_, err = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: int64(j.resp.Status),
				ResponseHeaders: headerEntries(j.resp.Header), Body: j.resp.Body,
			})
		case j.blocked[ev.ResourceType]:
			_, err = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		default:
			_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
		return err
	})
}

// headerEntries are the response headers given to the browser with the
// fetched body: those of the body's transfer are dropped, since the body
// is already decoded.
func headerEntries(h http.Header) []*fetch.HeaderEntry {
	var out []*fetch.HeaderEntry
	for k, vs := range h {
		if responseHop[k] {
			continue
		}
		for _, v := range vs {
			out = append(out, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	return out
}

// run navigates, waits, and takes the document (and the screenshot).
func (j *pageJob) run(ctx, tab context.Context) (*crawler.Rendered, error) {
	within := cdpTimeout
	if j.navTimeout > 0 {
		within = j.navTimeout
	}
	id, err := navigate(tab, j.resp.FinalURL, within)
	if err == nil {
		j.load.setMain(id)
	}
	if err != nil && j.navTimeout > 0 && ctx.Err() == nil {
		// Whatever held it (a timeout; or the page before's own
		// navigation, aborting this one): the retry is in a tab not left
		// on a page, where an error of this page's own shows as itself.
		return nil, errStuckTab
	}
	if err != nil {
		return nil, tabError(ctx, "navigate", err)
	}
	out := &crawler.Rendered{}
	timedOut, err := structured.MoveOnAfter(ctx, j.cfg.Timeout, func(ctx context.Context) error {
		return j.load.waitSettled(ctx, tab, j.cfg.Wait)
	})
	if err != nil && ctx.Err() == nil {
		return nil, tabError(ctx, "wait", err)
	}
	if ctx.Err() != nil {
		return nil, tabError(ctx, "wait", ctx.Err())
	}
	out.TimedOut = timedOut
	if timedOut {
		// A script that never yields would keep the document from being
		// read: stop whatever runs now (V8 honours this between
		// instructions), then read the document as it is.
		call(tab, send(runtime.TerminateExecution, cdp.Empty{}))
	}
	out.HTML, err = documentHTML(tab)
	if err != nil && timedOut && strings.Contains(err.Error(), "terminated") {
		out.HTML, err = documentHTML(tab) // the termination hit the read itself: once more
	}
	if err != nil {
		return nil, tabError(ctx, "read the document", err)
	}
	if j.cfg.shots != nil {
		if out.Screenshot, err = j.cfg.shots.take(tab, j.resp.FinalURL, j.cfg.FullPage); err != nil {
			return nil, tabError(ctx, "screenshot", err)
		}
	}
	return out, nil
}

// documentHTML serialises the tab's document, doctype included.
func documentHTML(tab context.Context) ([]byte, error) {
	var s string
	err := call(tab, func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
			Expression: `(document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "") +
				(document.documentElement ? document.documentElement.outerHTML : "")`,
			ReturnByValue: ptr(true),
		})
		if err != nil {
			return err
		}
		if res.ExceptionDetails != nil {
			return errors.New(res.ExceptionDetails.Text)
		}
		return json.Unmarshal(res.Result.Value, &s)
	})
	return []byte(s), err
}

// tabError is the error of a step of a render: kind cancelled when ctx
// ended, else kind render.
func tabError(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		return &crawler.Error{Kind: crawler.KindCancelled, Err: fmt.Errorf("render: %s: %w", step, context.Cause(ctx))}
	}
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	return &crawler.Error{Kind: crawler.KindRender, Err: fmt.Errorf("render: %s: %s", step, msg)}
}
