package crawler

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for the fetch path under attack (issue 11): stacked encodings,
// credentials across hosts, Retry-After, proxies, cookie floods.

// gzipLayers gzips data n times over.
func gzipLayers(t *testing.T, data []byte, n int) []byte {
	t.Helper()
	for range n {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	return data
}

func TestHostileStackedEncodings(t *testing.T) {
	page := []byte("<html><title>layers</title></html>")
	for _, tc := range []struct {
		name   string
		layers int
		header string
		want   Kind // "" for success
	}{
		{"four layers decode", 4, strings.Repeat("gzip, ", 3) + "gzip", ""},
		{"identity does not count", 4, "identity, " + strings.Repeat("gzip, identity, ", 3) + "gzip", ""},
		{"five layers refused", 5, strings.Repeat("gzip, ", 4) + "gzip", KindDecode},
		{"hundreds refused", 300, strings.Repeat("gzip, ", 299) + "gzip", KindDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := gzipLayers(t, page, tc.layers)
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", tc.header)
				w.Write(body)
			})
			f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1})
			var resp *Response
			var err error
			alloc := allocDuring(func() { resp, err = f.Fetch(t.Context(), srv.URL) })
			if tc.want != "" {
				wantKind(t, err, tc.want)
				if alloc > 4<<20 {
					t.Fatalf("a %d-deep Content-Encoding cost %d bytes", strings.Count(tc.header, ",")+1, alloc)
				}
				return
			}
			if err != nil || !bytes.Equal(resp.Body, page) {
				t.Fatalf("got %v, %q; want the page", err, resp.Body)
			}
		})
	}
}

// TestHostileInnerLayerCounts: the outer gzip layer inflates to a stream
// of empty gzip members, which the inner layer turns into nothing. The
// data between the layers counts against the body limit too.
func TestHostileInnerLayerCounts(t *testing.T) {
	var empty bytes.Buffer
	zw := gzip.NewWriter(&empty)
	zw.Close()
	inner := bytes.Repeat(empty.Bytes(), 50000) // about 1 MiB, inflating to 0 bytes
	body := gzipLayers(t, inner, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip, gzip")
		w.Write(body)
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Retries: -1, MaxBody: 64 << 10})
	_, err := f.Fetch(t.Context(), srv.URL)
	if KindOf(err) != KindTooLarge {
		t.Fatalf("got %v (kind %q); want too_large: %d bytes between the layers pass the 64 KiB limit",
			err, KindOf(err), len(inner))
	}
}

// TestFetchRetryAfterBeyondCapNotHonoured: a Retry-After of a day neither
// holds the URL nor pauses its host; the URL is recorded as rate_limited
// with its status, and the host's other URLs go on at once.
func TestFetchRetryAfterBeyondCapNotHonoured(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		synctest.Test(t, func(t *testing.T) {
			rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
				if r.URL.Path == "/limited" {
					return reply(r, status, "slow down", "Retry-After", "86400"), nil
				}
				return reply(r, 200, "ok"), nil
			})
			f := fakeFetcher(t, rt, Config{IgnoreRobots: true, MaxRetryAfter: time.Minute})
			start := time.Now()
			resp, err := f.Fetch(t.Context(), "http://a.test/limited")
			wantKind(t, err, KindRateLimited)
			if resp == nil || resp.Status != status || rt.count("a.test/limited") != 1 {
				t.Fatalf("response %+v after %d calls; want the %d kept, not retried", resp, rt.count("a.test/limited"), status)
			}
			if _, err := f.Fetch(t.Context(), "http://a.test/other"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != 0 {
				t.Fatalf("the host was held %v by a Retry-After beyond the cap", d)
			}
		})
	}
}

// TestFetchRetryAfterWithinCapHonoured: up to the cap, Retry-After is
// waited for and the URL retried.
func TestFetchRetryAfterWithinCapHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRT(func(r *http.Request, n int) (*http.Response, error) {
			if n == 1 {
				return reply(r, http.StatusTooManyRequests, "", "Retry-After", "60"), nil
			}
			return reply(r, 200, "ok"), nil
		})
		f := fakeFetcher(t, rt, Config{IgnoreRobots: true, MaxRetryAfter: time.Minute})
		start := time.Now()
		resp, err := f.Fetch(t.Context(), "http://a.test/")
		if err != nil || resp.Attempts != 2 || time.Since(start) != time.Minute {
			t.Fatalf("got %v, %+v after %v; want success on the second attempt after exactly 1m", err, resp, time.Since(start))
		}
	})
}

// headerLog is a server that records the headers of every request by
// path.
type headerLog struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string][]http.Header // path → headers, Host added as "X-Got-Host"
}

