package crawler

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"
)

// ScopeMode says which discovered links a crawl follows, relative to its
// seeds. The zero value is [ScopeHost].
type ScopeMode int

// The scope modes, named as --scope takes them.
const (
	// ScopeHost follows links to the host and port of a seed. A host and
	// its "www." form count as one host (example.com and www.example.com),
	// because sites redirect between the two; other subdomains do not.
	// The port must be the seed's, so that a page cannot send the crawl
	// to another service of its host (a local Redis, an admin port); the
	// scheme must be the seed's too, except that http on port 80 and
	// https on port 443 count as one site, as sites redirect from the one
	// to the other.
	ScopeHost ScopeMode = iota
	// ScopeDomain follows links to the registrable domain of a seed (its
	// public suffix plus one label, e.g. example.co.uk) and all its
	// subdomains. Seeds on an IP address or a bare name such as
	// localhost fall back to ScopeHost for that seed.
	ScopeDomain
	// ScopePrefix follows links that start with a seed's directory: the
	// seed up to and including the last '/' of its path, without its query.
	// The seed https://example.com/docs/intro.html allows everything under
	// https://example.com/docs/; give a trailing slash to mean a directory.
	ScopePrefix
	// ScopeAny follows every http and https link.
	ScopeAny
	// ScopeHostAnyPort is ScopeHost without comparing schemes and ports:
	// any port of a seed's host is followed.
	ScopeHostAnyPort
)

var scopeModeNames = [...]string{"host", "domain", "prefix", "any", "host-any-port"}

// ScopeModeNames returns the names of the modes, as ParseScopeMode takes
// them (for shell completion).
func ScopeModeNames() []string { return append([]string(nil), scopeModeNames[:]...) }

// ParseScopeMode returns the mode named s: "host", "domain", "prefix",
// "any" or "host-any-port" (case-insensitive). An unknown name is an
// error naming it.
func ParseScopeMode(s string) (ScopeMode, error) {
	for i, name := range scopeModeNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return ScopeMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown scope %q (want host, domain, prefix, any or host-any-port)", s)
}

// String returns the mode's name as ParseScopeMode accepts it.
func (m ScopeMode) String() string {
	if m < 0 || int(m) >= len(scopeModeNames) {
		return "ScopeMode(" + strconv.Itoa(int(m)) + ")"
	}
	return scopeModeNames[m]
}

