package crawler

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file reads robots.txt as RFC 9309 defines it: lines are parsed one
// by one and a line that cannot be parsed is skipped, never the file;
// groups are runs of User-agent lines followed by rules, and groups for
// the same agent are merged; the rule with the longest pattern (in
// octets, after percent-encoding normalisation) decides, Allow winning a
// tie; "*" matches any run of characters and a final "$" anchors the end.

// robotsParseLimit is how much of a robots.txt is parsed: RFC 9309 §2.5
// asks for at least 500 KiB, and what lies beyond it is ignored.
const robotsParseLimit = 500 << 10

// robotsKey is the kind of a robots.txt line.
type robotsKey int

const (
	keyUnknown robotsKey = iota // any other name, or a line with no separator
	keyUserAgent
	keyAllow
	keyDisallow
	keySitemap
	keyCrawlDelay
)

// robotsKeys maps the lower-cased line names trawl reads to their kind.
var robotsKeys = map[string]robotsKey{
	"user-agent":  keyUserAgent,
	"allow":       keyAllow,
	"disallow":    keyDisallow,
	"sitemap":     keySitemap,
	"crawl-delay": keyCrawlDelay,
}

// scanRobots calls fn for every line of body that holds a name and a
// value, with its 1-based line number. Lines end with LF, CR LF or CR; a
// UTF-8 byte order mark (or the start of one) opens the file; "#" starts
// a comment; space and tab around the name and the value are dropped. A
// line with no colon is read as "name value" when it is exactly two
// words (Google's parser does the same: "Disallow /" means what it
// says); any other line without a colon is reported with key keyUnknown.
func scanRobots(body []byte, fn func(line int, key robotsKey, value string)) {
	body = robotsTrimBOM(body)
	for n := 1; len(body) > 0; n++ {
		line := body
		body = nil
		if end := bytes.IndexAny(line, "\r\n"); end >= 0 {
			next := end + 1
			if line[end] == '\r' && next < len(line) && line[next] == '\n' {
				next++
			}
			line, body = line[:end], line[next:]
		}
		if key, value, ok := splitRobotsLine(string(line)); ok {
			fn(n, key, value)
		}
	}
}

// robotsTrimBOM drops a UTF-8 byte order mark, whole or cut short, from the
// start of body.
func robotsTrimBOM(body []byte) []byte {
	bom := []byte("\xef\xbb\xbf")
	for i := len(bom); i > 0; i-- {
		if bytes.HasPrefix(body, bom[:i]) {
			return body[i:]
		}
	}
	return body
}

// splitRobotsLine splits one line into its key and value. ok is false for
// a line that is empty once its comment is dropped.
func splitRobotsLine(line string) (key robotsKey, value string, ok bool) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = strings.Trim(line, " \t")
	if line == "" {
		return keyUnknown, "", false
	}
	name, value, found := strings.Cut(line, ":")
	if !found {
		fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) != 2 {
			return keyUnknown, "", true
		}
		name, value = fields[0], fields[1]
	}
	return robotsKeys[strings.ToLower(strings.Trim(name, " \t"))], strings.Trim(value, " \t"), true
}

// robotsFile is a parsed robots.txt: its groups in file order and its
// Sitemap URLs.
type robotsFile struct {
	groups   []*robotsGroup
	sitemaps []string
}

// robotsGroup is the rules for some user agents. agents holds lower-cased
// product tokens, "*" for the group that applies to every crawler.
type robotsGroup struct {
	agents     []string
	rules      []robotsRule
	crawlDelay time.Duration // 0 when none was given
}

// robotsRule is one Allow or Disallow line, its pattern normalised by
// [robotsCanon].
type robotsRule struct {
	allow   bool
	pattern string
}

