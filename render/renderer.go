package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// Renderer renders pages in a pool of tabs of one headless Chromium. It
// implements [crawler.PageRenderer]. Make one with [Run].
type Renderer struct {
	cfg     Config
	chrome  string
	tg      *structured.TaskGroup // the browsers' tasks
	proxy   *proxy
	tabs    *structured.CapacityLimiter
	blocked map[network.ResourceType]bool

	waitMu  sync.Mutex
	waiting map[string]int // pages of each site waiting for a tab

	mu       structured.Lock // guards cur and pages; held while a browser starts
	cur      *browserConn
	pages    int
	all      sync.Map // *browserConn: every browser not yet closed
	launches int
}

var _ crawler.PageRenderer = (*Renderer)(nil)

// Run starts the render proxy, runs body with a Renderer, and when body
// returns (or panics), kills every browser the Renderer started, shielded
// from cancellation and bounded in time, before it returns. The browser
// itself starts on the first page to render. Run makes trawl a child
// subreaper (see [BecomeSubreaper]) and first removes the user-data-dirs
// left by killed runs ([RemoveStaleDirs]).
func Run(ctx context.Context, cfg Config, body func(ctx context.Context, r *Renderer) error) error {
	cfg = cfg.withDefaults()
	chrome, err := FindChrome(cfg.Chrome)
	if err != nil {
		return err
	}
	if cfg.Fetcher == nil {
		return errors.New("render: no fetcher")
	}
	if cfg.ScreenshotDir != "" {
		if err := os.MkdirAll(cfg.ScreenshotDir, 0o755); err != nil {
			return fmt.Errorf("create screenshot dir: %w", err)
		}
	}
	if err := BecomeSubreaper(); err != nil {
		return err
	}
	RemoveStaleDirs()
	return structured.WithTaskGroup(ctx, func(ctx context.Context, tg *structured.TaskGroup) error {
		defer tg.CancelScope().Cancel() // ends the proxy
		px, err := startProxy(ctx, tg, cfg.Fetcher)
		if err != nil {
			return err
		}
		r := &Renderer{
			cfg: cfg, chrome: chrome, tg: tg, proxy: px, tabs: structured.NewCapacityLimiter(cfg.Tabs),
			blocked: map[network.ResourceType]bool{}, waiting: map[string]int{},
		}
		for _, b := range cfg.Block {
			r.blocked[blockTypes[b]] = true
		}
		defer r.closeAll(ctx)
		return body(ctx, r)
	})
}

// Decide implements [crawler.PageRenderer]: under Always every HTML
// page, under Auto the application shells ([ShellReason]).
func (r *Renderer) Decide(resp *crawler.Response) (bool, string) {
	body := crawler.DecodeBytes(resp.Body, resp.ContentType())
	if !body.HTML {
		return false, ReasonNotHTML
	}
	switch r.cfg.Mode {
	case Always:
		return true, ReasonAlways
	case Auto:
		text, err := io.ReadAll(body.Reader)
		if err != nil {
			return false, ReasonNoSignal
		}
		return ShellReason(text)
	}
	return false, ""
}

// Launches is how many browsers the Renderer started so far.
func (r *Renderer) Launches() int {
	r.mu.Lock(context.Background())
	defer r.mu.Unlock()
	return r.launches
}

