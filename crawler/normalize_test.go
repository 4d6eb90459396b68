package crawler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"already normal", "https://example.com/a?b=c", "https://example.com/a?b=c"},
		{"scheme and host lower-cased", "HTTP://Example.COM/Path", "http://example.com/Path"},
		{"empty path", "http://example.com", "http://example.com/"},
		{"empty path with query", "http://example.com?q=1", "http://example.com/?q=1"},
		{"default http port", "http://example.com:80/", "http://example.com/"},
		{"default https port", "https://example.com:443/x", "https://example.com/x"},
		{"other port kept", "http://example.com:8080/", "http://example.com:8080/"},
		{"https on port 80 kept", "https://example.com:80/", "https://example.com:80/"},
		{"port leading zeros", "http://example.com:0080/", "http://example.com/"},
		{"empty port", "http://example.com:/", "http://example.com/"},
		{"fragment dropped", "http://example.com/a#top", "http://example.com/a"},
		{"empty query dropped", "http://example.com/a?", "http://example.com/a"},
		{"empty query and fragment", "http://example.com/a?#x", "http://example.com/a"},
		{"query order kept", "http://example.com/?b=2&a=1&b=1", "http://example.com/?b=2&a=1&b=1"},
		{"dot segments", "http://example.com/a/./b/../c", "http://example.com/a/c"},
		{"dot segment at end", "http://example.com/a/b/..", "http://example.com/a/"},
		{"dot segments above root", "http://example.com/../../a", "http://example.com/a"},
		{"single dot at end", "http://example.com/a/.", "http://example.com/a/"},
		{"encoded dots are dots", "http://example.com/a/%2e%2E/b", "http://example.com/b"},
		{"dot files kept", "http://example.com/.well-known/x", "http://example.com/.well-known/x"},
		{"double slash kept", "http://example.com//a//b", "http://example.com//a//b"},
		{"trailing slash kept", "http://example.com/a/", "http://example.com/a/"},
		{"hex upper-cased", "http://example.com/a%2fb?x=%c3%a9", "http://example.com/a%2Fb?x=%C3%A9"},
		{"unreserved decoded", "http://example.com/%41%7e%2D?q=%5f", "http://example.com/A~-?q=_"},
		{"reserved not decoded", "http://example.com/a%3Fb%23c?x=%26%3D", "http://example.com/a%3Fb%23c?x=%26%3D"},
		{"plus kept in query", "http://example.com/?q=a+b", "http://example.com/?q=a+b"},
		{"space escaped", "http://example.com/a b?q=c d", "http://example.com/a%20b?q=c%20d"},
		{"non-ASCII path escaped", "http://example.com/café", "http://example.com/caf%C3%A9"},
		{"stray percent escaped", "http://example.com/100%?x=5%z", "http://example.com/100%25?x=5%25z"},
		{"pipe and braces escaped", "http://example.com/{a}|b", "http://example.com/%7Ba%7D%7Cb"},
		{"backslash before query", `http://example.com\a\b?c\d`, `http://example.com/a/b?c%5Cd`},
		{"IDN to punycode", "http://Bücher.DE/", "http://xn--bcher-kva.de/"},
		{"punycode kept", "http://xn--bcher-kva.de/", "http://xn--bcher-kva.de/"},
		{"escaped IDN host", "http://b%C3%BCcher.de/", "http://xn--bcher-kva.de/"},
		{"fullwidth dot maps", "http://example\u3002com/", "http://example.com/"},
		{"trailing dot dropped", "http://example.com./", "http://example.com/"},
		{"underscore host", "http://my_host.example.com/", "http://my_host.example.com/"},
		{"hyphens in 3rd and 4th place", "http://r3---sn-ab.example.com/", "http://r3---sn-ab.example.com/"},
		{"IPv4", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"IPv6 canonical", "http://[2001:DB8:0:0::1]:80/", "http://[2001:db8::1]/"},
		{"userinfo kept", "http://user:p%40ss@example.com/", "http://user:p%40ss@example.com/"},
		{"empty userinfo dropped", "http://@example.com/", "http://example.com/"},
		{"whitespace trimmed", " \t http://example.com/a \n", "http://example.com/a"},
		{"inner newlines removed", "http://exa\nmple.com/a\tb\r", "http://example.com/ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := Normalize(got)
			if err != nil || again != got {
				t.Errorf("Normalize(%q) = %q, %v; not idempotent", got, again, err)
			}
		})
	}
}

