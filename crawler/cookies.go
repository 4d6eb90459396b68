package crawler

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Cookie jar limits (--cookies): a server sending thousands of cookies
// must not make every later request to it slower, nor the Cookie header
// longer than servers accept. Browsers keep some 50-180 cookies per
// domain and about 3,000 in all; servers commonly refuse request headers
// over 8 KiB.
const (
	maxCookiesPerHost  = 50
	maxCookies         = 3000
	maxCookieHeaderLen = 8 << 10
)

// boundedJar wraps a cookie jar with limits: at most maxCookiesPerHost
// cookies set by one host, maxCookies in all (further new cookies are
// dropped; updates and deletions of kept ones still pass), and a Cookie
// header of at most maxCookieHeaderLen bytes (the cookies that do not fit
// are left out). The wrapped jar does the rest: domains, paths, expiry,
// the public suffix list.
type boundedJar struct {
	jar http.CookieJar
	now func() time.Time

	mu    sync.Mutex
	hosts map[string]map[cookieID]time.Time // setting host → cookie → expiry (zero: session)
	total int
}

// cookieID is what identifies a cookie in a jar (RFC 6265 §5.3 step 11).
type cookieID struct{ name, domain, path string }

func newBoundedJar(jar http.CookieJar) *boundedJar {
	return &boundedJar{jar: jar, now: time.Now, hosts: map[string]map[cookieID]time.Time{}}
}

// SetCookies implements [http.CookieJar].
func (j *boundedJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	host := strings.ToLower(u.Hostname())
	now := j.now()
	kept := make([]*http.Cookie, 0, min(len(cookies), maxCookiesPerHost))
	j.mu.Lock()
	set := j.hosts[host]
	if set == nil {
		set = map[cookieID]time.Time{}
		j.hosts[host] = set
	}
	purged := false
	for _, c := range cookies {
		id := newCookieID(host, u, c)
		exp, gone := cookieExpiry(c, now)
		_, known := set[id]
		switch {
		case gone:
			if known {
				delete(set, id)
				j.total--
			}
		case known:
			set[id] = exp
		default:
			if (len(set) >= maxCookiesPerHost || j.total >= maxCookies) && !purged {
				j.purgeLocked(now)
				purged = true
			}
			if len(set) >= maxCookiesPerHost || j.total >= maxCookies {
				continue // over the limit: dropped
			}
			set[id] = exp
			j.total++
		}
		kept = append(kept, c)
	}
	j.mu.Unlock()
	if len(kept) > 0 {
		j.jar.SetCookies(u, kept)
	}
}

// Cookies implements [http.CookieJar]: the wrapped jar's cookies for u,
// as many as fit in a Cookie header of maxCookieHeaderLen bytes.
func (j *boundedJar) Cookies(u *url.URL) []*http.Cookie {
	cs := j.jar.Cookies(u)
	kept, size := cs[:0], 0
	for _, c := range cs {
		n := len(c.Name) + 1 + len(c.Value) + 2 // "name=value; "
		if size+n > maxCookieHeaderLen {
			continue
		}
		size += n
		kept = append(kept, c)
	}
	return kept
}

// purgeLocked forgets the expired cookies of every host, as the wrapped
// jar does.
func (j *boundedJar) purgeLocked(now time.Time) {
	for host, set := range j.hosts {
		for id, exp := range set {
			if !exp.IsZero() && !exp.After(now) {
				delete(set, id)
				j.total--
			}
		}
		if len(set) == 0 {
			delete(j.hosts, host)
		}
	}
}

// newCookieID identifies c as set by a response from u: the domain is
// the host for a host-only cookie, and the path defaults to the
// directory of u's path (RFC 6265 §5.1.4), as the wrapped jar has them.
func newCookieID(host string, u *url.URL, c *http.Cookie) cookieID {
	domain := strings.TrimPrefix(strings.ToLower(c.Domain), ".")
	if domain == "" {
		domain = host
	}
	path := c.Path
	if path == "" || path[0] != '/' {
		path = "/"
		if p := u.EscapedPath(); strings.HasPrefix(p, "/") {
			if i := strings.LastIndexByte(p, '/'); i > 0 {
				path = p[:i]
			}
		}
	}
	return cookieID{name: c.Name, domain: domain, path: path}
}

// cookieExpiry returns when c expires (zero for a session cookie), or
// gone when setting it deletes it.
func cookieExpiry(c *http.Cookie, now time.Time) (exp time.Time, gone bool) {
	switch {
	case c.MaxAge < 0:
		return time.Time{}, true
	case c.MaxAge > 0:
		return now.Add(time.Duration(c.MaxAge) * time.Second), false
	case !c.Expires.IsZero():
		return c.Expires, !c.Expires.After(now)
	}
	return time.Time{}, false
}
