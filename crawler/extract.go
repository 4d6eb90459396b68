package crawler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Page is what Extract finds in an HTML document. Strings are empty when
// the document has no such element.
type Page struct {
	// Title is the text of the first <title> (not an SVG one), whitespace
	// collapsed.
	Title string
	// Description is the content of the first <meta name="description">,
	// whitespace collapsed.
	Description string
	// Canonical is the href of the first <link rel="canonical">, resolved
	// and normalised; empty when it is not an http(s) URL or is longer
	// than [MaxURLLength].
	Canonical string
	// H1 is the text of the first <h1>, whitespace collapsed.
	H1 string
	// H1Count is the number of <h1> elements the HTML parser makes: not
	// SVG or MathML ones, nor markup inside script, style, noscript,
	// textarea or comments, which is text; those inside <template> count,
	// as the tree holds them (and H1 may be one of them).
	H1Count int
	// Lang is the lang attribute of <html>, trimmed.
	Lang string
	// Links are the hrefs of <a> and <area> elements as [ResolveLink]
	// returns them: absolute, normalised, http(s) only, without
	// duplicates, in document order; at most [Limits] allow.
	Links []string
	// LinksTruncated is true when links were left out because the page
	// has more than Limits.MaxLinks, or more bytes of them than
	// Limits.MaxLinkBytes: Links holds the first ones.
	LinksTruncated bool
	// LinksDropped counts the links left out because they are longer
	// than [MaxURLLength].
	LinksDropped int
	// Fields holds, for each selector's Name, one value per element that
	// the selector matches, in document order: its text, or the value of
	// its attribute Attr (elements without the attribute are skipped).
	// Every name has an entry, empty when nothing matched; selectors that
	// share a name add to one array. Nil when there are no selectors.
	// At most Limits.MaxMatches values a name, Limits.MaxFieldBytes bytes
	// in all.
	Fields map[string][]string
	// FieldsTruncated is true when selector values were left out or cut
	// for Limits.MaxMatches or Limits.MaxFieldBytes.
	FieldsTruncated bool
}

// Selector picks values out of pages for the output's "fields". Make one
// with [ParseSelector] or [NewSelector], which compile the CSS once.
type Selector struct {
	// Name is the key of the values in Result.Fields.
	Name string
	// CSS is the selector, in the CSS syntax cascadia supports.
	CSS string
	// Attr, when set, picks this attribute of each match instead of its
	// text.
	Attr string

	m goquery.Matcher
}

// ParseSelector parses the --select syntax "name=css" (the text of each
// match) or "name=css@attr" (the attribute attr of each match). The last
// '@' starts attr when what follows is an attribute name, so CSS such as
// a[href^="mailto:x@y"] needs no escaping. The error for an empty name,
// an empty selector or CSS that does not compile names spec; it is a
// usage error, found before anything is fetched.
func ParseSelector(spec string) (Selector, error) {
	name, css, ok := strings.Cut(spec, "=")
	if !ok {
		return Selector{}, fmt.Errorf("selector %q: want name=css or name=css@attr", spec)
	}
	var attr string
	if i := strings.LastIndexByte(css, '@'); i >= 0 {
		switch rest := strings.TrimSpace(css[i+1:]); {
		case rest == "":
			return Selector{}, fmt.Errorf("selector %q: empty attribute name after '@'", spec)
		case isAttrName(rest):
			attr, css = rest, css[:i]
		}
	}
	s, err := NewSelector(strings.TrimSpace(name), strings.TrimSpace(css), attr)
	if err != nil {
		return Selector{}, fmt.Errorf("selector %q: %w", spec, err)
	}
	return s, nil
}

// NewSelector returns the selector of the given name, CSS and attribute
// ("" for the text of matches). The name must be letters, digits, '_', '-'
// or '.', and css must compile.
func NewSelector(name, css, attr string) (Selector, error) {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isNameRune(r) }) >= 0 {
		return Selector{}, fmt.Errorf("invalid name %q (want letters, digits, '_', '-' or '.')", name)
	}
	if css == "" {
		return Selector{}, errors.New("empty css selector")
	}
	g, err := cascadia.ParseGroup(css)
	if err != nil {
		return Selector{}, fmt.Errorf("invalid css selector %q: %w", css, err)
	}
	return Selector{Name: name, CSS: css, Attr: attr, m: cascadia.Selector(g.Match)}, nil
}

// Extract parses the HTML document r, whose URL is base, once and returns
// what it found. Links resolve against the document's first <base href>
// when it is an http(s) URL, and against base otherwise; with a nil base
// only absolute links are kept. Extract reads r to its end and does not
// close it; it accepts any input, however broken, as browsers do.
//
// Selectors not made by ParseSelector or NewSelector are compiled on each
// call. The only errors are from reading r, returned as they are when
// they are an *Error already, as an *Error of kind [KindDecode] otherwise,
// and a Selector whose CSS does not compile.
//
// Extract keeps what the default [Limits] allow; [ExtractWithLimits]
// takes others.
func Extract(r io.Reader, base *url.URL, selectors []Selector) (Page, error) {
	return ExtractWithLimits(r, base, selectors, Limits{})
}

