package crawler

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/trawl-dev/trawl/store"
)

// hostProfile maps host names to their ASCII (punycode) form the way web
// browsers do (the WHATWG URL standard's "domain to ASCII" without
// beStrict): lookup mapping and the Bidi and joiner checks, but no STD3 or
// hyphen rules, so real hosts such as "my_host.example" or
// "r3---sn-abc.example" are accepted. Characters other than letters,
// digits, '-', '_' and '.' are refused afterwards by canonicalHost.
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
	u, err := ParseURL(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// ParseURL parses raw as an absolute http or https URL and returns it
// normalised:
//
//   - leading and trailing spaces and control characters are trimmed, and
//     tabs and newlines inside are removed (as browsers do);
//   - scheme and host are lower-cased; an internationalised host becomes
//     its punycode form ("bücher.de" → "xn--bcher-kva.de"); one trailing
//     dot of the host is dropped ("example.com." is "example.com"); IPv6
//     literals take their canonical text form;
//   - the default port (80 for http, 443 for https) is dropped, and
//     leading zeros of a port are removed;
//   - the fragment is dropped, and so is an empty query ("?");
//   - in the path, "." and ".." segments are resolved and an empty path
//     becomes "/"; before the query, '\' counts as '/' (as browsers do);
//   - percent-encoding in path and query uses upper-case hex, escapes of
//     the unreserved characters A-Z a-z 0-9 - . _ ~ are decoded, bytes that
//     may not appear unescaped (spaces, controls, non-ASCII, " < > ^ ` { | }
//     and a '%' not followed by two hex digits) are escaped, and nothing
//     else is decoded or encoded: "%2F" stays distinct from "/";
//   - the query keeps its parameters in their order;
//   - user information ("user:pass@") is kept, because Go's HTTP client
//     sends it as basic authentication; callers that print URLs where
//     secrets matter should redact it.
//
// Anything else — another scheme, no scheme, no host, a host with
// characters no DNS name has, a port out of range, an IPv6 zone, or text
// that does not parse — is an *Error of kind [KindInvalidURL] naming raw.
func ParseURL(raw string) (*url.URL, error) {
	s := escapeLoose(trimURL(raw))
	if s == "" {
		return nil, newError(KindInvalidURL, raw, errors.New("empty url"))
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, newError(KindInvalidURL, raw, err)
	}
	if u.Scheme == "" {
		return nil, newError(KindInvalidURL, raw, errors.New("missing scheme (http or https)"))
	}
	n, err := normalizeURL(u)
	if err != nil {
		return nil, newError(KindInvalidURL, raw, err)
	}
	return n, nil
}

// ResolveLink resolves href, as written in a page whose base URL is base,
// to a normalised absolute URL (see [ParseURL]). It reports false for links
// trawl does not follow: empty and fragment-only hrefs, schemes other than
// http and https (javascript:, mailto:, data:, tel:, ...), and hrefs that
// do not resolve to a valid URL. Whitespace around href is trimmed and
// tabs and newlines inside it are removed, as browsers do. A nil base
// accepts absolute hrefs only.
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
	if scheme, rest, ok := splitScheme(h); ok {
		scheme = strings.ToLower(scheme)
		if scheme != "http" && scheme != "https" {
			return "", false
		}
		// "http:page.html" on an http page is relative (WHATWG URL,
		// special-relative state); Go would read it as opaque.
		if base != nil && scheme == base.Scheme && !strings.HasPrefix(rest, "//") && !strings.HasPrefix(rest, `\\`) {
			h = rest
		}
	}
	ref, err := url.Parse(escapeLoose(h))
	if err != nil {
		return "", false
	}
	if base != nil {
		ref = base.ResolveReference(ref)
	}
	if ref.Scheme == "" {
		return "", false
	}
	u, err := normalizeURL(ref)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// Fingerprint returns the 128-bit key of a normalised URL in the seen
// sets; see [store.Fingerprint].
func Fingerprint(normalized string) [store.FingerprintSize]byte {
	return store.Fingerprint(normalized)
}

// normalizeURL puts u, an absolute URL whose path and query are escaped as
// escapeLoose leaves them, into normal form in place and returns it.
func normalizeURL(u *url.URL) (*url.URL, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, errors.New("unsupported scheme " + strconv.Quote(u.Scheme) + " (want http or https)")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("missing host")
	}
	host, err := canonicalHost(u)
	if err != nil {
		return nil, err
	}
	port, err := canonicalPort(scheme, u.Port())
	if err != nil {
		return nil, err
	}
	if port != "" {
		host += ":" + port
	}
	p := removeDotSegments(normalizePercent(u.EscapedPath()))
	if p == "" {
		p = "/"
	}
	path, err := url.PathUnescape(p)
	if err != nil {
		return nil, err
	}
	if u.User != nil && u.User.String() == "" {
		u.User = nil
	}
	u.Scheme, u.Host, u.Path, u.RawPath = scheme, host, path, ""
	if path != p {
		u.RawPath = p
	}
	u.RawQuery = normalizePercent(u.RawQuery)
	u.ForceQuery, u.Fragment, u.RawFragment, u.OmitHost = false, "", "", false
	return u, nil
}

