package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/trawl-dev/trawl/warc"
	"os"
	"time"
)

// KindOther is the kind of an error that trawl could not classify; its
// message carries the detail. Like the other kinds it is part of the
// output format.
const KindOther Kind = "other"

// Result is the record trawl writes for one input URL: one JSON object per
// line. The field names are the output format.
//
// Always present, whatever happened: url, status (0 when no response
// came), links and redirects (empty arrays when there are none, so that
// `jq '.links[]'` works on every line), bytes, elapsed_ms and depth. The
// other fields are left out when empty: final_url, content_type,
// remote_addr and proto when no response came; title, description,
// canonical, h1 and lang when the page has none or is not HTML;
// h1_count unless the page has two or more <h1>;
// tls_version over plain HTTP; input for discovered links; referrer
// for inputs and in list mode; host for an input that is not a URL; fields without --select; links_truncated,
// links_dropped and fields_truncated unless a limit cut the page; error when the
// URL succeeded; line except for records of input lines that are not
// URLs; fetched_at for those records too.
type Result struct {
	// URL is the URL as read from the input (normalised when valid). In
	// this and the other URL fields, a password is redacted
	// ("user:***@", see [RedactURL]).
	URL string `json:"url"`
	// Referrer is, in crawl mode, the page the URL was first discovered
	// on (the one whose links queued it); empty for inputs, sitemap
	// pages and list mode.
	Referrer string `json:"referrer,omitempty"`
	// Input is the input entry the URL was read from, as written (a line
	// of a file, trimmed, or an argument; a password redacted), so that
	// results join back to the source table. Empty for discovered links
	// and sitemap pages.
	Input string `json:"input,omitempty"`
	// Host is the host of URL (with its port when not the default), empty
	// for an input that is not a URL.
	Host string `json:"host,omitempty"`
	// FinalURL is the normalised URL of the last response, after
	// redirects.
	FinalURL string `json:"final_url,omitempty"`
	// Status is the HTTP status of the last response, 0 when none came.
	Status int `json:"status"`
	// ContentType is the Content-Type header of the last response.
	ContentType string `json:"content_type,omitempty"`
	// Title is the text of the document's <title>, whitespace collapsed.
	Title string `json:"title,omitempty"`
	// Description is the content of <meta name="description">.
	Description string `json:"description,omitempty"`
	// Canonical is the <link rel="canonical"> URL, resolved and normalised.
	Canonical string `json:"canonical,omitempty"`
	// H1 is the text of the first <h1>, whitespace collapsed.
	H1 string `json:"h1,omitempty"`
	// H1Count is the number of <h1> elements when there are two or more,
	// and 0 (absent) otherwise: whether a page has none or one tells H1,
	// empty or not, so the common case costs the record nothing.
	H1Count int `json:"h1_count,omitempty"`
	// Lang is the lang attribute of <html>.
	Lang string `json:"lang,omitempty"`
	// Links are the page's <a href> and <area href> links to http(s) URLs:
	// absolute, normalised, without duplicates, in document order.
	Links []string `json:"links"`
	// LinksTruncated is true when the page had more links than
	// --max-links, or more bytes of them than its budget ([Limits]):
	// Links holds the first ones, and a crawl follows only those.
	LinksTruncated bool `json:"links_truncated,omitempty"`
	// LinksDropped counts the links left out of Links because they are
	// longer than [MaxURLLength].
	LinksDropped int `json:"links_dropped,omitempty"`
	// Bytes is the size of the body as received, after decompression.
	Bytes int64 `json:"bytes"`
	// ElapsedMS is the time the fetch took, in milliseconds.
	ElapsedMS int64 `json:"elapsed_ms"`
	// FetchedAt is when the fetch started, written as RFC 3339 in UTC with
	// milliseconds ("2026-01-02T15:04:05.000Z").
	FetchedAt Timestamp `json:"fetched_at,omitzero"`
	// Depth is the link depth of the URL: 0 for input URLs.
	Depth int `json:"depth"`
	// Redirects lists the URLs redirected to, in order; the last one is
	// FinalURL.
	Redirects []string `json:"redirects"`
	// RemoteAddr is the address of the server that sent the last response,
	// "ip:port".
	RemoteAddr string `json:"remote_addr,omitempty"`
	// Proto is the protocol of the last response, "HTTP/1.1" or "HTTP/2.0".
	Proto string `json:"proto,omitempty"`
	// TLSVersion is the negotiated TLS version, "TLS 1.3", over HTTPS.
	TLSVersion string `json:"tls_version,omitempty"`
	// Fields holds the values of the --select selectors by name: one
	// value per match, an empty array when nothing matched.
	Fields map[string][]string `json:"fields,omitempty"`
	// FieldsTruncated is true when --select values were left out or cut
	// for the limits on matches and bytes ([Limits]).
	FieldsTruncated bool `json:"fields_truncated,omitempty"`
	// PageData holds content_hash, etag and last_modified, and the
	// opt-in fields (html, headers, jsonld, ...) when asked for.
	PageData
	// PageContent is the page's main content and its metadata
	// ([ContentFields]), set only when asked for ([ContentOptions]); nil
	// otherwise, which keeps the record small and its encoding cheap.
	*PageContent
	// RenderData says whether and how the page was rendered (--render).
	RenderData

	// Warc, with --warc, is where the page's response record (or revisit
	// record) is: the WARC file and the offset and length of its gzip
	// member.
	Warc *warc.Placement `json:"warc,omitempty"`
	// Change, with --since, says how the page compares with the previous
	// run: [ChangeNew], [ChangeChanged], [ChangeUnchanged] or [ChangeGone].
	Change string `json:"change,omitempty"`
	// PreviousFetchedAt, on a record carried forward from the previous
	// run (a 304), is when that run fetched the page.
	PreviousFetchedAt Timestamp `json:"previous_fetched_at,omitzero"`
	// Via, with --since, says how a record was made without a request:
	// [ViaSitemapLastmod] or [ViaNotReached]; empty for a URL fetched.
	Via string `json:"via,omitempty"`
	// Error says what went wrong, when something did.
	Error *ResultError `json:"error,omitempty"`
	// Line is the input line number of a line that is not a valid URL.
	Line int `json:"line,omitempty"`

	// prevWarc, on a record carried forward (a 304), is the previous
	// run's Warc: the capture a revisit record refers to.
	prevWarc *warc.Placement
	// carry, on a record carried forward, holds the previous record's
	// fields as written, which the fields above lack ([carryForward]).
	carry *carriedRecord
}

