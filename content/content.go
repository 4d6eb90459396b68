// Package content finds the main content of an HTML page and writes it as
// GitHub-flavoured Markdown and as plain text.
//
// The main content is what readability (codeberg.org/readeck/go-readability)
// keeps, unless it keeps too little of the page's visible text: pricing
// tables, FAQs and product grids come back from it as a single block or
// as the footer. Then the cleaned page body is taken instead (navigation,
// header, footer, asides, forms and scripts removed). A CSS selector can
// name the main content instead. Markdown is written by html-to-markdown
// (github.com/JohannesKaufmann/html-to-markdown) with its table plugin.
//
// Everything is bounded: the elements looked at, the table spans and the
// size of the output, so that a hostile page costs what a large ordinary
// one does.
package content

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Methods of choosing the main content, as [Result.Method] names them.
const (
	// MethodReadability is readability's choice.
	MethodReadability = "readability"
	// MethodPage is the cleaned page body: readability kept too little.
	MethodPage = "page"
	// MethodSelector is the elements matched by [Options.ContentSelector].
	MethodSelector = "selector"
)

// Limits of the work done on one page.
const (
	// MaxElements is the most elements of a page looked at, in document
	// order; later ones are dropped before extraction.
	MaxElements = 20_000
	// MaxSpan is the largest colspan or rowspan kept: a larger one is cut
	// to it, so that a few cells cannot make a table of millions.
	MaxSpan = 20
	// MaxOutputBytes bounds the Markdown and the text, each; past it
	// they are cut at a line boundary. Even escaped in JSON (at most
	// twice as long: quotes and backslashes), both fit with a page's
	// links and selector values (6 MiB each at most) in the largest
	// record trawl writes, 16 MiB.
	MaxOutputBytes = 1 << 20
)

// MinCoverage is the share of the page's visible text below which
// readability's choice is taken to have missed the content, and the
// cleaned page body is used instead. Tuned on the dev split of the
// evaluation corpus (scripts/content-eval.sh).
var MinCoverage = 0.25

// ShortContent is the length (in non-space characters) below which
// readability's choice must also cover [MinCoverage] of the page: a
// longer one is an article whatever the page around it holds.
var ShortContent = 1000

// enough reports whether readability's choice of n characters out of the
// page's total is taken.
func enough(n, total int) bool {
	return n >= ShortContent || float64(n)/float64(total) >= MinCoverage
}

// PruneBoilerplate removes elements named as boilerplate by their class
// or id before the main content is chosen. A variable for the evaluation.
var PruneBoilerplate = true

// Options are the choices of an extraction.
type Options struct {
	// ContentSelector, when set, is a CSS selector whose matches are the
	// main content (method "selector").
	ContentSelector string
	// ExcludeSelector, when set, is a CSS selector whose matches are
	// removed from the page first.
	ExcludeSelector string
	// InlineLinks writes the Markdown's links inline, [text](url),
	// instead of as reference links, [text] and [text]: url at the end
	// (see [refLinks]).
	InlineLinks bool
}

// Result is the main content of a page and how it was found.
type Result struct {
	// Markdown is the main content as GitHub-flavoured Markdown, links
	// and images absolute.
	Markdown string
	// Text is the main content as plain text, paragraphs separated by
	// blank lines.
	Text string
	// Method is how the main content was chosen: MethodReadability,
	// MethodPage or MethodSelector.
	Method string
	// Coverage is the share of the page's visible text (in non-space
	// characters) that the main content holds, between 0 and 1.
	Coverage float64
	// Byline, PublishedTime (RFC 3339) and SiteName come from the page's
	// metadata; empty when unknown.
	Byline, PublishedTime, SiteName string
	// WordCount is the number of words of Text (each CJK character
	// counts as one).
	WordCount int
}

// ErrSelector is the error of a CSS selector that does not parse.
var ErrSelector = errors.New("invalid CSS selector")

// CheckSelector reports whether sel is a valid CSS selector (group).
func CheckSelector(sel string) error {
	if _, err := cascadia.ParseGroup(sel); err != nil {
		return fmt.Errorf("%w %q: %v", ErrSelector, sel, err)
	}
	return nil
}

