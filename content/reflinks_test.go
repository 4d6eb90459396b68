package content

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// gfm renders Markdown as GitHub does: CommonMark with its extensions.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM))

// renderedPage is what a reader gets of the Markdown md: its links and
// images (text or alt, destination, title) and its text.
type renderedPage struct {
	links []string
	text  string
}

func renderMarkdown(t *testing.T, md string) renderedPage {
	t.Helper()
	var h bytes.Buffer
	if err := gfm.Convert([]byte(md), &h); err != nil {
		t.Fatalf("render %q: %v", md, err)
	}
	doc, err := html.Parse(&h)
	if err != nil {
		t.Fatal(err)
	}
	var page renderedPage
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode:
				text.WriteString(c.Data)
			case c.DataAtom == atom.A:
				page.links = append(page.links, "a "+nodeText(c)+" -> "+attr(c, "href")+" "+attr(c, "title"))
			case c.DataAtom == atom.Img:
				page.links = append(page.links, "img "+attr(c, "alt")+" -> "+attr(c, "src")+" "+attr(c, "title"))
			}
			walk(c)
		}
	}
	walk(doc)
	page.text = strings.Join(strings.Fields(text.String()), " ")
	return page
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
			if c.DataAtom == atom.Img {
				b.WriteString("<img " + attr(c, "src") + ">")
			}
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// TestReferenceLinks checks that the reference links render, in GitHub's
// Markdown (goldmark), to exactly the links, images and text of the
// converter's inline links: the same texts to the same destinations and
// titles, whatever the texts and URLs hold, and that the prose keeps the
// link texts whole.
func TestReferenceLinks(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		contains []string // in the reference Markdown
	}{
		{"plain", `<p>See <a href="https://example.org/docs">the docs</a> for details.</p>`,
			[]string{"See [the docs] for details.\n\n[the docs]: https://example.org/docs"}},
		{"relative and absolute", `<p><a href="/a">rel</a>, <a href="../b?x=1#y">up</a> and <a href="https://x.org/c">abs</a>.</p>`,
			[]string{"[rel], [up] and [abs].", "[up]: ../b?x=1#y"}},
		{"same text, two urls", `<p><a href="/a">the docs</a>, <a href="/b">the docs</a>, <a href="/a">The  Docs</a> and <a href="/b">THE DOCS</a>.</p>`,
			[]string{"[the docs], [the docs][1], [The Docs] and [THE DOCS][1]."}},
		{"same url twice", `<p><a href="/a">home</a> and <a href="/a">home</a></p>`,
			[]string{"[home] and [home]\n\n[home]: /a"}},
		{"numbers as text", `<p><a href="/p1">1</a> <a href="/p2">2</a> <a href="/q">x</a> <a href="/r">x</a> <a href="/s">1</a></p>`, nil},
		{"brackets and parentheses", `<p><a href="/wiki/Foo_(bar)">Foo [bar]</a> and <a href="/p?q=(x">half (</a>, <a href="/a b">spaced</a>, <a href="/x[1]">idx</a>.</p>`, nil},
		{"followed by ( [ and :", `<p><a href="/n">Note</a>: text, <a href="/p">paren</a>(x) and <a href="/s">sq</a>[y]</p><p><a href="/z">Zed</a>: done</p>`,
			[]string{"[Note][]: text", "[paren][](x)", "[sq]\\[y]", "[Zed][]: done"}},
		{"adjacent links", `<p><a href="/x">x</a><a href="/y">y</a></p>`, nil},
		{"exclamation before", `<p>Wow!<a href="/w">link</a></p>`, nil},
		{"title", `<p><a href="/t" title='say "hi" \ there'>titled</a></p>`, nil},
		{"images", `<p><img src="/i.png" alt="pic [1]"> and <a href="/big"><img src="/s.png" alt="thumb"></a> and <a href="/c"><img src="/d.png"> caption</a></p>`,
			[]string{"![pic \\[1\\]](/i.png)"}},
		{"table", `<table><tr><th>Name</th><th>Value</th></tr><tr><td><a href="/t">cell link</a></td><td><a href="/p">a | b</a></td></tr></table>`, nil},
		{"list", `<ul><li><a href="/l1">one</a></li><li><a href="/l2">two</a> (note)</li><li>three <a href="/l3">[3]</a></li></ul><ol><li><a href="/o">ordered</a></li></ol>`, nil},
		{"code spans", `<p><code>arr[0]</code> and <code>[the docs]: /x</code> and <a href="/c"><code>f[i]</code></a> and <a href="/d"><code>go</code> tool</a></p>`,
			[]string{"`arr[0]`", "`[the docs]: /x`"}},
		{"literal brackets stay text", `<p>[the docs] is literal, <a href="/d">the docs</a> is not.</p>`, nil},
		{"emphasis inside", `<p><a href="/e"><em>emphasised</em> text</a> and <a href="/u">snake_case_name</a></p>`, nil},
		{"empty and block links", `<p><a href="/e"></a>x</p><a href="/blk"><div>Block</div><div>two</div></a>`, nil},
		{"no href", `<p><a>anchor</a> and <a href="">empty href</a></p>`, nil},
		{"blockquote", `<blockquote><p>quoted <a href="/q">link</a></p></blockquote><pre><code>[link]: /not-this</code></pre>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inline := convertBody(t, tc.in, nil)
			ref := convertBody(t, tc.in, &refLinks{})
			want, got := renderMarkdown(t, inline), renderMarkdown(t, ref)
			if strings.Join(got.links, "\n") != strings.Join(want.links, "\n") {
				t.Errorf("links of\n%s\n=\n%s\nwant (from\n%s\n)\n%s", ref, strings.Join(got.links, "\n"), inline, strings.Join(want.links, "\n"))
			}
			if got.text != want.text {
				t.Errorf("text of\n%s\n= %q\nwant %q", ref, got.text, want.text)
			}
			for _, s := range tc.contains {
				if !strings.Contains(ref, s) {
					t.Errorf("markdown\n%s\ndoes not contain %q", ref, s)
				}
			}
			if len(want.links) == 0 {
				t.Errorf("no links in %s", inline)
			}
		})
	}
}

func convertBody(t *testing.T, in string, refs *refLinks) string {
	t.Helper()
	doc, err := Parse("<body>" + in + "</body>")
	if err != nil {
		t.Fatal(err)
	}
	md, err := markdownLinks(findBody(doc), refs)
	if err != nil {
		t.Fatal(err)
	}
	return md
}
