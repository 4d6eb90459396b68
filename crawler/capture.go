package crawler

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"sync"
	"time"
)

// An Exchange is one HTTP/1.1 request and its response as they were on
// the wire, after TLS and before any decoding: what a WARC archive keeps
// (Config.Capture). Every request the fetcher makes while capturing is
// one Exchange: robots.txt, sitemaps, every redirect hop and every retry.
type Exchange struct {
	// URL is the URL requested.
	URL string
	// Date is when the connection was handed to the request.
	Date time.Time
	// IP is the address of the peer, without the port.
	IP string
	// Request is the request as sent: request line, header fields, blank
	// line.
	Request []byte
	// Response is the response as received: status line, fields and the
	// body with its transfer encoding (chunked) and content encoding as
	// sent, as far as it was read.
	Response []byte
	// Truncated says why Response ends before the body's end, as a
	// WARC-Truncated value: "length" (the body limit), "time" (the
	// timeout), "disconnect" (the connection failed); empty when whole.
	Truncated string

	tap *tap // whose buffers Request and Response are; see releaseExchanges
}

// tapPool holds the taps of finished exchanges, so that their buffers,
// grown to a page's size, serve the next request.
var tapPool = sync.Pool{New: func() any { return new(tap) }}

// newTap returns a tap from tapPool for a request whose response may be
// up to limit bytes.
func newTap(limit int) *tap {
	t := tapPool.Get().(*tap)
	t.limit = limit
	return t
}

// releaseExchanges gives the buffers of exchanges back for reuse: their
// Request and Response are not to be used after. Exchanges not made by
// the fetcher are left as they are.
func releaseExchanges(exchanges []*Exchange) {
	for _, e := range exchanges {
		t := e.tap
		if t == nil {
			continue
		}
		e.tap, e.Request, e.Response = nil, nil, nil
		if t.req.Cap()+t.resp.Cap() > 4<<20 {
			continue // one huge page does not pin its buffers
		}
		t.req.Reset()
		t.resp.Reset()
		*t = tap{req: t.req, resp: t.resp}
		tapPool.Put(t)
	}
}

// captureLog collects the exchanges made under one context.
type captureLog struct {
	mu   sync.Mutex
	list []*Exchange
}

type captureKey struct{}

// WithCapture returns ctx under which every request a capturing
// [Fetcher] makes is recorded, and the function that takes the
// exchanges recorded so far, in the order they ended.
func WithCapture(ctx context.Context) (context.Context, func() []*Exchange) {
	log := &captureLog{}
	return context.WithValue(ctx, captureKey{}, log), log.take
}

func captureFrom(ctx context.Context) *captureLog {
	log, _ := ctx.Value(captureKey{}).(*captureLog)
	return log
}

func (l *captureLog) add(e *Exchange) {
	l.mu.Lock()
	l.list = append(l.list, e)
	l.mu.Unlock()
}

func (l *captureLog) take() []*Exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.list
	l.list = nil
	return out
}

// tap is the capture of one request on a tapConn: what was written and
// read while it was attached, up to limit bytes of response.
type tap struct {
	req, resp bytes.Buffer
	limit     int
	date      time.Time
	ip        string
	overflow  bool // response bytes past limit were dropped
}

// tapConn copies what goes over a connection into the tap of the request
// it serves. HTTP/1.1 on a net/http transport serves one request at a
// time per connection, so everything written and read between the
// moment the connection is handed to a request (httptrace GotConn) and
// the end of that request's body belongs to it.
type tapConn struct {
	net.Conn
	addr       string // host:port dialed
	tlsVersion string // set when this connection is TLS made by the transport's dialer

	mu  sync.Mutex
	cur *tap
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if t := c.cur; t != nil {
			keep := min(n, t.limit-t.resp.Len())
			t.resp.Write(p[:keep])
			t.overflow = t.overflow || keep < n
		}
		c.mu.Unlock()
	}
	return n, err
}

// Write copies p into the tap before sending it: the response can come
// back, and the request end, before the Write returns.
func (c *tapConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	t, before := c.cur, 0
	if t != nil && t.req.Len() < t.limit {
		before = t.req.Len()
		t.req.Write(p)
	}
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	if n < len(p) && t != nil {
		c.mu.Lock()
		if c.cur == t && t.req.Len() == before+len(p) {
			t.req.Truncate(before + n) // what was not sent is not kept
		}
		c.mu.Unlock()
	}
	return n, err
}

// attach makes t the request the connection serves from now on.
func (c *tapConn) attach(t *tap) {
	c.mu.Lock()
	c.cur = t
	c.mu.Unlock()
}

// detach ends t's capture, unless the connection already serves another
// request.
func (c *tapConn) detach(t *tap) {
	c.mu.Lock()
	if c.cur == t {
		c.cur = nil
	}
	c.mu.Unlock()
}

// capturable reports whether the bytes over c are those of a request for
// scheme://hostport: plain HTTP, or TLS that this conn's dialer made to
// that very host (not a tunnel net/http made through a proxy, whose
// inner TLS the tap would see encrypted: see proxyTunnel).
func (c *tapConn) capturable(scheme, hostport string) bool {
	if scheme == "https" {
		return c.tlsVersion != "" && c.addr == hostport
	}
	return c.tlsVersion == ""
}

// tapDialers wraps the transport's dial function so that every
// connection is a tapConn, and returns a TLS dialer that makes HTTP/1.1
// TLS connections itself, so that the tap sits above TLS, over the raw
// connections dialTLS opens (directly or through a proxy's tunnel).
func tapDialers(dial, dialTLS func(ctx context.Context, network, addr string) (net.Conn, error), roots *x509.CertPool, handshake time.Duration) (
	plain, withTLS func(ctx context.Context, network, addr string) (net.Conn, error)) {
	plain = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &tapConn{Conn: c, addr: addr}, nil
	}
	withTLS = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dialTLS(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(raw, &tls.Config{ServerName: host, NextProtos: []string{"http/1.1"}, RootCAs: roots})
		hctx, cancel := context.WithTimeout(ctx, handshake)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls: handshake with %s: %w", addr, err)
		}
		return &tapConn{Conn: tc, addr: addr, tlsVersion: tlsVersionName(tc.ConnectionState().Version)}, nil
	}
	return plain, withTLS
}
