package crawler

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// errForeignContent stops the token pass at an <svg> or <math> element,
// whose content the HTML parser treats by rules of its own (integration
// points, no raw text): the tree walk takes over.
var errForeignContent = errors.New("foreign content")

// extractTokens is Extract without selectors: it finds the standard fields
// in one pass over the tokens, without building a tree, for about two
// thirds of the cost. It follows the tree walk of Extract on well-formed
// documents and on the usual kinds of broken ones; where the HTML parser
// would restructure badly nested markup (foster parenting out of tables, a
// heading opened inside an unclosed inline element), the order of links
// and the text of the first <h1> may differ slightly from what the tree
// holds; so may the count of <h1> where the parser drops tags (inside a
// frameset). It returns errForeignContent at the first <svg> or <math>. Links
// are kept within lim.
func extractTokens(r io.Reader, base *url.URL, lim Limits) (Page, error) {
	return tokenPass(r, base, false, lim)
}

// tokenPass is extractTokens; with readForeign it reads on through <svg>
// and <math> instead, taking only the links inside them: the way out for
// a document the tree cannot hold (see [parseTree]).
func tokenPass(r io.Reader, base *url.URL, readForeign bool, lim Limits) (Page, error) {
	z := html.NewTokenizer(r)
	var x extraction
	s := tokenState{readForeign: readForeign}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				if KindOf(err) != "" {
					return Page{}, err
				}
				return Page{}, newError(KindDecode, urlString(base), fmt.Errorf("parse html: %w", err))
			}
			s.endH1(&x)
			p := Page{Title: x.title, Description: x.description, H1: x.h1, H1Count: x.h1Count, Lang: x.lang}
			docBase := documentBase(base, x.baseHref)
			p.Links, p.LinksTruncated, p.LinksDropped = resolveLinks(docBase, x.hrefs, lim)
			if x.hasCanonical {
				p.Canonical = canonicalLink(docBase, x.canonical)
			}
			p.clean()
			return p, nil
		case html.TextToken:
			if s.inTitle {
				s.title.add(string(z.Text()))
			} else if s.inH1 && s.skip == 0 {
				s.h1.add(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			if !s.start(z, &x, tt == html.SelfClosingTagToken) {
				return Page{}, errForeignContent
			}
		case html.EndTagToken:
			s.end(z, &x)
		}
	}
}

// tokenState is where the token pass stands.
type tokenState struct {
	inTitle bool
	title   textBuilder
	tables  int // depth of open <table> elements
	inH1    bool
	h1Table int // tables open when the <h1> started: closing one ends it
	skip    int // depth of script, style, template, noscript inside the <h1>
	h1      textBuilder

	readForeign bool // read through <svg> and <math>
	foreign     int  // depth of open <svg> and <math> elements
}

