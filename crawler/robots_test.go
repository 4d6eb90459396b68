package crawler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trawl-dev/trawl/ratelimit"
	"github.com/trawl-dev/trawl/structured"
)

func TestRobotsFromResponse(t *testing.T) {
	const txt = "User-agent: *\nDisallow: /\n\n" +
		"User-agent: trawl\nDisallow: /private\nDisallow: /*.pdf$\nAllow: /private/ok\nDisallow: /search?q=\nCrawl-delay: 2\n\n" +
		"Sitemap: https://a.test/sitemap.xml\n"
	tests := []struct {
		name    string
		status  int
		body    string
		path    string
		allowed bool
		ttl     time.Duration
	}{
		{"trawl group, free path", 200, txt, "/public", true, robotsTTL},
		{"trawl group wins over *", 200, txt, "/", true, robotsTTL},
		{"disallowed prefix", 200, txt, "/private/x", false, robotsTTL},
		{"longer allow wins", 200, txt, "/private/ok/1", true, robotsTTL},
		{"wildcard and anchor", 200, txt, "/doc/a.pdf", false, robotsTTL},
		{"query is matched", 200, txt, "/search?q=trawl", false, robotsTTL},
		{"other query", 200, txt, "/search?page=2", true, robotsTTL},
		{"empty file", 200, "", "/x", true, robotsTTL},
		{"404 allows all", 404, "", "/private", true, robotsTTL},
		{"403 allows all", 403, "", "/private", true, robotsTTL},
		{"500 disallows all", 500, "", "/public", false, robotsFailTTL},
		{"503 disallows all", 503, txt, "/public", false, robotsFailTTL},
		{"429 disallows all", 429, "", "/public", false, robotsFailTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &Response{Status: tt.status, Body: []byte(tt.body)}
			rules, ttl := robotsFromResponse(resp, nil)
			u, err := url.Parse("http://a.test" + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules.allows(u); got != tt.allowed {
				t.Errorf("allows(%s) = %v, want %v", tt.path, got, tt.allowed)
			}
			if ttl != tt.ttl {
				t.Errorf("held for %v, want %v", ttl, tt.ttl)
			}
		})
	}
	rules, _ := robotsFromResponse(&Response{Status: 200, Body: []byte(txt)}, nil)
	if rules.crawlDelay != 2*time.Second {
		t.Errorf("crawl delay %v, want 2s", rules.crawlDelay)
	}
	if len(rules.sitemaps) != 1 || rules.sitemaps[0] != "https://a.test/sitemap.xml" {
		t.Errorf("sitemaps %v", rules.sitemaps)
	}
	huge, _ := robotsFromResponse(&Response{Status: 200, Body: []byte("User-agent: trawl\nCrawl-delay: 86400\n")}, nil)
	if huge.crawlDelay != maxCrawlDelay {
		t.Errorf("crawl delay of a day kept as %v, want capped at %v", huge.crawlDelay, maxCrawlDelay)
	}
}

func TestRobotsOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"http://A.test/x":       "http://a.test:80",
		"https://a.test/x":      "https://a.test:443",
		"http://a.test:8080/x":  "http://a.test:8080",
		"http://[::1]:8080/x?y": "http://[::1]:8080",
	} {
		u, _ := url.Parse(raw)
		if got := robotsOrigin(u); got != want {
			t.Errorf("robotsOrigin(%s) = %s, want %s", raw, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Thu, 02 Jan 2025 03:05:05 GMT", time.Minute, true},
		{"Thu, 02 Jan 2025 03:00:00 GMT", 0, true}, // in the past
		{"-3", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		// Too many seconds for an int64: the longest wait, which
		// --max-retry-after refuses, not a missing Retry-After.
		{"99999999999999999999", time.Duration(int64(1<<63-1)/int64(time.Second)) * time.Second, true},
		{"-99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestRobotsRFC9309 holds the regression cases of issue 12: each is a
// robots.txt that trawl read wrongly before it had an RFC 9309 parser.
func TestRobotsRFC9309(t *testing.T) {
	tests := []struct {
		name, body, path string
		allowed          bool
	}{
		// A line the parser cannot use is skipped, never the file
		// (RFC 9309 §2.3.1.5 is not about this, §2.2: crawlers MUST use
		// the rules they can parse).
		{"rule before any User-agent", "Disallow: /x\nUser-agent: *\nDisallow: /\n", "/page", false},
		{"Allow before any User-agent", "Allow: /\nUser-agent: *\nDisallow: /\n", "/page", false},
		{"Crawl-delay before any User-agent", "Crawl-delay: 5\nUser-agent: *\nDisallow: /\n", "/page", false},
		{"Crawl-delay with a unit", "User-agent: *\nCrawl-delay: 1s\nDisallow: /\n", "/page", false},
		{"Crawl-delay that is not a number", "User-agent: *\nCrawl-delay: soon\nDisallow: /\n", "/page", false},
		{"garbage line", "User-agent: *\n\x00\x01 what is this\nDisallow: /\n", "/page", false},
		// Both sides percent-encoded the same way (§2.2.2).
		{"UTF-8 rule, encoded URL", "User-agent: *\nDisallow: /café/\n", "/caf%C3%A9/menu", false},
		{"UTF-8 rule, raw URL", "User-agent: *\nDisallow: /café/\n", "/café/menu", false},
		{"lower-case escape in rule", "User-agent: *\nDisallow: /caf%c3%a9/\n", "/caf%C3%A9/menu", false},
		{"escaped tilde in rule", "User-agent: *\nDisallow: /%7Ejoe/\n", "/~joe/", false},
		{"escaped tilde in URL", "User-agent: *\nDisallow: /~joe/\n", "/%7Ejoe/x", false},
		{"escaped slash stays escaped", "User-agent: *\nDisallow: /a/b\n", "/a%2Fb", true},
		{"other escape, other path", "User-agent: *\nDisallow: /café/\n", "/cafe/menu", true},
		// "#" starts a comment anywhere (§2.2.3).
		{"comment after a rule", "User-agent: *\nDisallow: /foo/quz#qux\n", "/foo/quz", false},
		{"comment after a rule, other path", "User-agent: *\nDisallow: /foo/quz#qux\n", "/foo/bar", true},
		{"comment after User-agent", "User-agent: trawl # us\nDisallow: /\n", "/x", false},
		// Patterns are anchored at the start of the path (§2.2.3).
		{"wildcard anchored at start", "User-agent: *\nDisallow: /\nAllow: /public*.html\n", "/private/public1.html", false},
		{"wildcard match", "User-agent: *\nDisallow: /\nAllow: /public*.html\n", "/public1.html", true},
		{"end anchor elsewhere", "User-agent: *\nDisallow: /foo/bar$\n", "/x/foo/bar", true},
		{"end anchor", "User-agent: *\nDisallow: /foo/bar$\n", "/foo/bar", false},
		{"end anchor, longer path", "User-agent: *\nDisallow: /foo/bar$\n", "/foo/bar/", true},
		{"query matched", "User-agent: *\nDisallow: /*?sort=\n", "/list?sort=asc", false},
		// Longest pattern in octets wins; Allow wins a tie (§2.2.2).
		{"longer disallow after allow", "User-agent: *\nAllow: /x/\nDisallow: /x/page.html\n", "/x/page.html", false},
		{"longer disallow before allow", "User-agent: *\nDisallow: /x/page.html\nAllow: /x/\n", "/x/page.html", false},
		{"tie: allow wins", "User-agent: *\nDisallow: /page\nAllow: /page\n", "/page", true},
		{"tie with wildcards: allow wins", "User-agent: *\nDisallow: /*.htm\nAllow: /page*\n", "/page.htm", true},
		{"length counts the wildcard", "User-agent: *\nAllow: /a/b\nDisallow: /*.html\n", "/a/b.html", false},
		{"length in octets, not characters", "User-agent: *\nAllow: /éa\nDisallow: /é*\n", "/éab", true},
		// User-agent: the product token, case-insensitive, up to the
		// first character that is not a token character (§2.2.1).
		{"agent with version", "User-agent: trawl/1.0\nDisallow: /\n", "/x", false},
		{"agent upper case", "User-agent: TRAWL\nDisallow: /\n", "/x", false},
		{"agent with comment in parens", "User-agent: Trawl (the scraper)\nDisallow: /\n", "/x", false},
		{"no prefix match", "User-agent: tr\nDisallow: /\n", "/x", true},
		{"no match on a longer token", "User-agent: trawler\nDisallow: /\n", "/x", true},
		{"specific group over *", "User-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /private\n", "/x", true},
		{"* group when none names trawl", "User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /x\n", "/x", false},
		{"groups for trawl merged, first", "User-agent: trawl\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /b\n", "/a", false},
		{"groups for trawl merged, second", "User-agent: trawl\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /b\n", "/b", false},
		{"groups for trawl merged, neither", "User-agent: trawl\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /b\n", "/c", true},
		{"robots.txt itself", "User-agent: *\nDisallow: /\n", "/robots.txt", true},
		{"agents sharing a group", "User-agent: other\nUser-agent: trawl\nDisallow: /\n", "/x", false},
		// Special characters matched verbatim are written
		// percent-encoded in the pattern (§2.2.3's table).
		{"encoded * matches a literal *", "User-agent: *\nDisallow: /path/file-with-a-%2A.html\n", "/path/file-with-a-*.html", false},
		{"encoded $ matches a literal $", "User-agent: *\nDisallow: /path/foo-%24\n", "/path/foo-$", false},
		{"encoded * is no wildcard", "User-agent: *\nDisallow: /a%2Ab\n", "/axxb", true},
		{"$ before the end is an octet", "User-agent: *\nDisallow: /a$b\n", "/a$b/c", false},
		{"$ before the end is an octet, encoded in the URL", "User-agent: *\nDisallow: /a$b$\n", "/a%24b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, _ := robotsFromResponse(&Response{Status: 200, Body: []byte(tt.body)}, nil)
			u, err := ParseURL("http://a.test" + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules.allows(u); got != tt.allowed {
				t.Errorf("allows(%s) = %v, want %v\nrobots.txt:\n%s", tt.path, got, tt.allowed, tt.body)
			}
		})
	}
}

func TestRobotsCrawlDelayValues(t *testing.T) {
	for body, want := range map[string]time.Duration{
		"User-agent: trawl\nCrawl-delay: 2\n":                                2 * time.Second,
		"User-agent: trawl\nCrawl-delay: 0.5\n":                              500 * time.Millisecond,
		"User-agent: trawl\nCrawl-delay: 1s\n":                               time.Second,
		"User-agent: trawl\nCrawl-delay: -3\n":                               0,
		"User-agent: trawl\nCrawl-delay: NaN\n":                              0,
		"User-agent: trawl\nCrawl-delay: 1e300\n":                            maxCrawlDelay,
		"Crawl-delay: 9\nUser-agent: trawl\nDisallow: /\n":                   0, // outside any group
		"User-agent: *\nCrawl-delay: 4\nDisallow: /a\n\nUser-agent: trawl\n": 0, // the * group is not trawl's
		// Only Allow and Disallow end a run of User-agent lines: other
		// records must not change how groups parse (RFC 9309 §2.2.4).
		"User-agent: *\nCrawl-delay: 4\n\nUser-agent: trawl\n":       4 * time.Second,
		"User-agent: *\nCrawl-delay: 4\n\nUser-agent: other\n":       4 * time.Second,
		"User-agent: trawl\nCrawl-delay: 1\nUser-agent: x\nAllow: /": time.Second, // no rule yet: same group
	} {
		rules, _ := robotsFromResponse(&Response{Status: 200, Body: []byte(body)}, nil)
		if rules.crawlDelay != want {
			t.Errorf("crawl delay %v, want %v, for\n%s", rules.crawlDelay, want, body)
		}
	}
}

// TestRobotsParseLimit: a robots.txt past 500 KiB is parsed up to there
// (RFC 9309 §2.5), the line cut in two dropped.
func TestRobotsParseLimit(t *testing.T) {
	head := "User-agent: *\nDisallow: /\n"
	pad := strings.Repeat("# padding padding padding\n", robotsParseLimit/26)
	pad = pad[:robotsParseLimit-len(head)-len("Allow: /")] // the next line is cut after "Allow: /"
	body := head + pad + "Allow: /public\nAllow: /late\n"
	f := parseRobots([]byte(body))
	g := f.group(RobotsAgent)
	if len(g.rules) != 1 || g.rules[0].allow {
		t.Fatalf("rules %+v, want only the Disallow: / before the limit", g.rules)
	}
	if !parseRobots([]byte(head + "Allow: /public\n")).group(RobotsAgent).allows("/public") {
		t.Fatal("the same rules under the limit do not allow /public")
	}
}

// TestFetchRobotsOverLimitIsCut: a robots.txt longer than the parse limit
// is read up to it, not refused (issue 11 #13: every page of the site
// failed with too_large).
func TestFetchRobotsOverLimitIsCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := "User-agent: *\nDisallow: /private\n" +
			strings.Repeat("# a robots.txt padded with comments\n", 600<<10/36) +
			"Disallow: /late\n"
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" {
				return reply(r, 200, body), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{})
		if _, err := f.Fetch(t.Context(), "http://a.test/public"); err != nil {
			t.Fatalf("page under a %d KiB robots.txt: %v", len(body)>>10, err)
		}
		_, err := f.Fetch(t.Context(), "http://a.test/private")
		wantKind(t, err, KindRobotsDisallowed)
		if _, err := f.Fetch(t.Context(), "http://a.test/late"); err != nil {
			t.Fatalf("a rule past the limit was applied: %v", err)
		}
		if n := rt.count("a.test/robots.txt"); n != 1 {
			t.Fatalf("robots.txt fetched %d times, want 1", n)
		}
	})
}

// TestFetchRobotsTimeoutBoundsRobotsFetch: the per-request timeout bounds
// the whole robots.txt fetch, retries included (issue 11 #17: 30.8s with
// --timeout 2s, three attempts of 10s and a backoff).
func TestFetchRobotsTimeoutBoundsRobotsFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" {
				<-r.Context().Done() // a robots.txt that never answers
				return nil, r.Context().Err()
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{Timeout: 2 * time.Second}) // default retries and backoff
		start := time.Now()
		_, err := f.Fetch(t.Context(), "http://a.test/page")
		wantKind(t, err, KindTimeout)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("robots.txt fetch took %v with a 2s timeout", d)
		}
		if n := rt.count("a.test/page"); n != 0 {
			t.Fatalf("page fetched %d times with robots.txt unreachable", n)
		}
	})
}