// ExtractWithLimits is [Extract] within lim.
func ExtractWithLimits(r io.Reader, base *url.URL, selectors []Selector, lim Limits) (Page, error) {
	if len(selectors) > 0 {
		return extractTree(r, base, selectors, lim)
	}
	// The token pass is cheaper; at SVG or MathML the tree walk takes
	// over, reading again what the token pass consumed.
	var consumed bytes.Buffer
	p, err := extractTokens(io.TeeReader(r, &consumed), base, lim)
	if errors.Is(err, errForeignContent) {
		return extractTree(io.MultiReader(&consumed, r), base, nil, lim)
	}
	return p, err
}

// extractTree parses r into a tree, a goquery Document, which CSS
// selectors need; the standard fields come from one walk of its nodes,
// which reads them exactly as the token pass does. A document
// nested too deeply for the parser is cut at [cutDepth] levels; one that
// even then is too deep gets its standard fields from the token pass, and
// its selectors match nothing.
func extractTree(r io.Reader, base *url.URL, selectors []Selector, lim Limits) (Page, error) {
	p, _, err := extractTreeDoc(r, base, selectors, lim)
	return p, err
}

// extractTreeDoc is [extractTree] that also returns the tree, for the
// structured data to be read from it without a second parse; nil when
// the page is too deep for one.
func extractTreeDoc(r io.Reader, base *url.URL, selectors []Selector, lim Limits) (Page, *goquery.Document, error) {
	root, src, err := parseTree(r)
	if src != nil {
		p, err := tooDeepPage(src, base, selectors, lim)
		return p, nil, err
	}
	if err != nil {
		if KindOf(err) != "" {
			return Page{}, nil, err
		}
		return Page{}, nil, newError(KindDecode, urlString(base), fmt.Errorf("parse html: %w", err))
	}
	doc := goquery.NewDocumentFromNode(root)
	var x extraction
	x.walk(doc.Nodes[0])
	p := Page{Title: x.title, Description: x.description, H1: x.h1, H1Count: x.h1Count, Lang: x.lang}
	docBase := documentBase(base, x.baseHref)
	p.Links, p.LinksTruncated, p.LinksDropped = resolveLinks(docBase, x.hrefs, lim)
	if x.hasCanonical {
		p.Canonical = canonicalLink(docBase, x.canonical)
	}
	if len(selectors) > 0 {
		if p.Fields, p.FieldsTruncated, err = selectFields(doc, docBase, selectors, lim); err != nil {
			return Page{}, nil, err
		}
	}
	p.clean()
	return p, doc, nil
}

// extraction collects the standard fields in one walk of the tree.
type extraction struct {
	title, description, h1, lang, baseHref, canonical               string
	hasTitle, hasDescription, hasH1, hasLang, hasBase, hasCanonical bool
	hrefs                                                           []string
	h1Count                                                         int
}

// walk visits the descendants of n in document order.
func (x *extraction) walk(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			x.element(c)
		}
		if c.FirstChild != nil {
			x.walk(c)
		}
	}
}

// element records what element n contributes.
func (x *extraction) element(n *html.Node) {
	switch n.DataAtom {
	case atom.A, atom.Area:
		if href, ok := attr(n, "href"); ok {
			x.hrefs = append(x.hrefs, href)
		}
		return
	}
	if n.Namespace != "" { // SVG and MathML have their own <title>
		return
	}
	switch n.DataAtom {
	case atom.Html:
		if v, ok := attr(n, "lang"); ok && !x.hasLang {
			x.lang, x.hasLang = strings.TrimSpace(v), true
		}
	case atom.Title:
		if !x.hasTitle {
			x.title, x.hasTitle = textOf(n), true
		}
	case atom.H1:
		x.h1Count++
		if !x.hasH1 {
			x.h1, x.hasH1 = textOf(n), true
		}
	case atom.Meta:
		if name, _ := attr(n, "name"); !x.hasDescription && strings.EqualFold(strings.TrimSpace(name), "description") {
			content, _ := attr(n, "content")
			x.description, x.hasDescription = collapse(content), true
		}
	case atom.Link:
		if rel, _ := attr(n, "rel"); !x.hasCanonical && hasToken(rel, "canonical") {
			x.canonical, x.hasCanonical = attr(n, "href")
		}
	case atom.Base:
		if href, ok := attr(n, "href"); ok && !x.hasBase {
			x.baseHref, x.hasBase = href, true
		}
	}
}

// documentBase returns the URL links resolve against: <base href> resolved
// against base when it is an http(s) URL, and base otherwise.
func documentBase(base *url.URL, baseHref string) *url.URL {
	if baseHref == "" {
		return base
	}
	s, ok := ResolveLink(base, baseHref)
	if !ok {
		return base
	}
	u, err := url.Parse(s)
	if err != nil {
		return base
	}
	return u
}

