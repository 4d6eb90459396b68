package crawler

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits bound what extraction takes from one page, so that a hostile page
// can neither make its record huge nor make trawl build it in huge memory:
// a long <base href> times many short links once made a 2.7 MB page into a
// 1.6 GB output line. A zero field means its default.
type Limits struct {
	// MaxLinks is the most links kept, after deduplication; a page with
	// more has Page.LinksTruncated set. Zero means [DefaultMaxLinks].
	MaxLinks int
	// MaxLinkBytes bounds the total length of the links kept (and the
	// work of resolving them: at most four times as many bytes of links
	// are resolved, duplicates included); past it LinksTruncated is set.
	// Zero means [DefaultPageBudget].
	MaxLinkBytes int
	// MaxMatches is the most values kept under one selector name
	// (selectors that share a name share it); more matches set
	// Page.FieldsTruncated. Zero means [DefaultMaxMatches].
	MaxMatches int
	// MaxFieldBytes bounds the total length of the values of all
	// selectors; the value that passes it is cut (at a character
	// boundary), later ones are left out, and FieldsTruncated is set.
	// Zero means [DefaultPageBudget].
	MaxFieldBytes int
}

// Extraction limits.
const (
	// DefaultMaxLinks is the default of --max-links.
	DefaultMaxLinks = 10_000
	// MaxURLLength is the longest link kept, in bytes, normalised: a
	// longer one is left out and counted in Page.LinksDropped. Browsers
	// and servers rarely take URLs of more than 8 KiB.
	MaxURLLength = 8 << 10
	// DefaultMaxMatches is the most values one --select selector keeps.
	DefaultMaxMatches = 10_000
	// DefaultPageBudget is the default byte budget of a page's links and
	// of its selector values, each: [PageBudget] of the default body limit.
	DefaultPageBudget = 6 << 20
)

// PageBudget returns the byte budget of a page's links and of its
// selector values, each, for a body limit of maxBody bytes: four times
// the body limit (resolved links are longer than the hrefs they come
// from), at least 1 MiB and at most 6 MiB, so that links and values
// together stay well within the largest record a sink writes and a
// resumed run reads back (store.MaxRecordBytes, 16 MiB).
func PageBudget(maxBody int64) int {
	const lo, hi = 1 << 20, DefaultPageBudget
	if maxBody <= 0 || maxBody >= hi/4 {
		return hi
	}
	return max(lo, int(4*maxBody))
}

func (lim Limits) withDefaults() Limits {
	if lim.MaxLinks <= 0 {
		lim.MaxLinks = DefaultMaxLinks
	}
	if lim.MaxLinkBytes <= 0 {
		lim.MaxLinkBytes = DefaultPageBudget
	}
	if lim.MaxMatches <= 0 {
		lim.MaxMatches = DefaultMaxMatches
	}
	if lim.MaxFieldBytes <= 0 {
		lim.MaxFieldBytes = DefaultPageBudget
	}
	return lim
}

// linkSet is the links of a page as they are resolved within the limits.
type linkSet struct {
	lim       Limits
	base      *url.URL
	bases     baseLengths
	links     []string
	seen      map[string]struct{}
	bytes     int // of the links kept
	work      int // bytes of links resolved, duplicates and drops included
	truncated bool
	dropped   int
}

// resolveLinks resolves hrefs against base, dropping the links trawl does
// not follow and duplicates, within lim: it returns the links, whether
// some were left out for MaxLinks or MaxLinkBytes, and how many were
// dropped for being longer than [MaxURLLength]. A link that would be too
// long is recognised before it is resolved when the href and the part of
// base it keeps are too long already, so that a long base URL does not
// cost its length for every short link.
func resolveLinks(base *url.URL, hrefs []string, lim Limits) (links []string, truncated bool, dropped int) {
	lim = lim.withDefaults()
	n := min(len(hrefs), lim.MaxLinks)
	s := linkSet{lim: lim, base: base, bases: lengthsOf(base), links: make([]string, 0, n), seen: make(map[string]struct{}, n)}
	for _, h := range hrefs {
		if !s.add(h) {
			s.truncated = true
			break
		}
	}
	return s.links, s.truncated, s.dropped
}