// TestFetchRobotsRetriesWithinTimeout: fast failures are still retried
// while the timeout lasts.
func TestFetchRobotsRetriesWithinTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" && n == 1 {
				return nil, io.ErrUnexpectedEOF // a reset: worth another try
			}
			if r.URL.Path == "/robots.txt" {
				return reply(r, 200, "User-agent: *\nDisallow: /no\n"), nil
			}
			return reply(r, 200, "ok"), nil
		})
		b := ratelimitBackoffHour
		b.Base, b.Max = time.Second, time.Second
		f := fakeFetcher(t, rt, Config{Timeout: 5 * time.Second, Backoff: b})
		_, err := f.Fetch(t.Context(), "http://a.test/no")
		wantKind(t, err, KindRobotsDisallowed)
		if n := rt.count("a.test/robots.txt"); n != 2 {
			t.Fatalf("robots.txt requested %d times, want 2", n)
		}
	})
}

// TestFetchRobotsTimeoutExcludesHostTurn: waiting for the host's turn
// (here a Crawl-delay longer than the timeout, when robots.txt is fetched
// again after a day) does not count against the robots.txt timeout.
func TestFetchRobotsTimeoutExcludesHostTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Path == "/robots.txt" {
				return reply(r, 200, "User-agent: *\nCrawl-delay: 5\n"), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{Timeout: 2 * time.Second})
		if _, err := f.Fetch(t.Context(), "http://a.test/1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(robotsTTL - time.Second)
		if _, err := f.Fetch(t.Context(), "http://a.test/2"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // robots.txt has expired; the host's next turn is 4s away
		if _, err := f.Fetch(t.Context(), "http://a.test/3"); err != nil {
			t.Fatalf("after waiting for the host's turn: %v", err)
		}
		if n := rt.count("a.test/robots.txt"); n != 2 {
			t.Fatalf("robots.txt fetched %d times, want 2", n)
		}
	})
}