// canonicalHost returns the host of u lower-cased, in punycode, without a
// trailing dot, or an IPv6 literal in brackets in canonical form.
func canonicalHost(u *url.URL) (string, error) {
	name := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", errors.New("invalid IPv6 host " + strconv.Quote(name))
		}
		return "[" + a.String() + "]", nil
	}
	if h := strings.TrimSuffix(strings.ToLower(name), "."); isPlainASCIIHost(h) {
		return h, nil // what the idna profile would return, without its cost
	}
	if !utf8.ValidString(name) {
		return "", errors.New("invalid host " + strconv.Quote(name) + ": not UTF-8")
	}
	ascii, err := hostProfile.ToASCII(name)
	if err != nil {
		return "", errors.New("invalid host " + strconv.Quote(name) + ": " + err.Error())
	}
	ascii = strings.TrimSuffix(ascii, ".")
	if !validHostName(ascii) {
		return "", errors.New("invalid host " + strconv.Quote(name))
	}
	return ascii, nil
}

// isPlainASCIIHost reports whether the lower-case h is a valid host name
// with no punycode label, one that the idna profile leaves as it is.
func isPlainASCIIHost(h string) bool {
	return validHostName(h) && !strings.HasPrefix(h, "xn--") && !strings.Contains(h, ".xn--")
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
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", errors.New("invalid port " + strconv.Quote(port))
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

// splitScheme splits "scheme:rest" when s starts with an RFC 3986 scheme.
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

// mustEscape reports whether c may not appear unescaped in a URL that Go's
// net/url keeps byte for byte.
func mustEscape(c byte) bool {
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return true
	}
	return c <= ' ' || c >= 0x7f
}

// escapeLoose makes s acceptable to url.Parse without changing its
// meaning: bytes that must be escaped are percent-encoded, a '%' that
// starts no escape becomes "%25", and '\' before the query becomes '/'.
func escapeLoose(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	beforeQuery := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '?' || c == '#':
			beforeQuery = false
			b.WriteByte(c)
		case c == '\\' && beforeQuery:
			b.WriteByte('/')
		case c == '%' && !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])):
			b.WriteString("%25")
		case mustEscape(c):
			writeEscape(&b, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// needsEscape reports whether escapeLoose would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) || (c == '%' && !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]))) {
			return true
		}
	}
	return false
}

// normalizePercent upper-cases the hex of percent escapes and decodes the
// escapes of unreserved characters.
func normalizePercent(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' || i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			b.WriteByte(c)
			continue
		}
		d := unhex(s[i+1])<<4 | unhex(s[i+2])
		if unreserved(d) {
			b.WriteByte(d)
		} else {
			writeEscape(&b, d)
		}
		i += 2
	}
	return b.String()
}

// removeDotSegments resolves "." and ".." segments of an absolute path as
// RFC 3986 section 5.2.4 describes.
func removeDotSegments(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p, "/")[1:]
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

func writeEscape(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
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