// Set parses s into m, so that a *ScopeMode can serve as a command-line
// flag value (pflag.Value).
func (m *ScopeMode) Set(s string) error {
	v, err := ParseScopeMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Type names the flag value type for help texts.
func (m *ScopeMode) Type() string { return "scope" }

// ScopeOptions are the limits of a crawl. The zero value follows links on
// the seeds' hosts without limits of depth or pages.
type ScopeOptions struct {
	// Mode relates allowed URLs to the seeds.
	Mode ScopeMode
	// Include, when not empty, allows only URLs that match at least one
	// of its expressions. Expressions match the normalised URL and are
	// unanchored: add ^ and $ to match it whole.
	Include []*regexp.Regexp
	// Exclude refuses URLs that match any of its expressions; it wins over
	// Include.
	Exclude []*regexp.Regexp
	// MaxDepth is the deepest link depth followed; seeds are depth 0 and
	// a link found on a page of depth d has depth d+1. 0 means no limit,
	// as in other crawlers (colly, Scrapy's DEPTH_LIMIT).
	MaxDepth int
	// MaxPages bounds how many pages Admit lets through; 0 means no limit.
	MaxPages int
}

// Scope decides which URLs a crawl fetches. It is built once from the
// seeds; all its methods are safe for concurrent use.
//
// Scope does not judge the seeds themselves: the pipeline fetches every
// seed, and asks Check about the links it finds and the redirects it
// follows.
type Scope struct {
	opts     ScopeOptions
	sites    map[string]bool     // ScopeHost, ScopePrefix: siteKey of the seeds
	hosts    map[string]bool     // ScopeHostAnyPort, and fallback of ScopeDomain
	domains  map[string]bool     // ScopeDomain: registrable domains
	prefixes map[string][]string // ScopePrefix: by host
	admitted atomic.Int64
	refused  atomic.Bool // Admit refused a page: MaxPages cut the crawl
}

// NewScope returns the scope of a crawl from its seeds, which should be
// normalised (see [ParseURL]).
func NewScope(seeds []*url.URL, opts ScopeOptions) *Scope {
	s := &Scope{
		opts:     opts,
		sites:    make(map[string]bool),
		hosts:    make(map[string]bool),
		domains:  make(map[string]bool),
		prefixes: make(map[string][]string),
	}
	for _, u := range seeds {
		host := u.Hostname()
		switch opts.Mode {
		case ScopeHost:
			s.sites[siteKey(u)] = true
		case ScopeHostAnyPort:
			s.hosts[sameSiteHost(host)] = true
		case ScopeDomain:
			if d, ok := registrableDomain(host); ok {
				s.domains[d] = true
			} else {
				s.hosts[sameSiteHost(host)] = true
			}
		case ScopePrefix:
			s.prefixes[host] = append(s.prefixes[host], directoryPrefix(u))
			s.sites[siteKey(u)] = true // for AllowsSitemap
		}
	}
	return s
}

// Check returns nil when the URL raw, found at the given depth, is in the
// scope, and otherwise an *Error of kind [KindOutOfScope] saying why (the
// mode, an include or exclude expression, or the depth). raw need not be
// normalised; one that is not a valid http or https URL is an *Error of
// kind [KindInvalidURL].
func (s *Scope) Check(raw string, depth int) error {
	u, err := ParseURL(raw)
	if err != nil {
		return err
	}
	if s.opts.MaxDepth > 0 && depth > s.opts.MaxDepth {
		return newError(KindOutOfScope, raw, fmt.Errorf("depth %d is past the max depth %d", depth, s.opts.MaxDepth))
	}
	if !s.inMode(u) {
		return newError(KindOutOfScope, raw, fmt.Errorf("outside the %s scope of the seeds", s.opts.Mode))
	}
	if len(s.opts.Exclude) == 0 && len(s.opts.Include) == 0 {
		return nil
	}
	norm := u.String()
	for _, re := range s.opts.Exclude {
		if re.MatchString(norm) {
			return newError(KindOutOfScope, raw, fmt.Errorf("matches --exclude %q", re))
		}
	}
	if len(s.opts.Include) == 0 {
		return nil
	}
	for _, re := range s.opts.Include {
		if re.MatchString(norm) {
			return nil
		}
	}
	return newError(KindOutOfScope, raw, errors.New("matches no --include expression"))
}

// refuses reports whether Check(raw, depth) returns an error, as Check
// does, but without parsing raw when its host alone tells (outsideFast):
// a crawl's pages link to many other sites, and their parse was most of
// what such a link cost.
func (s *Scope) refuses(raw string, depth int) bool {
	return s.outsideFast(raw) || s.Check(raw, depth) != nil
}

// outsideFast reports whether raw is certainly outside the scope by its
// mode (ScopeHost, ScopeHostAnyPort) without parsing it: an http or
// https URL, written in lower case, whose authority is a plain host name
// (see plainHostName), without a port or user info, that is not the host
// of a seed. Parsing such a URL gives that host and the scheme's default
// port, or fails. False when it does not know.
func (s *Scope) outsideFast(raw string) bool {
	if s.opts.Mode != ScopeHost && s.opts.Mode != ScopeHostAnyPort {
		return false
	}
	var rest string
	switch {
	case strings.HasPrefix(raw, "https://"):
		rest = raw[len("https://"):]
	case strings.HasPrefix(raw, "http://"):
		rest = raw[len("http://"):]
	default:
		return false
	}
	host := rest
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		host = rest[:end]
	}
	if !plainHostName(host) {
		return false
	}
	if s.opts.Mode == ScopeHost {
		return !s.sites[sameSiteHost(host)+" default"] // siteKey with the default port
	}
	return !s.hosts[sameSiteHost(host)]
}