func newHeaderLog(t *testing.T, h http.HandlerFunc) *headerLog {
	l := &headerLog{seen: map[string][]http.Header{}}
	l.srv = serve(t, func(w http.ResponseWriter, r *http.Request) {
		hdr := r.Header.Clone()
		hdr.Set("X-Got-Host", r.Host)
		l.mu.Lock()
		l.seen[r.URL.Path] = append(l.seen[r.URL.Path], hdr)
		l.mu.Unlock()
		h(w, r)
	})
	return l
}

// got returns the headers of the requests for path.
func (l *headerLog) got(path string) []http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[path]
}

// credHeaders are the headers the credential tests configure: three
// sensitive ones (one named by SensitiveHeaders) and a plain one.
var credHeaders = http.Header{
	"Authorization": {"Bearer s3cret"},
	"Cookie":        {"sid=s3cret"},
	"X-Api-Key":     {"s3cret"},
	"X-Plain":       {"hello"},
}

// wantCreds checks that every request for path got the sensitive headers
// (or none of them), and always the plain one.
func wantCreds(t *testing.T, l *headerLog, path string, want bool) {
	t.Helper()
	reqs := l.got(path)
	if len(reqs) == 0 {
		t.Fatalf("no request for %s", path)
	}
	for _, h := range reqs {
		for _, name := range []string{"Authorization", "Cookie", "X-Api-Key"} {
			if has := h.Get(name) != ""; has != want {
				t.Errorf("%s%s: %s sent = %v, want %v", l.srv.URL, path, name, has, want)
			}
		}
		if h.Get("X-Plain") != "hello" {
			t.Errorf("%s%s: the plain header was not sent", l.srv.URL, path)
		}
	}
}

// credSites returns an origin whose /redir redirects to another origin's
// /page, and that other origin. Both serve robots.txt.
func credSites(t *testing.T) (origin, other *headerLog) {
	other = newHeaderLog(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>other</title></html>")
	})
	origin = newHeaderLog(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redir":
			http.Redirect(w, r, other.srv.URL+"/page", http.StatusFound)
		case "/local":
			http.Redirect(w, r, "/page", http.StatusFound)
		default:
			fmt.Fprint(w, "<html><title>origin</title></html>")
		}
	})
	return origin, other
}

