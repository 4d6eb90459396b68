package crawler

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// SelectHTML is the --select pseudo-attribute ("name=css@html") that
// picks the inner HTML of each match instead of its text.
const SelectHTML = "html"

// urlAttrs are the attributes whose value is a URL: a --select of one of
// them gives the URL resolved against the page and normalised, as links
// are.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true,
	"poster": true, "data": true, "cite": true, "background": true,
	"longdesc": true, "manifest": true, "codebase": true, "icon": true,
	"itemid": true,
}

// IsURLAttr reports whether a --select attribute holds a URL that is
// resolved against the page (href, src, action, poster, data, ...).
func IsURLAttr(attr string) bool { return urlAttrs[strings.ToLower(attr)] }

// attrValue is the value a selector with attribute attr takes from the
// element n: "" and true for the text (attr ""), which the caller reads
// within its budget; the inner HTML for [SelectHTML]; for a URL
// attribute ([IsURLAttr]) the URL resolved against base and normalised
// like a link, or the value as it is when it is no http(s) URL
// ("mailto:", "data:"); the attribute as it is otherwise. false when n
// has no such attribute: the element gives no value, so an attribute
// that no element has gives an empty array.
func attrValue(n *html.Node, base *url.URL, attr string) (string, bool) {
	switch {
	case attr == "":
		return "", true
	case strings.EqualFold(attr, SelectHTML):
		if _, ok := attrFold(n, attr); ok {
			break // a real attribute named html wins
		}
		return innerHTML(n), true
	}
	v, ok := attrFold(n, attr)
	if !ok || !IsURLAttr(attr) {
		return v, ok
	}
	if abs, ok := ResolveLink(base, v); ok {
		return abs, true
	}
	return strings.TrimSpace(v), true
}

// innerHTML renders the children of n.
func innerHTML(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if err := html.Render(&b, c); err != nil {
			break // a strings.Builder does not fail; a broken tree stops here
		}
	}
	return b.String()
}
