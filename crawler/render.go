package crawler

import (
	"context"
	"net/http"
	"time"
)

// A PageRenderer renders fetched pages in a browser (--render). The
// pipeline asks Decide about every page fetched without error and calls
// Render for those it says yes to; extraction then runs on the rendered
// document instead of the bytes fetched.
type PageRenderer interface {
	// Decide reports whether resp is to be rendered, and why (or why
	// not): the record's render_reason.
	Decide(resp *Response) (render bool, reason string)
	// Render loads resp in the browser, its body answering the
	// navigation to resp.FinalURL, and returns the document as the
	// page's scripts left it. An error is an *Error of kind render, or of
	// kind cancelled when ctx ended.
	Render(ctx context.Context, resp *Response) (*Rendered, error)
}

// Rendered is what a PageRenderer made of a page.
type Rendered struct {
	// HTML is the serialised document, UTF-8.
	HTML []byte
	// Elapsed is the time the rendering took, waiting for a tab included.
	Elapsed time.Duration
	// TimedOut is true when the wait for the page to settle was cut off
	// by the render timeout: HTML is the document as it was then.
	TimedOut bool
	// Screenshot is the path of the page's PNG screenshot, if one was
	// taken.
	Screenshot string
}

// RenderData are the record's fields about rendering, left out of the
// record when the run does not render (--render never).
type RenderData struct {
	// Rendered says whether the page was rendered in a browser; nil when
	// the run does not render.
	Rendered *bool `json:"rendered,omitempty"`
	// RenderMS is how long the rendering took, in milliseconds.
	RenderMS int64 `json:"render_ms,omitempty"`
	// RenderReason is why the page was rendered or not: "always", the
	// app-shell signal that --render auto found, or "no_shell_signal".
	RenderReason string `json:"render_reason,omitempty"`
	// RenderTimeout is true when --render-timeout cut the wait short and
	// the document was taken as it was.
	RenderTimeout bool `json:"render_timeout,omitempty"`
	// Screenshot is the path of the page's screenshot (--screenshot).
	Screenshot string `json:"screenshot,omitempty"`
}

// renderInto renders resp when the renderer says so, fills res's render
// fields, and returns the response to extract from: one whose body is
// the rendered document, or resp itself. A failure to render sets
// res.Error (kind render) and leaves resp to be extracted as fetched.
func renderInto(ctx context.Context, r PageRenderer, res *Result, resp *Response) *Response {
	render, reason := r.Decide(resp)
	rendered := false
	res.Rendered, res.RenderReason = &rendered, reason
	if !render {
		return resp
	}
	out, err := r.Render(ctx, resp)
	if err != nil {
		if res.Error == nil {
			res.Error = ErrorFromErr(err)
		}
		return resp
	}
	rendered = true
	res.RenderMS = out.Elapsed.Milliseconds()
	res.RenderTimeout = out.TimedOut
	res.Screenshot = out.Screenshot
	h := resp.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	cp := *resp
	cp.Header, cp.Body = h, out.HTML
	return &cp
}
