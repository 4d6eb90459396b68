package content

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// boilerName matches a class or id word of an element that holds no main
// content: comments, sharing buttons, related articles, advertising.
var boilerName = regexp.MustCompile(`(?:^|[-_ ])(?:comments|commentlist|comment-list|respond|share|sharing|sharedaddy|social|related|relatedposts|newsletter|cookie|consent|advert|advertisement|adsbygoogle|sponsored|author-bio|authorbox|jp-relatedposts|yarpp|post-navigation|wp-caption-text|caption|post-meta|entry-meta|postmetadata|byline|entry-footer|post-footer|cat-links|tags-links|author-info|share-buttons|print|colophon|copyright|robots-nocontent|jp-post-flair|site-info|teaser)(?:[-_ ]|$)`)

// pruneBoilerplate removes the elements under body whose class or id
// names boilerplate, unless they hold at least half of the text of the
// page (a <div class="has-sidebar"> around everything).
func pruneBoilerplate(body *html.Node) {
	total := visibleLen(body)
	var drop []*html.Node
	walkElements(body, func(n *html.Node) bool {
		switch n.DataAtom {
		case atom.Html, atom.Body, atom.Article, atom.Main:
			return true
		}
		name := strings.ToLower(attr(n, "class") + " " + attr(n, "id"))
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
