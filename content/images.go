package content

import (
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// prepareImages readies the images under n for the Markdown (the text
// leaves images out), keeping only the words that describe an image:
//   - a link to another site whose only content is images (an
//     advertisement or a call to action) is removed;
//   - an image's title, and the title of a link without visible text,
//     (tooltips, often a caption with a credit) are dropped;
//   - an alt text that only repeats the image's file name is dropped;
//   - a photo credit is cut from an alt text (see [stripCredit]).
func prepareImages(n *html.Node, base *url.URL) {
	var ads []*html.Node
	walkElements(n, func(e *html.Node) bool {
		switch e.DataAtom {
		case atom.A:
			if visibleLen(e) > 0 {
				break
			}
			if offsite(attr(e, "href"), base) && holdsImage(e) {
				ads = append(ads, e)
				return false
			}
			dropAttr(e, "title")
		case atom.Img:
			dropAttr(e, "title")
			alt := attr(e, "alt")
			if alt == "" {
				break
			}
			if fileNameAlt(alt, attr(e, "src")) {
				dropAttr(e, "alt")
			} else if s := stripCredit(alt); s != alt {
				setAttr(e, "alt", s)
			}
		}
		return true
	})
	for _, a := range ads {
		detach(a)
	}
}

// credit matches a photo credit at the end of an alt text: from a "©" to
// the end, or a last parenthesised group naming a source with a "/"
// ("(REUTERS/Denis Balibouse)") or after a credit word ("(Foto: dpa)",
// "(crédito: ...)").
var credit = regexp.MustCompile(`(?i)\s*(?:©.*|\((?:[^()]*/[^()]*|(?:foto|photo|fot\.|bild|image|credit|crédito|crédit|quelle|source|fuente)\s*:[^()]*)\)\s*)$`)

// stripCredit returns alt without the photo credit at its end.
func stripCredit(alt string) string {
	return strings.TrimSpace(credit.ReplaceAllString(alt, ""))
}

func dropAttr(n *html.Node, key string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
			return
		}
	}
}

// offsite reports whether href leads to a host other than base's, with
// "www." ignored on both.
func offsite(href string, base *url.URL) bool {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil || base == nil || u.Host == "" {
		return false
	}
	host := func(h string) string { return strings.TrimPrefix(strings.ToLower(h), "www.") }
	return host(u.Hostname()) != host(base.Hostname())
}

// holdsImage reports whether n holds an image.
func holdsImage(n *html.Node) bool {
	img := false
	walkElements(n, func(e *html.Node) bool {
		img = img || e.DataAtom == atom.Img
		return !img
	})
	return img
}

// fileNameAlt reports whether alt only repeats the file name of src
// (letters compared case-insensitively, "-", "_", "." and spaces
// ignored, the extension and a numeric suffix allowed).
func fileNameAlt(alt, src string) bool {
	key := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '-' || r == '_' || r == ' ' || r == '.' {
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	a := key(alt)
	u, err := url.Parse(src)
	if a == "" || err != nil {
		return false
	}
	name := path.Base(u.Path)
	name = key(strings.TrimSuffix(name, path.Ext(name)))
	return name == a || strings.HasPrefix(name, a) && strings.Trim(name[len(a):], "0123456789x") == ""
}

// captionClass matches the class of a caption that is no <figcaption>.
var captionClass = regexp.MustCompile(`(?:^|[-_ ])(?:wp-caption-text|caption)(?:[-_ ]|$)`)

// dropCaptionAlts drops, under n, the alt text of an image that repeats
// its caption (a <figcaption> or an element of class "caption" in the
// same figure or block, credits left aside): the caption is boilerplate
// (see [boilerplate]), and where it is kept the alt text only repeats it.
func dropCaptionAlts(n *html.Node) {
	walkElements(n, func(e *html.Node) bool {
		if e.DataAtom != atom.Figcaption && !captionClass.MatchString(attr(e, "class")) {
			return true
		}
		caption := letters(stripCredit(strings.Join(strings.Fields(textOf(e)), " ")))
		if len(caption) < 8 {
			return false
		}
		box := e.Parent
		for i := 0; i < 3 && box != nil && box.Type == html.ElementNode; i++ {
			found := false
			walkElements(box, func(img *html.Node) bool {
				if img.DataAtom != atom.Img {
					return true
				}
				found = true
				if alt := letters(attr(img, "alt")); alt != "" && (strings.Contains(caption, alt) || strings.Contains(alt, caption)) {
					dropAttr(img, "alt")
				}
				return false
			})
			if found {
				break
			}
			box = box.Parent
		}
		return false
	})
}

// letters returns the letters and digits of s, in lower case.
func letters(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}