// tabsOpened is how many tabs the current browser opened, and how many
// times one was taken to about:blank after a page.
func (r *Renderer) tabsOpened(ctx context.Context) (opened, blanks int) {
	if err := r.mu.Lock(ctx); err != nil {
		return 0, 0
	}
	b := r.cur
	r.mu.Unlock()
	if b == nil {
		return 0, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened, b.blanks
}

// Render implements [crawler.PageRenderer]. It waits for a tab, renders
// resp in the browser context of its site, and closes the tab. A page
// whose browser crashed under it is tried once more on a new browser.
func (r *Renderer) Render(ctx context.Context, resp *crawler.Response) (*crawler.Rendered, error) {
	start := time.Now()
	token := new(int)
	site := siteOf(resp.FinalURL)
	r.addWaiting(site, 1)
	err := r.tabs.AcquireOnBehalfOf(ctx, token)
	r.addWaiting(site, -1)
	if err != nil {
		return nil, &crawler.Error{Kind: crawler.KindCancelled, URL: resp.FinalURL, Err: context.Cause(ctx)}
	}
	defer r.tabs.ReleaseOnBehalfOf(token)
	for attempt := 0; attempt < 2; attempt++ {
		var out *crawler.Rendered
		var crashed bool
		out, crashed, err = r.renderOnce(ctx, resp)
		if err == nil {
			out.Elapsed = time.Since(start)
			return out, nil
		}
		if ctx.Err() != nil || !crashed {
			break
		}
		err = fmt.Errorf("the browser crashed while rendering the page (attempt %d)", attempt+1)
	}
	var ce *crawler.Error
	if errors.As(err, &ce) {
		ce.URL = resp.FinalURL
		return nil, ce
	}
	return nil, &crawler.Error{Kind: crawler.KindRender, URL: resp.FinalURL, Err: err}
}

// addWaiting counts n more pages of site waiting for a tab.
func (r *Renderer) addWaiting(site string, n int) {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	r.waiting[site] += n
	if r.waiting[site] == 0 {
		delete(r.waiting, site)
	}
}

// waitingFor is how many pages of site wait for a tab.
func (r *Renderer) waitingFor(site string) int {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	return r.waiting[site]
}

// renderOnce renders resp on the current browser, and says whether that
// browser died under it.
func (r *Renderer) renderOnce(ctx context.Context, resp *crawler.Response) (*crawler.Rendered, bool, error) {
	b, err := r.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, &crawler.Error{Kind: crawler.KindCancelled, Err: context.Cause(ctx)}
		}
		return nil, false, &crawler.Error{Kind: crawler.KindRender, Err: err}
	}
	defer r.release(ctx, b)
	site := siteOf(resp.FinalURL)
	bctx, err := b.contextFor(site)
	if err == nil {
		defer b.leave(site)
		// A page that a tab left on its page before cannot take (its
		// scripts hold it: errStuckTab) is rendered again, once, in a tab
		// not left on a page: the stuck one is closed, and so are the
		// site's other idle tabs left on their page.
		for try := 0; try < 2; try++ {
			var t *tab
			t, err = b.takeTab(ctx, r.tg, site, bctx, r.cfg.Tabs, r.blocked, try > 0)
			if err != nil {
				break
			}
			if try == 0 && t.pages == tabPages-spareAhead {
				r.openSpare(b, site, bctx, r.cfg.Tabs)
			}
			var out *crawler.Rendered
			var keep bool
			// A page of the site that waits for a tab will take this one
			// (or an idle one) as soon as this page is done: unless the
			// site's idle tabs are enough for them all, it navigates this
			// tab to itself straight from this page, without a blank.
			next := func() bool { return r.waitingFor(site) > b.idleOf(site) }
			job := &pageJob{resp: resp, cfg: &r.cfg, blocked: r.blocked}
			out, keep, err = renderOn(ctx, t, job, next)
			dirty := t.dirty // t is another page's once put back
			if kept, at := b.putTab(t, keep); kept && dirty {
				r.tg.StartSoon(func(ctx context.Context) error { return b.closeIfUntaken(ctx, t, at) })
			}
			if err == nil {
				return out, false, nil
			}
			if !errors.Is(err, errStuckTab) || ctx.Err() != nil {
				break
			}
		}
		if errors.Is(err, errStuckTab) {
			err = &crawler.Error{Kind: crawler.KindRender, Err: err}
		}
	}
	if ctx.Err() != nil {
		return nil, false, err
	}
	return nil, b.died(ctx), err
}

// spareAhead is how many pages before a tab's last (see tabPages) its
// successor starts opening: a page takes 250 ms with --render-wait
// load on the benchmark's site, and a tab half a second to open.
const spareAhead = 2

// openSpare opens a tab for the pages of site in the background, to
// follow a tab that is rendering one of its last pages (see tabPages):
// a new tab costs a new renderer process and a score of CDP round trips
// (measured: half a second under load), which the page after the last
// would otherwise wait for. It is put with the site's idle tabs when it
// is ready; a page that finds none idle in the meantime waits for it
// rather than opening another, or takes a tab of the site put back
// before it is ready (see takeTab).
//
// At most one tab more than --render-tabs (limit) is open: no spare opens
// while the browser has limit+1 tabs open (the tabs of several pages reach
// their last pages together), nor for a site that has an idle tab or a
// spare on the way already.
func (r *Renderer) openSpare(b *browserConn, site string, bctx cdp.BrowserContextID, limit int) {
	if s := b.reserveSpare(site, limit); s != nil {
		r.tg.StartSoon(func(ctx context.Context) error {
			r.fillSpare(ctx, b, site, bctx, s)
			return nil
		})
	}
}

// spareTab is a tab of a site on its way (see openSpare).
type spareTab struct {
	done    chan struct{} // closed once the tab is idle, or failed to open
	freed   chan struct{} // closed, and replaced, when a tab of the site is put back meanwhile
	waiting int           // pages waiting for it (see takeTab)
}