// selectFields returns the values of selectors in doc by name, within
// lim, and whether some were left out or cut. URL attributes resolve
// against base (see [selectorValue]).
func selectFields(doc *goquery.Document, base *url.URL, selectors []Selector, lim Limits) (map[string][]string, bool, error) {
	lim = lim.withDefaults()
	budget := fieldBudget{left: lim.MaxFieldBytes}
	fields := make(map[string][]string, len(selectors))
	for _, s := range selectors {
		if s.m == nil {
			c, err := NewSelector(s.Name, s.CSS, s.Attr)
			if err != nil {
				return nil, false, err
			}
			s = c
		}
		values := fields[s.Name]
		if values == nil {
			values = []string{}
		}
		doc.FindMatcher(s.m).EachWithBreak(func(_ int, match *goquery.Selection) bool {
			n := match.Get(0)
			v, ok := attrValue(n, base, s.Attr)
			if !ok {
				return true
			}
			if len(values) == lim.MaxMatches || budget.left <= 0 {
				budget.truncated = true
				return false
			}
			if s.Attr == "" {
				v = textOfAtMost(n, budget.left)
			}
			values = append(values, budget.take(v))
			return true
		})
		fields[s.Name] = values
	}
	return fields, budget.truncated, nil
}

// attr returns the value of n's attribute key (in no namespace, or xlink
// for href).
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && (a.Namespace == "" || a.Namespace == "xlink") {
			return a.Val, true
		}
	}
	return "", false
}

// hasToken reports whether the space-separated list s holds tok,
// ignoring ASCII case.
func hasToken(s, tok string) bool {
	for f := range strings.FieldsSeq(s) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

func urlString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

func isNameRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-' || r == '.'
}

// isAttrName reports whether s can be an HTML attribute name as --select
// writes it: a letter or '_' first, then letters, digits, '_', '-', '.'
// or ':'.
func isAttrName(s string) bool {
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', r == '_':
		case i > 0 && ('0' <= r && r <= '9' || r == '-' || r == '.' || r == ':'):
		default:
			return false
		}
	}
	return s != ""
}

// attrFold returns the value of n's attribute key, ignoring ASCII case as
// HTML does.
func attrFold(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val, true
		}
	}
	return "", false
}

// textOf returns the text of n as a reader sees it: the text of its
// descendants except inside <script>, <style>, <template> and <noscript>
// (the text of n itself when it is one of them, so that a selector can
// pick a JSON-LD <script>), with runs of ASCII whitespace collapsed to one
// space, a space between blocks and at <br>, and no space at the ends.
func textOf(n *html.Node) string { return textOfAtMost(n, -1) }

// textOfAtMost is textOf that stops once the text is longer than limit
// bytes (no limit when negative): the text of a large element costs no
// more than the budget it may take.
func textOfAtMost(n *html.Node, limit int) string {
	t := textBuilder{limit: limit}
	if n.Type == html.TextNode {
		t.add(n.Data)
	}
	t.children(n)
	return t.String()
}

// collapse trims s and collapses its runs of ASCII whitespace.
func collapse(s string) string {
	var t textBuilder
	t.add(s)
	return t.String()
}

// textBuilder accumulates text with whitespace collapsed.
type textBuilder struct {
	b     []byte
	space bool // a space is due before the next non-space byte
	limit int  // stop once len(b) passes it; no limit when zero or negative
}

// full reports whether the text passed its limit.
func (t *textBuilder) full() bool { return t.limit > 0 && len(t.b) > t.limit }

func (t *textBuilder) children(n *html.Node) {
	for c := n.FirstChild; c != nil && !t.full(); c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			t.add(c.Data)
		case html.ElementNode:
			switch c.DataAtom {
			case atom.Script, atom.Style, atom.Template, atom.Noscript:
				continue
			case atom.Br:
				t.space = len(t.b) > 0
				continue
			}
			block := blockElements[c.DataAtom]
			if block {
				t.space = len(t.b) > 0
			}
			t.children(c)
			if block {
				t.space = len(t.b) > 0
			}
		}
	}
}

func (t *textBuilder) add(s string) {
	for i := 0; i < len(s) && !t.full(); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\f', '\r':
			t.space = len(t.b) > 0
		default:
			if t.space {
				t.b = append(t.b, ' ')
				t.space = false
			}
			t.b = append(t.b, c)
		}
	}
}

func (t *textBuilder) String() string { return string(t.b) }

// blockElements are the elements whose text is set apart from the text
// around them.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Figcaption: true,
	atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true,
	atom.Hr: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true,
	atom.Option: true, atom.P: true, atom.Pre: true, atom.Section: true, atom.Table: true,
	atom.Td: true, atom.Th: true, atom.Tr: true, atom.Ul: true,
}