// Extract finds the main content of doc, a page fetched from base (its
// final URL). doc is changed: elements are removed and moved.
func Extract(doc *html.Node, base *url.URL, opts Options) (Result, error) {
	var excl, sel cascadia.SelectorGroup
	var err error
	if opts.ExcludeSelector != "" {
		if excl, err = cascadia.ParseGroup(opts.ExcludeSelector); err != nil {
			return Result{}, fmt.Errorf("%w %q: %v", ErrSelector, opts.ExcludeSelector, err)
		}
	}
	if opts.ContentSelector != "" {
		if sel, err = cascadia.ParseGroup(opts.ContentSelector); err != nil {
			return Result{}, fmt.Errorf("%w %q: %v", ErrSelector, opts.ContentSelector, err)
		}
	}
	pruneAfter(doc, MaxElements)
	base = documentBase(doc, base)
	if excl != nil {
		for _, n := range cascadia.QueryAll(doc, excl) {
			if n.Parent != nil {
				n.Parent.RemoveChild(n)
			}
		}
	}
	clampSpans(doc)
	dropCaptionAlts(doc)
	headings := h1Texts(doc)
	byline := bylineOf(doc)
	if PruneBoilerplate {
		var keep map[*html.Node]bool
		if sel != nil {
			keep = holding(cascadia.QueryAll(doc, sel))
		}
		pruneBoilerplate(findBody(doc), keep)
	}

	var res Result
	var article readability.Article
	parser := readability.NewParser()
	parser.KeepClasses = true // language-go on <code> names the language of a code block
	if a, err := parser.ParseDocument(doc, base); err == nil {
		article = a
		res.Byline = strings.TrimSpace(a.Byline())
		if res.Byline == "" {
			res.Byline = byline
		}
		res.SiteName = strings.TrimSpace(a.SiteName())
		if t, err := a.PublishedTime(); err == nil && !t.IsZero() {
			res.PublishedTime = t.UTC().Format(time.RFC3339)
		}
	}

	body := findBody(doc)
	if sel != nil {
		// The matches are the content, wherever they are: the page's
		// text is counted before anything is removed.
		res.Method = MethodSelector
		pageText := visibleLen(body)
		main := selected(doc, sel)
		if pageText > 0 {
			res.Coverage = roundCoverage(float64(visibleLen(main)) / float64(pageText))
		}
		return finish(res, main, base, opts.InlineLinks)
	}
	clean(body)
	pageText := visibleLen(body)
	readable := 0
	if article.Node != nil {
		clean(article.Node)
		dropLinkLists(article.Node)
		cutTail(article.Node)
		readable = visibleLen(article.Node)
	}
	main := body
	res.Method = MethodPage
	if readable > 0 && (pageText == 0 || enough(readable, pageText)) {
		res.Method = MethodReadability
		main = article.Node
		addTitle(main, article.Title(), headings)
	} else {
		cutTail(main)
	}
	if pageText > 0 {
		res.Coverage = roundCoverage(float64(visibleLen(main)) / float64(pageText))
	}
	return finish(res, main, base, opts.InlineLinks)
}

// h1Texts returns the texts of the first <h1> elements of doc.
func h1Texts(doc *html.Node) []string {
	var texts []string
	walkElements(doc, func(n *html.Node) bool {
		if n.DataAtom == atom.H1 && len(texts) < 8 {
			texts = append(texts, strings.Join(strings.Fields(textOf(n)), " "))
			return false
		}
		return len(texts) < 8
	})
	return texts
}