func TestNormalizeInvalid(t *testing.T) {
	tests := []struct {
		name, in, wantDetail string
	}{
		{"empty", "", "empty url"},
		{"blank", " \t\n", "empty url"},
		{"no scheme", "example.com/a", "missing scheme"},
		{"no host", "http:///", "missing host"},
		{"empty host after user", "http://user@/a", "missing host"},
		{"port not a number", "http://f:b/c", "invalid port"},
		{"scheme-relative", "//example.com/a", "missing scheme"},
		{"ftp", "ftp://example.com/", "unsupported scheme"},
		{"mailto", "mailto:a@example.com", "unsupported scheme"},
		{"javascript", "javascript:alert(1)", "unsupported scheme"},
		{"port too large", "http://example.com:65536/", "invalid port"},
		{"port not numeric", "http://example.com:ab/", "invalid port"},
		{"space in host", "http://exa mple.com/", "invalid"},
		{"bang in host", "http://exa!mple.com/", "invalid host"},
		{"empty label", "http://a..b/", "invalid host"},
		{"only a dot", "http://./", "invalid host"},
		{"IPv6 zone", "http://[fe80::1%25eth0]/", "invalid IPv6 host"},
		{"bad IPv6", "http://[zz::1]/", "invalid"},
		{"unclosed bracket", "http://[::1/", "missing ']'"},
		{"text after bracket", "http://[::1]x/", "text after ']'"},
		{"bidi rule", "http://\u05d0a.com/", "invalid host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want an error", tt.in, got)
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalidURL || e.URL != tt.in {
				t.Fatalf("Normalize(%q) error = %#v, want *Error{Kind: invalid_url, URL: input}", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.wantDetail) {
				t.Errorf("Normalize(%q) error = %q, want it to mention %q", tt.in, err, tt.wantDetail)
			}
		})
	}
}

func TestResolveLink(t *testing.T) {
	base, err := url.Parse("https://example.com/dir/page.html?x=1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, href, want string // want "" means not followed
	}{
		{"relative file", "other.html", "https://example.com/dir/other.html"},
		{"parent", "../up.html", "https://example.com/up.html"},
		{"absolute path", "/root", "https://example.com/root"},
		{"query only", "?page=2", "https://example.com/dir/page.html?page=2"},
		{"scheme-relative", "//cdn.example.org/a.js", "https://cdn.example.org/a.js"},
		{"absolute other host", "HTTP://Other.example/X#frag", "http://other.example/X"},
		{"fragment dropped", "b.html#sec", "https://example.com/dir/b.html"},
		{"surrounding whitespace", "  \n b.html \t", "https://example.com/dir/b.html"},
		{"inner newline and tab", "/a\n/b\t.html", "https://example.com/a/b.html"},
		{"same scheme without slashes", "https:c.html", "https://example.com/dir/c.html"},
		{"backslashes", `\\other.example\x`, "https://other.example/x"},
		{"dot", ".", "https://example.com/dir/"},
		{"space escaped", "my page.html", "https://example.com/dir/my%20page.html"},
		{"empty", "", ""},
		{"blank", "  \n ", ""},
		{"fragment only", "#top", ""},
		{"javascript", "javascript:void(0)", ""},
		{"javascript upper-case with spaces", " JavaScript:alert(1)", ""},
		{"javascript with tab inside", "java\tscript:alert(1)", ""},
		{"mailto", "mailto:someone@example.com", ""},
		{"tel", "tel:+123", ""},
		{"data", "data:text/html,hi", ""},
		{"ftp", "ftp://example.com/file", ""},
		{"bad port", "http://example.com:99999/", ""},
		{"bad host", "http://exa!mple.com/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ResolveLink(base, tt.href)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("ResolveLink(%q) = %q, %v; want %q", tt.href, got, ok, tt.want)
			}
		})
	}
}

