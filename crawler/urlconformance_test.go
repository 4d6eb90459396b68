package crawler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The WHATWG URL suite (web-platform-tests url/resources/urltestdata.json)
// lives in ../shared/conformance/ beside the repository; see SOURCE.txt
// there.
//
// An "http(s) case" is one whose expected href has the scheme http or
// https, or that must fail and whose input has the scheme http or https
// or, having no scheme, is read against an http or https base. Cases that
// end in another scheme are out of scope: trawl keeps only http and https.
//
// trawl's normal form differs from the standard's serialisation on
// purpose (see ParseURL); the expected href is put into that form before
// comparing, by urlSuiteTrawlForm and nothing else:
//   - the fragment is dropped, and so is an empty query;
//   - one trailing dot of a domain host is dropped;
//   - user name and password are percent-decoded and written as Go's
//     net/url writes them;
//   - in path and query, escapes get upper-case hex, escapes of A-Z a-z
//     0-9 - . _ ~ are decoded, a '%' starting no escape becomes "%25",
//     and the path escapes every byte but those and ! $ & ' ( ) * + , ; =
//     : @ [ ] /, the query also \ ^ ` { | }.
//
// What is then still different is counted, never hidden: a result differs
// or it agrees. Among the differences, two come from trawl's policy and are
// reported apart: links that are empty or only a fragment are not followed
// (ResolveLink), and hosts no DNS name has are refused.
//
// The floors below are the agreement reached; raise them as it grows.
const (
	urlSuiteLinksFloor     = 432
	urlSuiteSeedsFloor     = 276
	urlSuiteRedirectsFloor = 165
)

type urlSuiteCase struct {
	Input   string  `json:"input"`
	Base    *string `json:"base"`
	Href    string  `json:"href"`
	Failure bool    `json:"failure"`
}

func (c urlSuiteCase) String() string {
	base := "null"
	if c.Base != nil {
		base = fmt.Sprintf("%q", *c.Base)
	}
	want := "failure"
	if !c.Failure {
		want = fmt.Sprintf("%q", c.Href)
	}
	return fmt.Sprintf("input %q base %s want %s", c.Input, base, want)
}

// urlSuitePath returns where urltestdata.json is: ../shared/conformance
// next to the module root.
func urlSuitePath(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "conformance", "urltestdata.json")
}

// loadURLSuite returns the http(s) cases of the suite, skipping the test
// when the file is absent (failing it under CI=true).
func loadURLSuite(t *testing.T) []urlSuiteCase {
	t.Helper()
	path := urlSuitePath(t)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("WHATWG URL suite missing at %s (required under CI=true)", path)
		}
		t.Skipf("WHATWG URL suite not found at %s: put urltestdata.json in ../shared/conformance/ beside the repository to run it", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var cases []urlSuiteCase
	for _, r := range raw {
		var c urlSuiteCase
		if json.Unmarshal(r, &c) != nil { // comment strings
			continue
		}
		if urlSuiteHTTPCase(c) {
			cases = append(cases, c)
		}
	}
	if len(cases) < 400 {
		t.Fatalf("%s: only %d http(s) cases; is it the right file?", path, len(cases))
	}
	return cases
}

// urlSuiteScheme returns the lower-cased scheme s starts with after the
// WHATWG trimming, or "".
func urlSuiteScheme(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimLeft(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \t\n\r"))
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return ""
	}
	for j, c := range s[:i] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return strings.ToLower(s[:i])
}

func urlSuiteHTTP(scheme string) bool { return scheme == "http" || scheme == "https" }

func urlSuiteHTTPCase(c urlSuiteCase) bool {
	if !c.Failure {
		return urlSuiteHTTP(urlSuiteScheme(c.Href))
	}
	if s := urlSuiteScheme(c.Input); s != "" {
		return urlSuiteHTTP(s)
	}
	return c.Base != nil && urlSuiteHTTP(urlSuiteScheme(*c.Base))
}