// addTitle puts back at the top of main, readability's choice, the <h1>
// of the page that repeats title, the title readability found (or its
// start or end: titles often add the site's name): readability removes
// that heading from its choice. Nothing is added when main starts with
// the heading already, or when no <h1> of the page (headings) repeats
// the title.
func addTitle(main *html.Node, title string, headings []string) {
	want := normText(title)
	if want == "" || main.Type != html.ElementNode {
		return
	}
	heading := ""
	for _, h := range headings {
		if n := normText(h); utf8.RuneCountInString(n) >= 4 && (strings.HasPrefix(want, n) || strings.HasSuffix(want, n)) {
			heading = h
			break
		}
	}
	if heading == "" || strings.HasPrefix(normText(startText(main, 4*len(heading))), normText(heading)) {
		return
	}
	h := &html.Node{Type: html.ElementNode, Data: "h1", DataAtom: atom.H1}
	h.AppendChild(&html.Node{Type: html.TextNode, Data: heading})
	main.InsertBefore(h, main.FirstChild)
}

// startText returns the first text under n, about max bytes of it.
func startText(n *html.Node, max int) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && b.Len() < max; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				b.WriteString(c.Data)
				b.WriteByte(' ')
			case html.ElementNode:
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// normText is s in lower case with only its letters and digits, to
// compare two texts whatever their spacing and punctuation.
func normText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// roundCoverage returns c rounded to two decimals, at most 1.
func roundCoverage(c float64) float64 {
	return float64(int(min(c, 1)*100+0.5)) / 100
}

// finish writes main, the main content, as Markdown and text into res.
func finish(res Result, main *html.Node, base *url.URL, inlineLinks bool) (Result, error) {
	if main == nil {
		main = &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	}
	absolutize(main, base)
	flattenNestedTables(main)
	prepareImages(main, base)
	refs := &refLinks{}
	if inlineLinks {
		refs = nil
	}
	md, err := markdownLinks(main, refs)
	if err != nil {
		return Result{}, err
	}
	res.Markdown = cutLines(md, MaxOutputBytes)
	res.Text = cutLines(toText(main), MaxOutputBytes)
	res.WordCount = countWords(res.Text)
	return res, nil
}

// Parse parses an HTML document in UTF-8 for [Extract].
func Parse(src string) (*html.Node, error) {
	return html.Parse(strings.NewReader(src))
}

// pruneAfter removes every element after the first max ones, in document
// order.
func pruneAfter(doc *html.Node, max int) {
	count := 0
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			if c.Type == html.ElementNode {
				count++
				if count > max {
					for d := c; d != nil; {
						nd := d.NextSibling
						n.RemoveChild(d)
						d = nd
					}
					return false
				}
				if !walk(c) {
					for d := next; d != nil; {
						nd := d.NextSibling
						n.RemoveChild(d)
						d = nd
					}
					return false
				}
			}
			c = next
		}
		return true
	}
	walk(doc)
}

// documentBase returns the base URL of doc: its <base href> resolved
// against base, or base.
func documentBase(doc *html.Node, base *url.URL) *url.URL {
	if base == nil {
		base = &url.URL{}
	}
	if n := cascadia.Query(doc, baseSel); n != nil {
		if u, err := base.Parse(strings.TrimSpace(attr(n, "href"))); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return u
		}
	}
	return base
}

var baseSel = cascadia.MustCompile("base[href]")

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
}

// clampSpans cuts colspan attributes to the number of cells of the
// widest row of their table, and both colspan and rowspan to [MaxSpan],
// so that a few cells cannot make a table of millions.
func clampSpans(doc *html.Node) {
	walkElements(doc, func(n *html.Node) bool {
		if n.DataAtom != atom.Table {
			return true
		}
		var rows []*html.Node
		var collect func(*html.Node)
		collect = func(p *html.Node) {
			for c := p.FirstChild; c != nil; c = c.NextSibling {
				switch c.DataAtom {
				case atom.Tr:
					rows = append(rows, c)
				case atom.Thead, atom.Tbody, atom.Tfoot:
					collect(c)
				}
			}
		}
		collect(n)
		width := 1
		for _, r := range rows {
			cells := 0
			for c := r.FirstChild; c != nil; c = c.NextSibling {
				if c.DataAtom == atom.Td || c.DataAtom == atom.Th {
					cells++
				}
			}
			width = max(width, cells)
		}
		for _, r := range rows {
			for c := r.FirstChild; c != nil; c = c.NextSibling {
				if c.DataAtom == atom.Td || c.DataAtom == atom.Th {
					clampSpan(c, "colspan", min(width, MaxSpan))
					clampSpan(c, "rowspan", min(len(rows), MaxSpan))
				}
			}
		}
		return true // nested tables
	})
}

