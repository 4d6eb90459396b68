package crawler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// setPageData computes the opt-in fields of res that extras asks for
// from resp, whose body is HTML, within lim: the decoded page and what
// its tree, tree, holds (after [setHeaderData]). A page the parser
// cannot hold even cut to [cutDepth] levels (tree is nil) gets no tree
// fields.
func setPageData(res *Result, resp *Response, lim Limits, extras Extras, tree *goquery.Document) {
	if extras.HTML {
		decoded, err := io.ReadAll(DecodeBytes(resp.Body, resp.ContentType()).Reader)
		if err != nil {
			return // the standard fields already reported the decoding error
		}
		res.HTML = CleanText(string(decoded))
	}
	if !extras.tree() || tree == nil {
		return
	}
	d := ExtractData(tree, finalURL(resp), lim, extras)
	res.JSONLD, res.JSONLDErrors, res.OpenGraph, res.Meta, res.Images = d.JSONLD, d.JSONLDErrors, d.OpenGraph, d.Meta, d.Images
	res.DataTruncated = res.DataTruncated || d.DataTruncated
	if d.RobotsMeta != nil {
		if res.RobotsMeta != nil {
			d.RobotsMeta.Header = res.RobotsMeta.Header
		}
		res.RobotsMeta = d.RobotsMeta
	}
}

// setHeaderData sets the opt-in fields of res that come from the
// headers of resp, HTML or not: headers, and the X-Robots-Tag
// directives of robots_meta.
func setHeaderData(res *Result, resp *Response, lim Limits, extras Extras) {
	if extras.Headers {
		budget := fieldBudget{left: lim.withDefaults().MaxFieldBytes}
		res.Headers = headerData(resp.Header, &budget)
		res.DataTruncated = res.DataTruncated || budget.truncated
	}
	if extras.RobotsMeta {
		if h := robotsHeader(resp.Header.Values("X-Robots-Tag")); len(h) > 0 {
			res.RobotsMeta = &RobotsMeta{Header: h}
		}
	}
}

// ExtractData returns the structured data of the page doc, whose URL is
// base, that extras asks for (not html and headers, which are not in the
// page), within lim: JSON-LD, OpenGraph, meta tags, images and robots
// directives. The values of all of them share one budget of
// lim.MaxFieldBytes bytes, and each list or object keeps at most
// lim.MaxMatches entries; what is left out sets DataTruncated.
func ExtractData(doc *goquery.Document, base *url.URL, lim Limits, extras Extras) PageData {
	lim = lim.withDefaults()
	x := dataExtraction{lim: lim, budget: fieldBudget{left: lim.MaxFieldBytes}}
	var d PageData
	if extras.JSONLD {
		d.JSONLD, d.JSONLDErrors = x.jsonLD(doc)
	}
	if extras.OpenGraph || extras.Meta || extras.RobotsMeta {
		og, meta, robots := x.metas(doc, extras)
		if extras.OpenGraph {
			d.OpenGraph = og
		}
		if extras.Meta {
			d.Meta = meta
		}
		if len(robots) > 0 {
			d.RobotsMeta = &RobotsMeta{Meta: robots}
		}
	}
	if extras.Images {
		if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
			base = documentBase(base, href)
		}
		d.Images = x.images(doc, base)
	}
	d.DataTruncated = x.budget.truncated
	return d
}

// MaxJSONLDBytes is the most bytes of JSON-LD parsed on one page: a
// parsed value takes many times the memory of its text (a block of
// "[0,0,0,...]" sixteen times), and real pages have tens of kilobytes
// at most (38 KB on the 639 pages of the dev corpus). A block past it
// goes to jsonld_errors unparsed.
const MaxJSONLDBytes = 1 << 20

// dataExtraction is the state of one ExtractData: its limits and what is
// left of its budget.
type dataExtraction struct {
	lim    Limits
	budget fieldBudget
}

