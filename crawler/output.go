package crawler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trawl-dev/trawl/store"
)

// OutputFields are the names of a Result's fields as they appear in the
// output, in output order. --fields picks among them and the names of the
// --select selectors. For CSV, "error" becomes two columns, error_kind and
// error_message, and a selector's values become one column named after it.
var OutputFields = []string{
	"url", "input", "host", "final_url", "status", "content_type", "title", "description",
	"canonical", "h1", "h1_count", "lang", "links", "links_truncated", "links_dropped",
	"bytes", "elapsed_ms", "fetched_at", "depth", "redirects", "remote_addr",
	"proto", "tls_version", "fields", "fields_truncated",
	"content_hash", "etag", "last_modified", "stored_path",
	"html", "headers", "jsonld", "jsonld_errors", "opengraph", "meta", "images", "robots_meta", "data_truncated",
	"markdown", "text", "extract", "byline", "published_time", "site_name", "word_count",
	"warc", "change", "previous_fetched_at", "via",
	"rendered", "render_ms", "render_reason", "render_timeout", "screenshot",
	"error", "line",
}

// DefaultCSVFields are the CSV columns without --fields: everything but
// the link lists, which make rows unwieldy. Selector columns follow them.
var DefaultCSVFields = []string{
	"url", "input", "host", "final_url", "status", "content_type", "title", "description",
	"canonical", "h1", "lang", "bytes", "elapsed_ms", "fetched_at", "depth",
	"remote_addr", "proto", "error_kind", "error_message", "line",
	"content_hash", "etag", "last_modified",
}

// CSVSeparator joins the values of an array field (links, redirects, a
// selector's matches) in one CSV cell: [store.ListSeparator].
const CSVSeparator = store.ListSeparator

// CheckFields validates names given to --fields: each must be an output
// field, a CSV error column, or the name of a selector. An empty list
// that is not nil (--fields ”) picks nothing and is an error too.
func CheckFields(names []string, selectors []Selector) error {
	if names != nil && len(names) == 0 {
		return fmt.Errorf("no field named: want one or more of %s, or a --select name", strings.Join(OutputFields, ","))
	}
	for _, n := range names {
		if slices.Contains(OutputFields, n) || n == "error_kind" || n == "error_message" {
			continue
		}
		if slices.ContainsFunc(selectors, func(s Selector) bool { return s.Name == n }) {
			continue
		}
		return fmt.Errorf("unknown field %q: want one of %s, or a --select name", n, strings.Join(OutputFields, ","))
	}
	return nil
}

// isBuiltinField reports whether name is an output field or a CSV error
// column.
func isBuiltinField(name string) bool {
	return slices.Contains(OutputFields, name) || name == "error_kind" || name == "error_message"
}

// CheckSelectorNames refuses a selector whose name is that of a built-in
// field: its CSV column would clash with the built-in one, and --fields
// could not tell them apart.
func CheckSelectorNames(selectors []Selector) error {
	for _, s := range selectors {
		if isBuiltinField(s.Name) {
			return fmt.Errorf("name %q is a built-in field: pick another name (built-in fields: %s)", s.Name, strings.Join(OutputFields, ","))
		}
	}
	return nil
}

// A LineSink takes whole encoded JSON records ([store.JSONLSink]).
type LineSink interface {
	Write(ctx context.Context, record []byte) error
	Flush(ctx context.Context) error
}

// A RowSink takes CSV rows ([store.CSVSink]).
type RowSink interface {
	Write(ctx context.Context, row []string) error
	Flush(ctx context.Context) error
}

// JSONOutput writes results as JSON objects, one a line.
type JSONOutput struct {
	sink   LineSink
	fields []string // nil: every field
	buf    bytes.Buffer
	splice []byte // a record carried forward, spliced (spliceRecord)
}

// NewJSONOutput returns a [ResultWriter] that writes each result as one
// JSON object to sink, with only fields when given (in that order). Every
// text is written as [CleanText] returns it.
func NewJSONOutput(sink LineSink, fields []string) *JSONOutput {
	return &JSONOutput{sink: sink, fields: fields}
}

// Write implements [ResultWriter]. A record that the sink refuses as
// larger than [store.MaxRecordBytes] is replaced by a smaller one: see
// [TooLargeRecord].
func (o *JSONOutput) Write(ctx context.Context, r *Result) error {
	return writeBounded(ctx, r, func(ctx context.Context, r *Result) error {
		rec, err := o.encode(r)
		if err != nil {
			return fmt.Errorf("encode result for %s: %w", r.URL, err)
		}
		return o.sink.Write(ctx, rec)
	})
}

// writeBounded writes r with write; when the sink refuses its record as
// too large, it turns r into its [TooLargeRecord] and writes that, so
// that the URL still has exactly one record, and the counters of the run
// see an error.
func writeBounded(ctx context.Context, r *Result, write func(context.Context, *Result) error) error {
	err := write(ctx, r)
	if !errors.Is(err, store.ErrRecordTooLarge) {
		return err
	}
	if err := r.materialize(); err != nil {
		return err
	}
	*r = *TooLargeRecord(r, err)
	return write(ctx, r)
}

