package content

import (
	"fmt"
	"regexp"
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
// GitHub's tables and strikethrough, tables with minimal padding, links
// marked for refs (see [refLinks]; inline links when refs is nil).
func newConverter(refs *refLinks) *converter.Converter {
	plugins := []converter.Plugin{base.NewBasePlugin()}
	if refs != nil {
		plugins = append(plugins, refs)
	}
	return converter.NewConverter(converter.WithPlugins(append(plugins,
		commonmark.NewCommonmarkPlugin(),
		strikethrough.NewStrikethroughPlugin(),
		table.NewTablePlugin(
			table.WithCellPaddingBehavior(table.CellPaddingBehaviorMinimal),
			table.WithSpanCellBehavior(table.SpanBehaviorEmpty),
			table.WithSkipEmptyRows(true),
			table.WithHeaderPromotion(true),
			table.WithNewlineBehavior(table.NewlineBehaviorSkip),
		),
	)...))
}

// toMarkdown writes the content under n as Markdown, with reference
// links (see [refLinks]). The converter is not shared between
// goroutines: it keeps state while converting.
func toMarkdown(n *html.Node) (string, error) {
	return markdownLinks(n, &refLinks{})
}

// markdownLinks writes the content under n as Markdown, with reference
// links marked for refs, or inline links when refs is nil.
func markdownLinks(n *html.Node, refs *refLinks) (string, error) {
	root := n
	if n.Type == html.ElementNode && n.DataAtom != atom.Body && n.DataAtom != atom.Html {
		// The converter renders the children of the node it is given.
		root = &html.Node{Type: html.DocumentNode}
		wrapper := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
		root.AppendChild(wrapper)
		detach(n)
		wrapper.AppendChild(n)
	}
	b, err := newConverter(refs).ConvertNode(root)
	if err != nil {
		return "", fmt.Errorf("convert to markdown: %w", err)
	}
	md := unescapeMarkdown(strings.TrimSpace(string(b)))
	if refs != nil {
		md = refs.referenceLinks(md)
	}
	return md, nil
}

func detach(n *html.Node) {
	if n.Parent != nil {
		n.Parent.RemoveChild(n)
	}
}

// unescapeMarkdown undoes escapes of the converter that GitHub's
// Markdown does not need, outside code blocks and code spans:
//   - the backslash before an underscore between two letters or digits
//     (snake_case), which is never read as emphasis;
//   - &gt; written for ">", except where ">" would start a block quote;
//   - &lt; written for "<", except before a letter, "/", "!" or "?"
//     (where "<" could start an HTML tag or an autolink);
//   - the backslash before "=" at the start of a line, except on a line
//     of "=" alone (a setext heading's underline).
func unescapeMarkdown(md string) string {
	if !strings.Contains(md, `\_`) && !strings.Contains(md, "&gt;") && !strings.Contains(md, "&lt;") && !strings.Contains(md, `\=`) {
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
		if strings.Contains(l, `\_`) || strings.Contains(l, "&") || strings.Contains(l, `\=`) {
			lines[i] = unescapeLine(l)
		}
	}
	return strings.Join(lines, "\n")
}

// quotePrefix matches what may stand before a ">" that starts a block
// quote: spaces, list markers and other quote markers.
var quotePrefix = regexp.MustCompile(`^\s*(?:(?:[-*+]|\d+[.)]|>)\s*)*$`)

func unescapeLine(l string) string {
	var b strings.Builder
	inCode := false
	if strings.HasPrefix(l, `\=`) && strings.Trim(l[2:], "= ") != "" {
		l = l[1:]
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '`' {
			inCode = !inCode
		}
		if !inCode {
			switch {
			case c == '\\' && i+1 < len(l) && l[i+1] == '_' && i > 0 && isWordByte(l[i-1]) && i+2 < len(l) && isWordByte(l[i+2]):
				continue
			case c == '&' && strings.HasPrefix(l[i:], "&gt;"):
				if quotePrefix.MatchString(b.String()) {
					b.WriteString(`\>`)
				} else {
					b.WriteByte('>')
				}
				i += len("&gt;") - 1
				continue
			case c == '&' && strings.HasPrefix(l[i:], "&lt;") && !tagStart(l[i+len("&lt;"):]):
				b.WriteByte('<')
				i += len("&lt;") - 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// tagStart reports whether s, following a "<", could make it the start
// of an HTML tag, comment or autolink.
func tagStart(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '/' || c == '!' || c == '?'
}

// isWordByte reports whether c is an ASCII letter or digit, or a byte of
// a multi-byte character.
func isWordByte(c byte) bool {
	return c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