// jsonLD parses the page's JSON-LD blocks, in document order: a block
// that is an array gives its items, an object itself; a block that does
// not parse, or is neither, gives an error. JSON is read as
// extruct (and search engines) read it: raw control characters in
// strings, comments and trailing commas are forgiven.
func (x *dataExtraction) jsonLD(doc *goquery.Document) ([]any, []JSONLDError) {
	var items []any
	var errs []JSONLDError
	jsonLDLeft := MaxJSONLDBytes
	doc.Find(`script[type="application/ld+json"]`).EachWithBreak(func(i int, s *goquery.Selection) bool {
		if len(items)+len(errs) >= x.lim.MaxMatches {
			x.budget.truncated = true
			return false
		}
		text := s.Text()
		fail := func(err error) {
			errs = append(errs, JSONLDError{Index: i, Error: CleanText(err.Error()), Bytes: len(text)})
		}
		if len(text) > jsonLDLeft || !x.budget.charge(len(text)) {
			x.budget.truncated = true
			fail(fmt.Errorf("block of %d bytes not parsed: past the page's budget (%d bytes of JSON-LD, %d bytes of data)", len(text), min(MaxJSONLDBytes, x.lim.MaxFieldBytes), x.lim.MaxFieldBytes))
			return true
		}
		jsonLDLeft -= len(text)
		v, err := parseJSON(text)
		if err != nil {
			if relaxed, rerr := parseJSON(relaxJSON(text)); rerr == nil {
				v, err = relaxed, nil
			}
		}
		if err != nil {
			fail(err)
			return true
		}
		switch v := v.(type) {
		case []any:
			for _, item := range v {
				items = append(items, cleanJSON(item))
			}
		case map[string]any:
			if len(v) > 0 { // an empty object says nothing: extruct drops it too
				items = append(items, cleanJSON(v))
			}
		default:
			fail(fmt.Errorf("not a JSON object or array: %s", strings.TrimSpace(shortText(text, 40))))
		}
		return true
	})
	return items, errs
}

// errExtraData is the parse error of a block with more than one value.
var errExtraData = errors.New("invalid character after the top-level value")

// parseJSON parses s as one JSON value, numbers kept as written.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty block")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errExtraData
	}
	return v, nil
}

