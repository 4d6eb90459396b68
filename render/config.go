package render

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/trawl-dev/trawl/crawler"
)

// Mode says which pages are rendered (--render).
type Mode int

// The modes of --render.
const (
	// Never renders nothing: the default.
	Never Mode = iota
	// Auto renders the HTML pages that look like application shells
	// ([ShellReason]).
	Auto
	// Always renders every HTML page.
	Always
)

// ErrBadFlag is matched by the errors of the Parse functions.
var ErrBadFlag = errors.New("bad render option")

// ParseMode parses never, auto or always.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "never", "":
		return Never, nil
	case "auto":
		return Auto, nil
	case "always":
		return Always, nil
	}
	return Never, fmt.Errorf("%w: --render %q: want never, auto or always", ErrBadFlag, s)
}

// WaitKind is what the renderer waits for before it takes the document.
type WaitKind int

// The kinds of --render-wait.
const (
	// WaitIdle waits for DOMContentLoaded and then for at most one
	// request in flight (WebSockets and EventSource not counted) during
	// 500 ms.
	WaitIdle WaitKind = iota
	// WaitLoad waits for the load event.
	WaitLoad
	// WaitDOMContentLoaded waits for DOMContentLoaded.
	WaitDOMContentLoaded
	// WaitSelector waits for an element matching Selector.
	WaitSelector
)

// Wait is a parsed --render-wait.
type Wait struct {
	Kind     WaitKind
	Selector string // for WaitSelector
}

// ParseWait parses load, domcontentloaded, idle or selector:CSS.
func ParseWait(s string) (Wait, error) {
	switch s {
	case "idle", "":
		return Wait{Kind: WaitIdle}, nil
	case "load":
		return Wait{Kind: WaitLoad}, nil
	case "domcontentloaded":
		return Wait{Kind: WaitDOMContentLoaded}, nil
	}
	if sel, ok := strings.CutPrefix(s, "selector:"); ok {
		if strings.TrimSpace(sel) == "" {
			return Wait{}, fmt.Errorf("%w: --render-wait %q: the selector is empty", ErrBadFlag, s)
		}
		if _, err := crawler.ParseSelector("x=" + sel); err != nil {
			return Wait{}, fmt.Errorf("%w: --render-wait %q: %v", ErrBadFlag, s, err)
		}
		return Wait{Kind: WaitSelector, Selector: sel}, nil
	}
	return Wait{}, fmt.Errorf("%w: --render-wait %q: want load, domcontentloaded, idle or selector:CSS", ErrBadFlag, s)
}

// blockTypes are the resource types --render-block may name.
var blockTypes = map[string]network.ResourceType{
	"image": network.ResourceTypeImage, "media": network.ResourceTypeMedia, "font": network.ResourceTypeFont,
	"stylesheet": network.ResourceTypeStylesheet, "script": network.ResourceTypeScript,
	"xhr": network.ResourceTypeXHR, "fetch": network.ResourceTypeFetch,
}

// DefaultBlock is the default of --render-block.
const DefaultBlock = "image,media,font"

// ParseBlock parses a comma-separated list of resource types to block
// (image, media, font, stylesheet, script, xhr, fetch), or "none".
func ParseBlock(s string) ([]string, error) {
	if s == "none" || s == "" {
		return nil, nil
	}
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if _, ok := blockTypes[t]; !ok {
			return nil, fmt.Errorf("%w: --render-block %q: unknown type %q: want none or some of image,media,font,stylesheet,script,xhr,fetch", ErrBadFlag, s, t)
		}
		out = append(out, t)
	}
	return out, nil
}

// Config is how a Renderer renders. Zero values are documented field by
// field.
type Config struct {
	// Chrome is the browser binary; empty means [FindChrome]'s search.
	Chrome string
	// Mode picks the pages to render.
	Mode Mode
	// Wait is what to wait for before taking the document.
	Wait Wait
	// Timeout caps the wait: when it passes, the document is taken as it
	// is and the record says render_timeout. Zero means 20s.
	Timeout time.Duration
	// Tabs is the most pages rendered at once. Zero means 4.
	Tabs int
	// Recycle is the number of pages after which the browser is replaced
	// by a fresh one. Zero means 200.
	Recycle int
	// Block are the resource types the browser is not allowed to load
	// (see [ParseBlock]).
	Block []string
	// ScreenshotDir, when set, gets a PNG screenshot of every rendered
	// page (1280×800, or the whole page with FullPage).
	ScreenshotDir string
	// FullPage makes screenshots of the whole page.
	FullPage bool
	// Fetcher makes every request of the rendered pages (the proxy).
	// Required.
	Fetcher *crawler.Fetcher

	shots *screenshotDir // ScreenshotDir, when set
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	if c.Tabs <= 0 {
		c.Tabs = 4
	}
	if c.Recycle <= 0 {
		c.Recycle = 200
	}
	if c.ScreenshotDir != "" {
		c.shots = &screenshotDir{dir: c.ScreenshotDir}
	}
	return c
}
