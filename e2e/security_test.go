//go:build unix

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the fetch path under attack (issue 11), through the binary.

// TestMaxRetryAfter: a Retry-After beyond --max-retry-after is not
// waited for: the URL is recorded with its 429 as rate_limited, and the
// host's other URL is fetched without delay.
func TestMaxRetryAfter(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/limited" {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "<html><title>fine</title></html>")
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	res := runTrawl(t, testContext(t), nil, "fetch", "--no-robots", "-c", "1", "--max-retry-after", "1s",
		srv.URL+"/limited", srv.URL+"/ok")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the run took %v: the 30s Retry-After held it", d)
	}
	if res.code != 0 {
		t.Errorf("exit code %d, want 0 (the run completed); stderr:\n%s", res.code, res.stderr)
	}
	recs := byURL(t, parseJSONL(t, res.stdout))
	lim := recs[srv.URL+"/limited"]
	if lim.Status != 429 || lim.Error == nil || lim.Error.Kind != "rate_limited" {
		t.Errorf("/limited: status %d error %+v; want 429 rate_limited", lim.Status, lim.Error)
	}
	if ok := recs[srv.URL+"/ok"]; ok.Status != 200 || ok.Error != nil {
		t.Errorf("/ok: status %d error %+v; want 200", ok.Status, ok.Error)
	}
}

// headerSite is a server that records every request's headers.
type headerSite struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request // clones, headers only
}

func newHeaderSite(t *testing.T, h http.HandlerFunc) *headerSite {
	s := &headerSite{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(r.Context()))
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// requests returns the recorded requests.
func (s *headerSite) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// leaked returns "path: header" for each request that carried one of the
// secret headers.
func (s *headerSite) leaked() []string {
	var out []string
	for _, r := range s.requests() {
		for _, name := range []string{"Authorization", "Cookie", "X-Api-Key"} {
			if r.Header.Get(name) != "" {
				out = append(out, r.URL.Path+": "+name)
			}
		}
	}
	return out
}

var secretFlags = []string{"-H", "Authorization: Bearer s3cret", "-H", "Cookie: sid=s3cret",
	"-H", "X-Api-Key: s3cret", "--sensitive-header", "X-Api-Key"}

// TestCredentialsNotRedirectedToOtherHosts: -H credentials go to the
// input's origin and its robots.txt, never to the host a redirect points
// at, nor to that host's robots.txt; --location-trusted opts back in.
func TestCredentialsNotRedirectedToOtherHosts(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{false, true} {
		other := newHeaderSite(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html><title>other</title></html>")
		})
		origin := newHeaderSite(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/redir" {
				http.Redirect(w, r, other.srv.URL+"/landing", http.StatusFound)
				return
			}
			fmt.Fprint(w, "<html><title>origin</title></html>")
		})
		args := append([]string{"fetch"}, secretFlags...)
		if trusted {
			args = append(args, "--location-trusted")
		}
		res := runTrawl(t, testContext(t), nil, append(args, origin.srv.URL+"/redir")...)
		if res.code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
		}
		if got := origin.leaked(); len(got) != 6 { // /robots.txt and /redir, three headers each
			t.Errorf("the origin got credentials on %v; want all three on robots.txt and /redir", got)
		}
		var landing []string
		for _, l := range other.leaked() {
			if strings.HasPrefix(l, "/robots.txt") {
				t.Errorf("the other host's robots.txt got %s", l)
			} else {
				landing = append(landing, l)
			}
		}
		if want := map[bool]int{false: 0, true: 3}[trusted]; len(landing) != want {
			t.Errorf("--location-trusted=%v: the other host got %v; want %d credential headers", trusted, landing, want)
		}
	}
}

// TestCrawlCredentialsOnlyToSeeds: a crawl that follows a link to
// another host (--scope any), or reads a sitemap there, sends it no
// credentials.
func TestCrawlCredentialsOnlyToSeeds(t *testing.T) {
	t.Parallel()
	other := newHeaderSite(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>other</title></html>")
	})
	origin := newHeaderSite(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			fmt.Fprintf(w, "User-agent: *\nAllow: /\nSitemap: %s/sitemap.xml\n", other.srv.URL)
			return
		}
		fmt.Fprintf(w, `<html><title>seed</title><a href="%s/linked">x</a></html>`, other.srv.URL)
	})
	res := runTrawl(t, testContext(t), nil, append(append([]string{"crawl", "--scope", "any", "--sitemap"}, secretFlags...), origin.srv.URL+"/")...)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if len(other.requests()) == 0 {
		t.Fatal("the linked host was not crawled")
	}
	if got := other.leaked(); len(got) != 0 {
		t.Errorf("the linked host got credentials: %v", got)
	}
	if got := origin.leaked(); len(got) == 0 {
		t.Error("the seed's host got no credentials")
	}
}

