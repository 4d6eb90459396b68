package crawler

import (
	"bytes"
	"errors"
	"hash/maphash"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/trawl-dev/trawl/store"
)

// hostProfile maps host names to their ASCII (punycode) form the way web
// browsers do (the WHATWG URL standard's "domain to ASCII" without
// beStrict): lookup mapping and the Bidi and joiner checks, but no STD3 or
// hyphen rules, so real hosts such as "my_host.example" or
// "r3---sn-abc.example" are accepted. Characters other than letters,
// digits, '-', '_' and '.' are refused afterwards by parseHost.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

// Normalize returns the canonical form of raw, an absolute http or https
// URL, as [ParseURL] describes it. Two URLs that normalise to the same
// string are the same page to trawl: deduplication, the seen set and
// [Fingerprint] all use this form.
func Normalize(raw string) (string, error) {
	p, err := parseRaw(nil, raw)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

// ParseURL parses raw as an absolute http or https URL and returns it
// normalised. Parsing follows the WHATWG URL standard (the basic URL
// parser without a base, as browsers and the web-platform-tests URL suite
// have it), so trawl reads a URL the way a browser does:
//
//   - leading and trailing spaces and control characters are trimmed, and
//     tabs and newlines inside are removed;
//   - '\' counts as '/' before the query, and the slashes after "http:"
//     may be missing, doubled or backslashes ("http:/example.com/",
//     "http:example.com" and "http:\\example.com" are all
//     "http://example.com/");
//   - scheme and host are lower-cased; the host is percent-decoded and an
//     internationalised host becomes its punycode form ("bücher.de" →
//     "xn--bcher-kva.de"); a host that ends in a number is an IPv4
//     address in any of the forms browsers take ("0x7f.1",
//     "192.168.257", "0xffffffff", full-width digits) and is written in
//     dotted decimal; IPv6 literals take their WHATWG text form;
//   - the default port (80 for http, 443 for https) is dropped, and
//     leading zeros of a port are removed (port 0 is kept);
//   - in the path, "." and ".." segments (also written "%2e") are
//     resolved and an empty path becomes "/";
//   - an empty password is dropped ("a:@host" is "a@host") and so is
//     empty user information ("@host", ":@host").
//
// Where trawl's normal form deliberately differs from the standard's
// serialisation:
//
//   - the fragment is dropped, and so is an empty query ("?");
//   - one trailing dot of the host is dropped ("example.com." is
//     "example.com");
//   - percent-encoding in path and query uses upper-case hex, escapes of
//     the unreserved characters A-Z a-z 0-9 - . _ ~ are decoded, a '%' not
//     followed by two hex digits becomes "%25", and besides what the
//     standard escapes, the path escapes every character but the
//     unreserved ones and ! $ & ' ( ) * + , ; = : @ [ ] / (so '|' and '^'
//     too) and the query escapes \ ^ ` { | } too; nothing else is decoded
//     or encoded: "%2F" stays distinct from "/";
//   - user information is percent-encoded the way Go's net/url writes it
//     (it is kept because Go's HTTP client sends it as basic
//     authentication; callers that print URLs where secrets matter should
//     redact it);
//   - a host must be a DNS name of letters, digits, '-' and '_' in
//     non-empty labels, or an IP address: hosts the standard allows but no
//     DNS name has ("a..b", "exa!mple.com") are refused.
//
// Anything else — another scheme, no scheme, no host, an invalid IPv4 or
// IPv6 address, a port out of range, or text that does not parse — is an
// *Error of kind [KindInvalidURL] naming raw.
func ParseURL(raw string) (*url.URL, error) {
	p, err := parseRaw(nil, raw)
	if err != nil {
		return nil, err
	}
	return p.URL(), nil
}

// parseRaw parses raw against base (nil for none), giving errors of kind
// invalid_url that name raw.
func parseRaw(base *url.URL, raw string) (parsedURL, error) {
	s := trimURL(raw)
	if s == "" {
		return parsedURL{}, newError(KindInvalidURL, raw, errors.New("empty url"))
	}
	p, err := parseWHATWG(base, s)
	if err != nil {
		return parsedURL{}, newError(KindInvalidURL, raw, err)
	}
	return p, nil
}

// ResolveLink resolves href, as written in a page whose base URL is base,
// to a normalised absolute URL (see [ParseURL]). It reports false for links
// trawl does not follow: empty and fragment-only hrefs, schemes other than
// http and https (javascript:, mailto:, data:, tel:, ...), and hrefs that
// do not resolve to a valid URL. Resolution follows the WHATWG URL
// standard, as for redirects, canonical links, <base href> and sitemaps.
// Whitespace around href is trimmed and tabs and newlines inside it are
// removed, as browsers do. A nil base accepts absolute hrefs only.
func ResolveLink(base *url.URL, href string) (string, bool) {
	h := trimURL(href)
	if h == "" || h[0] == '#' {
		return "", false
	}
	if l, ok := resolvePlainPath(base, h); ok {
		return l, true
	}
	return resolveGeneral(base, h)
}

// resolveGeneral is ResolveLink for any trimmed, non-empty href.
func resolveGeneral(base *url.URL, h string) (string, bool) {
	p, err := parseWHATWG(base, h)
	if err != nil {
		return "", false
	}
	return p.String(), true
}

// resolveReference resolves ref, a URL reference such as a redirect's
// Location header, against base as [ResolveLink] does, without
// ResolveLink's policy: an empty or fragment-only ref gives base itself.
// The error says what is wrong; the caller names ref in its own.
func resolveReference(base *url.URL, ref string) (*url.URL, error) {
	s := trimURL(ref)
	if s == "" {
		s = "#"
	}
	p, err := parseWHATWG(base, s)
	if err != nil {
		return nil, err
	}
	return p.URL(), nil
}

// Fingerprint returns the 128-bit key of a normalised URL in the seen
// sets; see [store.Fingerprint].
func Fingerprint(normalized string) [store.FingerprintSize]byte {
	return store.Fingerprint(normalized)
}

// parsedURL is an http or https URL in trawl's normal form.
type parsedURL struct {
	scheme string        // "http" or "https"
	user   *url.Userinfo // nil when there is none
	host   string        // host, and ":port" unless it is the default
	path   []byte        // the escaped path, then '?' and the query if any
	qmark  int           // index of the '?' in path, or len(path)
}

// String returns the URL's normal form.
func (p *parsedURL) String() string {
	var user string
	if p.user != nil {
		user = p.user.String()
	}
	var b strings.Builder
	b.Grow(len(p.scheme) + 4 + len(user) + len(p.host) + len(p.path))
	b.WriteString(p.scheme)
	b.WriteString("://")
	if p.user != nil {
		b.WriteString(user)
		b.WriteByte('@')
	}
	b.WriteString(p.host)
	b.Write(p.path)
	return b.String()
}

// URL returns the URL as a *url.URL whose String is p.String().
func (p *parsedURL) URL() *url.URL {
	u := &url.URL{Scheme: p.scheme, User: p.user, Host: p.host}
	// RawPath is always set: Go would escape ! ' ( ) * [ ] in Path.
	u.RawPath = string(p.path[:p.qmark])
	u.Path = percentDecode(u.RawPath)
	if p.qmark < len(p.path) {
		u.RawQuery = string(p.path[p.qmark+1:])
	}
	return u
}

// parseWHATWG parses s, trimmed as trimURL leaves it, against base (nil
// for none) with the WHATWG basic URL parser restricted to the http and
// https schemes, and normalises the result.
func parseWHATWG(base *url.URL, s string) (parsedURL, error) {
	if scheme, rest, ok := splitScheme(s); ok {
		switch {
		case strings.EqualFold(scheme, "http"):
			scheme = "http"
		case strings.EqualFold(scheme, "https"):
			scheme = "https"
		default:
			return parsedURL{}, errors.New("unsupported scheme " + strconv.Quote(scheme) + " (want http or https)")
		}
		// Special relative or authority state: "http:page.html" on an
		// http page is relative; otherwise the slashes (any number, '/'
		// or '\', even none) lead to the authority.
		if base != nil && strings.EqualFold(base.Scheme, scheme) && !strings.HasPrefix(rest, "//") {
			return parseRelative(base, scheme, rest)
		}
		return parseAuthority(scheme, strings.TrimLeft(rest, `/\`), len(s))
	}
	if base == nil {
		return parsedURL{}, errors.New("missing scheme (http or https)")
	}
	var scheme string
	switch {
	case strings.EqualFold(base.Scheme, "http"):
		scheme = "http"
	case strings.EqualFold(base.Scheme, "https"):
		scheme = "https"
	default:
		return parsedURL{}, errors.New("relative reference against a base that is not http or https")
	}
	return parseRelative(base, scheme, s)
}

// parseRelative is the relative state of the WHATWG URL parser: s is read
// against base, whose scheme is scheme.
func parseRelative(base *url.URL, scheme, s string) (parsedURL, error) {
	if s != "" && (s[0] == '/' || s[0] == '\\') {
		if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
			return parseAuthority(scheme, strings.TrimLeft(s, `/\`), len(s))
		}
		// Relative slash state: base's authority, a new path.
		p, err := baseAuthority(base, scheme)
		if err != nil {
			return p, err
		}
		p.path = make([]byte, 0, len(s)+8)
		p.parsePath(s[1:])
		return p, nil
	}
	p, err := baseAuthority(base, scheme)
	if err != nil {
		return p, err
	}
	bpath := base.EscapedPath()
	p.path = make([]byte, 0, len(bpath)+len(s)+len(base.RawQuery)+8)
	p.path = appendPath(p.path, bpath)
	if len(p.path) == 0 || p.path[0] != '/' {
		p.path = append([]byte{'/'}, p.path...)
	}
	switch {
	case s == "" || s[0] == '#':
		// Base's path and query.
		p.qmark = len(p.path)
		if base.RawQuery != "" {
			p.path = append(p.path, '?')
			p.path = appendQuery(p.path, base.RawQuery)
			if len(p.path) == p.qmark+1 {
				p.path = p.path[:p.qmark]
			}
		}
	case s[0] == '?':
		p.qmark = len(p.path)
		p.parseQuery(s)
	default:
		p.shortenPath()
		p.parsePath(s)
	}
	return p, nil
}

// baseAuthority returns a parsedURL with base's scheme, user information,
// host and port.
func baseAuthority(base *url.URL, scheme string) (parsedURL, error) {
	p := parsedURL{scheme: scheme, user: base.User}
	if p.user != nil {
		pw, _ := p.user.Password()
		if pw == "" {
			p.user = url.User(p.user.Username())
		}
		if p.user.Username() == "" && pw == "" {
			p.user = nil
		}
	}
	var err error
	p.host, err = parseHostPort(scheme, base.Host)
	return p, err
}

// parseAuthority is the authority state of the WHATWG URL parser, after
// the slashes: s is "[userinfo@]host[:port][path][?query][#fragment]";
// n bounds the buffer size.
func parseAuthority(scheme, s string, n int) (parsedURL, error) {
	p := parsedURL{scheme: scheme}
	end := strings.IndexAny(s, `/\?#`)
	if end < 0 {
		end = len(s)
	}
	auth := s[:end]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		userinfo := auth[:at]
		auth = auth[at+1:]
		if auth == "" {
			return p, errors.New("missing host after user information")
		}
		name, pw, _ := strings.Cut(userinfo, ":")
		name, pw = percentDecode(name), percentDecode(pw)
		switch {
		case pw != "":
			p.user = url.UserPassword(name, pw)
		case name != "":
			p.user = url.User(name)
		}
	}
	var err error
	if p.host, err = parseHostPort(scheme, auth); err != nil {
		return p, err
	}
	rest := s[end:]
	p.path = make([]byte, 0, n+8)
	if rest != "" && (rest[0] == '/' || rest[0] == '\\') {
		rest = rest[1:]
	}
	p.parsePath(rest)
	return p, nil
}

// parsePath is the path state of the WHATWG URL parser: it appends the
// segments of s, up to a '?' or '#', to p.path (with the dot segments
// resolved), then parses the query.
func (p *parsedURL) parsePath(s string) {
	i := 0
	for {
		j := i
		for j < len(s) && s[j] != '/' && s[j] != '\\' && s[j] != '?' && s[j] != '#' {
			j++
		}
		seg := s[i:j]
		slash := j < len(s) && (s[j] == '/' || s[j] == '\\')
		switch {
		case isDoubleDot(seg):
			p.shortenPath()
			if !slash {
				p.path = append(p.path, '/')
			}
		case isSingleDot(seg):
			if !slash {
				p.path = append(p.path, '/')
			}
		default:
			p.path = append(p.path, '/')
			p.path = appendPath(p.path, seg)
		}
		if !slash {
			i = j
			break
		}
		i = j + 1
	}
	p.qmark = len(p.path)
	p.parseQuery(s[i:])
}

// parseQuery appends the query of s, which is empty or starts with '?' or
// '#', to p.path; an empty query is dropped, and so is the fragment.
func (p *parsedURL) parseQuery(s string) {
	if s == "" || s[0] != '?' {
		return
	}
	q := s[1:]
	if i := strings.IndexByte(q, '#'); i >= 0 {
		q = q[:i]
	}
	if q == "" {
		return
	}
	p.path = append(p.path, '?')
	p.path = appendQuery(p.path, q)
}

// shortenPath removes the last segment of p.path.
func (p *parsedURL) shortenPath() {
	if i := bytes.LastIndexByte(p.path, '/'); i >= 0 {
		p.path = p.path[:i]
	}
}

// isSingleDot reports whether seg is "." or "%2e".
func isSingleDot(seg string) bool {
	return seg == "." || len(seg) == 3 && strings.EqualFold(seg, "%2e")
}

// isDoubleDot reports whether seg is ".." or one of its escaped forms.
func isDoubleDot(seg string) bool {
	switch len(seg) {
	case 2:
		return seg == ".."
	case 4:
		return strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.")
	case 6:
		return strings.EqualFold(seg, "%2e%2e")
	}
	return false
}

// parseHostPort parses "host[:port]" of a URL of the given scheme and
// returns it in normal form.
func parseHostPort(scheme, s string) (string, error) {
	h, port := s, ""
	inBrackets := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			inBrackets = true
		case ']':
			inBrackets = false
		case ':':
			if !inBrackets {
				h, port = s[:i], s[i+1:]
				i = len(s)
			}
		}
	}
	if h == "" {
		return "", errors.New("missing host")
	}
	host, err := parseHostMemo(h)
	if err != nil {
		return "", err
	}
	port, err = canonicalPort(scheme, port)
	if err != nil {
		return "", err
	}
	if port != "" {
		host += ":" + port
	}
	return host, nil
}

// hostMemo is a host as written and as [parseHost] returned it.
type hostMemo struct{ raw, host string }

// hostMemos remembers recent hosts that parsed, in slots picked by a hash
// of the host as written: a crawl parses the same few hosts for every
// link it checks, and host parsing (IDNA, IPv4 numbers) is most of the
// cost of parsing a normalised URL.
var (
	hostMemos    [256]atomic.Pointer[hostMemo]
	hostMemoSeed = maphash.MakeSeed()
)

// parseHostMemo is [parseHost] through [hostMemos].
func parseHostMemo(h string) (string, error) {
	slot := &hostMemos[maphash.String(hostMemoSeed, h)%uint64(len(hostMemos))]
	if m := slot.Load(); m != nil && m.raw == h {
		return m.host, nil
	}
	host, err := parseHost(h)
	if err == nil && len(h) <= 255 {
		slot.Store(&hostMemo{raw: h, host: host})
	}
	return host, err
}

// parseHost is the WHATWG host parser for special URLs, followed by
// trawl's host policy: it returns h lower-cased, in punycode, without a
// trailing dot, an IPv4 address in dotted decimal, or an IPv6 address in
// brackets.
func parseHost(h string) (string, error) {
	if h[0] == '[' {
		if h[len(h)-1] != ']' {
			if strings.Contains(h, "]") {
				return "", errors.New("invalid IPv6 host " + strconv.Quote(h) + ": text after ']'")
			}
			return "", errors.New("invalid IPv6 host " + strconv.Quote(h) + ": missing ']'")
		}
		return parseIPv6(h[1 : len(h)-1])
	}
	if i := strings.IndexAny(h, "[]"); i >= 0 {
		return "", errors.New("invalid host " + strconv.Quote(h))
	}
	name := percentDecode(h)
	ascii := strings.ToLower(name)
	switch {
	case isASCII(ascii) && hasPunycodeLabel(ascii):
		// Only checked to decode: the suite (and browsers) take labels
		// such as "xn--pokxncvks" that x/net/idna's tables refuse.
		if _, err := idna.Punycode.ToUnicode(ascii); err != nil {
			return "", errors.New("invalid host " + strconv.Quote(h) + ": " + err.Error())
		}
	case !isASCII(ascii):
		if !utf8.ValidString(name) {
			return "", errors.New("invalid host " + strconv.Quote(h) + ": not UTF-8")
		}
		var err error
		ascii, err = hostProfile.ToASCII(name)
		if err != nil {
			return "", errors.New("invalid host " + strconv.Quote(h) + ": " + err.Error())
		}
	}
	if ascii == "" {
		return "", errors.New("invalid host " + strconv.Quote(h) + ": empty")
	}
	for i := 0; i < len(ascii); i++ {
		if forbiddenDomain(ascii[i]) {
			return "", errors.New("invalid host " + strconv.Quote(h))
		}
	}
	if endsInNumber(ascii) {
		a, err := parseIPv4(ascii)
		if err != nil {
			return "", errors.New("invalid IPv4 host " + strconv.Quote(h) + ": " + err.Error())
		}
		return a, nil
	}
	ascii = strings.TrimSuffix(ascii, ".")
	if !validHostName(ascii) {
		return "", errors.New("invalid host " + strconv.Quote(h))
	}
	return ascii, nil
}

// forbiddenDomain reports whether c is a forbidden domain code point of
// the WHATWG URL standard.
func forbiddenDomain(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\r', ' ', '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|', '%':
		return true
	}
	return c < ' ' || c == 0x7f
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hasPunycodeLabel reports whether a label of the lower-case s starts
// with "xn--".
func hasPunycodeLabel(s string) bool {
	return strings.HasPrefix(s, "xn--") || strings.Contains(s, ".xn--")
}

// endsInNumber is the WHATWG "ends in a number" checker.
func endsInNumber(s string) bool {
	s = strings.TrimSuffix(s, ".")
	last := s[strings.LastIndexByte(s, '.')+1:]
	if last == "" {
		return false
	}
	digits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			digits = false
			break
		}
	}
	if digits {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

// parseIPv4 is the WHATWG IPv4 parser: s has up to four dot-separated
// numbers, decimal, octal (leading 0) or hex (leading 0x), the last one
// filling the remaining bytes.
func parseIPv4(s string) (string, error) {
	if strings.HasSuffix(s, ".") && len(s) > 1 {
		s = s[:len(s)-1]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return "", errors.New("more than four parts")
	}
	var addr uint64
	for i, part := range parts {
		n, ok := parseIPv4Number(part)
		if !ok {
			return "", errors.New("bad number " + strconv.Quote(part))
		}
		if i < len(parts)-1 {
			if n > 255 {
				return "", errors.New("part " + strconv.Quote(part) + " above 255")
			}
			addr |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(5-len(parts))) {
			return "", errors.New("last part " + strconv.Quote(part) + " out of range")
		}
		addr |= n
	}
	return netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}).String(), nil
}

