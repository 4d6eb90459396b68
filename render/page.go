package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
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
type pageLoad struct {
	mu         sync.Mutex
	inflight   map[network.RequestID]bool
	quietSince time.Time // when inflight last dropped to at most one, or DOMContentLoaded fired
	dcl, load  bool
	changed    chan struct{} // a token when anything above changed
}

func newPageLoad(now time.Time) *pageLoad {
	return &pageLoad{inflight: map[network.RequestID]bool{}, quietSince: now, changed: make(chan struct{}, 1)}
}

func (l *pageLoad) notify() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// observe takes one event; it never blocks and sends no command.
func (l *pageLoad) observe(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	before := len(l.inflight)
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Type == network.ResourceTypeWebSocket || ev.Type == network.ResourceTypeEventSource {
			return // long-lived by design: never counted
		}
		l.inflight[ev.RequestID] = true
	case *network.EventLoadingFinished:
		delete(l.inflight, ev.RequestID)
	case *network.EventLoadingFailed:
		delete(l.inflight, ev.RequestID)
	case *page.EventDomContentEventFired:
		l.dcl = true
		l.quietSince = time.Now() // the quiet time counts from here: scripts run at DOMContentLoaded
	case *page.EventLoadEventFired:
		l.load = true
	default:
		return
	}
	if before > 1 && len(l.inflight) <= 1 {
		l.quietSince = time.Now()
	}
	l.notify()
}

// ready reports whether the page is settled for wait, and if not, how
// long until it may be without another event (0: only an event can).
func (l *pageLoad) ready(w Wait) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch w.Kind {
	case WaitLoad:
		return l.load, 0
	case WaitDOMContentLoaded:
		return l.dcl, 0
	}
	if !l.dcl || len(l.inflight) > 1 {
		return false, 0
	}
	left := idleQuiet - time.Since(l.quietSince)
	return left <= 0, left
}

// waitSettled waits until the page is settled for w, polling the
// selector of a selector wait.
func (l *pageLoad) waitSettled(ctx, tab context.Context, w Wait) error {
	for {
		if w.Kind == WaitSelector {
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
			continue
		}
		ok, left := l.ready(w)
		if ok {
			return nil
		}
		var timer <-chan time.Time
		if left > 0 {
			t := time.NewTimer(left)
			defer t.Stop()
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
	served  bool // the navigation was answered with trawl's bytes
	blocked map[network.ResourceType]bool
}

// pageEvent is an event the listener hands to the page's event task,
// which answers it with a command.
type pageEvent = any

// renderIn renders job in a new tab of the browser context bctx of
// browserCtx (the browser's chromedp context). The tab is closed before
// it returns.
func renderIn(ctx, browserCtx context.Context, bctx cdp.BrowserContextID, job *pageJob) (*crawler.Rendered, error) {
	start := time.Now()
	// The tab opens in the window of its browser context's other tabs
	// (a new window only when it has none): a window per tab costs the
	// browser process about as much CPU again as the page itself. A tab
	// behind another is hidden and gets no animation frames, which run
	// undoes with focus emulation.
	tab, closeTab := chromedp.NewContext(browserCtx, chromedp.WithExistingBrowserContext(bctx), chromedp.WithNewWindow(false))
	defer closeTab()
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()
	events, inbox := structured.NewMemoryStream[pageEvent](structured.Unbounded)
	job.load = newPageLoad(start)
	// The target is opened by the first call, under tab itself (its life
	// is that call's context), so its deadline is a watchdog that closes
	// the tab.
	watchdog := time.AfterFunc(cdpTimeout, closeTab)
	err := chromedp.Listen(tab, func(ev any) {
		switch ev.(type) {
		case *fetch.EventRequestPaused, *page.EventJavascriptDialogOpening:
			events.TrySend(ev) // unbounded: never blocks; a command would deadlock here
		default:
			job.load.observe(ev)
		}
	})
	watchdog.Stop()
	if err != nil {
		return nil, tabError(ctx, "open tab", err)
	}
	var out *crawler.Rendered
	err = structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(ctx context.Context) error { return job.answer(ctx, tab, inbox) })
		var err error
		out, err = job.run(ctx, tab)
		tg.CancelScope().Cancel()
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	return out, nil
}

// answer handles the events that need a command: paused requests and
// JavaScript dialogs.
func (j *pageJob) answer(ctx, tab context.Context, inbox *structured.ReceiveStream[pageEvent]) error {
	for ev := range inbox.All(ctx) {
		switch ev := ev.(type) {
		case *fetch.EventRequestPaused:
			j.answerRequest(tab, ev)
		case *page.EventJavascriptDialogOpening:
			call(tab, func(ctx context.Context) error {
				_, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
				return err
			})
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
		case ev.ResourceType == network.ResourceTypeDocument && !j.served:
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
	patterns := []*fetch.RequestPattern{{URLPattern: "*", ResourceType: network.ResourceTypeDocument}}
	for t := range j.blocked {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*", ResourceType: t})
	}
	err := call(tab, func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: viewportWidth, Height: viewportHeight, DeviceScaleFactor: 1,
		})
		if err != nil {
			return err
		}
		// Every tab is shown and focused as far as its page can tell,
		// whether or not it is the front tab of its window: a hidden page
		// gets no requestAnimationFrame and throttled timers, and would be
		// read with whatever it had drawn before it was hidden.
		_, err = chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		if err != nil {
			return err
		}
		_, err = chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: patterns})
		return err
	})
	if err != nil {
		return nil, tabError(ctx, "enable interception", err)
	}
	err = call(tab, func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: j.resp.FinalURL})
		if err == nil && res.ErrorText != "" {
			err = errors.New(res.ErrorText)
		}
		return err
	})
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
		call(tab, func(ctx context.Context) error {
			_, err := chromedp.Call(ctx, runtime.TerminateExecution, cdp.Empty{})
			return err
		})
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
