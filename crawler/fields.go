package crawler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// OptInFields are the output fields computed only when --fields names
// them (see [Extras]): they cost a parse of the page into a tree, or make
// records much larger. They are in [OutputFields] too.
var OptInFields = []string{
	"html", "headers", "jsonld", "jsonld_errors", "opengraph", "meta", "images", "robots_meta",
	"data_truncated",
}

// Extras says which opt-in parts of a record a run computes. The zero
// value computes none: the default fields cost what they always did.
type Extras struct {
	// HTML keeps the decoded HTML of the whole page (field html).
	HTML bool
	// Headers keeps the last response's headers (field headers).
	Headers bool
	// JSONLD parses the page's JSON-LD blocks (jsonld, jsonld_errors).
	JSONLD bool
	// OpenGraph collects og:*, article:* and twitter:* properties.
	OpenGraph bool
	// Meta collects every <meta name|property|http-equiv>.
	Meta bool
	// Images collects the page's image URLs.
	Images bool
	// RobotsMeta collects <meta name=robots> and X-Robots-Tag directives.
	RobotsMeta bool
}

// tree reports whether e needs the page parsed into a tree.
func (e Extras) tree() bool {
	return e.JSONLD || e.OpenGraph || e.Meta || e.Images || e.RobotsMeta
}

// PageData are the fields of a record beyond the standard ones: the
// fingerprint of the response, always there when the response has it,
// and the opt-in fields, there only when [Extras] asked for them and the
// page has them. Result embeds it, so they are fields of the record.
type PageData struct {
	// ContentHash is the SHA-256 of the body as received, after
	// decompression, in hex; empty when the body did not come whole.
	ContentHash string `json:"content_hash,omitempty"`
	// ETag is the ETag header of the last response.
	ETag string `json:"etag,omitempty"`
	// LastModified is the Last-Modified header of the last response.
	LastModified string `json:"last_modified,omitempty"`
	// StoredPath is the absolute path of the file the body was saved to
	// with --store ([BodyStore]).
	StoredPath string `json:"stored_path,omitempty"`
	// HTML is the page decoded to UTF-8.
	HTML string `json:"html,omitempty"`
	// Headers are the last response's headers by lower-case name: a
	// string, or an array of strings when the header is repeated.
	Headers map[string]any `json:"headers,omitempty"`
	// JSONLD holds every <script type="application/ld+json"> block
	// parsed, the items of a block that is an array each on its own.
	JSONLD []any `json:"jsonld,omitempty"`
	// JSONLDErrors lists the blocks that are not valid JSON.
	JSONLDErrors []JSONLDError `json:"jsonld_errors,omitempty"`
	// OpenGraph holds the og:*, article:* and twitter:* properties by
	// name: a string, or an array when repeated.
	OpenGraph map[string]any `json:"opengraph,omitempty"`
	// Meta holds the content of every <meta> with a name, property or
	// http-equiv, by that key: a string, or an array when repeated.
	Meta map[string]any `json:"meta,omitempty"`
	// Images are the absolute URLs of the page's images, in document
	// order, without duplicates.
	Images []string `json:"images,omitempty"`
	// RobotsMeta holds the robots directives of the page and response.
	RobotsMeta *RobotsMeta `json:"robots_meta,omitempty"`
	// DataTruncated is true when some of the opt-in values were left
	// out for the page's budget ([Limits]).
	DataTruncated bool `json:"data_truncated,omitempty"`
}

// JSONLDError is a JSON-LD block that could not be parsed.
type JSONLDError struct {
	// Index is the position of the block among the page's JSON-LD
	// blocks, from 0.
	Index int `json:"index"`
	// Error is the parse error.
	Error string `json:"error"`
	// Bytes is the size of the block.
	Bytes int `json:"bytes"`
}

// RobotsMeta are robots directives, lower-cased, in order, without
// duplicates.
type RobotsMeta struct {
	// Meta are the directives of <meta name="robots">.
	Meta []string `json:"meta,omitempty"`
	// Header are the directives of the X-Robots-Tag headers; those for
	// one crawler keep its name ("googlebot: noindex").
	Header []string `json:"header,omitempty"`
}

// setResponseData sets the always-on fields of res from resp: body is
// whole when the fetch did not fail for the body's sake.
func setResponseData(res *Result, resp *Response, whole bool) {
	if whole {
		sum := sha256.Sum256(resp.Body)
		res.ContentHash = hex.EncodeToString(sum[:])
	}
	res.ETag = CleanText(resp.Header.Get("ETag"))
	res.LastModified = CleanText(resp.Header.Get("Last-Modified"))
}

// headerData returns h by lower-case name, within budget: a string per
// name, or an array when repeated.
func headerData(h http.Header, budget *fieldBudget) map[string]any {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]any, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		vs := h[name]
		key := strings.ToLower(name)
		cost := len(key)
		for _, v := range vs {
			cost += len(v)
		}
		if !budget.charge(cost) {
			break
		}
		if len(vs) == 1 {
			out[key] = CleanText(vs[0])
			continue
		}
		out[key] = cleanStrings(vs)
	}
	return out
}

// charge takes n bytes from the budget; when they are not left, it marks
// the budget truncated and returns false.
func (b *fieldBudget) charge(n int) bool {
	if n > b.left {
		b.truncated = true
		return false
	}
	b.left -= n
	return true
}

// pageDataText is the CSV cell of the PageData column c of r, and
// whether c is one: text as it is, images joined like links, and the
// objects and arrays (headers, jsonld, ...) as JSON text; an empty
// value is an empty cell.
func pageDataText(r *Result, c string) (string, bool) {
	var v any
	switch c {
	case "content_hash":
		return r.ContentHash, true
	case "etag":
		return r.ETag, true
	case "last_modified":
		return r.LastModified, true
	case "stored_path":
		return r.StoredPath, true
	case "html":
		return r.HTML, true
	case "images":
		return strings.Join(r.Images, CSVSeparator), true
	case "data_truncated":
		return strconv.FormatBool(r.DataTruncated), true
	case "headers":
		v = r.Headers
	case "jsonld":
		v = r.JSONLD
	case "jsonld_errors":
		v = r.JSONLDErrors
	case "opengraph":
		v = r.OpenGraph
	case "meta":
		v = r.Meta
	case "robots_meta":
		v = r.RobotsMeta
	default:
		return "", false
	}
	if reflect.ValueOf(v).IsNil() {
		return "", true
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", true
	}
	return strings.TrimSuffix(b.String(), "\n"), true
}