// clampSpan cuts the number in attribute key of n to limit.
func clampSpan(n *html.Node, key string, limit int) {
	for i, a := range n.Attr {
		if a.Namespace != "" || a.Key != key {
			continue
		}
		v := 0
		for _, c := range strings.TrimSpace(a.Val) {
			if c < '0' || c > '9' {
				break
			}
			v = min(v*10+int(c-'0'), 1<<20)
		}
		if v > limit {
			n.Attr[i].Val = strconv.Itoa(max(limit, 1))
		}
	}
}

// walkElements calls fn on every element under n in document order; fn
// returns false to skip the element's children.
func walkElements(n *html.Node, fn func(*html.Node) bool) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if fn(c) {
				walkElements(c, fn)
			}
		}
	}
}

func findBody(doc *html.Node) *html.Node {
	var body *html.Node
	walkElements(doc, func(n *html.Node) bool {
		if body != nil {
			return false
		}
		if n.DataAtom == atom.Body {
			body = n
			return false
		}
		return true
	})
	if body == nil {
		return doc
	}
	return body
}

// boilerplate are the elements the cleaned page leaves out. Figure
// captions go too: credits and "click to enlarge" more often than text
// (the evaluation corpus counts them as boilerplate; dev F1 +0.002).
var boilerplate = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Nav: true, atom.Header: true, atom.Footer: true, atom.Aside: true,
	atom.Form: true, atom.Button: true, atom.Select: true, atom.Input: true, atom.Textarea: true,
	atom.Figcaption: true, atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Dialog: true, atom.Link: true, atom.Meta: true,
}

// formText is the length of text (non-space characters) from which a
// <form> is taken for content wrapped in one rather than boilerplate.
const formText = 500

// boilerRoles are ARIA landmark roles of boilerplate.
var boilerRoles = map[string]bool{
	"navigation": true, "banner": true, "contentinfo": true, "complementary": true, "search": true, "dialog": true,
}

// clean removes boilerplate and hidden elements from n.
func clean(n *html.Node) {
	var drop []*html.Node
	walkElements(n, func(c *html.Node) bool {
		if isBoilerplate(c) {
			drop = append(drop, c)
			return false
		}
		return true
	})
	for _, c := range drop {
		c.Parent.RemoveChild(c)
	}
}

func isBoilerplate(n *html.Node) bool {
	if n.DataAtom == atom.Form && visibleLen(n) >= formText {
		// ASP.NET and shop pages wrap their content in a form.
		return false
	}
	if boilerplate[n.DataAtom] {
		// A <header> inside an article is its title, not the site's.
		if (n.DataAtom == atom.Header || n.DataAtom == atom.Footer) && insideArticle(n) {
			return n.DataAtom == atom.Footer
		}
		return true
	}
	if n.Namespace != "" && n.DataAtom != atom.Svg && n.DataAtom != atom.Math {
		return false
	}
	if n.DataAtom == atom.Svg {
		return true
	}
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return n.DataAtom != atom.Details
		case "aria-hidden":
			if strings.EqualFold(a.Val, "true") {
				return true
			}
		case "role":
			if boilerRoles[strings.ToLower(strings.TrimSpace(a.Val))] {
				return true
			}
		case "style":
			s := strings.ToLower(strings.ReplaceAll(a.Val, " ", ""))
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

func insideArticle(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.DataAtom == atom.Article || p.DataAtom == atom.Main {
			return true
		}
	}
	return false
}

// visibleLen is the number of non-space characters of the text under n,
// outside scripts and styles.
func visibleLen(n *html.Node) int {
	count := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				for _, r := range c.Data {
					if !unicode.IsSpace(r) {
						count++
					}
				}
			case html.ElementNode:
				if c.DataAtom == atom.Script || c.DataAtom == atom.Style || c.DataAtom == atom.Noscript || c.DataAtom == atom.Template {
					continue
				}
				walk(c)
			}
		}
	}
	if n.Type == html.TextNode {
		return utf8.RuneCountInString(strings.Join(strings.Fields(n.Data), ""))
	}
	walk(n)
	return count
}