// add resolves href and keeps its link; false when the limits are
// reached and no more links can be kept.
func (s *linkSet) add(href string) bool {
	if s.work > 4*s.lim.MaxLinkBytes {
		return false
	}
	if est, ok := s.bases.estimate(href); !ok {
		return true // not an http(s) link
	} else if est > MaxURLLength {
		s.dropped++
		return true
	}
	l, ok := ResolveLink(s.base, href)
	if !ok {
		return true
	}
	s.work += len(l)
	if len(l) > MaxURLLength {
		s.dropped++
		return true
	}
	if _, dup := s.seen[l]; dup {
		return true
	}
	if len(s.links) == s.lim.MaxLinks || s.bytes+len(l) > s.lim.MaxLinkBytes {
		return false
	}
	s.seen[l] = struct{}{}
	s.links = append(s.links, l)
	s.bytes += len(l)
	return true
}

// canonicalLink resolves the <link rel=canonical> href against base: ""
// when it is no http(s) URL or longer than [MaxURLLength], as a link would
// be dropped.
func canonicalLink(base *url.URL, href string) string {
	l, ok := ResolveLink(base, href)
	if !ok || len(l) > MaxURLLength {
		return ""
	}
	return l
}

// baseLengths are the lengths of the parts of a base URL that a relative
// reference keeps.
type baseLengths struct {
	scheme    int // "http:"
	authority int // "http://host:port"
	dir       int // authority and the path up to its last '/'
	path      int // authority and the whole path
}

func lengthsOf(base *url.URL) baseLengths {
	if base == nil {
		return baseLengths{}
	}
	path := base.EscapedPath()
	auth := len(base.Scheme) + len("://") + len(base.Host)
	return baseLengths{
		scheme:    len(base.Scheme) + 1,
		authority: auth,
		dir:       auth + strings.LastIndexByte(path, '/') + 1,
		path:      auth + len(path),
	}
}

// estimate returns about how long href is once resolved: its length plus
// that of the part of the base it keeps. Dot segments and percent-decoding
// can make the link shorter, percent-encoding longer; ResolveLink has the
// last word on links the estimate lets through. It reports false for an
// href with a scheme other than http and https, which is no link for trawl.
func (b baseLengths) estimate(href string) (int, bool) {
	h := href
	for len(h) > 0 && h[0] <= ' ' {
		h = h[1:] // C0 controls and space, as trimURL trims
	}
	if h == "" || h[0] == '#' {
		return 0, false // no link, as ResolveLink says
	}
	if scheme, ok := schemeOf(h); ok {
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return 0, false
		}
		return len(h), true
	}
	switch {
	case strings.HasPrefix(h, "//"), strings.HasPrefix(h, `\\`), strings.HasPrefix(h, `/\`), strings.HasPrefix(h, `\/`):
		return b.scheme + len(h), true
	case strings.HasPrefix(h, "/"), strings.HasPrefix(h, `\`):
		return b.authority + len(h), true
	case strings.HasPrefix(h, "?"):
		return b.path + len(h), true
	}
	return b.dir + len(h), true
}

// schemeOf returns the scheme of a URL that starts with one.
func schemeOf(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], true
		default:
			return "", false
		}
	}
	return "", false
}

// fieldBudget is what is left of the byte budget of a page's selector
// values.
type fieldBudget struct {
	left      int
	truncated bool
}

// take returns v, cut to what is left of the budget (at a character
// boundary), and charges it for v.
func (b *fieldBudget) take(v string) string {
	if len(v) > b.left {
		cut := max(b.left, 0)
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut]
		b.truncated = true
	}
	b.left -= len(v)
	return v
}
