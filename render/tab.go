package render

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/trawl-dev/trawl/structured"
)

// tab is an open tab of a site's browser context. It renders one page at
// a time and is kept between pages: opening a tab costs the browser a
// new page and a new renderer process, several times the CPU of
// navigating one that is open (see renderOn).
//
// Its event listener, set once when it opens, hands each event to the
// page it renders now (job), or drops it between pages. Between pages
// the tab shows about:blank: the page before is unloaded, its requests
// and frames are gone, before the next is navigated to (see reset),
// unless the next page of the site already waits for a tab, and then
// its navigation unloads the page before. Either way, the loaders of
// its earlier pages (loaders) are told apart from the new page's by
// their IDs, should a late event of one arrive.
type tab struct {
	ctx    context.Context // chromedp's handle of the target
	cancel context.CancelFunc
	site   string
	frame  cdp.FrameID // the main frame (a page target's ID is its main frame's)
	job    atomic.Pointer[pageJob]
	last   time.Time // when it was last put back
	pages  int       // pages rendered in it
	blanks int       // times it was taken to about:blank
	dirty  bool      // put back showing its last page, not a blank (see renderOn)

	// loaders are the document loaders of the tab's earlier pages and
	// blanks: their events are not the page's now.
	loaders map[cdp.LoaderID]bool

	// dialogs goes to the tab's dialog task (see answerDialogs).
	dialogs *structured.SendStream[*page.EventJavascriptDialogOpening]
}

// tabPages is the most pages a tab renders before it is closed: the
// memory of its renderer process grows with the pages it showed (on the
// benchmark's site, 4 tabs: peak PSS of the tree 620 MiB with 10 pages
// a tab, 715 with 25, 800 with 50, 560 with a tab per page), and
// closing the tab ends that process.
const tabPages = 10

// maxLoaders bounds tab.loaders: late events come within a page or two,
// not hundreds of pages later.
const maxLoaders = 1024

// openTab opens a tab in the browser context bctx of the browser
// browserCtx (its chromedp context), for pages of site, and sets it up
// once for all its pages: the viewport, focus emulation, and the
// interception of the documents and of the blocked resource types. Its
// dialogs are answered by a task of tg for as long as it is open. ctx
// ending while it opens closes it.
func openTab(ctx, browserCtx context.Context, tg *structured.TaskGroup, bctx cdp.BrowserContextID, site string, blocked map[network.ResourceType]bool) (*tab, error) {
	// The tab opens in the window of its browser context's other tabs
	// (a new window only when it has none): a window per tab costs the
	// browser process about as much CPU again as the page itself. A tab
	// behind another is hidden and gets no animation frames, which the
	// focus emulation below undoes.
	tctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithExistingBrowserContext(bctx), chromedp.WithNewWindow(false))
	dialogs, inbox := structured.NewMemoryStream[*page.EventJavascriptDialogOpening](structured.Unbounded)
	t := &tab{ctx: tctx, cancel: cancel, site: site, loaders: map[cdp.LoaderID]bool{}, dialogs: dialogs}
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	// The target is opened by the first call, under tctx itself (its
	// life is that call's context), so its deadline is a watchdog that
	// closes the tab.
	watchdog := time.AfterFunc(cdpTimeout, cancel)
	err := chromedp.Listen(tctx, t.dispatch)
	watchdog.Stop()
	if err != nil {
		cancel()
		return nil, tabError(ctx, "open tab", err)
	}
	if c := chromedp.FromContext(tctx); c != nil && c.Target != nil {
		t.frame = cdp.FrameID(c.Target.TargetID)
	}
	tg.StartSoon(func(ctx context.Context) error { return t.answerDialogs(ctx, inbox) })
	patterns := []*fetch.RequestPattern{{URLPattern: "*", ResourceType: network.ResourceTypeDocument}}
	for rt := range blocked {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*", ResourceType: rt})
	}
	err = call(tctx, func(ctx context.Context) error {
		// The commands are independent: sent at once, they cost the
		// tab's opening one round trip instead of one each.
		return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
			for _, c := range tabSetup(patterns) {
				tg.StartSoon(func(ctx context.Context) error { return c(ctx) })
			}
			return nil
		})
	})
	if err != nil {
		cancel()
		return nil, tabError(ctx, "set up the tab", err)
	}
	return t, nil
}