func TestCredentialsStayWithOrigin(t *testing.T) {
	origin, other := credSites(t)
	f := newTestFetcher(t, Config{Headers: credHeaders, SensitiveHeaders: []string{"x-api-key"}})
	if _, err := f.Fetch(t.Context(), origin.srv.URL+"/redir"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(t.Context(), origin.srv.URL+"/local"); err != nil {
		t.Fatal(err)
	}
	wantCreds(t, origin, "/redir", true)
	wantCreds(t, origin, "/robots.txt", true)
	wantCreds(t, origin, "/page", true) // a redirect within the origin keeps them
	wantCreds(t, other, "/page", false)
	wantCreds(t, other, "/robots.txt", false)
}

func TestCredentialsLocationTrusted(t *testing.T) {
	origin, other := credSites(t)
	f := newTestFetcher(t, Config{Headers: credHeaders, SensitiveHeaders: []string{"X-Api-Key"}, LocationTrusted: true, IgnoreRobots: true})
	if _, err := f.Fetch(t.Context(), origin.srv.URL+"/redir"); err != nil {
		t.Fatal(err)
	}
	wantCreds(t, other, "/page", true)
}

// TestCredentialsTrustedOrigins: in a crawl only the seeds' origins get
// credentials; a link to another origin is fetched without them.
func TestCredentialsTrustedOrigins(t *testing.T) {
	origin, other := credSites(t)
	f := newTestFetcher(t, Config{Headers: credHeaders, SensitiveHeaders: []string{"X-Api-Key"}, TrustedOrigins: []string{origin.srv.URL + "/"}})
	for _, u := range []string{origin.srv.URL + "/a", other.srv.URL + "/page"} {
		if _, err := f.Fetch(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	wantCreds(t, origin, "/a", true)
	wantCreds(t, other, "/page", false)
	wantCreds(t, other, "/robots.txt", false)
}

// TestHostAndUserAgentHeaders: a Host header sets the request's Host (on
// the origin only), a User-Agent header replaces the default.
func TestHostAndUserAgentHeaders(t *testing.T) {
	origin, other := credSites(t)
	f := newTestFetcher(t, Config{IgnoreRobots: true, Headers: http.Header{"Host": {"vhost.example"}, "User-Agent": {"custom-agent/1"}}})
	if _, err := f.Fetch(t.Context(), origin.srv.URL+"/redir"); err != nil {
		t.Fatal(err)
	}
	if h := origin.got("/redir")[0]; h.Get("X-Got-Host") != "vhost.example" || h.Get("User-Agent") != "custom-agent/1" {
		t.Errorf("origin got Host %q and User-Agent %q; want the configured ones", h.Get("X-Got-Host"), h.Get("User-Agent"))
	}
	if h := other.got("/page")[0]; h.Get("X-Got-Host") != strings.TrimPrefix(other.srv.URL, "http://") {
		t.Errorf("the other origin got Host %q; the configured Host belongs to the origin", h.Get("X-Got-Host"))
	}
}

func TestHeadersWithLineBreaksRefused(t *testing.T) {
	for _, cfg := range []Config{
		{Headers: http.Header{"X-A": {"a\r\nInjected: yes"}}},
		{Headers: http.Header{"X A": {"a"}}},
		{UserAgent: "agent\nInjected: yes"},
	} {
		if _, err := NewFetcher(cfg); err == nil {
			t.Errorf("NewFetcher(%+v) accepted a header that cannot be sent", cfg)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pass@a.test/x":         "http://user:***@a.test/x",
		"https://u:p%40ss@a.test:8080/?q=1": "https://u:***@a.test:8080/?q=1",
		"http://user:p@ss@a.test/":          "http://user:***@a.test/",
		"http://user:@a.test/":              "http://user:***@a.test/",
		"http://token@a.test/":              "http://token@a.test/",
		"http://a.test/path@x:y":            "http://a.test/path@x:y",
		"http://a.test/?next=http://u:p@b/": "http://a.test/?next=http://u:p@b/",
		"ftp://u:p@a.test/ not a url":       "ftp://u:***@a.test/ not a url",
		"no scheme u:p@a.test":              "no scheme u:p@a.test",
		"http://user:***@a.test/":           "http://user:***@a.test/",
		// Forms the WHATWG parser reads with an authority, written as
		// they are when the line does not parse.
		"http:/u:pw@bad host/":  "http:/u:***@bad host/",
		`http:\\u:pw@bad host/`: `http:\\u:***@bad host/`,
		"HTTPS:u:pw@bad host/":  "HTTPS:u:***@bad host/",
		" http:/\\u:pw@[::1":    " http:/\\u:***@[::1",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	msg := `redirect back to http://u:pw1@a.test/x; bad location "https://v:pw2@b.test"`
	if got := redactURLsIn(msg); strings.Contains(got, "pw1") || strings.Contains(got, "pw2") || !strings.Contains(got, "http://u:***@a.test/x") {
		t.Errorf("redactURLsIn(%q) = %q", msg, got)
	}
}

// TestProxyGuard: with a proxy, targets are checked before the request is
// handed over; a direct request (the proxy func says none) is left to the
// dialer's guard.
func TestProxyGuard(t *testing.T) {
	proxyURL, _ := url.Parse("http://127.0.0.1:3128")
	g := newProxyGuard(http.ProxyURL(proxyURL), newDialer(true))
	for _, target := range []string{"http://10.0.0.1/", "http://localhost/", "http://[2002:a00:1::1]/", "http://169.254.169.254/"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", target, nil)
		pu, err := g.proxy(req)
		if pu != nil || transportKind(err, false) != KindDeniedPrivate {
			t.Errorf("%s: proxy %v, error %v; want it refused before the proxy", target, pu, err)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://93.184.216.34/", nil)
	if pu, err := g.proxy(req); err != nil || pu != proxyURL {
		t.Errorf("a public target: proxy %v, error %v; want the proxy", pu, err)
	}
	if !g.proxies["127.0.0.1:3128"] {
		t.Errorf("the proxy handed out is not dialed unguarded: %v", g.proxies)
	}
	if got := proxyAddr(&url.URL{Scheme: "socks5", Host: "p.example"}); got != "p.example:1080" {
		t.Errorf("proxyAddr = %q", got)
	}
	// A request that goes direct to a known proxy's address, which the
	// dialer lets through, is checked here; others are the dialer's.
	direct := newProxyGuard(func(*http.Request) (*url.URL, error) { return nil, nil }, newDialer(true), proxyURL)
	req, _ = http.NewRequestWithContext(t.Context(), "GET", "http://127.0.0.1:3128/admin", nil)
	if pu, err := direct.proxy(req); pu != nil || transportKind(err, false) != KindDeniedPrivate {
		t.Errorf("direct to the proxy's address: proxy %v, error %v; want it refused", pu, err)
	}
	req, _ = http.NewRequestWithContext(t.Context(), "GET", "http://127.0.0.1:8080/", nil)
	if pu, err := direct.proxy(req); pu != nil || err != nil {
		t.Errorf("direct elsewhere: proxy %v, error %v; want it left to the dialer", pu, err)
	}
}

// TestCookieFlood: a server that sets a thousand new cookies on every
// response gets at most maxCookiesPerHost back, in a Cookie header of at
// most maxCookieHeaderLen bytes.
func TestCookieFlood(t *testing.T) {
	var mu sync.Mutex
	var sent []string // Cookie headers received
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Header.Get("Cookie"))
		n := len(sent)
		mu.Unlock()
		for i := range 1000 {
			http.SetCookie(w, &http.Cookie{Name: fmt.Sprintf("c%d_%d", n, i), Value: strings.Repeat("v", 200)})
		}
		fmt.Fprint(w, "<html></html>")
	})
	f := newTestFetcher(t, Config{IgnoreRobots: true, Cookies: true})
	for i := range 4 {
		if _, err := f.Fetch(t.Context(), fmt.Sprintf("%s/p%d", srv.URL, i)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, h := range sent[1:] {
		if n := strings.Count(h, "="); n == 0 || n > maxCookiesPerHost || len(h) > maxCookieHeaderLen {
			t.Errorf("request %d sent %d cookies in %d bytes; want some, at most %d in %d bytes", i+2, n, len(h), maxCookiesPerHost, maxCookieHeaderLen)
		}
	}
}

// TestCookieJarLimits: per host and in all, new cookies past the limits
// are dropped, while updates and deletions of kept ones pass, and an
// expired cookie frees its place.
func TestCookieJarLimits(t *testing.T) {
	inner, _ := cookiejar.New(nil)
	j := newBoundedJar(inner)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j.now = func() time.Time { return now }
	set := func(host string, cs ...*http.Cookie) {
		j.SetCookies(&url.URL{Scheme: "http", Host: host, Path: "/"}, cs)
	}
	count := func(host string) int { return len(inner.Cookies(&url.URL{Scheme: "http", Host: host, Path: "/"})) }
	for i := range 2 * maxCookiesPerHost {
		set("a.test", &http.Cookie{Name: fmt.Sprint("c", i), Value: "1", MaxAge: 60})
	}
	if n := count("a.test"); n != maxCookiesPerHost {
		t.Fatalf("a.test holds %d cookies, want the %d limit", n, maxCookiesPerHost)
	}
	set("a.test", &http.Cookie{Name: "c0", Value: "updated"}, &http.Cookie{Name: "c1", MaxAge: -1})
	set("a.test", &http.Cookie{Name: "fresh", Value: "1"}) // takes c1's place
	got := map[string]string{}
	for _, c := range inner.Cookies(&url.URL{Scheme: "http", Host: "a.test", Path: "/"}) {
		got[c.Name] = c.Value
	}
	if got["c0"] != "updated" || got["c1"] != "" || got["fresh"] != "1" || len(got) != maxCookiesPerHost {
		t.Fatalf("after an update, a deletion and a new cookie: %v", got)
	}
	now = now.Add(2 * time.Minute) // the 49 c* cookies with Max-Age 60 expire (for the limits)
	set("a.test", &http.Cookie{Name: "later", Value: "1"})
	if len(j.hosts["a.test"]) != 3 || count("a.test") != maxCookiesPerHost+1 {
		t.Fatalf("after expiry the limits count %v and the jar holds %d; want c0, fresh and later counted, later let in",
			j.hosts["a.test"], count("a.test"))
	}
	for h := range maxCookies/maxCookiesPerHost + 5 {
		for i := range maxCookiesPerHost {
			set(fmt.Sprintf("h%d.test", h), &http.Cookie{Name: fmt.Sprint("c", i), Value: "1"})
		}
	}
	if j.total > maxCookies {
		t.Fatalf("the jar holds %d cookies, more than the %d limit", j.total, maxCookies)
	}
	if n := count(fmt.Sprintf("h%d.test", maxCookies/maxCookiesPerHost+4)); n != 0 {
		t.Fatalf("a host past the total limit got %d cookies in", n)
	}
}

// FuzzRedactURL: redaction is idempotent, and the password of any URL
// trawl would fetch is gone from its redacted form, its host kept.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"http://u:p@a.test/", "https://u:p%40x@a.test:8443/x?y#z", "http://a.test/@x", "http://u:p@[::1]/", "ftp://u:p@x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := RedactURL(s)
		if RedactURL(r) != r {
			t.Fatalf("RedactURL not idempotent: %q → %q → %q", s, r, RedactURL(r))
		}
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		pw, ok := u.User.Password()
		if !ok || pw == "***" {
			return
		}
		red, err := url.Parse(RedactURL(u.String()))
		if err != nil {
			t.Fatalf("redacted %q does not parse: %v", u, err)
		}
		if got, _ := red.User.Password(); got != "***" || red.Host != u.Host || red.User.Username() != u.User.Username() {
			t.Fatalf("RedactURL(%q) = %q", u, red)
		}
	})
}