// TestHeaderFlags: -H User-Agent and -H Host are sent, not ignored.
func TestHeaderFlags(t *testing.T) {
	t.Parallel()
	site := newHeaderSite(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>x</title></html>")
	})
	res := runTrawl(t, testContext(t), nil, "fetch", "--no-robots", "-H", "User-Agent: my-bot/2.0", "-H", "Host: vhost.example", site.srv.URL+"/")
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, r := range site.requests() {
		if r.UserAgent() != "my-bot/2.0" || r.Host != "vhost.example" {
			t.Errorf("request got User-Agent %q and Host %q; want my-bot/2.0 and vhost.example", r.UserAgent(), r.Host)
		}
	}
}

// TestHeaderLineBreaksAreUsageErrors: a header or user agent that would
// inject a line is refused before anything is fetched.
func TestHeaderLineBreaksAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, value string }{
		{"-H", "X-A: a\r\nInjected: yes"},
		{"-H", "X-A: a\nb"},
		{"--header", "X-A: tail\n"},
		{"--user-agent", "bot\r\nInjected: yes"},
		{"--sensitive-header", "X Bad"},
	} {
		res := runTrawl(t, testContext(t), nil, "fetch", tc.flag, tc.value, "http://127.0.0.1:1/")
		if res.code != 2 || res.stdout != "" {
			t.Errorf("%s %q: exit code %d, stdout %q; want a usage error (2) and nothing fetched", tc.flag, tc.value, res.code, res.stdout)
		}
		flag := strings.Replace(tc.flag, "-H", "--header", 1)
		if !strings.Contains(res.stderr, flag) || !strings.Contains(res.stderr, fmt.Sprintf("%q", tc.value)) {
			t.Errorf("%s %q: stderr does not name the flag and the value:\n%s", tc.flag, tc.value, res.stderr)
		}
	}
}