// TooLargeRecord returns the record written in place of r when r's record
// is larger than [store.MaxRecordBytes] (err says by how much): what
// identifies the fetch (url, final_url, status, content_type, bytes,
// elapsed_ms, fetched_at, depth, line and the connection) and an error of
// kind [KindTooLarge] naming the limit; the page's content (title,
// links, custom fields, ...) is left out.
func TooLargeRecord(r *Result, err error) *Result {
	return &Result{
		URL: r.URL, Input: r.Input, Referrer: r.Referrer, Host: r.Host, FinalURL: r.FinalURL, Status: r.Status, ContentType: r.ContentType,
		Bytes: r.Bytes, ElapsedMS: r.ElapsedMS, FetchedAt: r.FetchedAt, Depth: r.Depth,
		RemoteAddr: r.RemoteAddr, Proto: r.Proto, TLSVersion: r.TLSVersion, Line: r.Line, Warc: r.Warc,
		PageData: PageData{ContentHash: r.ContentHash, ETag: r.ETag, LastModified: r.LastModified, StoredPath: r.StoredPath},
		Error: &ResultError{Kind: KindTooLarge, Message: fmt.Sprintf(
			"record not written: larger than the limit of %d bytes (%d MiB) a record (%v); the page's content is left out",
			store.MaxRecordBytes, store.MaxRecordBytes>>20, err)},
	}
}

// Flush implements [ResultWriter].
func (o *JSONOutput) Flush(ctx context.Context) error { return o.sink.Flush(ctx) }

func (o *JSONOutput) encode(r *Result) ([]byte, error) {
	if r.carry != nil {
		// Its own members only: the carried ones are spliced in.
		own := *r
		own.SetPage(Page{})
		own.PageData = PageData{ETag: r.ETag, LastModified: r.LastModified, Headers: r.Headers}
		own.PageContent = nil
		r = &own
	}
	c := r.cleaned()
	r = &c
	o.buf.Reset()
	enc := json.NewEncoder(&o.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.jsonForm()); err != nil {
		return nil, err
	}
	full := bytes.TrimRight(o.buf.Bytes(), "\n")
	if r.carry != nil {
		var err error
		if o.splice, err = spliceRecord(layout(), o.splice[:0], full, r.carry); err != nil {
			return nil, err
		}
		full = o.splice
	}
	if o.fields == nil {
		return full, nil
	}
	return project(full, o.fields)
}