// urlSuiteTrawlForm puts a WHATWG-serialised http(s) href into trawl's
// normal form, as the comment at the top of this file lists.
func urlSuiteTrawlForm(href string) string {
	href, _, _ = strings.Cut(href, "#")
	href, query, _ := strings.Cut(href, "?")
	scheme, rest, _ := strings.Cut(href, "://")
	auth, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		auth, path = rest[:i], rest[i:]
	}
	var user string
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		name, pw, hasPW := strings.Cut(auth[:i], ":")
		name, _ = url.PathUnescape(name)
		pw, _ = url.PathUnescape(pw)
		if hasPW {
			user = url.UserPassword(name, pw).String() + "@"
		} else {
			user = url.User(name).String() + "@"
		}
		auth = auth[i+1:]
	}
	if !strings.HasPrefix(auth, "[") {
		host, port, hasPort := strings.Cut(auth, ":")
		auth = strings.TrimSuffix(host, ".")
		if hasPort {
			auth += ":" + port
		}
	}
	out := scheme + "://" + user + auth + urlSuiteEscape(path, "!$&'()*+,;=:@[]/")
	if query != "" {
		out += "?" + urlSuiteEscape(query, "!$&()*+,;=:@[]/?")
	}
	return out
}

// urlSuiteEscape rewrites the percent-encoding of s: upper-case hex,
// unreserved characters decoded, a stray '%' escaped, and every byte that
// is neither unreserved nor in keep escaped.
func urlSuiteEscape(s, keep string) string {
	const unreservedChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			if v, err := url.PathUnescape(s[i : i+3]); err == nil {
				if strings.Contains(unreservedChars, v) {
					b.WriteString(v)
				} else {
					b.WriteString(strings.ToUpper(s[i : i+3]))
				}
				i += 2
				continue
			}
		}
		if c != '%' && strings.IndexByte(unreservedChars+keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// urlSuiteNoDNSHost reports whether the expected href's host is one
// trawl refuses by policy: not an IP address and not a DNS name of
// letters, digits, '-' and '_' in non-empty labels.
func urlSuiteNoDNSHost(href string) bool {
	u, err := url.Parse(urlSuiteTrawlForm(href))
	if err != nil {
		return true
	}
	h := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		return false
	}
	return !validHostName(h)
}

// urlSuiteTally counts the results of one way of using the resolver.
type urlSuiteTally struct {
	name                          string
	total, agree, policy, differs int
	diffs                         []string
}

func (ty *urlSuiteTally) add(c urlSuiteCase, got string, ok bool, linkPolicy bool) {
	ty.total++
	want := ""
	if !c.Failure {
		want = urlSuiteTrawlForm(c.Href)
	}
	switch {
	case c.Failure && !ok, !c.Failure && ok && got == want:
		ty.agree++
		return
	case !c.Failure && !ok && (linkPolicy || urlSuiteNoDNSHost(c.Href)):
		ty.policy++
	default:
		ty.differs++
	}
	if ok {
		ty.diffs = append(ty.diffs, fmt.Sprintf("%v (trawl form %q): got %q", c, want, got))
	} else {
		ty.diffs = append(ty.diffs, fmt.Sprintf("%v (trawl form %q): got failure", c, want))
	}
}

func (ty *urlSuiteTally) report(t *testing.T, floor int) {
	t.Helper()
	t.Logf("WHATWG URL suite, %s: %d/%d http(s) cases agree (%.1f%%); %d differ by trawl policy, %d differ otherwise",
		ty.name, ty.agree, ty.total, 100*float64(ty.agree)/float64(ty.total), ty.policy, ty.differs)
	if testing.Verbose() {
		for _, d := range ty.diffs {
			t.Logf("  %s: %s", ty.name, d)
		}
	}
	if ty.agree < floor {
		t.Errorf("%s: %d cases agree, below the floor of %d (run with -v for the list)", ty.name, ty.agree, floor)
	}
}