// selected moves the elements of doc that sel matches (not those inside
// an earlier match) into a new <div>, cleaned of scripts and styles.
func selected(doc *html.Node, sel cascadia.SelectorGroup) *html.Node {
	div := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	var picked []*html.Node
	for _, n := range cascadia.QueryAll(doc, sel) {
		inside := false
		for p := n.Parent; p != nil && !inside; p = p.Parent {
			for _, q := range picked {
				if p == q {
					inside = true
					break
				}
			}
		}
		if !inside {
			picked = append(picked, n)
		}
	}
	for _, n := range picked {
		if n.Parent != nil {
			n.Parent.RemoveChild(n)
		}
		div.AppendChild(n)
	}
	var drop []*html.Node
	walkElements(div, func(c *html.Node) bool {
		if c.DataAtom == atom.Script || c.DataAtom == atom.Style || c.DataAtom == atom.Noscript || c.DataAtom == atom.Template {
			drop = append(drop, c)
			return false
		}
		return true
	})
	for _, c := range drop {
		c.Parent.RemoveChild(c)
	}
	return div
}

// absolutize resolves the href and src attributes under n against base.
func absolutize(n *html.Node, base *url.URL) {
	fix := func(e *html.Node, key string) {
		v := strings.TrimSpace(attr(e, key))
		if v == "" || strings.HasPrefix(v, "#") {
			return
		}
		u, err := base.Parse(v)
		if err != nil {
			return
		}
		switch u.Scheme {
		case "http", "https", "mailto", "tel", "ftp":
			setAttr(e, key, u.String())
		case "data":
		default:
			setAttr(e, key, "")
		}
	}
	visit := func(e *html.Node) bool {
		switch e.DataAtom {
		case atom.A, atom.Area:
			fix(e, "href")
		case atom.Img, atom.Source, atom.Video, atom.Audio:
			if attr(e, "src") == "" {
				for _, k := range []string{"data-src", "data-lazy-src", "data-original"} {
					if v := attr(e, k); v != "" {
						e.Attr = append(e.Attr, html.Attribute{Key: "src", Val: v})
						break
					}
				}
			}
			fix(e, "src")
		}
		return true
	}
	if n.Type == html.ElementNode {
		visit(n)
	}
	walkElements(n, visit)
}

// flattenNestedTables turns tables inside table cells into plain blocks,
// which Markdown tables cannot hold.
func flattenNestedTables(n *html.Node) {
	walkElements(n, func(e *html.Node) bool {
		if e.DataAtom == atom.Td || e.DataAtom == atom.Th {
			walkElements(e, func(t *html.Node) bool {
				switch t.DataAtom {
				case atom.Table, atom.Tbody, atom.Thead, atom.Tfoot, atom.Caption, atom.Colgroup, atom.Col, atom.Tr:
					t.Data, t.DataAtom = "span", atom.Span
					t.InsertBefore(&html.Node{Type: html.TextNode, Data: " "}, t.FirstChild)
					t.AppendChild(&html.Node{Type: html.TextNode, Data: " "})
				case atom.Td, atom.Th:
					t.Data, t.DataAtom = "span", atom.Span
					t.AppendChild(&html.Node{Type: html.TextNode, Data: " "})
				}
				return true
			})
			return false
		}
		return true
	})
}

// cutLines returns s cut to at most max bytes, at a line boundary when
// there is one in the second half.
func cutLines(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(s[:cut], '\n'); i > max/2 {
		cut = i
	}
	return strings.TrimRight(s[:cut], " \n")
}

// countWords counts the words of s: runs of letters and digits, each CJK
// character counting as one word.
func countWords(s string) int {
	n := 0
	in := false
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai):
			n++
			in = false
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if !in {
				n++
			}
			in = true
		case r == '\'' || r == '’' || r == '-':
			// inside a word
		default:
			in = false
		}
	}
	return n
}
