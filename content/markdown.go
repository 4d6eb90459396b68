package content

import (
	"fmt"
	"strings"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// newConverter returns the HTML to Markdown converter: CommonMark with
// GitHub's tables and strikethrough, tables with minimal padding.
func newConverter() *converter.Converter {
	return converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(),
		strikethrough.NewStrikethroughPlugin(),
		table.NewTablePlugin(
			table.WithCellPaddingBehavior(table.CellPaddingBehaviorMinimal),
			table.WithSpanCellBehavior(table.SpanBehaviorEmpty),
			table.WithSkipEmptyRows(true),
			table.WithHeaderPromotion(true),
			table.WithNewlineBehavior(table.NewlineBehaviorSkip),
		),
	))
}

// toMarkdown writes the content under n as Markdown. The converter is not
// shared between goroutines: it keeps state while converting.
func toMarkdown(n *html.Node) (string, error) {
	root := n
	if n.Type == html.ElementNode && n.DataAtom != atom.Body && n.DataAtom != atom.Html {
		// The converter renders the children of the node it is given.
		root = &html.Node{Type: html.DocumentNode}
		wrapper := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
		root.AppendChild(wrapper)
		detach(n)
		wrapper.AppendChild(n)
	}
	b, err := newConverter().ConvertNode(root)
	if err != nil {
		return "", fmt.Errorf("convert to markdown: %w", err)
	}
	return unescapeIntraword(strings.TrimSpace(string(b))), nil
}

func detach(n *html.Node) {
	if n.Parent != nil {
		n.Parent.RemoveChild(n)
	}
}

// unescapeIntraword removes the backslash the converter puts before an
// underscore between two letters or digits (snake_case), where GitHub's
// Markdown never reads it as emphasis. Code blocks and code spans are left
// as they are.
func unescapeIntraword(md string) string {
	if !strings.Contains(md, `\_`) {
		return md
	}
	lines := strings.Split(md, "\n")
	fence := ""
	for i, l := range lines {
		t := strings.TrimLeft(l, " ")
		if fence != "" {
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = t[:3]
			continue
		}
		if strings.Contains(l, `\_`) {
			lines[i] = unescapeLine(l)
		}
	}
	return strings.Join(lines, "\n")
}

func unescapeLine(l string) string {
	var b strings.Builder
	inCode := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '`' {
			inCode = !inCode
		}
		if !inCode && c == '\\' && i+1 < len(l) && l[i+1] == '_' && i > 0 && isWordByte(l[i-1]) && i+2 < len(l) && isWordByte(l[i+2]) {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isWordByte reports whether c is an ASCII letter or digit, or a byte of
// a multi-byte character.
func isWordByte(c byte) bool {
	return c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