// parseRobots reads body as RFC 9309 robots.txt. Only the first
// robotsParseLimit bytes are read; when the body is longer, its last,
// cut line is dropped too. Rules before the first User-agent line belong
// to no group and are ignored; lines trawl does not know (and Sitemap
// lines) neither start nor end a group.
func parseRobots(body []byte) *robotsFile {
	if len(body) > robotsParseLimit {
		body = body[:robotsParseLimit]
		// The last line is cut short: "Allow: /public" cut to "Allow: /"
		// would allow everything.
		body = body[:bytes.LastIndexAny(body, "\r\n")+1]
	}
	f := &robotsFile{}
	var cur *robotsGroup
	inRules := false // cur has had a rule: the next User-agent starts a group
	scanRobots(body, func(_ int, key robotsKey, value string) {
		switch key {
		case keyUserAgent:
			if cur == nil || inRules {
				cur = &robotsGroup{}
				f.groups = append(f.groups, cur)
				inRules = false
			}
			if token := robotsProductToken(value); token != "" {
				cur.agents = append(cur.agents, token)
			}
		case keyAllow, keyDisallow:
			if cur == nil {
				return
			}
			inRules = true
			if value != "" { // an empty pattern matches nothing
				cur.rules = append(cur.rules, robotsRule{allow: key == keyAllow, pattern: robotsCanonPattern(value)})
			}
		case keyCrawlDelay:
			if d, ok := parseCrawlDelay(value); ok && cur != nil {
				cur.crawlDelay = max(cur.crawlDelay, d)
			}
		case keySitemap:
			if value != "" {
				f.sitemaps = append(f.sitemaps, value)
			}
		}
	})
	return f
}

// robotsProductToken returns the product token a User-agent value names,
// lower-cased: "*", or its leading run of letters, "-" and "_" (RFC 9309
// §2.2.1), so that "trawl/1.0" and "Trawl (compatible)" both name trawl.
func robotsProductToken(value string) string {
	if value == "*" || strings.HasPrefix(value, "* ") || strings.HasPrefix(value, "*\t") {
		return "*"
	}
	end := 0
	for end < len(value) && isRobotsTokenChar(value[end]) {
		end++
	}
	return strings.ToLower(value[:end])
}