// tabSetup are the commands that set up a new tab for its pages, the
// interception of the documents and of the blocked resource types by
// patterns.
func tabSetup(patterns []*fetch.RequestPattern) []func(ctx context.Context) error {
	return []func(ctx context.Context) error{
		send(emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: viewportWidth, Height: viewportHeight, DeviceScaleFactor: 1,
		}),
		// Every tab is shown and focused as far as its page can tell,
		// whether or not it is the front tab of its window: a hidden page
		// gets no requestAnimationFrame and throttled timers, and would be
		// read with whatever it had drawn before it was hidden.
		send(emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}),
		// The network domain keeps no bodies: by default it keeps up to
		// 100 MB of them for Network.getResponseBody, which trawl never
		// asks for, in the renderer, which a kept tab would fill.
		send(network.Enable, network.EnableParams{
			MaxTotalBufferSize: ptr[int64](0), MaxResourceBufferSize: ptr[int64](0), MaxPostDataSize: ptr[int64](0),
		}),
		send(fetch.Enable, fetch.EnableParams{Patterns: patterns}),
		// chromedp enables these domains on every target it attaches to,
		// for its own actions, which trawl does not use. Their events
		// cost the browser, the renderer and the reading goroutine work
		// on every page: DOM.documentUpdated makes chromedp fetch the new
		// document's root (DOM.getDocument) at each navigation, CSS
		// reports every style sheet, Runtime every execution context and
		// console message, Log every log entry, and target discovery
		// tells each tab about every other tab's navigations. The
		// document is read with Runtime.evaluate, which needs none of
		// them; the Page and Network domains that the wait needs stay.
		send(dom.Disable, cdp.Empty{}),
		send(css.Disable, cdp.Empty{}),
		send(runtime.Disable, cdp.Empty{}),
		send(log.Disable, cdp.Empty{}),
		send(target.SetDiscoverTargets, target.SetDiscoverTargetsParams{Discover: false}),
		send(target.SetAutoAttach, target.SetAutoAttachParams{AutoAttach: false}),
	}
}

// send is the CDP command cmd with params, its result dropped.
func send[P, R any](cmd cdp.Command[P, R], params P) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, cmd, params)
		return err
	}
}

// dispatch is the tab's event listener: it runs on chromedp's reading
// goroutine, so it sends no command; it hands the events that need one
// to a task (dialogs to the tab's, paused requests to the page's) and
// records the others.
func (t *tab) dispatch(ev any) {
	if ev, ok := ev.(*page.EventJavascriptDialogOpening); ok {
		// Whatever the tab does: a tab left on its page (see renderOn)
		// runs that page's scripts between two pages too.
		t.dialogs.TrySend(ev) // unbounded: never blocks; a command would deadlock here
		return
	}
	j := t.job.Load()
	if j == nil {
		return // between pages: nothing to answer or record
	}
	switch ev.(type) {
	case *fetch.EventRequestPaused:
		j.events.TrySend(ev) // as above
	default:
		j.load.observe(ev)
	}
}

// answerDialogs accepts each JavaScript dialog of the tab's pages
// (alert, confirm, prompt, beforeunload) from the tab's opening to its
// close, whether or not a page renders in it: an open dialog blocks its
// page's scripts and the tab's CDP commands that run in the page
// (Runtime.evaluate waits until the dialog closes), and between pages
// nothing else would answer it before the tab's next navigation or its
// close.
func (t *tab) answerDialogs(ctx context.Context, inbox *structured.ReceiveStream[*page.EventJavascriptDialogOpening]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel) // the tab closed
	defer stop()
	for range inbox.All(ctx) {
		call(t.ctx, send(page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}))
	}
	return nil
}