// reserveSpare counts a spare tab of site as open and on its way, and
// returns it, unless the limits of openSpare leave no room for it.
func (b *browserConn) reserveSpare(site string, limit int) *spareTab {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.retiring || b.closed || b.open > limit || len(b.idle[site]) > 0 || b.spares[site] != nil {
		return nil
	}
	s := &spareTab{done: make(chan struct{}), freed: make(chan struct{})}
	b.spares[site] = s
	b.addOpenLocked()
	b.spared++
	return s
}

// fillSpare opens the spare s of site, reserved by reserveSpare, and puts
// it with the site's idle tabs, where the next page of the site takes
// it (the pages that waited for it may have taken a tab put back
// meanwhile instead), or closes it when its browser context or browser
// went away while it opened.
func (r *Renderer) fillSpare(ctx context.Context, b *browserConn, site string, bctx cdp.BrowserContextID, s *spareTab) {
	t, err := openTab(ctx, b.ctx, r.tg, bctx, site, r.blocked)
	var drop *tab
	b.mu.Lock()
	delete(b.spares, site)
	switch sc, ok := b.sites[site]; {
	case err != nil:
		b.open--
	case !ok || sc.id != bctx || b.closed || b.retiring:
		b.open-- // its browser context, or its browser, is going away
		drop = t
	default:
		t.last = time.Now()
		b.idle[site] = append(b.idle[site], t)
	}
	b.mu.Unlock()
	close(s.done)
	if drop != nil {
		drop.cancel() // closing a tab waits for the browser: not under b.mu
	}
}

// acquire returns the browser to render on, starting one when there is
// none, the last one died, or it is retiring.
func (r *Renderer) acquire(ctx context.Context) (*browserConn, error) {
	if err := r.mu.Lock(ctx); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	if r.cur == nil || r.cur.proc.exited.IsSet() {
		b, err := r.launch(ctx)
		if err != nil {
			return nil, err
		}
		r.cur, r.pages = b, 0
		r.launches++
	}
	b := r.cur
	b.mu.Lock()
	b.users++
	b.mu.Unlock()
	r.pages++
	if r.pages >= r.cfg.Recycle {
		// Recycled: new pages go to a new browser; this one closes when
		// its last page is done.
		b.mu.Lock()
		b.retiring = true
		b.mu.Unlock()
		r.cur = nil
	}
	return b, nil
}

// release gives back b after one page; a retiring browser closes with
// its last page.
func (r *Renderer) release(ctx context.Context, b *browserConn) {
	b.mu.Lock()
	b.users--
	last := b.retiring && b.users == 0
	b.mu.Unlock()
	if last {
		b.close(ctx)
		r.all.Delete(b)
	}
}

// closeAll closes every browser, shielded and bounded.
func (r *Renderer) closeAll(ctx context.Context) {
	r.all.Range(func(k, _ any) bool {
		k.(*browserConn).close(ctx)
		r.all.Delete(k)
		return true
	})
}

// launch starts a browser and connects to it.
func (r *Renderer) launch(ctx context.Context) (*browserConn, error) {
	p, err := startProcess(ctx, r.tg, r.chrome, r.proxy.refuseAddr(), strings.Fields(os.Getenv("TRAWL_CHROME_FLAGS")))
	if err != nil {
		return nil, err
	}
	b := &browserConn{proc: p, proxy: r.proxy.addr(), sites: map[string]*siteContext{}, idle: map[string][]*tab{}, spares: map[string]*spareTab{}}
	r.all.Store(b, true)
	// chromedp keeps the connection in a context: the browser's handle,
	// which lives until close, not any caller's request.
	allocCtx, cancelAlloc := remote.NewAllocator(context.Background(), p.ws, remote.NoModifyURL)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(discard), chromedp.WithErrorf(discard),
		chromedp.WithBrowserOption(chromedp.WithBrowserLogf(discard), chromedp.WithBrowserErrorf(discard)))
	b.ctx, b.cancel = bctx, func() { cancelBrowser(); cancelAlloc() }
	// The connection is made by the first call, under bctx itself (its
	// life is that call's context): a watchdog bounds it.
	watchdog := time.AfterFunc(cdpTimeout, p.kill)
	_, err = chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{})
	watchdog.Stop()
	if err != nil {
		b.close(ctx)
		r.all.Delete(b)
		return nil, fmt.Errorf("connect to the browser: %w", err)
	}
	return b, nil
}

func discard(string, ...any) {}

// browserConn is one browser process and trawl's connection to it.
type browserConn struct {
	proc   *process
	proxy  string
	ctx    context.Context // chromedp's handle of the connection (see launch)
	cancel func()

	mu       sync.Mutex
	users    int
	retiring bool
	sites    map[string]*siteContext
	idle     map[string][]*tab    // tabs between two pages, by site (see takeTab)
	spares   map[string]*spareTab // the tab opening for a site (see openSpare)
	open     int                  // tabs open, rendering or idle
	opened   int                  // tabs ever opened
	spared   int                  // of them, opened ahead by openSpare
	peakOpen int                  // most tabs open at once
	swept    int                  // tabs closed by closeIfUntaken
	blanks   int                  // times a tab was taken to about:blank after a page
	closed   bool
}