// parseIPv4Number is the WHATWG IPv4 number parser; values too large
// for any part saturate.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && isHex(c):
			d = uint64(unhex(c))
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		if n < 1<<40 {
			n = n*base + d
		}
	}
	return n, true
}

// parseIPv6 parses the text between the brackets of an IPv6 host and
// returns it in brackets, in the WHATWG serialisation.
func parseIPv6(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" || strings.Contains(s, "%") {
		return "", errors.New("invalid IPv6 host " + strconv.Quote(s))
	}
	b := a.As16()
	var pieces [8]uint16
	for i := range pieces {
		pieces[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	// Compress the first longest run of two or more zero pieces.
	start, length := -1, 1
	for i := 0; i < 8; {
		if pieces[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j
	}
	out := make([]byte, 0, 41)
	out = append(out, '[')
	for i := 0; i < 8; i++ {
		if i == start {
			if i == 0 {
				out = append(out, ':')
			}
			out = append(out, ':')
			i += length - 1
			continue
		}
		out = strconv.AppendUint(out, uint64(pieces[i]), 16)
		if i < 7 {
			out = append(out, ':')
		}
	}
	return string(append(out, ']')), nil
}

// validHostName reports whether h is a non-empty lower-case DNS name of
// letters, digits, '-' and '_' in non-empty labels.
func validHostName(h string) bool {
	if h == "" {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
		case c == '.' && label > 0:
			label = 0
		default:
			return false
		}
	}
	return label > 0
}

// canonicalPort returns port without leading zeros, or "" when it is empty
// or the scheme's default.
func canonicalPort(scheme, port string) (string, error) {
	if port == "" {
		return "", nil
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return "", errors.New("invalid port " + strconv.Quote(port))
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return "", errors.New("invalid port " + strconv.Quote(port) + ": above 65535")
		}
	}
	if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
		return "", nil
	}
	return strconv.Itoa(n), nil
}

