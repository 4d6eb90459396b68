package crawler

import (
	"bytes"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// NewResult builds the record of req from what [Fetcher.Fetch] returned:
// the response when one came (also with an error of kind http or a
// redirect error), and the error. fetchedAt is when the fetch started.
// Page fields are filled by extraction afterwards.
func NewResult(req Request, resp *Response, err error, fetchedAt time.Time) *Result {
	res := &Result{
		URL:       RedactURL(req.URL),
		Input:     RedactURL(req.Input),
		Referrer:  referrerOf(req),
		Host:      recordHost(req.URL),
		Depth:     req.Depth,
		FetchedAt: Timestamp{fetchedAt},
		Error:     ErrorFromErr(err),
	}
	if resp == nil {
		return res
	}
	res.FinalURL = RedactURL(resp.FinalURL)
	res.Status = resp.Status
	res.ContentType = resp.ContentType()
	res.Bytes = int64(len(resp.Body))
	res.ElapsedMS = resp.Elapsed.Milliseconds()
	res.Redirects = redactAll(resp.Redirects)
	res.RemoteAddr = resp.RemoteAddr
	res.Proto = resp.Proto
	res.TLSVersion = resp.TLSVersion
	setResponseData(res, resp, err == nil || KindOf(err) == KindHTTP)
	return res
}

// referrerOf returns the page that discovered req: its Source when req
// is a discovered link (depth > 0), "" otherwise. Only a URL is taken:
// an older journal or frontier may hold something else there.
func referrerOf(req Request) string {
	if req.Depth == 0 || !strings.HasPrefix(req.Source, "http") {
		return ""
	}
	return RedactURL(req.Source)
}

// recordHost returns the host (and port) of the normalised URL u, without
// its user name and password.
func recordHost(u string) string {
	h := hostOf(u)
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:]
	}
	return h
}

// redactAll returns urls with their passwords redacted; urls itself when
// none has one.
func redactAll(urls []string) []string {
	for i, u := range urls {
		if r := RedactURL(u); r != u {
			out := append([]string(nil), urls...)
			out[i] = r
			for j := i + 1; j < len(out); j++ {
				out[j] = RedactURL(out[j])
			}
			return out
		}
	}
	return urls
}

// extractInto decodes and parses the body of resp when it is HTML, copies
// the page's fields into res, and returns the page's links. A body that is
// not HTML is recorded (status, content type, bytes) but not parsed. A
// decoding failure sets res.Error unless it already has one. What is kept
// of the page is bounded by lim. The opt-in fields are computed as extras
// says.
func extractInto(res *Result, resp *Response, selectors []Selector, lim Limits, extras Extras) []string {
	setHeaderData(res, resp, lim, extras)
	body := DecodeBytes(resp.Body, resp.ContentType())
	if !body.HTML {
		return nil
	}
	var page Page
	var err error
	var tree *goquery.Document
	switch {
	case extras.tree():
		// One tree for the selectors, the standard fields and the
		// structured data.
		page, tree, err = extractTreeDoc(body.Reader, finalURL(resp), selectors, lim)
	case len(selectors) == 0 && !mayHaveForeignContent(resp.Body):
		page, err = extractTokens(body, finalURL(resp), lim) // no copy kept for a fallback
	default:
		page, err = ExtractWithLimits(body.Reader, finalURL(resp), selectors, lim) // a bytes.Reader for UTF-8: seekable
	}
	if err != nil {
		if res.Error == nil {
			res.Error = ErrorFromErr(err)
		}
		return nil
	}
	res.SetPage(page)
	// Relative links of a page fetched with a password carry it: the
	// record shows them redacted, the crawl follows them as they are.
	res.Links, res.Canonical = redactAll(res.Links), RedactURL(res.Canonical)
	setPageData(res, resp, lim, extras, tree)
	return page.Links
}

func finalURL(resp *Response) *url.URL {
	u, err := ParseURL(resp.FinalURL)
	if err != nil {
		u, _ = ParseURL(resp.URL)
	}
	return u
}

// mayHaveForeignContent reports whether body may hold an <svg> or <math>
// element, at which the token pass would have to give way to the tree
// walk: any "<svg" or "<math", in any case. Bodies in encodings where
// ASCII is not ASCII (UTF-16) always may.
func mayHaveForeignContent(body []byte) bool {
	if len(body) >= 2 && (body[0] == 0xfe || body[0] == 0xff || body[0] == 0 || body[1] == 0) {
		return true
	}
	for i := bytes.IndexByte(body, '<'); i >= 0; {
		rest := body[i+1:]
		if len(rest) >= 3 && (hasPrefixFold(rest, "svg") || hasPrefixFold(rest, "math")) {
			return true
		}
		j := bytes.IndexByte(rest, '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
