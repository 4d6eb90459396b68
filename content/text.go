package content

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// blockElements break the text into paragraphs.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Details: true,
	atom.Dialog: true, atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true,
	atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true,
	atom.Hgroup: true, atom.Hr: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true,
	atom.P: true, atom.Pre: true, atom.Section: true, atom.Table: true, atom.Ul: true, atom.Summary: true,
	atom.Tr: true, atom.Caption: true, atom.Body: true, atom.Html: true,
}

// textWriter collects text with paragraphs separated by blank lines.
type textWriter struct {
	out   strings.Builder
	line  strings.Builder // the paragraph being written, whitespace collapsed
	space bool            // a space is due before the next word
}

func (w *textWriter) word(s string) {
	if s == "" {
		return
	}
	if isSpace(s[0]) {
		w.space = true
	}
	fields := strings.Fields(s)
	for _, f := range fields {
		if w.space && w.line.Len() > 0 {
			w.line.WriteByte(' ')
		}
		w.line.WriteString(f)
		w.space = true
	}
	if len(fields) > 0 {
		w.space = isSpace(s[len(s)-1])
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// newline ends the line; blank adds an empty line after it.
func (w *textWriter) newline(blank bool) {
	if w.line.Len() > 0 {
		if w.out.Len() > 0 {
			w.out.WriteString("\n")
		}
		w.out.WriteString(w.line.String())
		w.line.Reset()
	}
	w.space = false
	if blank && w.out.Len() > 0 && !strings.HasSuffix(w.out.String(), "\n") {
		w.out.WriteString("\n")
	}
}

func (w *textWriter) walk(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			w.word(c.Data)
		case html.ElementNode:
			switch c.DataAtom {
			case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Head:
				continue
			case atom.Br:
				w.newline(false)
				continue
			case atom.Pre:
				w.newline(true)
				if w.out.Len() > 0 {
					w.out.WriteString("\n")
				}
				w.out.WriteString(strings.TrimRight(textOf(c), "\n "))
				w.out.WriteString("\n")
				continue
			case atom.Td, atom.Th:
				if w.line.Len() > 0 {
					w.line.WriteString("\t")
				}
				w.space = false
				w.walk(c)
				continue
			}
			block := blockElements[c.DataAtom]
			if block {
				w.newline(c.DataAtom != atom.Li && c.DataAtom != atom.Tr && c.DataAtom != atom.Dt && c.DataAtom != atom.Dd)
			}
			w.walk(c)
			if block {
				w.newline(c.DataAtom != atom.Li && c.DataAtom != atom.Tr && c.DataAtom != atom.Dt)
			}
		}
	}
}

// textOf is the text under n as it is.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				b.WriteString(c.Data)
			case html.ElementNode:
				if c.DataAtom == atom.Br {
					b.WriteByte('\n')
				}
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// toText writes the content under n as plain text: paragraphs separated
// by blank lines, list items and table rows on lines of their own.
func toText(n *html.Node) string {
	var w textWriter
	if n.Type == html.ElementNode {
		// walk looks at children: give it n as a child.
		w.walkOne(n)
	} else {
		w.walk(n)
	}
	w.newline(false)
	return strings.TrimSpace(w.out.String())
}

func (w *textWriter) walkOne(n *html.Node) {
	block := blockElements[n.DataAtom]
	if block {
		w.newline(true)
	}
	w.walk(n)
	if block {
		w.newline(true)
	}
}