// urlSuiteBase returns the case's base as a page's URL in trawl, or nil
// when there is none or it is not an http(s) URL.
func urlSuiteBase(c urlSuiteCase) *url.URL {
	if c.Base == nil {
		return nil
	}
	u, err := ParseURL(*c.Base)
	if err != nil {
		return nil
	}
	return u
}

// TestURLSuite measures agreement with the WHATWG URL suite for links
// (ResolveLink against the page's URL), seeds (Normalize, for the cases
// without a base) and redirects (resolveReference, the function the
// fetcher resolves a Location header with, for the cases with an http(s)
// base).
func TestURLSuite(t *testing.T) {
	cases := loadURLSuite(t)
	links := &urlSuiteTally{name: "links"}
	seeds := &urlSuiteTally{name: "seeds"}
	redirects := &urlSuiteTally{name: "redirects"}
	for _, c := range cases {
		base := urlSuiteBase(c)
		got, ok := ResolveLink(base, c.Input)
		h := trimURL(c.Input)
		links.add(c, got, ok, !ok && (h == "" || h[0] == '#'))
		if c.Base == nil {
			got, err := Normalize(c.Input)
			seeds.add(c, got, err == nil, false)
		}
		if base != nil {
			u, err := resolveReference(base, c.Input)
			got := ""
			if err == nil {
				got = u.String()
			}
			redirects.add(c, got, err == nil, false)
		}
	}
	links.report(t, urlSuiteLinksFloor)
	seeds.report(t, urlSuiteSeedsFloor)
	redirects.report(t, urlSuiteRedirectsFloor)
}

// TestURLSuiteRedirectsEndToEnd follows Location headers of the suite
// through a real Fetcher: for the cases read against
// http://example.org/foo/bar whose result stays on that host, the test
// server redirects from /foo/bar to the case's input, and the fetcher
// must end at the expected URL (on the test server), or fail with
// invalid_url where the suite expects failure.
func TestURLSuiteRedirectsEndToEnd(t *testing.T) {
	cases := loadURLSuite(t)
	const suiteBase = "http://example.org/foo/bar"
	var sample []urlSuiteCase
	for _, c := range cases {
		if c.Base == nil || *c.Base != suiteBase || strings.ContainsFunc(c.Input, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			continue
		}
		if c.Failure || strings.HasPrefix(c.Href, "http://example.org/") && urlSuiteTrawlForm(c.Href) != suiteBase {
			sample = append(sample, c)
		}
	}
	if len(sample) < 20 {
		t.Fatalf("only %d cases in the sample", len(sample))
	}
	var location atomic.Pointer[string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() == "/foo/bar" {
			w.Header()["Location"] = []string{*location.Load()}
			w.WriteHeader(http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
	agree := 0
	for _, c := range sample {
		location.Store(&c.Input)
		resp, err := f.Fetch(t.Context(), srv.URL+"/foo/bar")
		want := ""
		if !c.Failure {
			want = srv.URL + strings.TrimPrefix(urlSuiteTrawlForm(c.Href), "http://example.org")
		}
		switch {
		case c.Failure && KindOf(err) == KindInvalidURL,
			!c.Failure && err == nil && resp.FinalURL == want:
			agree++
		case c.Failure:
			t.Logf("Location %q: want invalid_url, got %v", c.Input, err)
		case err != nil:
			t.Logf("Location %q: want %s, got %v", c.Input, want, err)
		default:
			t.Logf("Location %q: want %s, got %s", c.Input, want, resp.FinalURL)
		}
	}
	t.Logf("WHATWG URL suite, redirects through the Fetcher: %d/%d sampled cases agree", agree, len(sample))
	if agree < urlSuiteRedirectsE2EFloor {
		t.Errorf("redirects through the Fetcher: %d agree, below the floor of %d", agree, urlSuiteRedirectsE2EFloor)
	}
}

const urlSuiteRedirectsE2EFloor = 36