// alive reports whether the tab is still open.
func (t *tab) alive() bool {
	if t.ctx.Err() != nil {
		return false
	}
	ch, err := chromedp.Detached(t.ctx)
	if err != nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// retire records the loaders job saw as the tab's past.
func (t *tab) retire(job *pageJob) {
	if len(t.loaders) > maxLoaders {
		clear(t.loaders)
	}
	job.load.mu.Lock()
	for id := range job.load.seen {
		t.loaders[id] = true
	}
	job.load.mu.Unlock()
}

// takeTab returns an open tab of site in the browser context bctx: one
// kept from an earlier page when there is one, else the one opening for
// the site ahead of need (see openSpare) once it is open, or one that a
// page of the site puts back before that, whichever comes first, else
// a new one. With clean (a page that a tab left on its page failed:
// errStuckTab), the site's idle tabs left on their page are closed
// rather than taken. The
// browser keeps at most max tabs open, idle or not: to open one past
// that, the idle tab of another site that waited longest is closed.
func (b *browserConn) takeTab(ctx context.Context, tg *structured.TaskGroup, site string, bctx cdp.BrowserContextID, max int, blocked map[network.ResourceType]bool, clean bool) (*tab, error) {
	var stale []*tab
	defer func() {
		for _, t := range stale {
			t.cancel()
		}
	}()
	b.mu.Lock()
	for {
		for list := b.idle[site]; len(list) > 0; list = b.idle[site] {
			t := list[len(list)-1]
			b.idle[site] = list[:len(list)-1]
			if t.alive() && !(clean && t.dirty) {
				b.mu.Unlock()
				return t, nil
			}
			b.open--
			stale = append(stale, t)
		}
		spare := b.spares[site]
		if spare == nil {
			break
		}
		// A tab of the site is opening (see openSpare): it is ready
		// sooner than one opened now, unless a page of the site puts
		// back its tab first (see putTab): whichever comes first.
		done, freed := spare.done, spare.freed
		spare.waiting++
		b.mu.Unlock()
		select {
		case <-done:
		case <-freed:
		case <-ctx.Done():
		}
		b.mu.Lock()
		spare.waiting--
		if ctx.Err() != nil {
			b.mu.Unlock()
			return nil, tabError(ctx, "open tab", ctx.Err())
		}
	}
	if b.open >= max {
		if t := b.oldestIdleLocked(); t != nil {
			b.open--
			stale = append(stale, t)
		}
	}
	b.addOpenLocked()
	b.mu.Unlock()
	t, err := openTab(ctx, b.ctx, tg, bctx, site, blocked)
	if err != nil {
		b.mu.Lock()
		b.open--
		b.mu.Unlock()
		return nil, err
	}
	return t, nil
}

// addOpenLocked counts a tab about to be opened.
func (b *browserConn) addOpenLocked() {
	b.open++
	b.opened++
	b.peakOpen = max(b.peakOpen, b.open)
}

// oldestIdleLocked takes out of the pool the idle tab put back longest
// ago, or returns nil when none is idle.
func (b *browserConn) oldestIdleLocked() *tab {
	var oldest *tab
	for _, list := range b.idle {
		if len(list) > 0 && (oldest == nil || list[0].last.Before(oldest.last)) {
			oldest = list[0]
		}
	}
	if oldest != nil {
		b.idle[oldest.site] = b.idle[oldest.site][1:]
	}
	return oldest
}

// putTab gives back t after a page: kept for the next page of its site
// when keep says so (clean at about:blank, or left on its page for a page
// of the site that waits), closed otherwise. It returns whether t was
// kept, and when it was put back.
func (b *browserConn) putTab(t *tab, keep bool) (kept bool, at time.Time) {
	t.job.Store(nil)
	t.pages++
	b.mu.Lock()
	b.blanks += t.blanks
	t.blanks = 0
	if keep && t.pages < tabPages && !b.closed && !b.retiring && t.alive() {
		if _, ok := b.sites[t.site]; ok {
			t.last = time.Now()
			b.idle[t.site] = append(b.idle[t.site], t)
			if s := b.spares[t.site]; s != nil && s.waiting > 0 {
				// Pages of the site wait for the tab opening for it:
				// this one is here first.
				close(s.freed)
				s.freed = make(chan struct{})
			}
			b.mu.Unlock()
			return true, t.last
		}
	}
	b.open--
	b.mu.Unlock()
	t.cancel()
	return false, time.Time{}
}

// dirtyGrace is how long a tab left on its page for a waiting page of
// its site (see renderOn) may stay idle before it is closed: that page
// takes it within milliseconds, unless it was cancelled or took another
// tab, and the page left running would go on making requests to its
// site until a next page of the site came.
const dirtyGrace = 2 * time.Second

// closeIfUntaken closes t after dirtyGrace unless a page took it since it
// was put back at at (it would then be out of the idle pool, or put back
// later).
func (b *browserConn) closeIfUntaken(ctx context.Context, t *tab, at time.Time) error {
	if err := structured.Sleep(ctx, dirtyGrace); err != nil {
		return nil // the run ends: the browser closes with it
	}
	b.mu.Lock()
	list := b.idle[t.site]
	i := slices.Index(list, t)
	if i < 0 || !t.last.Equal(at) || b.closed {
		b.mu.Unlock()
		return nil
	}
	b.idle[t.site] = slices.Delete(list, i, i+1)
	b.open--
	b.swept++
	b.mu.Unlock()
	t.cancel()
	return nil
}

// idleOf is how many idle tabs site has.
func (b *browserConn) idleOf(site string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.idle[site])
}