func TestResolveLinkNilBase(t *testing.T) {
	if got, ok := ResolveLink(nil, "HTTP://Example.com"); !ok || got != "http://example.com/" {
		t.Errorf("absolute href with nil base = %q, %v", got, ok)
	}
	if got, ok := ResolveLink(nil, "/relative"); ok {
		t.Errorf("relative href with nil base = %q, want not followed", got)
	}
}

func TestFingerprint(t *testing.T) {
	for _, s := range []string{"", "http://example.com/", "https://example.com/a?b=c"} {
		sum := sha256.Sum256([]byte(s))
		if got := Fingerprint(s); !bytes.Equal(got[:], sum[:16]) {
			t.Errorf("Fingerprint(%q) = %x, want the first 128 bits of SHA-256 %x", s, got, sum[:16])
		}
	}
	// Pinned value: the fingerprint keys the shared seen set of a Redis
	// run and must not change between releases.
	if got := Fingerprint("http://example.com/"); hex.EncodeToString(got[:]) != "2a1b402420ef46577471cdc7409b0fa2" {
		t.Errorf("Fingerprint changed: %x", got)
	}
}

// The parse-free path gives exactly what the general path gives.
func TestResolvePlainPathMatchesGeneralPath(t *testing.T) {
	bases := []string{"http://example.com/dir/page.html", "https://Example.COM:443/", "http://h.test/a/b/", "http://h.test", "http://h.test/x?q=1#f"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ab/.-_~%?#:1"
	for _, b := range bases {
		base, err := ParseURL(b)
		if err != nil {
			t.Fatal(err)
		}
		for range 20000 {
			n := 1 + rng.IntN(12)
			href := make([]byte, n)
			for i := range href {
				href[i] = alphabet[rng.IntN(len(alphabet))]
			}
			h := string(href)
			fast, ok := resolvePlainPath(base, h)
			if !ok {
				continue
			}
			slow, sok := resolveGeneral(base, h)
			if !sok || fast != slow {
				t.Fatalf("base %s href %q: fast %q, general %q (%v)", b, h, fast, slow, sok)
			}
		}
	}
}

// Issue 12, item 9: URLs are parsed as the WHATWG URL standard (and so
// browsers) parse them.
func TestParseURLWHATWG(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means invalid
	}{
		{"IPv4 as one hex number", "http://0xffffffff", "http://255.255.255.255/"},
		{"IPv4 with three parts", "http://192.168.257", "http://192.168.1.1/"},
		{"IPv4 octal and hex parts", "http://0300.0xa8.0.01/", "http://192.168.0.1/"},
		{"IPv4 in full-width digits", "http://\uff10\uff38\uff43\uff10\uff0e\uff10\uff12\uff15\uff10\uff0e\uff10\uff11", "http://192.168.0.1/"},
		{"IPv4 percent-encoded", "http://%31%32%37.0.0.1/", "http://127.0.0.1/"},
		{"IPv4 trailing dot", "http://1.2.3.4./", "http://1.2.3.4/"},
		{"IPv4 part above 255", "http://256.256.256.256", ""},
		{"IPv4 with five parts", "http://1.2.3.4.5", ""},
		{"ends in a number but not IPv4", "http://foo.09", ""},
		{"bad octal", "http://09.1.1.1/", ""},
		{"last part out of range", "http://1.2.3.256/", ""},
		{"IPv6 with embedded IPv4", "http://[::127.0.0.1]/", "http://[::7f00:1]/"},
		{"IPv4-mapped IPv6", "http://[::ffff:1.2.3.4]/", "http://[::ffff:102:304]/"},
		{"missing slashes", "http:/example.com/", "http://example.com/"},
		{"no slashes", "http:example.com/a", "http://example.com/a"},
		{"three slashes", "http:///example.com/a", "http://example.com/a"},
		{"backslashes", `http:\\example.com\a`, "http://example.com/a"},
		{"mixed slashes", `https:/\/\example.com/a`, "https://example.com/a"},
		{"port 0", "http://example.com:0/", "http://example.com:0/"},
		{"port with leading zeros", "http://f:00000000000000000000080/c", "http://f/c"},
		{"empty password", "http://a:@example.com/", "http://a@example.com/"},
		{"empty user and password", "http://:@example.com/", "http://example.com/"},
		{"at signs in user information", "http://a@b:c@d/", "http://a%40b:c@d/"},
		{"encoded dot segments", "http://example.com/a/.%2E/%2e/b", "http://example.com/b"},
		{"pipe escaped in path", "http://example.com/a|b", "http://example.com/a%7Cb"},
		{"apostrophe escaped in query", "http://example.com/?q=it's", "http://example.com/?q=it%27s"},
		{"path characters Go would escape stay", "http://example.com/a!b(c)*[d]", "http://example.com/a!b(c)*[d]"},
		{"punycode label kept", "http://a.b.c.XN--pokxncvks/", "http://a.b.c.xn--pokxncvks/"},
		{"bad punycode", "http://xn--abc-/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.want == "" {
				if err == nil || KindOf(err) != KindInvalidURL {
					t.Fatalf("Normalize(%q) = %q, %v; want an invalid_url error", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			u, err := ParseURL(tt.in)
			if err != nil || u.String() != tt.want {
				t.Fatalf("ParseURL(%q) = %v, %v; want %q", tt.in, u, err, tt.want)
			}
			// Go's HTTP client builds the request from the string: it must
			// read the same URL back.
			back, err := url.Parse(got)
			if err != nil || back.String() != got {
				t.Fatalf("url.Parse(%q) = %v, %v", got, back, err)
			}
		})
	}
}

// Issue 12, items 8 and 9: links, redirects, canonical and <base href>
// resolve with one resolver, the WHATWG one.
func TestResolveWHATWG(t *testing.T) {
	base, err := ParseURL("http://example.org/foo/bar")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ref, want string // want "" means invalid
	}{
		{"backslash is a slash", `\x`, "http://example.org/x"},
		{"same scheme without slashes", "http:foo.com", "http://example.org/foo/foo.com"},
		{"other scheme without slashes", "https:foo.com", "https://foo.com/"},
		{"three slashes", "///host/path", "http://host/path"},
		{"backslashes for the authority", `\\host\path`, "http://host/path"},
		{"slash and backslash", `/\host/path`, "http://host/path"},
		{"same scheme with backslashes", `http:\\host\path`, "http://host/path"},
		{"colon first", ":foo.com/", "http://example.org/foo/:foo.com/"},
		{"colon only", ":", "http://example.org/foo/:"},
		{"colon and port-like", "::23", "http://example.org/foo/::23"},
		{"bracketed path", "[61:24:74]:98", "http://example.org/foo/[61:24:74]:98"},
		{"query only", "?a=b", "http://example.org/foo/bar?a=b"},
		{"dot-dot above root", "../../../x", "http://example.org/x"},
		{"IPv4 number", "//0xffffffff/", "http://255.255.255.255/"},
		{"bad port", "http://f:b/c", ""},
		{"bad IPv4", "//1.2.3.4.5/", ""},
		{"IPv6 without brackets", "http://2001::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			link, ok := ResolveLink(base, tt.ref)
			next, err := resolveReference(base, tt.ref)
			if tt.want == "" {
				if ok || err == nil {
					t.Fatalf("ref %q: link %q, %v; redirect %v, %v; want both refused", tt.ref, link, ok, next, err)
				}
				return
			}
			if !ok || link != tt.want {
				t.Errorf("ResolveLink(%q) = %q, %v; want %q", tt.ref, link, ok, tt.want)
			}
			if err != nil || next.String() != tt.want {
				t.Errorf("redirect to %q = %v, %v; want %q", tt.ref, next, err, tt.want)
			}
			p, err := Extract(strings.NewReader(`<link rel=canonical href="`+tt.ref+`">`), base, nil)
			if err != nil || p.Canonical != tt.want {
				t.Errorf("canonical %q = %q, %v; want %q", tt.ref, p.Canonical, err, tt.want)
			}
			if got := documentBase(base, tt.ref).String(); got != tt.want {
				t.Errorf("<base href=%q> = %q; want %q", tt.ref, got, tt.want)
			}
		})
	}
}