func isHeading(a atom.Atom) bool {
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// tagAtom returns the atom of the current tag token, read from its raw
// bytes: Tokenizer.TagName allocates a copy of every name, and most tags
// only need to be recognised.
func tagAtom(z *html.Tokenizer) atom.Atom {
	raw := z.Raw()
	i := 1 // past '<'
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	var buf [16]byte
	n := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '/' || c == '>' {
			break
		}
		if n == len(buf) {
			return 0 // longer than any tag we look for
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return atom.Lookup(buf[:n])
}

// start applies a start tag; it reports false for <svg> and <math>.
func (s *tokenState) start(z *html.Tokenizer, x *extraction, selfClosing bool) bool {
	a := tagAtom(z)
	var attrs tokenAttrs
	switch a {
	case atom.A, atom.Area, atom.Html, atom.Meta, atom.Link, atom.Base:
		// Only these tags' attributes matter, and reading them costs
		// an allocation or two each.
		attrs = readAttrs(z)
	}
	switch a {
	case atom.A, atom.Area:
		if href, ok := attrs.get("href"); ok {
			x.hrefs = append(x.hrefs, href)
		}
		return true
	case atom.Svg, atom.Math:
		if !s.readForeign {
			return false
		}
		if !selfClosing {
			s.foreign++
		}
		return true
	}
	if s.foreign > 0 {
		return true // SVG and MathML have their own <title>
	}
	if s.inH1 {
		s.inH1Start(a, selfClosing, x)
	}
	switch a {
	case atom.Html:
		if v, ok := attrs.get("lang"); ok && !x.hasLang {
			x.lang, x.hasLang = strings.TrimSpace(v), true
		}
	case atom.Title:
		if !x.hasTitle && !selfClosing {
			x.hasTitle, s.inTitle = true, true
		}
	case atom.H1:
		x.h1Count++ // <h1/> too: the parser ignores the slash
		if !x.hasH1 && !selfClosing {
			x.hasH1, s.inH1, s.h1Table = true, true, s.tables
		}
	case atom.Table:
		if !selfClosing {
			s.tables++
		}
	case atom.Meta:
		if name, _ := attrs.get("name"); !x.hasDescription && strings.EqualFold(strings.TrimSpace(name), "description") {
			content, _ := attrs.get("content")
			x.description, x.hasDescription = collapse(content), true
		}
	case atom.Link:
		if rel, _ := attrs.get("rel"); !x.hasCanonical && hasToken(rel, "canonical") {
			x.canonical, x.hasCanonical = attrs.get("href")
		}
	case atom.Base:
		if href, ok := attrs.get("href"); ok && !x.hasBase {
			x.baseHref, x.hasBase = href, true
		}
	}
	return true
}

// inH1Start applies a start tag inside the first <h1> to its text.
func (s *tokenState) inH1Start(a atom.Atom, selfClosing bool, x *extraction) {
	switch {
	case isHeading(a):
		s.endH1(x) // a heading closes the open one
	case a == atom.Script || a == atom.Style || a == atom.Template || a == atom.Noscript:
		if !selfClosing {
			s.skip++
		}
	case a == atom.Br:
		s.h1.space = len(s.h1.b) > 0
	case blockElements[a]:
		s.h1.space = len(s.h1.b) > 0
	}
}

func (s *tokenState) end(z *html.Tokenizer, x *extraction) {
	a := tagAtom(z)
	if s.foreign > 0 {
		if a == atom.Svg || a == atom.Math {
			s.foreign--
		}
		return
	}
	switch {
	case a == atom.Table:
		if s.tables > 0 {
			s.tables--
		}
		if s.inH1 && s.tables < s.h1Table {
			s.endH1(x) // the table's end pops the heading fostered into it
		}
	case s.inTitle && a == atom.Title:
		s.inTitle = false
		x.title = s.title.String()
	case s.inH1 && isHeading(a):
		s.endH1(x)
	case s.inH1 && (a == atom.Script || a == atom.Style || a == atom.Template || a == atom.Noscript):
		if s.skip > 0 {
			s.skip--
		}
	case s.inH1 && a == atom.Br:
		s.h1.space = len(s.h1.b) > 0
	case s.inH1 && blockElements[a]:
		s.h1.space = len(s.h1.b) > 0
	}
}

// endH1 closes the first <h1>, if open, and records its text.
func (s *tokenState) endH1(x *extraction) {
	if s.inTitle {
		s.inTitle = false
		x.title = s.title.String()
	}
	if !s.inH1 {
		return
	}
	s.inH1 = false
	x.h1 = s.h1.String()
}

// tokenAttrs are the attributes of one tag, in order.
type tokenAttrs []html.Attribute

func readAttrs(z *html.Tokenizer) tokenAttrs {
	var attrs tokenAttrs
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch string(k) {
		case "href", "lang", "name", "content", "rel":
			attrs = append(attrs, html.Attribute{Key: string(k), Val: string(v)})
		}
	}
	return attrs
}

// get returns the first value of key.
func (attrs tokenAttrs) get(key string) (string, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
