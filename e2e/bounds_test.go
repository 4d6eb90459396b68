//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
)

// --scope host keeps to the seed's port: a link to another port of the
// same host (a local Redis, an admin port) is not followed. --scope
// host-any-port follows it.
func TestCrawlScopeHostKeepsPort(t *testing.T) {
	other := newSite(t, map[string]page{"/admin": htmlPage("Admin", "<p>secret</p>")}, -1)
	home := newSite(t, map[string]page{
		"/":    htmlPage("Home", fmt.Sprintf(`<a href="/p/1">one</a> <a href="%s/admin">admin</a>`, other.URL)),
		"/p/1": htmlPage("One", "<p>no links</p>"),
	}, -1)
	for _, tt := range []struct {
		scope     string
		wantAdmin int
	}{{"host", 0}, {"host-any-port", 1}} {
		t.Run(tt.scope, func(t *testing.T) {
			before := other.hitsOf("/admin")
			res := runTrawl(t, testContext(t), nil, "crawl", "-q", "--scope", tt.scope, home.URL+"/")
			if res.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
			}
			recs := byURL(t, parseJSONL(t, res.stdout))
			if _, ok := recs[home.URL+"/p/1"]; !ok {
				t.Errorf("the link on the seed's port was not followed: %v", recs)
			}
			_, fetched := recs[other.URL+"/admin"]
			if got := other.hitsOf("/admin") - before; got != tt.wantAdmin || fetched != (tt.wantAdmin == 1) {
				t.Errorf("--scope %s: the other port was requested %d times (in output: %v), want %d", tt.scope, got, fetched, tt.wantAdmin)
			}
		})
	}
}

// The shell completes the values of --scope, host-any-port included.
func TestCompleteScope(t *testing.T) {
	for _, cmd := range []string{"crawl", "demo"} {
		res := runTrawl(t, testContext(t), nil, "__complete", cmd, "--scope", "")
		if res.code != 0 || !strings.HasPrefix(res.stdout, "host\ndomain\nprefix\nany\nhost-any-port\n:4\n") {
			t.Errorf("trawl __complete %s --scope: exit %d, output %q", cmd, res.code, res.stdout)
		}
	}
}

// newSiteAt is newSite (without a gate) listening on addr, such as
// "127.0.0.2:0": another host on loopback.
func newSiteAt(t *testing.T, addr string, pages map[string]page) *site {
	t.Helper()
	return serveOn(t, listen(t, addr), pages)
}

// listen listens on addr; the test is skipped when it cannot.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	return ln
}