// project returns the record full with only the given fields, in that
// order, each as the full record has it: a field the full record leaves
// out (see [Result]) is left out here too, so that a record has one shape
// with and without --fields. The values of selectors named in fields go
// into "fields", as in the full record, at the place of the first one;
// error_kind and error_message pick "error".
func project(full []byte, fields []string) ([]byte, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(full, &all); err != nil {
		return nil, err
	}
	var sel map[string]json.RawMessage
	if raw, ok := all["fields"]; ok {
		if err := json.Unmarshal(raw, &sel); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(fields))
	var picked []string // selector names, in --fields order
	for _, name := range fields {
		switch {
		case name == "error_kind" || name == "error_message":
			name = "error"
		case !isBuiltinField(name):
			picked = append(picked, name)
			name = "fields"
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	out := []byte{'{'}
	for _, name := range names {
		v, ok := all[name]
		if name == "fields" && !slices.Contains(fields, "fields") {
			v, ok = pickFields(sel, picked)
		}
		if !ok {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, name)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// pickFields returns the "fields" object with only the selectors named,
// in that order; false when the record has none of them.
func pickFields(sel map[string]json.RawMessage, names []string) (json.RawMessage, bool) {
	out := []byte{'{'}
	for _, name := range names {
		v, ok := sel[name]
		if !ok {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, name)
		out = append(out, ':')
		out = append(out, v...)
	}
	if len(out) == 1 {
		return nil, false
	}
	return append(out, '}'), true
}

// CSVOutput writes results as CSV rows.
type CSVOutput struct {
	sink    RowSink
	columns []string
}

// CSVColumns returns the columns of a CSV output: fields when given, or
// [DefaultCSVFields] followed by the selector names. An "error" field
// becomes error_kind and error_message.
func CSVColumns(fields []string, selectors []Selector) []string {
	if fields == nil {
		fields = slices.Clone(DefaultCSVFields)
		for _, s := range selectors {
			fields = append(fields, s.Name)
		}
	}
	var cols []string
	for _, f := range fields {
		if f == "error" {
			cols = append(cols, "error_kind", "error_message")
			continue
		}
		cols = append(cols, f)
	}
	return cols
}

// NewCSVOutput returns a [ResultWriter] that writes each result as one row
// of columns (see [CSVColumns]) to sink; the sink writes the header. Every
// text is written as [CleanText] returns it.
func NewCSVOutput(sink RowSink, columns []string) *CSVOutput {
	return &CSVOutput{sink: sink, columns: columns}
}

// Write implements [ResultWriter]. A row that the sink refuses as larger
// than [store.MaxRecordBytes] is replaced by a smaller one: see
// [TooLargeRecord].
func (o *CSVOutput) Write(ctx context.Context, r *Result) error {
	return writeBounded(ctx, r, func(ctx context.Context, r *Result) error {
		row := make([]string, len(o.columns))
		for i, c := range o.columns {
			row[i] = csvValue(r, c)
		}
		return o.sink.Write(ctx, row)
	})
}

// Flush implements [ResultWriter].
func (o *CSVOutput) Flush(ctx context.Context) error { return o.sink.Flush(ctx) }

// csvValue is the text of column c for r, cleaned by [CleanText].
func csvValue(r *Result, c string) string {
	if c == "fields" {
		b, _ := json.Marshal(cleanFields(r.Fields))
		return string(b)
	}
	return CleanText(csvText(r, c))
}

// csvText is the text of column c for r as it is.
func csvText(r *Result, c string) string {
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	switch c {
	case "url":
		return r.URL
	case "input":
		return r.Input
	case "host":
		return r.Host
	case "final_url":
		return r.FinalURL
	case "status":
		return itoa(int64(r.Status))
	case "content_type":
		return r.ContentType
	case "title":
		return r.Title
	case "description":
		return r.Description
	case "canonical":
		return r.Canonical
	case "h1":
		return r.H1
	case "h1_count":
		if r.H1Count < 2 {
			return "" // as in JSON, where it is absent
		}
		return itoa(int64(r.H1Count))
	case "lang":
		return r.Lang
	case "links":
		return strings.Join(r.Links, CSVSeparator)
	case "links_truncated":
		return strconv.FormatBool(r.LinksTruncated)
	case "links_dropped":
		return itoa(int64(r.LinksDropped))
	case "fields_truncated":
		return strconv.FormatBool(r.FieldsTruncated)
	case "bytes":
		return itoa(r.Bytes)
	case "elapsed_ms":
		return itoa(r.ElapsedMS)
	case "fetched_at":
		return timestampText(r.FetchedAt)
	case "change":
		return r.Change
	case "rendered":
		if r.Rendered == nil {
			return ""
		}
		return strconv.FormatBool(*r.Rendered)
	case "render_ms":
		if r.Rendered == nil {
			return ""
		}
		return itoa(r.RenderMS)
	case "render_reason":
		return r.RenderReason
	case "render_timeout":
		return strconv.FormatBool(r.RenderTimeout)
	case "screenshot":
		return r.Screenshot
	case "previous_fetched_at":
		return timestampText(r.PreviousFetchedAt)
	case "via":
		return r.Via
	case "depth":
		return itoa(int64(r.Depth))
	case "redirects":
		return strings.Join(r.Redirects, CSVSeparator)
	case "remote_addr":
		return r.RemoteAddr
	case "proto":
		return r.Proto
	case "tls_version":
		return r.TLSVersion
	case "error_kind":
		if r.Error != nil {
			return string(r.Error.Kind)
		}
		return ""
	case "error_message":
		if r.Error != nil {
			return r.Error.Message
		}
		return ""
	case "line":
		if r.Line == 0 {
			return ""
		}
		return itoa(int64(r.Line))
	case "fields":
		b, _ := json.Marshal(r.Fields)
		return string(b)
	case "markdown", "text", "extract", "byline", "published_time", "site_name", "word_count":
		return contentText(r.PageContent, c)
	case "warc":
		if r.Warc == nil {
			return ""
		}
		b, _ := json.Marshal(r.Warc)
		return string(b)
	}
	if v, ok := pageDataText(r, c); ok {
		return v
	}
	return strings.Join(r.Fields[c], CSVSeparator)
}

// timestampText is the CSV cell of t: empty for the zero time.
func timestampText(t Timestamp) string {
	if t.IsZero() {
		return ""
	}
	b, _ := t.MarshalJSON()
	return strings.Trim(string(b), `"`)
}

// contentText is the text of the main-content column c ([ContentFields]).
func contentText(p *PageContent, c string) string {
	if p == nil {
		return ""
	}
	switch c {
	case "markdown":
		return p.Markdown
	case "text":
		return p.Text
	case "extract":
		if p.Extract == nil {
			return ""
		}
		b, _ := json.Marshal(p.Extract)
		return string(b)
	case "byline":
		return p.Byline
	case "published_time":
		return p.PublishedTime
	case "site_name":
		return p.SiteName
	case "word_count":
		if p.WordCount == 0 {
			return ""
		}
		return strconv.Itoa(p.WordCount)
	}
	return ""
}