// relaxJSON returns s as strict JSON the way lenient readers take it:
// raw control characters in strings escaped, // and /* */ comments and
// commas before } or ] removed, and a first line that is an HTML
// comment dropped.
func relaxJSON(s string) string {
	if t := strings.TrimLeft(s, " \t\r\n"); strings.HasPrefix(t, "<!--") {
		if line, rest, ok := strings.Cut(t, "\n"); ok && strings.Contains(line, "-->") {
			s = rest
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			switch {
			case c == '\\' && i+1 < len(s):
				b.WriteByte(c)
				i++
				b.WriteByte(s[i])
			case c == '"':
				inString = false
				b.WriteByte(c)
			case c < 0x20:
				fmt.Fprintf(&b, `\u%04x`, c)
			default:
				b.WriteByte(c)
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
			b.WriteByte(c)
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i--
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 3
			}
		case c == ',':
			j := i + 1
			for j < len(s) && isHTMLSpace(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == '}' || s[j] == ']') {
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// cleanJSON returns v with [CleanText] applied to its strings and keys.
func cleanJSON(v any) any {
	switch v := v.(type) {
	case string:
		return CleanText(v)
	case []any:
		for i := range v {
			v[i] = cleanJSON(v[i])
		}
		return v
	case map[string]any:
		for k, e := range v {
			if c := CleanText(k); c != k {
				delete(v, k)
				k = c
			}
			v[k] = cleanJSON(e)
		}
		return v
	}
	return v
}

// shortText returns s cut to about n bytes.
func shortText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// metas collects, from the page's <meta> elements with a content, the
// OpenGraph properties, every meta by name (lower-cased), property and
// http-equiv (lower-cased), and the directives of <meta name=robots>.
//
// OpenGraph properties are read as the protocol (ogp.me) and extruct
// read them: the property attribute of a <meta> in <head> (where the
// HTML parser put it), og:* and article:*, and twitter:* from name or
// property, as Twitter cards write them. A <meta name="og:title">, or
// one in <body>, is under meta only.
func (x *dataExtraction) metas(doc *goquery.Document, extras Extras) (og, meta map[string]any, robots []string) {
	og, meta = map[string]any{}, map[string]any{}
	entries := 0
	add := func(m map[string]any, key, value string) {
		if entries >= x.lim.MaxMatches || !x.budget.charge(len(key)+len(value)) {
			x.budget.truncated = true
			return
		}
		entries++
		key, value = CleanText(key), CleanText(value)
		switch old := m[key].(type) {
		case nil:
			m[key] = value
		case string:
			m[key] = []string{old, value}
		case []string:
			m[key] = append(old, value)
		}
	}
	doc.Find("meta[content]").Each(func(_ int, s *goquery.Selection) {
		content, _ := s.Attr("content")
		property, hasProperty := s.Attr("property")
		name, hasName := s.Attr("name")
		equiv, hasEquiv := s.Attr("http-equiv")
		property, name, equiv = strings.TrimSpace(property), strings.ToLower(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(equiv))
		if extras.OpenGraph && goquery.NodeName(s.Parent()) == "head" {
			switch {
			case hasProperty && isOpenGraphKey(property):
				add(og, property, content)
			case hasName && strings.HasPrefix(name, "twitter:"):
				add(og, name, content)
			}
		}
		if extras.Meta {
			if hasName && name != "" {
				add(meta, name, content)
			}
			if hasProperty && property != "" && property != name {
				add(meta, property, content)
			}
			if hasEquiv && equiv != "" && equiv != name && equiv != property {
				add(meta, equiv, content)
			}
		}
		if extras.RobotsMeta && hasName && name == "robots" {
			for _, d := range strings.Split(content, ",") {
				robots = appendDirective(robots, d)
			}
		}
	})
	if len(og) == 0 {
		og = nil
	}
	if len(meta) == 0 {
		meta = nil
	}
	return og, meta, robots
}

// isOpenGraphKey reports whether key is an og:, article: or twitter:
// property; prefixes are case-sensitive, as in RDFa.
func isOpenGraphKey(key string) bool {
	for _, p := range []string{"og:", "article:", "twitter:"} {
		if len(key) > len(p) && strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// robotsHeader returns the directives of X-Robots-Tag values: each
// comma-separated directive, lower-cased; a value for one crawler
// ("googlebot: noindex, nofollow") gives its name with each directive.
func robotsHeader(values []string) []string {
	var out []string
	for _, v := range values {
		agent := ""
		if name, rest, ok := strings.Cut(v, ":"); ok && !isRobotsDirective(name) {
			agent, v = strings.ToLower(strings.TrimSpace(name))+": ", rest
		}
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = appendDirective(out, agent+d)
			}
		}
	}
	return out
}

// isRobotsDirective reports whether name is a robots directive that
// takes a value after a colon, rather than the name of a crawler.
func isRobotsDirective(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "unavailable_after", "max-snippet", "max-image-preview", "max-video-preview":
		return true
	}
	return false
}

// appendDirective appends the directive d, trimmed and lower-cased, to
// list unless it is empty or there already.
func appendDirective(list []string, d string) []string {
	d = CleanText(strings.ToLower(strings.TrimSpace(d)))
	for _, e := range list {
		if e == d {
			return list
		}
	}
	if d == "" {
		return list
	}
	return append(list, d)
}

// images returns the absolute URLs of the page's images in document
// order, without duplicates: of each <img>, its src and the best
// candidate of its srcset; of each <source> in a <picture>, the best
// candidate of its srcset.
func (x *dataExtraction) images(doc *goquery.Document, base *url.URL) []string {
	var out []string
	seen := map[string]bool{}
	add := func(v string) bool {
		u, ok := ResolveLink(base, v)
		if !ok || seen[u] {
			return true
		}
		if len(out) >= x.lim.MaxMatches || len(u) > MaxURLLength || !x.budget.charge(len(u)) {
			x.budget.truncated = true
			return false
		}
		seen[u] = true
		out = append(out, u)
		return true
	}
	doc.Find("img, picture > source").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if src, ok := s.Attr("src"); ok && goquery.NodeName(s) == "img" && !add(src) {
			return false
		}
		if srcset, ok := s.Attr("srcset"); ok {
			if best := bestSrcsetCandidate(srcset); best != "" && !add(best) {
				return false
			}
		}
		return true
	})
	return out
}

// bestSrcsetCandidate returns the URL of the srcset candidate with the
// largest width ("800w") or, when none has a width, the largest density
// ("2x"; no descriptor is "1x"); the first of equals. The candidates are
// read as the HTML standard says: a URL runs to the next whitespace,
// and its descriptors to the next comma outside parentheses.
func bestSrcsetCandidate(srcset string) string {
	best, bestW, bestX := "", -1.0, -1.0
	s := srcset
	for {
		s = strings.TrimLeft(s, " \t\n\f\r,")
		if s == "" {
			break
		}
		end := strings.IndexAny(s, " \t\n\f\r")
		if end < 0 {
			end = len(s)
		}
		u, rest := s[:end], s[end:]
		var desc string
		if trimmed := strings.TrimRight(u, ","); trimmed != u {
			u = trimmed // a URL ending in commas has no descriptors
		} else {
			depth, i := 0, 0
			for ; i < len(rest); i++ {
				if c := rest[i]; c == '(' {
					depth++
				} else if c == ')' && depth > 0 {
					depth--
				} else if c == ',' && depth == 0 {
					break
				}
			}
			desc, rest = rest[:i], rest[i:]
		}
		s = rest
		w, x := -1.0, 1.0
		for f := range strings.FieldsSeq(desc) {
			n, err := strconv.ParseFloat(f[:len(f)-1], 64)
			if err != nil || n <= 0 {
				continue
			}
			switch f[len(f)-1] {
			case 'w', 'W':
				w = n
			case 'x', 'X':
				x = n
			}
		}
		switch {
		case w > bestW:
			best, bestW, bestX = u, w, x
		case w < 0 && bestW < 0 && x > bestX:
			best, bestX = u, x
		}
	}
	return best
}