// trimURL trims leading and trailing C0 controls and spaces and removes
// tabs and newlines, as the WHATWG URL parser does first.
func trimURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// splitScheme splits "scheme:rest" when s starts with a URL scheme.
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], s[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// pathRaw reports whether c stands unescaped in a normal path: the
// characters Go's net/url keeps as they are in a path.
func pathRaw(c byte) bool {
	if unreserved(c) {
		return true
	}
	switch c {
	case '/', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '[', ']':
		return true
	}
	return false
}

// queryRaw reports whether c stands unescaped in a normal query: what the
// WHATWG special-query percent-encode set leaves, less \ ^ ` { | }.
func queryRaw(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '"', '#', '<', '>', '\'', '\\', '^', '`', '{', '|', '}', '%':
		return false
	}
	return true
}

// appendPath appends s to b in normal form as path text (see
// appendEscaped).
func appendPath(b []byte, s string) []byte { return appendEscaped(b, s, pathRaw) }

// appendQuery appends s to b in normal form as query text.
func appendQuery(b []byte, s string) []byte { return appendEscaped(b, s, queryRaw) }

// appendEscaped appends s to b with percent escapes in upper-case hex,
// the escapes of unreserved characters decoded, a '%' that starts no
// escape written "%25" and every other byte for which raw is false
// escaped.
func appendEscaped(b []byte, s string, raw func(byte) bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			d := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(d) {
				b = append(b, d)
			} else {
				b = appendEscape(b, d)
			}
			i += 2
		case c != '%' && raw(c):
			b = append(b, c)
		default:
			b = appendEscape(b, c)
		}
	}
	return b
}

// percentDecode decodes the percent escapes of s, leaving a '%' that
// starts none as it is.
func percentDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		b = append(b, c)
	}
	return string(b)
}

func appendEscape(b []byte, c byte) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, '%', hex[c>>4], hex[c&15])
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// resolvePlainPath resolves the commonest links without parsing: a path
// ("/a/b.html" or "b.html") of unreserved characters and slashes, with no
// dot segments and no empty ones, against a normalised base without user
// information. The result is what the general path gives; it reports false
// for anything else.
func resolvePlainPath(base *url.URL, h string) (string, bool) {
	if base == nil || base.User != nil || base.Opaque != "" || base.Host == "" || h[0] == '.' {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !unreserved(c) && c != '/' {
			return "", false
		}
	}
	if strings.Contains(h, "//") || strings.Contains(h, "/./") || strings.Contains(h, "/../") ||
		strings.HasSuffix(h, "/.") || strings.HasSuffix(h, "/..") {
		return "", false
	}
	prefix := base.Scheme + "://" + base.Host
	if h[0] == '/' {
		return prefix + h, true
	}
	dir := base.EscapedPath()
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		dir = dir[:i+1]
	} else {
		dir = "/"
	}
	return prefix + dir + h, true
}
