package crawler

import (
	"bytes"
	"io"
	"net/url"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// cutDepth is how deep a document is kept when the HTML parser refused
// it as too deeply nested (x/net/html stops at 512 open elements): well
// under the parser's limit, since the parser opens elements the markup
// does not name (tbody, tr, reconstructed formatting elements), and well
// over what real pages use.
const cutDepth = 128

// parseTree parses r into a tree. A document nested deeper than the HTML
// parser allows (an inline SVG of 600 nested groups, say) is parsed again
// with its elements past [cutDepth] levels left out, their text kept, so
// that extraction still finds what the rest of the page holds. When even
// that fails, the parser's error is returned with the document, src, for
// the token pass to read.
func parseTree(r io.Reader) (doc *html.Node, src []byte, err error) {
	// The document is read again after a failure: from its start when r
	// can seek (a body in memory), else from a copy kept while parsing.
	var read bytes.Buffer
	start := int64(-1)
	seeker, ok := r.(io.ReadSeeker)
	if ok {
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			start = -1
		}
	}
	if start < 0 {
		r = io.TeeReader(r, &read)
	}
	doc, err = html.Parse(r)
	if err == nil || KindOf(err) != "" {
		return doc, nil, err
	}
	// Errors other than reading errors are the parser's: its depth limit.
	if start >= 0 {
		if _, serr := seeker.Seek(start, io.SeekStart); serr != nil {
			return nil, nil, err
		}
	}
	if _, rerr := io.Copy(&read, r); rerr != nil {
		return nil, nil, rerr
	}
	if doc, cerr := html.Parse(bytes.NewReader(cutDeep(read.Bytes(), cutDepth))); cerr == nil {
		return doc, nil, nil
	}
	return nil, read.Bytes(), err
}

// cutDeep returns the HTML document src without the start and end tags
// of the elements nested more than limit levels deep. It follows the
// nesting the HTML parser builds closely enough to stay above it: an end
// tag closes the elements opened after its own, unless a "special"
// element (div, table, li...) stands between, where the parser ignores
// it; formatting elements closed that way still count, since the parser
// may open them again. <a> tags and raw text elements (<script>,
// <style>...) are always kept, so that links survive and no script is
// read as markup.
func cutDeep(src []byte, limit int) []byte {
	out, _ := cutDeepSteps(src, limit)
	return out
}

// cutDeepSteps is cutDeep that also counts its steps: one per token,
// and one per element of the stack looked at. They are linear in the
// size of src, whatever its markup; tests check it.
func cutDeepSteps(src []byte, limit int) (out []byte, steps int) {
	type open struct {
		name string
		kept bool
	}
	var stack []open
	// Where each name is open on the stack, and where the special
	// elements are, so that an end tag finds the element it closes, or
	// the special element that stops it, without scanning the stack: a
	// page of many open elements and many stray end tags would cost the
	// product of the two.
	at := map[string][]int{}
	var specials []int
	push := func(e open) {
		at[e.name] = append(at[e.name], len(stack))
		if isSpecialName(e.name) {
			specials = append(specials, len(stack))
		}
		stack = append(stack, e)
	}
	popTo := func(i int) {
		for j := len(stack) - 1; j >= i; j-- {
			steps++
			name := stack[j].name
			at[name] = at[name][:len(at[name])-1]
			if n := len(specials); n > 0 && specials[n-1] == j {
				specials = specials[:n-1]
			}
		}
		stack = stack[:i]
	}
	reopenable := map[string]int{} // formatting elements closed by another's end tag
	nReopenable := 0
	out = make([]byte, 0, len(src))
	z := html.NewTokenizer(bytes.NewReader(src))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out, steps
		}
		steps++
		raw := z.Raw()
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			out = append(out, raw...)
			continue
		}
		name := rawTagName(raw)
		a := atom.Lookup([]byte(name))
		if tt == html.EndTagToken {
			// The topmost element of this name closes, unless a special
			// element stands above it.
			i := -1
			if pos := at[name]; len(pos) > 0 {
				i = pos[len(pos)-1]
				if n := len(specials); n > 0 && specials[n-1] > i {
					i = -1
				}
			}
			if i < 0 {
				if reopenable[name] > 0 {
					reopenable[name]--
					nReopenable--
				}
				out = append(out, raw...)
				continue
			}
			for _, e := range stack[i+1:] {
				steps++
				if e.kept && isFormatting(atom.Lookup([]byte(e.name))) {
					reopenable[e.name]++
					nReopenable++
				}
			}
			if stack[i].kept {
				out = append(out, raw...)
			}
			popTo(i)
			continue
		}
		switch {
		case isVoid(a), a == atom.A, isRawText(a):
			// Void elements do not nest; an <a> or a raw text element
			// is closed by its end tag or the next <a>.
			out = append(out, raw...)
		case len(stack)+nReopenable >= limit:
			push(open{name, false})
		default:
			push(open{name, true})
			out = append(out, raw...)
		}
	}
}