// FuzzRobotsMatch checks the greedy pattern matcher against a plain
// dynamic-programming one, and that robotsCanon is idempotent.
func FuzzRobotsMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"/fish*.php", "/fishheads/catfish.php?x"},
		{"/*.php$", "/a.php"},
		{"/a*b*c$", "/aXbYbZc"},
		{"*", ""},
		{"$", ""},
		{"/foo/bar$x", "/foo/bar$x"},
		{"/caf%c3%a9*", "/café/%7e"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, target string) {
		if len(pattern) > 64 || len(target) > 256 {
			return
		}
		if got, want := robotsMatch(pattern, target), matchReference(pattern, target); got != want {
			t.Fatalf("robotsMatch(%q, %q) = %v, reference %v", pattern, target, got, want)
		}
		for _, s := range []string{pattern, target} {
			if c := robotsCanon(s); robotsCanon(c) != c {
				t.Fatalf("robotsCanon not idempotent: %q -> %q -> %q", s, c, robotsCanon(c))
			}
		}
	})
}

// matchReference is robotsMatch by dynamic programming: m[i][j] says
// whether pattern[i:] matches a prefix of target[j:].
func matchReference(pattern, target string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	m := make([][]bool, len(pattern)+1)
	for i := range m {
		m[i] = make([]bool, len(target)+1)
	}
	for j := 0; j <= len(target); j++ {
		m[len(pattern)][j] = !anchored || j == len(target)
	}
	for i := len(pattern) - 1; i >= 0; i-- {
		for j := len(target); j >= 0; j-- {
			switch {
			case pattern[i] == '*':
				m[i][j] = m[i+1][j] || (j < len(target) && m[i][j+1])
			default:
				m[i][j] = j < len(target) && target[j] == pattern[i] && m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}

// BenchmarkRobotsAllows is the robots.txt check every request makes: a
// 90-rule group with wildcards and anchors, a path with a query.
func BenchmarkRobotsAllows(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("User-agent: *\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&sb, "Disallow: /section%d/*.pdf$\nAllow: /section%d/public/\nDisallow: /section%d/\n", i, i, i)
	}
	rules, _ := robotsFromResponse(&Response{Status: 200, Body: []byte(sb.String())}, nil)
	u, _ := ParseURL("http://a.test/section17/public/page.html?x=1")
	b.ReportAllocs()
	for b.Loop() {
		if !rules.allows(u) {
			b.Fatal("disallowed")
		}
	}
}

// TestRobotsRedirectsAcrossHostsDoNotDeadlock: with one request per host,
// a page of a.test holds a.test's slot while it reads a.test/robots.txt,
// which redirects to b.test/robots.txt, while a page of b.test holds
// b.test's slot and its robots.txt redirects to a.test's. A robots.txt
// hop waited for the other host's slot, so each waited for the other for
// ever. Both pages must be fetched, with and without a turn taken ahead.
func TestRobotsRedirectsAcrossHostsDoNotDeadlock(t *testing.T) {
	for _, withTurn := range []bool{false, true} {
		t.Run(fmt.Sprintf("turn=%v", withTurn), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				other := map[string]string{"a.test": "b.test", "b.test": "a.test"}
				var both sync.WaitGroup
				both.Add(2)
				rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
					if r.URL.Path != "/robots.txt" {
						return reply(r, 200, "<title>ok</title>"), nil
					}
					if n == 1 {
						// Answer only once both hosts' robots.txt are being
						// read, each within its page's slot.
						both.Done()
						both.Wait()
						return reply(r, http.StatusMovedPermanently, "", "Location", "http://"+other[r.URL.Host]+"/robots.txt"), nil
					}
					return reply(r, 200, "User-agent: *\nDisallow: /private\n"), nil
				})
				f := fakeFetcher(t, rt, Config{PerHost: 1, Timeout: 5 * time.Second})
				err := structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
					for _, host := range []string{"a.test", "b.test"} {
						tg.StartSoon(func(ctx context.Context) error {
							var turn *ratelimit.Turn
							if withTurn {
								var err error
								if turn, err = f.Limiter().AcquireTurn(ctx, host); err != nil {
									return err
								}
								defer turn.Release()
							}
							resp, err := f.FetchTurn(ctx, "http://"+host+"/page", turn)
							if err != nil || resp.Status != 200 {
								t.Errorf("%s: %v %+v", host, err, resp)
							}
							return nil
						})
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