// MarshalJSON writes r with nil Links and Redirects as empty arrays. It
// leaves <, > and & as they are; a json.Encoder escapes them or not as
// its SetEscapeHTML says.
func (r Result) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.jsonForm()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// resultJSON is Result without its MarshalJSON method: what is encoded.
type resultJSON Result

// jsonForm returns r as it is encoded, nil lists made empty. An encoder
// given it directly skips the round trip through MarshalJSON (a second
// buffer and a compacting pass per record).
func (r Result) jsonForm() resultJSON {
	p := resultJSON(r)
	if p.Links == nil {
		p.Links = []string{}
	}
	if p.Redirects == nil {
		p.Redirects = []string{}
	}
	return p
}

// SetPage copies what [Extract] found in the page into r.
func (r *Result) SetPage(p Page) {
	r.Title = p.Title
	r.Description = p.Description
	r.Canonical = p.Canonical
	r.H1 = p.H1
	r.H1Count = 0
	if p.H1Count >= 2 {
		r.H1Count = p.H1Count
	}
	r.Lang = p.Lang
	r.Links = p.Links
	r.LinksTruncated = p.LinksTruncated
	r.LinksDropped = p.LinksDropped
	r.Fields = p.Fields
	r.FieldsTruncated = p.FieldsTruncated
}

// page returns the page fields of r, the inverse of SetPage.
func (r *Result) page() Page {
	return Page{
		Title: r.Title, Description: r.Description, Canonical: r.Canonical, H1: r.H1, H1Count: r.H1Count, Lang: r.Lang,
		Links: r.Links, LinksTruncated: r.LinksTruncated, LinksDropped: r.LinksDropped,
		Fields: r.Fields, FieldsTruncated: r.FieldsTruncated,
	}
}

// ResultError is the error of a Result: {"kind": ..., "message": ...}.
type ResultError struct {
	// Kind is the stable kind, one of the Kind constants.
	Kind Kind `json:"kind"`
	// Message is the human-readable detail; it is not a stable format.
	Message string `json:"message"`
}

// ErrorFromErr returns the ResultError for err, or nil for a nil err.
//
// The kind is KindOf(err). Errors that carry no kind are classified as
// far as the standard library allows: context cancellation is
// [KindCancelled], a deadline or a net.Error timeout is [KindTimeout], and
// anything else is [KindOther]. When err is an *Error, the message is its
// detail (the record already has the URL and the kind); otherwise it is
// err.Error(). Passwords in URLs are redacted from it (see [RedactURL]).
func ErrorFromErr(err error) *ResultError {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if e, ok := err.(*Error); ok && e.Err != nil {
		msg = e.Err.Error()
	}
	return &ResultError{Kind: classify(err), Message: redactURLsIn(msg)}
}

// classify returns the kind of err, guessing one for unclassified errors.
func classify(err error) Kind {
	if k := KindOf(err); k != "" {
		return k
	}
	var timeout interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.Canceled):
		return KindCancelled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &timeout) && timeout.Timeout():
		return KindTimeout
	}
	return KindOther
}

// Timestamp is a time written in JSON as RFC 3339 in UTC with exactly
// three fractional digits, "2026-01-02T15:04:05.000Z", so that records
// sort as text.
type Timestamp struct{ time.Time }

// timestampLayout is RFC 3339 with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes t in UTC with milliseconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timestampLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timestampLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads any RFC 3339 time, so that records written by trawl
// can be read back (by --resume, for one).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	return t.Time.UnmarshalJSON(b)
}
