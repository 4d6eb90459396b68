package content

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// discarded reports whether the class, id or role of n names content
// that is not part of an article: the rules of trafilatura's
// OVERALL_DISCARD_XPATH (github.com/adbar/trafilatura, Apache 2.0, as
// github.com/markusmobius/go-trafilatura ports them), for the block
// elements they apply to, less "slide" and "message", which name the
// content of slideshows and forum posts on the dev split.
func discarded(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Div, atom.Dd, atom.Dt, atom.Li, atom.Ul, atom.Ol, atom.Dl, atom.P, atom.Section, atom.Span:
	default:
		return false
	}
	id, class, role := attr(n, "id"), attr(n, "class"), attr(n, "role")
	if id == "" && class == "" && role == "" {
		return false
	}
	idClass := id + class
	lid, lclass := strings.ToLower(id), strings.ToLower(class)
	has := strings.Contains
	pre := strings.HasPrefix
	for _, s := range overallIDClass {
		if has(idClass, s) {
			return true
		}
	}
	for _, s := range overallClass {
		if has(class, s) {
			return true
		}
	}
	return has(lid, "footer") || has(lclass, "footer") || has(id, "related") || has(lid, "share") ||
		has(lid, "nav") || has(strings.ToLower(role), "nav") || has(lclass, "byline") ||
		pre(id, "shar") || pre(class, "shar") || pre(id, "jp-") || pre(id, "dpsp-content") ||
		pre(class, "nav") || pre(class, "post-nav") || has(id, "menu") || has(id, "premium") ||
		pre(id, "reply-") || pre(class, "reply-") || has(id, "reader-comments") || has(id, "akismet") ||
		pre(class, "hide-") || has(id, "hidden") || class == "comments-title"
}

var overallIDClass = []string{
	"viral", "social", "syndication", "newsletter", "cookie", "tags", "sidebar", "banner",
	"breadcrumb", "bread-crumb", "author", "button", "message-container",
}

var overallClass = []string{
	"elated", "share-", "sociable", "embedded", "embed", "subnav", "tag-list", "bar", "meta",
	"menu", "avigation", "navbar", "navbox", "rating", "widget", "attachment", "timestamp",
	"user-info", "user-profile", "-ad-", "-icon", "article-infos", "nfoline", "outbrain",
	"taboola", "criteo", "options", "expand", "consent", "modal-content", " ad ", "permission",
	"next-", "-stories", "most-popular", "mol-factbox", "viewport", "overlay",
	"paid-content", "paidcontent", "obfuscated", "blurred",
	"comments-title", "nocomments", "-reply-", "akismet", "suggest-links",
	"-hide-", "hide-print", " hidden", " hide", "noprint", "notloaded",
}

// LinkDensity and LinkMaxLen say which blocks of readability's choice
// are lists of links: those with two links or more, fewer than
// LinkMaxLen characters and at least LinkDensity of them in links.
// Tuned on the dev split of the evaluation corpus.
var (
	LinkDensity = 0.5
	LinkMaxLen  = 1000
)

// dropLinkLists removes the blocks under n whose text is mostly link
// text: lists of related articles, tag clouds, share and navigation
// bars that readability kept.
func dropLinkLists(n *html.Node) {
	var drop []*html.Node
	walkElements(n, func(c *html.Node) bool {
		switch c.DataAtom {
		case atom.Ul, atom.Ol, atom.Div, atom.Section, atom.P, atom.Dl, atom.Table:
		default:
			return true
		}
		total, linked, links := linkText(c)
		if links >= 2 && total > 0 && total < LinkMaxLen && float64(linked) >= LinkDensity*float64(total) {
			drop = append(drop, c)
			return false
		}
		return true
	})
	for _, c := range drop {
		c.Parent.RemoveChild(c)
	}
}

// linkText counts the non-space characters under n, those inside links
// and the links.
func linkText(n *html.Node) (total, linked, links int) {
	var walk func(*html.Node, bool)
	walk = func(n *html.Node, in bool) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				k := 0
				for _, r := range c.Data {
					if r != ' ' && r != '\n' && r != '\t' && r != '\r' {
						k++
					}
				}
				total += k
				if in {
					linked += k
				}
			case html.ElementNode:
				a := c.DataAtom == atom.A
				if a {
					links++
				}
				walk(c, in || a)
			}
		}
	}
	walk(n, false)
	return total, linked, links
}

// moreHeading matches the text of a heading that introduces what follows
// an article: links to other pages ("Related articles", "Auch
// interessant", "Vous aimerez aussi"), comments, sharing, tags, the
// author's box, in the languages of the evaluation corpus.
var moreHeading = regexp.MustCompile(`(?i)^\s*(?:related(?: (?:articles|posts|stories|content|news))?|read (?:more|also|next)|more (?:on|about) (?:this|the) (?:topic|subject)|more from|more stories|you (?:might|may) also (?:like|enjoy|be interested)|recommended(?: for you| articles| reading)?|see also|(?:das )?könnte (?:sie|dich) auch interessieren|auch interessant|(?:ebenfalls )?interessant(?: für sie)?|mehr (?:zum thema|dazu|aus|zu diesem thema|artikel|infos?)|weitere (?:artikel|beiträge|themen|nachrichten|meldungen|informationen)|lesen sie (?:auch|mehr|hier)|zum weiterlesen|weiterlesen|empfohlene (?:beiträge|artikel)|ähnliche (?:beiträge|artikel|themen)|verwandte (?:beiträge|artikel|themen)|vous aimerez aussi|à lire aussi|lire aussi|dans la même rubrique|sur le même sujet|le puede interesar|te puede interesar|lee también|noticias relacionadas|leia também|czytaj (?:także|również|też)|zobacz (?:także|również)|(?:\d+ )?(?:kommentare?|comments?|commentaires?|comentarios?)|leave a (?:reply|comment)|(?:schreibe|hinterlasse) einen kommentar|(?:diesen )?(?:artikel|beitrag) teilen|teilen|share(?: this)?(?: article| post| story)?|tags?|schlagw(?:o|ö)rter?|über (?:den autor|die autorin)|about the author|quellen(?:angaben)?)\s*[:.!…]?\s*$`)

// cutTail removes from n, the main content, the first heading that
// [moreHeading] matches (an element of at most 80 bytes of text) and
// everything after it, in its parent and in each ancestor's up to n,
// when that is less than half of the text of n.
func cutTail(n *html.Node) {
	total := visibleLen(n)
	var cut *html.Node
	walkElements(n, func(c *html.Node) bool {
		if cut != nil {
			return false
		}
		switch c.DataAtom {
		case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.P, atom.Strong, atom.B, atom.Div, atom.Span:
		default:
			return true
		}
		t := textOf(c)
		if len(t) > 80 || !moreHeading.MatchString(strings.Join(strings.Fields(t), " ")) {
			return true
		}
		cut = c
		return false
	})
	if cut == nil || cut.Parent == nil {
		return
	}
	// The heading and what follows it, up to n: in its parent and in
	// each ancestor's.
	var tail []*html.Node
	removed := 0
	for a := cut; a != n && a != nil; a = a.Parent {
		start := a.NextSibling
		if a == cut {
			start = a
		}
		for s := start; s != nil; s = s.NextSibling {
			tail = append(tail, s)
			removed += visibleLen(s)
		}
	}
	if 2*removed >= total {
		return
	}
	for _, s := range tail {
		s.Parent.RemoveChild(s)
	}
}
