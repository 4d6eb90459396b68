package crawler

import (
	"fmt"
	"io"
	"net/url"

	"github.com/trawl-dev/trawl/content"
)

// ContentFields are the output fields of the main content, computed only
// when one of them is asked for ([ContentOptions.Enabled]).
var ContentFields = []string{"markdown", "text", "extract", "byline", "published_time", "site_name", "word_count"}

// ContentOptions say whether and how the main content of pages is
// extracted into the record (see package content).
type ContentOptions struct {
	// Enabled extracts the main content: a second parse of the page into
	// a tree, which the default fields do without.
	Enabled bool
	// ContentSelector, when set, is a CSS selector whose matches are the
	// main content (--content-selector).
	ContentSelector string
	// ExcludeSelector, when set, is a CSS selector whose matches are
	// removed first (--exclude-selector).
	ExcludeSelector string
	// InlineLinks writes the Markdown's links inline instead of as
	// reference links (--markdown-links inline).
	InlineLinks bool
}

// PageContent is the main content of a page in a record: its fields are
// the record's ([ContentFields]).
type PageContent struct {
	// Markdown is the main content as GitHub-flavoured Markdown.
	Markdown string `json:"markdown,omitempty"`
	// Text is the main content as plain text.
	Text string `json:"text,omitempty"`
	// Extract says how the main content was chosen.
	Extract *ExtractInfo `json:"extract,omitempty"`
	// Byline is the author named by the page.
	Byline string `json:"byline,omitempty"`
	// PublishedTime is when the page says it was published, RFC 3339.
	PublishedTime string `json:"published_time,omitempty"`
	// SiteName is the name of the site, from its metadata.
	SiteName string `json:"site_name,omitempty"`
	// WordCount is the number of words of Text.
	WordCount int `json:"word_count,omitempty"`
}

// ExtractInfo is the "extract" field of a record: how the main content
// was chosen.
type ExtractInfo struct {
	// Method is "readability", "page" (readability kept too little of the
	// page, the cleaned page was taken) or "selector".
	Method string `json:"method"`
	// Coverage is the share of the page's visible text in the main
	// content, from 0 to 1.
	Coverage float64 `json:"coverage"`
}

// CheckContentSelector validates a selector given to --content-selector
// or --exclude-selector.
func CheckContentSelector(sel string) error { return content.CheckSelector(sel) }

// ExtractContent finds the main content of the HTML document r (UTF-8)
// fetched from base.
func ExtractContent(r io.Reader, base *url.URL, opts ContentOptions) (content.Result, error) {
	doc, _, err := parseTree(r)
	if err != nil {
		if KindOf(err) != "" {
			return content.Result{}, err
		}
		return content.Result{}, newError(KindDecode, urlString(base), fmt.Errorf("parse html: %w", err))
	}
	if doc == nil { // nested too deeply even once cut: no tree to look at
		return content.Result{Method: content.MethodPage}, nil
	}
	return content.Extract(doc, base, content.Options{ContentSelector: opts.ContentSelector, ExcludeSelector: opts.ExcludeSelector, InlineLinks: opts.InlineLinks})
}

// extractContentInto sets the main-content fields of res from the body
// of resp, when it is HTML.
func extractContentInto(res *Result, resp *Response, opts ContentOptions) {
	if !opts.Enabled {
		return
	}
	body := DecodeBytes(resp.Body, resp.ContentType())
	if !body.HTML {
		return
	}
	c, err := ExtractContent(body.Reader, finalURL(resp), opts)
	if err != nil {
		if res.Error == nil {
			res.Error = ErrorFromErr(err)
		}
		return
	}
	res.PageContent = newPageContent(c)
}

// newPageContent returns the record fields of c, their text cleaned by
// [CleanText] as every text of a record is (control characters would
// also grow six times in JSON: "\u0001").
func newPageContent(c content.Result) *PageContent {
	return &PageContent{
		Markdown: CleanText(c.Markdown), Text: CleanText(c.Text),
		Extract: &ExtractInfo{Method: c.Method, Coverage: c.Coverage},
		Byline:  CleanText(c.Byline), PublishedTime: CleanText(c.PublishedTime), SiteName: CleanText(c.SiteName),
		WordCount: c.WordCount,
	}
}