// serveOn is newSite (without a gate) serving on ln: a test that needs
// the site's URL in its pages listens first.
func serveOn(t *testing.T, ln net.Listener, pages map[string]page) *site {
	t.Helper()
	s := &site{pages: pages, free: -1, hits: map[string]int{}, open: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Listener.Close()
	s.Server.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// sitemapXML returns a <urlset>, or a <sitemapindex> when index is set,
// listing locs.
func sitemapXML(index bool, locs ...string) page {
	outer, inner := "urlset", "url"
	if index {
		outer, inner = "sitemapindex", "sitemap"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><%s xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`, outer)
	for _, l := range locs {
		fmt.Fprintf(&b, "<%s><loc>%s</loc></%s>", inner, l, inner)
	}
	fmt.Fprintf(&b, "</%s>", outer)
	return page{ctype: "application/xml", body: b.String()}
}

// --sitemap reads only sitemaps in the crawl's scope: a sitemap index on
// the seed's host that names a sitemap on another host (127.0.0.2) does
// not make trawl fetch it (nor that host's robots.txt), with the -H
// headers; the listed pages on the other host are not fetched either. The
// skipped sitemap is reported on stderr.
func TestCrawlSitemapKeepsToScope(t *testing.T) {
	// Every page is in place before its site starts serving.
	other := newSiteAt(t, "127.0.0.2:0", map[string]page{
		"/p/x":           htmlPage("Other", "<p>elsewhere</p>"),
		"/sitemap-b.xml": sitemapXML(false, "http://127.0.0.2/p/x"),
	})
	ln := listen(t, "127.0.0.1:0")
	homeURL := "http://" + ln.Addr().String()
	home := serveOn(t, ln, map[string]page{
		"/":              htmlPage("Home", "<p>no links</p>"),
		"/p/1":           htmlPage("One", "<p>from the sitemap</p>"),
		"/sitemap.xml":   sitemapXML(true, homeURL+"/sitemap-a.xml", other.URL+"/sitemap-b.xml"),
		"/sitemap-a.xml": sitemapXML(false, homeURL+"/p/1", other.URL+"/p/x"),
	})
	res := runTrawl(t, testContext(t), nil, "crawl", "--sitemap", "-H", "Authorization: Bearer secret", home.URL+"/")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	recs := byURL(t, parseJSONL(t, res.stdout))
	if _, ok := recs[home.URL+"/p/1"]; !ok {
		t.Errorf("the page of the in-scope sitemap was not crawled; stderr:\n%s", res.stderr)
	}
	if hits, n := other.counts(); n != 0 || other.hitsOf("/robots.txt") != 0 {
		t.Errorf("the other host was requested: %v, robots.txt %d times", hits, other.hitsOf("/robots.txt"))
	}
	if !strings.Contains(res.stderr, other.URL+"/sitemap-b.xml skipped") {
		t.Errorf("stderr does not report the skipped sitemap:\n%s", res.stderr)
	}
}

// The page that made a 1.6 GB output line and 10 GB of memory: a long
// <base href> and many short links, each resolving to a URL as long as the
// base. The record stays within the page's link budget (6 MiB with the
// default --max-body), says links_truncated, and trawl's peak memory stays
// bounded; --max-links cuts the links at its count. With --select (the
// tree walk) the values of a selector are cut at 10,000 matches.
func TestFetchBoundsAPageOfManyLongLinks(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, `<html><head><base href="/%s/"></head><body>`, strings.Repeat("b", 3<<10))
	for i := range 150_000 {
		fmt.Fprintf(&b, `<a href=%d>x</a>`, i)
	}
	home := newSite(t, map[string]page{"/": {body: b.String()}, "/tiny": htmlPage("Tiny", "")}, -1)
	for _, tt := range []struct {
		args      []string
		wantLinks int // 0: bounded by bytes
	}{{nil, 0}, {[]string{"--max-links", "100"}, 100}, {[]string{"--select", "a=a"}, 0}} {
		baseline := peakRSS(t, "fetch", home.URL+"/tiny")
		p := startTrawl(t, testContext(t), nil, append(append([]string{"fetch"}, tt.args...), home.URL+"/")...)
		if code := p.wait(); code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", tt.args, code, p.stderr)
		}
		// Peak RSS: the 2 MB page, 6 MiB of links, their JSON and the
		// runtime, about 130 MiB; without bounds, 150,000 links of 3 KiB
		// take gigabytes.
		if rss := maxRSS(t, p); rss > baseline+200<<20 {
			t.Errorf("%v: peak RSS %d MiB, want at most 200 MiB more than a tiny page's (%d MiB)", tt.args, rss>>20, baseline>>20)
		} else {
			t.Logf("%v: peak RSS at most %d MiB (a tiny page: %d MiB)", tt.args, rss>>20, baseline>>20)
		}
		out := p.stdout.String()
		var rec struct {
			Links           []string            `json:"links"`
			LinksTruncated  bool                `json:"links_truncated"`
			Fields          map[string][]string `json:"fields"`
			FieldsTruncated bool                `json:"fields_truncated"`
		}
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("%v: output is not one JSON record (%d bytes): %v", tt.args, len(out), err)
		}
		if !rec.LinksTruncated || len(rec.Links) == 0 || tt.wantLinks > 0 && len(rec.Links) != tt.wantLinks {
			t.Errorf("%v: %d links, links_truncated %v; want truncated (at %d links)", tt.args, len(rec.Links), rec.LinksTruncated, tt.wantLinks)
		}
		if tt.args != nil && tt.args[0] == "--select" && (len(rec.Fields["a"]) != 10_000 || !rec.FieldsTruncated) {
			t.Errorf("%v: %d values, fields_truncated %v; want 10000, truncated", tt.args, len(rec.Fields["a"]), rec.FieldsTruncated)
		}
		if len(out) > 7<<20 {
			t.Errorf("%v: the record is %d MiB, want at most the 6 MiB link budget and a little", tt.args, len(out)>>20)
		}
	}
}

// maxRSS returns the peak resident memory of the finished process p as
// wait4 reports it. On Linux that is at least this process's own peak at
// the time of the fork (the child starts as a vfork of it): compare it
// with the figure of a baseline run made just before.
func maxRSS(t *testing.T, p *proc) int64 {
	t.Helper()
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this system")
	}
	return ru.Maxrss << 10 // KiB on Linux
}

// peakRSS runs trawl with args and returns its maxRSS.
func peakRSS(t *testing.T, args ...string) int64 {
	t.Helper()
	p := startTrawl(t, testContext(t), nil, args...)
	p.wait()
	return maxRSS(t, p)
}
