package main

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// md renders Markdown as GitHub does: CommonMark with its extensions.
var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

// rendered is the text a reader sees of the Markdown src: src rendered to
// HTML as GitHub renders it, then the text content of that HTML, blocks
// on lines of their own. Neither the Markdown syntax, its backslash
// escapes and entities, nor link destinations or images are part of it,
// just as the text of the page's HTML has none of them.
func rendered(src string) string {
	var h bytes.Buffer
	if err := md.Convert([]byte(src), &h); err != nil {
		return src
	}
	doc, err := html.Parse(&h)
	if err != nil {
		return src
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				b.WriteString(c.Data)
			case html.ElementNode:
				block := renderedBlock[c.DataAtom]
				if block {
					b.WriteByte('\n')
				}
				walk(c)
				if block {
					b.WriteByte('\n')
				}
			}
		}
	}
	walk(doc)
	return b.String()
}

var renderedBlock = map[atom.Atom]bool{
	atom.P: true, atom.Li: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Pre: true, atom.Blockquote: true, atom.Ul: true, atom.Ol: true,
	atom.Table: true, atom.Tr: true, atom.Td: true, atom.Th: true, atom.Br: true, atom.Hr: true,
	atom.Div: true,
}