// siteContext is the browser context of one site: its cookies and
// storage are kept apart from every other site's.
type siteContext struct {
	id    cdp.BrowserContextID
	users int
	last  time.Time
}

// maxSites is the most browser contexts a browser keeps; past it, the
// least recently used one without a page is disposed of.
const maxSites = 32

// contextFor returns the browser context of site, creating it.
func (b *browserConn) contextFor(site string) (cdp.BrowserContextID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.sites[site]; ok {
		s.users++
		s.last = time.Now()
		return s.id, nil
	}
	if len(b.sites) >= maxSites {
		b.evictLocked()
	}
	var id cdp.BrowserContextID
	err := call(b.ctx, func(ctx context.Context) error {
		res, err := chromedp.CallBrowser(ctx, target.CreateBrowserContext, target.CreateBrowserContextParams{
			ProxyServer: "http://" + b.proxy, ProxyBypassList: "<-loopback>",
		})
		id = res.BrowserContextID
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create browser context: %w", err)
	}
	b.sites[site] = &siteContext{id: id, users: 1, last: time.Now()}
	return id, nil
}

// leave is the end of a page of site.
func (b *browserConn) leave(site string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.sites[site]; ok {
		s.users--
	}
}

func (b *browserConn) evictLocked() {
	var oldest string
	for site, s := range b.sites {
		if s.users == 0 && (oldest == "" || s.last.Before(b.sites[oldest].last)) {
			oldest = site
		}
	}
	if oldest == "" {
		return
	}
	id := b.sites[oldest].id
	delete(b.sites, oldest)
	idle := b.idle[oldest]
	delete(b.idle, oldest)
	b.open -= len(idle)
	call(b.ctx, func(ctx context.Context) error {
		_, err := chromedp.CallBrowser(ctx, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: id})
		return err
	})
	// Their targets closed with their browser context: this ends
	// trawl's side of them.
	for _, t := range idle {
		t.cancel()
	}
}

// died reports whether the browser is gone: its connection lost or its
// process exited. It gives a dying process a moment to be seen exiting.
func (b *browserConn) died(ctx context.Context) bool {
	c := chromedp.FromContext(b.ctx)
	lost := false
	if c != nil && c.Browser != nil {
		select {
		case <-c.Browser.LostConnection:
			lost = true
		default:
		}
	}
	if !lost && !b.proc.exited.IsSet() {
		return false
	}
	structured.MoveOnAfter(ctx, 2*time.Second, b.proc.exited.Wait)
	return !b.proc.closing.Load()
}

// close kills the browser and ends the connection, shielded and
// bounded. Idempotent.
func (b *browserConn) close(ctx context.Context) {
	b.mu.Lock()
	done := b.closed
	b.closed = true
	b.mu.Unlock()
	if done {
		return
	}
	b.proc.close(ctx)
	if b.cancel != nil {
		structured.Shielded(ctx, closeTimeout, func(context.Context) error {
			b.cancel()
			return nil
		})
	}
}

// siteOf is the origin of u, the key of its browser context.
func siteOf(u string) string {
	pu, err := crawler.ParseURL(u)
	if err != nil {
		return u
	}
	return pu.Scheme + "://" + pu.Host
}

// maxShotHeight bounds a full-page screenshot (CSS pixels): an endless
// page would make an endless image.
const maxShotHeight = 16384

// screenshotDir is where screenshots go (--screenshot).
type screenshotDir struct{ dir string }

// take saves a PNG of the tab as <dir>/<sha256 of url, 16 hex>.png and
// returns its absolute path.
func (s *screenshotDir) take(tab context.Context, u string, full bool) (string, error) {
	var data []byte
	err := call(tab, func(ctx context.Context) error {
		params := page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng, FromSurface: ptr(true)}
		if full {
			m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
			if err != nil {
				return err
			}
			if c := m.CSSContentSize; c != nil && c.Width > 0 && c.Height > 0 {
				params.CaptureBeyondViewport = ptr(true)
				params.Clip = &page.Viewport{Width: c.Width, Height: min(c.Height, maxShotHeight), Scale: 1}
			}
		}
		res, err := chromedp.Call(ctx, page.CaptureScreenshot, params)
		data = res.Data
		return err
	})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(u))
	path, err := filepath.Abs(filepath.Join(s.dir, hex.EncodeToString(sum[:8])+".png"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("save screenshot: %w", err)
	}
	return path, nil
}