// isSpecialName reports whether the element named name (lower case) stops
// the parser's generic end tag handling: [isSpecial], and foreignObject,
// whose lower-case name is no atom.
func isSpecialName(name string) bool {
	return isSpecial(atom.Lookup([]byte(name))) || name == "foreignobject"
}

// rawTagName returns the lower-case name of the tag whose raw text is raw.
func rawTagName(raw []byte) string {
	i := 1 // past '<'
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	j := i
	for j < len(raw) && !isHTMLSpace(raw[j]) && raw[j] != '/' && raw[j] != '>' {
		j++
	}
	return string(bytes.ToLower(raw[i:j]))
}

func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Basefont, atom.Bgsound, atom.Br, atom.Col, atom.Embed,
		atom.Frame, atom.Hr, atom.Image, atom.Img, atom.Input, atom.Keygen, atom.Link,
		atom.Meta, atom.Param, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

func isRawText(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Textarea, atom.Title, atom.Xmp, atom.Iframe,
		atom.Noembed, atom.Noframes, atom.Noscript, atom.Plaintext:
		return true
	}
	return false
}

func isFormatting(a atom.Atom) bool {
	switch a {
	case atom.A, atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I, atom.Nobr,
		atom.S, atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		return true
	}
	return false
}

// isSpecial reports whether a is in the HTML standard's "special"
// category, at which the parser's generic end tag handling stops.
func isSpecial(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Applet, atom.Area, atom.Article, atom.Aside, atom.Base,
		atom.Basefont, atom.Bgsound, atom.Blockquote, atom.Body, atom.Br, atom.Button,
		atom.Caption, atom.Center, atom.Col, atom.Colgroup, atom.Dd, atom.Details, atom.Dir,
		atom.Div, atom.Dl, atom.Dt, atom.Embed, atom.Fieldset, atom.Figcaption, atom.Figure,
		atom.Footer, atom.Form, atom.Frame, atom.Frameset, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Head, atom.Header, atom.Hgroup, atom.Hr, atom.Html, atom.Iframe,
		atom.Img, atom.Input, atom.Keygen, atom.Li, atom.Link, atom.Listing, atom.Main,
		atom.Marquee, atom.Menu, atom.Meta, atom.Nav, atom.Noembed, atom.Noframes,
		atom.Noscript, atom.Object, atom.Ol, atom.P, atom.Param, atom.Plaintext, atom.Pre,
		atom.Script, atom.Search, atom.Section, atom.Select, atom.Source, atom.Style,
		atom.Summary, atom.Table, atom.Tbody, atom.Td, atom.Template, atom.Textarea,
		atom.Tfoot, atom.Th, atom.Thead, atom.Title, atom.Tr, atom.Track, atom.Ul, atom.Wbr,
		atom.Xmp,
		// SVG and MathML integration points, special too.
		atom.Mi, atom.Mo, atom.Mn, atom.Ms, atom.Mtext, atom.AnnotationXml,
		atom.ForeignObject, atom.Desc:
		return true
	}
	return false
}

// tooDeepPage is the page of the document src that the tree could not
// hold even cut: the standard fields from the token pass, reading through
// SVG and MathML, and every selector matching nothing.
func tooDeepPage(src []byte, base *url.URL, selectors []Selector, lim Limits) (Page, error) {
	p, err := tokenPass(bytes.NewReader(src), base, true, lim)
	if err != nil {
		return Page{}, err
	}
	if len(selectors) > 0 {
		p.Fields = make(map[string][]string, len(selectors))
		for _, s := range selectors {
			p.Fields[s.Name] = []string{}
		}
	}
	return p, nil
}
