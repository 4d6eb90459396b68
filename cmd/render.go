package cmd

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/render"
)

// RenderOptions are the flags of JavaScript rendering (--render ...).
type RenderOptions struct {
	Render        string
	Chrome        string
	RenderWait    string
	RenderTimeout time.Duration
	RenderTabs    int
	RenderRecycle int
	RenderBlock   string
	Screenshot    string
	FullPage      bool

	renderCfg render.Config // parsed by validateRender
}

// addRenderFlags defines the rendering flags on fs.
func addRenderFlags(fs *pflag.FlagSet, o *RunOptions) {
	fs.StringVar(&o.Render, "render", "never", "render pages in headless Chromium before extraction: never, auto (only pages that look like JavaScript app shells) or always")
	fs.StringVar(&o.Chrome, "chrome", "", "Chromium binary `PATH` for --render (default: $TRAWL_CHROME, else chromium on PATH)")
	fs.StringVar(&o.RenderWait, "render-wait", "idle", "when a rendered page is done: load, domcontentloaded, idle (at most 1 request in flight for 500ms) or selector:CSS")
	durationVar(fs, &o.RenderTimeout, "render-timeout", 20*time.Second, "longest wait for a rendered page; then its document is taken as it is (render_timeout: true)")
	fs.IntVar(&o.RenderTabs, "render-tabs", 4, "pages rendered at once (browser tabs)")
	fs.IntVar(&o.RenderRecycle, "render-recycle", 200, "replace the browser with a fresh one after this many pages")
	fs.StringVar(&o.RenderBlock, "render-block", render.DefaultBlock, "resource types rendered pages may not load: none, or some of image,media,font,stylesheet,script,xhr,fetch")
	fs.StringVar(&o.Screenshot, "screenshot", "", "with --render: save a 1280x800 PNG of each rendered page in `DIR` (record field screenshot)")
	fs.BoolVar(&o.FullPage, "full-page", false, "with --screenshot: capture the whole page, not just the viewport")
}

// validateRender checks the rendering flags; a missing browser is a
// usage error only when rendering is asked for.
func (o *RunOptions) validateRender() error {
	mode, err := render.ParseMode(o.Render)
	if err != nil {
		return usageError("%v", err)
	}
	if mode == render.Never {
		switch {
		case o.Screenshot != "":
			return usageError("--screenshot needs --render auto or always")
		case o.FullPage:
			return usageError("--full-page needs --screenshot and --render auto or always")
		}
		return nil
	}
	wait, err := render.ParseWait(o.RenderWait)
	if err != nil {
		return usageError("%v", err)
	}
	block, err := render.ParseBlock(o.RenderBlock)
	if err != nil {
		return usageError("%v", err)
	}
	switch {
	case o.RenderTimeout <= 0:
		return usageError("--render-timeout must be positive, got %v", o.RenderTimeout)
	case o.RenderTabs < 1:
		return usageError("--render-tabs must be at least 1, got %d", o.RenderTabs)
	case o.RenderRecycle < 1:
		return usageError("--render-recycle must be at least 1, got %d", o.RenderRecycle)
	case o.FullPage && o.Screenshot == "":
		return usageError("--full-page needs --screenshot DIR")
	}
	chrome, err := render.FindChrome(o.Chrome)
	if err != nil {
		return usageError("--render %s: %v", o.Render, err)
	}
	o.renderCfg = render.Config{
		Chrome: chrome, Mode: mode, Wait: wait, Timeout: o.RenderTimeout, Tabs: o.RenderTabs,
		Recycle: o.RenderRecycle, Block: block, ScreenshotDir: o.Screenshot, FullPage: o.FullPage,
	}
	return nil
}

// runRendered runs the pipeline of cfg with a renderer when --render
// asks for one: the browser is killed before it returns, whatever
// happens.
func (r *pipelineRun) runRendered(ctx context.Context, cfg crawler.RunConfig) (crawler.Summary, error) {
	if r.o.renderCfg.Mode == render.Never {
		return crawler.Run(ctx, cfg)
	}
	rc := r.o.renderCfg
	rc.Fetcher = r.fetcher
	var sum crawler.Summary
	err := render.Run(ctx, rc, func(ctx context.Context, rd *render.Renderer) error {
		cfg.Renderer = rd
		var err error
		sum, err = crawler.Run(ctx, cfg)
		return err
	})
	return sum, err
}
