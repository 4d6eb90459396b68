package content

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/JohannesKaufmann/dom"
	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"golang.org/x/net/html"
	"golang.org/x/text/cases"
)

// Links are written as CommonMark reference links: the prose keeps the
// link text in brackets ("see the [release notes] for details") and the
// destinations are defined once at the end of the document
// ("[release notes]: https://…"), so that the text reads (and is split
// into tokens) as the page's text, and a URL linked several times is
// written once. A link is
//   - a shortcut reference "[text]" when its text can be a link label
//     (not blank, at most 999 characters, on one line, without brackets
//     or "|");
//   - a collapsed reference "[text][]" where "[text]" would be read
//     otherwise: when "(", "[" or ":" follows it;
//   - a full reference "[text][n]", n the first free number (the same
//     for the same destination), when its text cannot be a label or
//     already labels another destination
//     (labels match whatever their case and spacing, as CommonMark
//     says).
//
// Images stay inline: an image is where it stands, not a reference, and
// its alternative text is no label. Links whose text spans several
// lines (a block made a link) stay inline too.
//
// The converter writes each link it renders as "[", start, text, "]",
// end, where start and end are markers that the page's text cannot
// contain: a private-use character and a control character (end with
// the link's index); [referenceLinks] then turns them into references
// once the Markdown is final, so that a label is exactly the text that
// the prose holds.
const (
	refStart = "\uE000\x02"
	refEnd   = "\x03"
	refClose = "\uE001\x04"
)

// maxLabel is the length limit of a CommonMark link label.
const maxLabel = 999

// refLink is a link's destination and title, as the converter wrote
// them.
type refLink struct {
	href, title string
}

// refLinks is the converter plugin that renders links for
// [referenceLinks] and remembers their destinations.
type refLinks struct {
	links []refLink
}

// Name implements converter.Plugin.
func (p *refLinks) Name() string { return "trawl-reference-links" }

// Init implements converter.Plugin: it renders <a> before the
// commonmark plugin does.
func (p *refLinks) Init(conv *converter.Converter) error {
	conv.Register.RendererFor("a", converter.TagTypeInline, p.render, converter.PriorityEarly)
	return nil
}

// render writes a link as the commonmark plugin does, but with the
// markers of [referenceLinks] in place of its destination. It leaves the
// links it does not handle (empty text, text over several lines) to the
// commonmark plugin.
func (p *refLinks) render(ctx converter.Context, w converter.Writer, n *html.Node) converter.RenderStatus {
	ctx = ctx.WithValue("is_inside_link", true)
	href := ctx.AssembleAbsoluteURL(ctx, "a", strings.TrimSpace(dom.GetAttributeOr(n, "href", "")))
	title := strings.ReplaceAll(dom.GetAttributeOr(n, "title", ""), "\n", " ")

	var buf bytes.Buffer
	ctx.RenderChildNodes(ctx, &buf, n)
	content := buf.Bytes()
	trimmed := bytes.TrimFunc(content, unicode.IsSpace)
	if len(trimmed) == 0 || bytes.IndexByte(trimmed, '\n') >= 0 {
		return converter.RenderTryNext
	}
	before := content[:bytes.Index(content, trimmed)]
	after := content[len(before)+len(trimmed):]

	w.Write(before)
	w.WriteString("[" + refStart)
	w.Write(trimmed)
	w.WriteString("]" + refEnd + strconv.Itoa(len(p.links)) + refClose)
	w.Write(after)
	p.links = append(p.links, refLink{href: href, title: title})
	return converter.RenderSuccess
}

// referenceLinks turns the links that p marked in md into reference
// links and appends their definitions.
func (p *refLinks) referenceLinks(md string) string {
	if len(p.links) == 0 || !strings.Contains(md, refClose) {
		return md
	}
	type def struct {
		label string
		link  refLink
	}
	var (
		b      strings.Builder
		defs   []def
		byKey  = map[string]refLink{}
		starts []int // positions in b of the open links' text
		next   = 1   // the next number to try as a full reference's label
		number = map[refLink]string{}
	)
	b.Grow(len(md) + len(md)/4)
	for i := 0; i < len(md); {
		switch {
		case strings.HasPrefix(md[i:], refStart):
			i += len(refStart)
			starts = append(starts, b.Len())
			continue
		case strings.HasPrefix(md[i:], refEnd):
			j := strings.Index(md[i:], refClose)
			if j < 0 {
				i += len(refEnd)
				continue
			}
			idx, err := strconv.Atoi(md[i+len(refEnd) : i+j])
			if err != nil || idx < 0 || idx >= len(p.links) || len(starts) == 0 {
				// Not ours after all (or unpaired): drop the markers.
				i += j + len(refClose)
				continue
			}
			i += j + len(refClose)
			link := p.links[idx]
			start := starts[len(starts)-1]
			starts = starts[:len(starts)-1]
			// b holds "[" text "]": the label is text.
			label := b.String()[start : b.Len()-1]
			key, ok := labelKey(label)
			if ok {
				if have, found := byKey[key]; !found {
					byKey[key] = link
					defs = append(defs, def{label, link})
				} else if have != link {
					ok = false
				}
			}
			if !ok {
				if label, ok = number[link]; !ok {
					for {
						label = strconv.Itoa(next)
						next++
						if _, found := byKey[label]; !found {
							break
						}
					}
					byKey[label] = link
					number[link] = label
					defs = append(defs, def{label, link})
				}
				b.WriteString("[" + label + "]")
			} else if i < len(md) && (md[i] == '(' || md[i] == '[' || md[i] == ':') {
				b.WriteString("[]")
			}
			continue
		}
		b.WriteByte(md[i])
		i++
	}
	if len(defs) > 0 {
		b.WriteString("\n\n")
		for i, d := range defs {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString("[" + d.label + "]: ")
			writeDestination(&b, d.link.href)
			if d.link.title != "" {
				b.WriteString(` "`)
				b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(d.link.title))
				b.WriteByte('"')
			}
		}
	}
	return b.String()
}

// labelKey returns the key under which CommonMark matches label with a
// definition (case folded, white space collapsed), and whether label can
// be a link label at all. Labels with "|" are refused too: in a table
// cell, GitHub's Markdown unescapes "\|" before it reads the label.
func labelKey(label string) (string, bool) {
	if utf8.RuneCountInString(label) > maxLabel || strings.TrimSpace(label) == "" || strings.ContainsAny(label, "\n|") {
		return "", false
	}
	for i := 0; i < len(label); i++ {
		switch label[i] {
		case '\\':
			if i+1 == len(label) {
				return "", false
			}
			i++
		case '[', ']':
			return "", false
		}
	}
	key := strings.Join(strings.Fields(label), " ")
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return cases.Fold().String(key), true
		}
	}
	return strings.ToLower(key), true
}

// writeDestination writes href as a link destination: as it is, or
// between "<" and ">" where it is empty or holds a space, a control
// character or parentheses that do not pair.
func writeDestination(b *strings.Builder, href string) {
	depth, plain := 0, href != "" && href[0] != '<'
	for i := 0; i < len(href) && plain; i++ {
		switch c := href[i]; {
		case c <= ' ' || c == 0x7f:
			plain = false
		case c == '\\' && i+1 < len(href):
			i++
		case c == '(':
			depth++
		case c == ')':
			depth--
			plain = depth >= 0
		}
	}
	if plain && depth == 0 {
		b.WriteString(href)
		return
	}
	b.WriteByte('<')
	b.WriteString(strings.NewReplacer("<", `\<`, ">", `\>`, "\n", "%0A").Replace(href))
	b.WriteByte('>')
}