func isRobotsTokenChar(c byte) bool {
	return c == '-' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// parseCrawlDelay reads a Crawl-delay value: seconds, possibly with a
// fraction ("2.5"), or a Go duration ("1s", "500ms"). ok is false for
// anything else and for negative or infinite values.
func parseCrawlDelay(v string) (time.Duration, bool) {
	secs, err := strconv.ParseFloat(v, 64)
	if err == nil {
		if secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return 0, false
		}
		return time.Duration(min(secs, float64(maxCrawlDelay/time.Second)) * float64(time.Second)), true
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// group returns the rules for the crawler whose product token is agent:
// every group naming agent (compared without regard to case), merged;
// failing that, every "*" group, merged; failing that, an empty group,
// which allows everything.
func (f *robotsFile) group(agent string) *robotsGroup {
	agent = strings.ToLower(agent)
	if merged := f.merge(agent); merged != nil {
		return merged
	}
	if merged := f.merge("*"); merged != nil {
		return merged
	}
	return &robotsGroup{}
}

// merge returns the groups that name token merged into one, or nil when
// none does.
func (f *robotsFile) merge(token string) *robotsGroup {
	var merged *robotsGroup
	for _, g := range f.groups {
		for _, a := range g.agents {
			if a != token {
				continue
			}
			if merged == nil {
				merged = &robotsGroup{agents: []string{token}}
			}
			merged.rules = append(merged.rules, g.rules...)
			merged.crawlDelay = max(merged.crawlDelay, g.crawlDelay)
			break
		}
	}
	return merged
}

// allows reports whether the group lets a crawler fetch target, the path
// and query of a URL as sent in the request line. The matching rule with
// the longest pattern decides; Allow wins between patterns of the same
// length; no matching rule means allowed.
func (g *robotsGroup) allows(target string) bool {
	target = robotsCanonTarget(target)
	best, allowed := -1, true
	for _, r := range g.rules {
		n := len(r.pattern)
		if n < best || (n == best && allowed) || !robotsMatch(r.pattern, target) {
			continue
		}
		best, allowed = n, r.allow
	}
	return allowed
}

// robotsMatch reports whether pattern matches the start of target: "*"
// stands for any run of octets and a "$" at the end of pattern for the
// end of target. Both are in [robotsCanon] form.
func robotsMatch(pattern, target string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	first, rest, wild := strings.Cut(pattern, "*")
	if !strings.HasPrefix(target, first) {
		return false
	}
	if !wild {
		return !anchored || len(first) == len(target)
	}
	// The leftmost place for each middle part leaves the most room for
	// the rest, so a greedy scan decides without backtracking.
	pos := len(first)
	for {
		part, more, ok := strings.Cut(rest, "*")
		if !ok { // the last part
			if anchored {
				return len(target)-pos >= len(part) && strings.HasSuffix(target, part)
			}
			return strings.Contains(target[pos:], part)
		}
		i := strings.Index(target[pos:], part)
		if i < 0 {
			return false
		}
		pos, rest = pos+i+len(part), more
	}
}

// robotsCanon puts a pattern or a request target into the one
// percent-encoded form both are compared in (RFC 9309 §2.2.2): octets
// outside printable ASCII are percent-encoded, an encoded unreserved
// character (letters, digits, "-", ".", "_", "~") is decoded, other
// escapes are kept with upper-case hex digits, and a "%" that starts no
// escape becomes "%25". So "/café", "/caf%c3%a9" and "/caf%C3%A9" are
// the same, and so are "/%7Ejoe" and "/~joe".
func robotsCanon(s string) string {
	if !robotsNeedsCanon(s) {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	escape := func(c byte) {
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	for i := 0; i < len(s); i++ {
		c, escaped := robotsUnescapeAt(s, i)
		switch {
		case escaped && robotsUnreserved(c):
			b.WriteByte(c)
		case escaped:
			escape(c)
		case robotsEscapes(s[i]):
			escape(s[i])
		default:
			b.WriteByte(s[i])
		}
		if escaped {
			i += 2
		}
	}
	return b.String()
}

// robotsTargetSpecials writes the octets that are special in a pattern
// percent-encoded.
var robotsTargetSpecials = strings.NewReplacer("*", "%2A", "$", "%24")

// robotsCanonTarget is [robotsCanon] for a request target, in which "*"
// and "$" are octets like any other: they are percent-encoded, as a
// pattern writes them to match them verbatim (RFC 9309 §2.2.3: the
// pattern "/path/file-with-a-%2A.html" matches the path
// "/path/file-with-a-*.html").
func robotsCanonTarget(s string) string {
	s = robotsCanon(s)
	if !strings.ContainsAny(s, "*$") {
		return s
	}
	return robotsTargetSpecials.Replace(s)
}

// robotsCanonPattern is [robotsCanon] for a pattern: a "$" before its
// end is no end anchor but an octet, percent-encoded as in the target
// (see [robotsCanonTarget]).
func robotsCanonPattern(s string) string {
	s = robotsCanon(s)
	if i := strings.IndexByte(s, '$'); i < 0 || i == len(s)-1 {
		return s
	}
	body, anchor := strings.CutSuffix(s, "$")
	body = strings.ReplaceAll(body, "$", "%24")
	if anchor {
		body += "$"
	}
	return body
}

// robotsNeedsCanon reports whether s has anything robotsCanon would change.
func robotsNeedsCanon(s string) bool {
	for i := 0; i < len(s); i++ {
		if robotsEscapes(s[i]) {
			return true
		}
	}
	return false
}

// robotsEscapes reports whether robotsCanon percent-encodes the octet c
// when it starts no escape: "%", controls, space, DEL and non-ASCII.
func robotsEscapes(c byte) bool {
	return c == '%' || c <= ' ' || c >= 0x7f
}

// robotsUnescapeAt returns the octet the escape "%XX" at s[i] stands for; ok is
// false when s[i] starts no escape.
func robotsUnescapeAt(s string, i int) (c byte, ok bool) {
	if s[i] != '%' || i+2 >= len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
	return byte(v), err == nil
}

// robotsUnreserved reports whether c is an unreserved character of RFC
// 3986 §2.3, which percent-encoding must not change.
func robotsUnreserved(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
