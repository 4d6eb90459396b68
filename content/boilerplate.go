package content

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// boilerName matches a class or id word of an element that holds no main
// content: comments, sharing buttons, related articles, advertising.
var boilerName = regexp.MustCompile(`(?:^|[-_ ])(?:comments|commentlist|comment-list|respond|share|sharing|sharedaddy|social|related|relatedposts|newsletter|cookie|consent|advert|advertisement|adsbygoogle|sponsored|author-bio|authorbox|jp-relatedposts|yarpp|post-navigation|wp-caption-text|caption|post-meta|entry-meta|postmetadata|byline|entry-footer|post-footer|cat-links|tags-links|author-info|share-buttons|colophon|copyright|robots-nocontent|jp-post-flair|site-info|teaser)(?:[-_ ]|$)`)

// DiscardShare is the share of the page's text below which an element
// that [discarded] names is removed before the main content is chosen:
// trafilatura's class names are broad ("meta", "bar"), and a wrapper
// named so can hold the article. Tuned on the dev split.
var DiscardShare = 0.1

// pruneBoilerplate removes the elements under body whose class or id
// names boilerplate, unless they hold at least half of the text of the
// page (a <div class="has-sidebar"> around everything), and those that
// [discarded] names holding less than [DiscardShare] of it. The elements
// in keep stay (those a content selector matches and their ancestors).
func pruneBoilerplate(body *html.Node, keep map[*html.Node]bool) {
	total := visibleLen(body)
	var drop []*html.Node
	walkElements(body, func(n *html.Node) bool {
		switch n.DataAtom {
		case atom.Html, atom.Body, atom.Article, atom.Main:
			return true
		}
		if keep[n] {
			return true
		}
		name := strings.ToLower(attr(n, "class") + " " + attr(n, "id"))
		if discarded(n) && float64(visibleLen(n)) < DiscardShare*float64(total) {
			drop = append(drop, n)
			return false
		}
		if strings.TrimSpace(name) == "" || !boilerName.MatchString(name) {
			return true
		}
		if total > 0 && 2*visibleLen(n) >= total {
			return true
		}
		drop = append(drop, n)
		return false
	})
	for _, n := range drop {
		n.Parent.RemoveChild(n)
	}
}

// holding returns the nodes and all their ancestors.
func holding(nodes []*html.Node) map[*html.Node]bool {
	m := make(map[*html.Node]bool, len(nodes))
	for _, n := range nodes {
		for p := n; p != nil && !m[p]; p = p.Parent {
			m[p] = true
		}
	}
	return m
}

// bylineName matches the class or id of an element naming the author, as
// readability looks for it.
var bylineName = regexp.MustCompile(`(?i)byline|author|dateline|writtenby|p-author`)

// bylineOf returns the text of the first element of doc that names the
// author as readability finds it (rel=author, itemprop author, or a
// class or id saying so; at most 100 characters), or "". Pruning removes
// such elements before readability sees them.
func bylineOf(doc *html.Node) string {
	found := ""
	walkElements(findBody(doc), func(n *html.Node) bool {
		if found != "" {
			return false
		}
		if attr(n, "rel") == "author" || strings.Contains(attr(n, "itemprop"), "author") ||
			bylineName.MatchString(attr(n, "class")+" "+attr(n, "id")) {
			t := strings.Join(strings.Fields(textOf(n)), " ")
			if t != "" && utf8.RuneCountInString(t) <= 100 {
				found = t
				return false
			}
		}
		return true
	})
	return found
}