// authSite serves pages behind basic auth user:s3cretpw: /a links to b,
// /loop redirects to itself, /r redirects to /a; it counts the requests.
func authSite(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "s3cretpw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/r":
			http.Redirect(w, r, "/a", http.StatusFound)
		default:
			fmt.Fprint(w, `<html><title>in</title><a href="b">b</a><link rel=canonical href="/a"></html>`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestUserinfoRedactedAndResumed: a password in a URL is used but never
// written, in records (url, final_url, redirects, links, canonical, error
// messages) or on stderr; and --resume still finds those URLs done.
func TestUserinfoRedactedAndResumed(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv, hits := authSite(t)
	base := strings.Replace(srv.URL, "http://", "http://user:s3cretpw@", 1)
	in := writeFile(t, "urls.txt", base+"/a\n"+base+"/loop\n"+base+"/r\nftp://user:s3cretpw@x.test/\n")
	out := filepath.Join(t.TempDir(), "out.jsonl")
	first := runTrawl(t, ctx, nil, "fetch", "--no-robots", "-o", out, in)
	if first.code != 0 {
		t.Fatalf("exit code %d, want 0 (the run completed; the loop and the ftp line fail); stderr:\n%s", first.code, first.stderr)
	}
	before, _ := os.ReadFile(out)
	if strings.Contains(string(before)+first.stderr, "s3cretpw") {
		t.Errorf("the password was written:\n%s\nstderr:\n%s", before, first.stderr)
	}
	recs := byURL(t, parseJSONL(t, string(before)))
	red := strings.Replace(srv.URL, "http://", "http://user:***@", 1)
	if a := recs[red+"/a"]; a.Status != 200 || len(a.Links) != 1 || a.Links[0] != red+"/b" {
		t.Errorf("record of /a: %+v; want status 200 and the redacted link %s/b", a, red)
	}
	if r := recs[red+"/r"]; r.FinalURL != red+"/a" {
		t.Errorf("record of /r: final_url %q, want %s/a", r.FinalURL, red)
	}
	if l := recs[red+"/loop"]; l.Error == nil || l.Error.Kind != "redirect_loop" {
		t.Errorf("record of /loop: %+v; want a redirect_loop", l)
	}
	if len(recs) != 4 {
		t.Errorf("%d records, want 4:\n%s", len(recs), before)
	}
	served := hits.Load()
	second := runTrawl(t, ctx, nil, "fetch", "--no-robots", "--resume", "-o", out, in)
	if second.code != 0 {
		t.Errorf("--resume: exit code %d; stderr:\n%s", second.code, second.stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Errorf("--resume of a finished run changed the output:\n--- before\n%s--- after\n%s", before, after)
	}
	if n := hits.Load() - served; n != 0 {
		t.Errorf("--resume fetched %d URLs with a password again", n)
	}
}

// TestCrawlUserinfoResumed: a finished crawl of a site reached with a
// password, resumed, fetches nothing again (its journal holds the URLs
// with the password, its output the redacted ones).
func TestCrawlUserinfoResumed(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv, hits := authSite(t)
	seed := strings.Replace(srv.URL, "http://", "http://user:s3cretpw@", 1) + "/a"
	out := filepath.Join(t.TempDir(), "out.jsonl")
	first := runTrawl(t, ctx, nil, "crawl", "--no-robots", "-o", out, seed)
	if first.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", first.code, first.stderr)
	}
	before, _ := os.ReadFile(out)
	if n := len(parseJSONL(t, string(before))); n != 2 || strings.Contains(string(before), "s3cretpw") {
		t.Fatalf("want 2 records (/a, /b) without the password:\n%s", before)
	}
	served := hits.Load()
	runTrawl(t, ctx, nil, "crawl", "--no-robots", "--resume", "-o", out, seed)
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Errorf("--resume of a finished crawl changed the output:\n--- before\n%s--- after\n%s", before, after)
	}
	if n := hits.Load() - served; n != 0 {
		t.Errorf("--resume fetched %d URLs again", n)
	}
}

// fakeProxy is a forward HTTP proxy on loopback that answers for any
// target itself and records what it was asked for. For 93.184.216.34 it
// serves /pub and redirects /hop to a loopback address.
func fakeProxy(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.String())
		mu.Unlock()
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "http://127.0.0.1:9/secret", http.StatusFound)
			return
		}
		fmt.Fprint(w, "<html><title>via proxy</title></html>")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// TestDenyPrivateThroughProxy: with a proxy, --deny-private checks the
// target before the proxy gets the request (literal IPs, names resolved
// here, IPv6 embedding a private IPv4, every redirect hop), lets public
// targets through, and warns about what it cannot check.
func TestDenyPrivateThroughProxy(t *testing.T) {
	t.Parallel()
	proxy, asked := fakeProxy(t)
	targets := []string{"http://10.1.2.3/x", "http://localhost:9/y", "http://[64:ff9b::a00:1]/nat",
		"http://169.254.169.254/latest/meta-data/", "http://93.184.216.34/pub", "http://93.184.216.34/hop"}
	for _, viaEnv := range []bool{false, true} {
		args := []string{"fetch", "--no-robots", "--retries", "0", "--deny-private"}
		cmd := trawlCmd(testContext(t), append(args, targets...)...)
		if viaEnv {
			cmd.Env = append(cmd.Env, "HTTP_PROXY="+proxy.URL)
		} else {
			cmd = trawlCmd(testContext(t), append(append(args, "--proxy", proxy.URL), targets...)...)
		}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		recs := byURL(t, parseJSONL(t, stdout.String()))
		for _, u := range targets {
			r := recs[u]
			want := "denied_private"
			if strings.HasSuffix(u, "/pub") {
				want = ""
			}
			if got := ""; r.Error != nil {
				got = r.Error.Kind
				if got != want {
					t.Errorf("proxy from env %v: %s: error %+v, want %q", viaEnv, u, r.Error, want)
				}
			} else if want != "" || r.Status != 200 {
				t.Errorf("proxy from env %v: %s: status %d, no error; want %q", viaEnv, u, r.Status, want)
			}
		}
		if !strings.Contains(stderr.String(), "--deny-private with a proxy") {
			t.Errorf("proxy from env %v: no warning on stderr:\n%s", viaEnv, stderr.String())
		}
	}
	for _, a := range asked() {
		if !strings.HasPrefix(a, "http://93.184.216.34/") {
			t.Errorf("the proxy was asked for %s", a)
		}
	}
	if n := len(asked()); n != 4 {
		t.Errorf("the proxy was asked %d times (%v), want /pub and /hop twice", n, asked())
	}
}