// plainHostName reports whether h is a host name that a URL parser keeps
// as it is: labels of lower-case ASCII letters, digits and '-', none
// empty, the last one starting with a letter (not a number, so not an
// IPv4 address), and no "xn--" (whose IDNA decoding may refuse it).
func plainHostName(h string) bool {
	if h == "" || len(h) > 253 || strings.Contains(h, "xn--") {
		return false
	}
	label := 0 // length of the label so far
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-':
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	if label == 0 {
		return false // empty, or a trailing dot
	}
	last := h[strings.LastIndexByte(h, '.')+1]
	return last >= 'a' && last <= 'z'
}

// AllowsSitemap reports whether the sitemap file at raw may be read for
// the crawl: it must be in the scope by its mode alone (--include,
// --exclude and --depth are about pages), except that in ScopePrefix it
// need only be on the host and port of a seed, since sitemaps live at a
// site's root.
func (s *Scope) AllowsSitemap(raw string) bool {
	u, err := ParseURL(raw)
	if err != nil {
		return false
	}
	if s.opts.Mode == ScopePrefix {
		return s.sites[siteKey(u)]
	}
	return s.inMode(u)
}

// Allows reports whether Check(raw, depth) returns nil.
func (s *Scope) Allows(raw string, depth int) bool { return s.Check(raw, depth) == nil }

// Readmit counts n pages admitted by an earlier, interrupted run of the
// same crawl against MaxPages, so that a resumed crawl admits only what
// is left: MaxPages minus those. Call it before the crawl starts.
func (s *Scope) Readmit(n int) {
	if n > 0 {
		s.admitted.Add(int64(n))
	}
}

// Admit takes one of the MaxPages page slots and reports whether it got
// one. Once it has returned false it always does. Call it once per page
// about to be fetched, after deduplication.
func (s *Scope) Admit() bool {
	for {
		n := s.admitted.Load()
		if s.opts.MaxPages > 0 && n >= int64(s.opts.MaxPages) {
			s.refused.Store(true)
			return false
		}
		if s.admitted.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Truncated reports whether Admit refused a page: the crawl did not
// fetch everything in its scope.
func (s *Scope) Truncated() bool { return s.refused.Load() }

// Admitted returns how many pages Admit has let through.
func (s *Scope) Admitted() int { return int(s.admitted.Load()) }

// inMode reports whether the normalised u is in scope by the mode alone.
func (s *Scope) inMode(u *url.URL) bool {
	host := u.Hostname()
	switch s.opts.Mode {
	case ScopeHost:
		return s.sites[siteKey(u)]
	case ScopeHostAnyPort:
		return s.hosts[sameSiteHost(host)]
	case ScopeDomain:
		if s.hosts[sameSiteHost(host)] {
			return true
		}
		d, ok := registrableDomain(host)
		return ok && s.domains[d]
	case ScopePrefix:
		str := u.String()
		for _, p := range s.prefixes[host] {
			if strings.HasPrefix(str, p) {
				return true
			}
		}
		return false
	case ScopeAny:
		return true
	}
	return false
}

// siteKey is what ScopeHost compares: the host with its "www." folded,
// the scheme and the port, where http on port 80 and https on port 443
// are one site.
func siteKey(u *url.URL) string {
	host, port := sameSiteHost(u.Hostname()), u.Port()
	switch {
	case port == "" && (u.Scheme == "http" || u.Scheme == "https"),
		u.Scheme == "http" && port == "80", u.Scheme == "https" && port == "443":
		return host + " default"
	}
	if port == "" {
		port = "?"
	}
	return u.Scheme + "://" + host + ":" + port
}

// sameSiteHost folds a leading "www." so that a host and its www form
// compare equal.
func sameSiteHost(host string) string { return strings.TrimPrefix(host, "www.") }

// registrableDomain returns the public suffix plus one label of host, and
// false for IP addresses and hosts that have none (localhost, co.uk).
func registrableDomain(host string) (string, bool) {
	if strings.HasPrefix(host, "[") {
		return "", false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", false
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", false
	}
	return d, true
}

// directoryPrefix returns u up to and including the last '/' of its path,
// without query.
func directoryPrefix(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.Fragment = ""
	s := c.String()
	// The path starts after "scheme://host"; the last '/' is in it.
	return s[:strings.LastIndexByte(s, '/')+1]
}
