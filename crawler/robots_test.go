package crawler

import (
	"net/url"
	"testing"
	"time"
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
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
