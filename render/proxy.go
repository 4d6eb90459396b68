package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/structured"
)

// proxy is the HTTP proxy inside trawl that every request of a rendered
// page goes through (Chromium runs with --proxy-server pointing at it,
// loopback included): each one is made by the run's Fetcher
// ([crawler.Fetcher.Subresource]), so robots.txt, the per-host limits,
// the body limit and --deny-private hold for the browser as for trawl.
//
// It listens on 127.0.0.1 only. It is no open door: anyone on the
// machine who can reach it could already make the same requests, and it
// refuses what the run refuses (private addresses under --deny-private).
// https origins come as CONNECT tunnels, which the proxy ends itself
// (see serveConnect) so that their requests are made by the fetcher too.
//
// The browser's own traffic (component updates, time checks, sign-in
// probes, which some builds make despite the flags that should stop
// them) is not the pages': the browser-wide --proxy-server points at a
// second listener that refuses everything, and only the browser contexts
// of the pages use the real one.
type proxy struct {
	fetcher *crawler.Fetcher
	srv     *http.Server
	ln      net.Listener
	refuse  net.Listener // the browser-wide proxy: every request refused
	certs   *certs       // for the https origins (see serveConnect)
	tunnels sync.Map     // net.Conn: the hijacked CONNECT connections, closed with the proxy
}

// startProxy listens on a loopback port and serves as a task of tg until
// ctx ends.
func startProxy(ctx context.Context, tg *structured.TaskGroup, f *crawler.Fetcher) (*proxy, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the render proxy: %w", err)
	}
	refuse, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen for the render proxy: %w", err)
	}
	c, err := newCerts()
	if err != nil {
		ln.Close()
		refuse.Close()
		return nil, err
	}
	p := &proxy{fetcher: f, ln: ln, refuse: refuse, certs: c}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	blackhole := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "trawl render proxy: the browser's own requests are refused", http.StatusForbidden)
	})}
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{p.srv, ln}, {blackhole, refuse}} {
		tg.StartSoon(func(ctx context.Context) error {
			stop := context.AfterFunc(ctx, func() {
				s.srv.Close()
				p.tunnels.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
			})
			defer stop()
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("render proxy: %w", err)
			}
			return nil
		})
	}
	return p, nil
}

// refuseAddr is the "127.0.0.1:port" of the proxy that refuses all.
func (p *proxy) refuseAddr() string { return p.refuse.Addr().String() }

// addr is the proxy's "127.0.0.1:port".
func (p *proxy) addr() string { return p.ln.Addr().String() }

// ServeHTTP implements [http.Handler]: one proxied request.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.serveConnect(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "trawl render proxy: not a proxy request", http.StatusBadRequest)
		return
	}
	resp := p.respond(r.Context(), r, r.URL.String())
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// respond makes the browser's request r for rawURL with the fetcher and
// returns the response to give the browser: the server's, its body
// decoded, or a 403 (robots.txt, --deny-private, a WebSocket), 502 or 504
// made here, saying why in X-Trawl-Error.
func (p *proxy) respond(ctx context.Context, r *http.Request, rawURL string) *http.Response {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return errorResponse(r, http.StatusForbidden, "", "WebSockets are not proxied")
	}
	var body io.Reader
	if r.ContentLength != 0 && r.Body != nil {
		// Read whole, so that the request upstream has a length.
		b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(b) > maxRequestBody {
			return errorResponse(r, http.StatusRequestEntityTooLarge, "", "request body unreadable or larger than 10 MiB")
		}
		body = bytes.NewReader(b)
	}
	resp, err := p.fetcher.Subresource(ctx, r.Method, rawURL, r.Header, body)
	if err != nil {
		status := http.StatusBadGateway
		switch crawler.KindOf(err) {
		case crawler.KindRobotsDisallowed, crawler.KindDeniedPrivate, crawler.KindInvalidURL:
			status = http.StatusForbidden
		case crawler.KindTimeout:
			status = http.StatusGatewayTimeout
		}
		return errorResponse(r, status, string(crawler.KindOf(err)), err.Error())
	}
	h := http.Header{}
	for k, vs := range resp.Header {
		if !responseHop[k] {
			h[k] = vs
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	out := &http.Response{
		StatusCode: resp.Status, ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: r,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)),
	}
	if r.Method == http.MethodHead {
		out.Body = http.NoBody
	}
	return out
}

// maxRequestBody bounds the body of a page's request (a POST).
const maxRequestBody = 10 << 20

func errorResponse(r *http.Request, status int, kind, msg string) *http.Response {
	body := "trawl render proxy: " + msg + "\n"
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {strconv.Itoa(len(body))}}
	if kind != "" {
		h.Set("X-Trawl-Error", kind)
	}
	return &http.Response{
		StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

// responseHop are the response fields not passed on to the browser.
var responseHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
	"Content-Encoding": true,
}