// TestDenyPrivateDirectToProxyAddress: a target at the proxy's own
// (private) address that goes direct, as loopback hosts and NO_PROXY
// ones do with a proxy from the environment, is refused by
// --deny-private too; the dialer, which lets the proxy's address through
// for proxied requests, used to connect it unguarded.
func TestDenyPrivateDirectToProxyAddress(t *testing.T) {
	t.Parallel()
	proxy, asked := fakeProxy(t)
	admin := proxy.URL + "/admin"
	for _, viaEnv := range []bool{false, true} {
		// One at a time, the public target first: the proxy has been
		// used when the direct request comes.
		args := []string{"fetch", "--no-robots", "--retries", "0", "--deny-private", "-c", "1"}
		targets := []string{"http://93.184.216.34/pub", admin}
		cmd := trawlCmd(testContext(t), append(append(args, "--proxy", proxy.URL), targets...)...)
		if viaEnv {
			cmd = trawlCmd(testContext(t), append(args, targets...)...)
			cmd.Env = append(cmd.Env, "HTTP_PROXY="+proxy.URL)
		}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		recs := byURL(t, parseJSONL(t, stdout.String()))
		if r := recs[admin]; r.Error == nil || r.Error.Kind != "denied_private" {
			t.Errorf("proxy from env %v: %s: status %d, error %+v; want denied_private\nstderr:\n%s", viaEnv, admin, r.Status, r.Error, stderr.String())
		}
		if r := recs["http://93.184.216.34/pub"]; r.Status != 200 {
			t.Errorf("proxy from env %v: the public target: status %d, error %+v; want 200", viaEnv, r.Status, r.Error)
		}
	}
	for _, a := range asked() {
		if !strings.HasPrefix(a, "http://93.184.216.34/") {
			t.Errorf("the proxy's address was asked for %s", a)
		}
	}
}

// TestProxyPasswordNotEchoed: a bad --proxy is named in the usage error
// without its password.
func TestProxyPasswordNotEchoed(t *testing.T) {
	t.Parallel()
	res := runTrawl(t, testContext(t), nil, "fetch", "--proxy", "ftp://user:s3cretpw@proxy.test:21", "http://127.0.0.1:1/")
	if res.code != 2 || !strings.Contains(res.stderr, "--proxy") || strings.Contains(res.stderr, "s3cretpw") {
		t.Errorf("exit code %d, stderr:\n%s\nwant a usage error naming --proxy without the password", res.code, res.stderr)
	}
}

// TestPasswordOfUnparsedURLRedacted: a line or flag value that does not
// parse but has a password where the WHATWG parser reads one ("http:/",
// "http:\\" or "http:" followed by user:pass@) is written with the
// password redacted, in the record and in usage errors.
func TestPasswordOfUnparsedURLRedacted(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	in := writeFile(t, "urls.txt", "http:/user:s3cretpw@bad host/\nhttp:\\\\user:s3cretpw@bad host/\nhttps:user:s3cretpw@[::1\n")
	res := runTrawl(t, ctx, nil, "fetch", "--no-robots", in)
	if res.code != 0 { // every line has its (failed) record: completed
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	// Each record shows the line twice, as url and as input.
	if n := strings.Count(res.stdout, "user:***@"); n != 6 || strings.Contains(res.stdout+res.stderr, "s3cretpw") {
		t.Errorf("want 3 records with the password redacted:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	}
	for _, flag := range [][]string{{"--proxy", "http:/user:s3cretpw@bad host"}, {"--frontier", "redis:/user:s3cretpw@bad host/0"}} {
		res := runTrawl(t, ctx, nil, "fetch", flag[0], flag[1], "http://127.0.0.1:1/")
		if res.code != 2 || strings.Contains(res.stderr, "s3cretpw") || !strings.Contains(res.stderr, "user:***@") {
			t.Errorf("%s: exit code %d, want 2 and the password redacted; stderr:\n%s", flag[0], res.code, res.stderr)
		}
	}
}
