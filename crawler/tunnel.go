package crawler

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/net/proxy"
)

// proxyRefusedError is the error for a proxy that answered a CONNECT
// with anything but 200; Status is its status line's "407 Proxy
// Authentication Required".
type proxyRefusedError struct {
	Status string
}

func (e *proxyRefusedError) Error() string { return "refused: " + e.Status }

// proxyTunnel opens, for a capturing transport, the connections of https
// requests that go through a proxy. net/http would make the CONNECT (or
// SOCKS) tunnel and the TLS inside it itself, where the tap cannot see
// above TLS; so the transport's Proxy func says "direct" for those
// requests ([tunnelProxy]) and its TLS dial asks open for the raw
// connection: a tunnel through the proxy, over which it makes TLS to the
// target as it does for a direct connection.
//
// open finds the proxy by asking decide about https://addr. That is the
// decision decide made about the request's own URL: both proxy funcs the
// transport uses, [http.ProxyURL] and [http.ProxyFromEnvironment], decide
// on the scheme and the request's canonical "host:port" (the IDNA form of
// the host, the port made explicit), which is the addr the transport
// dials, and on nothing else (NO_PROXY, the rule for localhost and
// loopback addresses).
type proxyTunnel struct {
	decide  func(*http.Request) (*url.URL, error) // the proxy func, without the private-network guard
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	roots   *x509.CertPool // for TLS to an https proxy; nil means the system's
	timeout time.Duration  // bounds the tunnel's setup after the dial
}

// tunnelProxy wraps the transport's Proxy func next (the guarded one with
// DenyPrivate, so that each request's target is still checked before it
// goes to a proxy): an https request it sends to a proxy goes "direct" as
// far as the transport knows, and [proxyTunnel.open] makes the tunnel.
func tunnelProxy(next func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		pu, err := next(req)
		if err != nil || pu == nil || req.URL.Scheme != "https" {
			return pu, err
		}
		return nil, nil
	}
}

// open returns a raw connection to addr for an https request: a tunnel
// through the proxy decide names for it, or a direct connection.
func (p *proxyTunnel) open(ctx context.Context, network, addr string) (net.Conn, error) {
	pu, err := p.decide(&http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: addr}, Header: http.Header{}})
	if err != nil {
		return nil, err
	}
	if pu == nil {
		return p.dial(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if pu.Scheme == "socks5" || pu.Scheme == "socks5h" {
		return p.socks(ctx, pu, addr)
	}
	return p.connect(ctx, pu, addr) // any other scheme, as net/http does
}

// connect opens a CONNECT tunnel to addr through the http or https proxy
// pu, as net/http does: Proxy-Authorization (basic) from pu's user
// information, the reply read within ctx's deadline, anything but 200 an
// error naming the proxy (password redacted) and the status.
func (p *proxyTunnel) connect(ctx context.Context, pu *url.URL, addr string) (net.Conn, error) {
	name := RedactURL(pu.String())
	conn, err := p.dial(ctx, "tcp", proxyAddr(pu))
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	if pu.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: pu.Hostname(), RootCAs: p.roots, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("proxy %s: tls: handshake: %w", name, err)
		}
		conn = tc
	}
	if err := p.handshakeConnect(ctx, conn, pu, addr); err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return conn, nil
}

// handshakeConnect sends CONNECT addr over conn and reads the proxy's
// answer, giving up at ctx's end.
func (p *proxyTunnel) handshakeConnect(ctx context.Context, conn net.Conn, pu *url.URL, addr string) error {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	hdr := http.Header{}
	if u := pu.User; u != nil {
		pass, _ := u.Password()
		hdr.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: hdr}
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("CONNECT %s: %w", addr, err)
	}
	// The target speaks only once spoken to (TLS), so nothing past the
	// answer may be in the buffer.
	br := bufio.NewReader(io.LimitReader(conn, maxHeaderBytes))
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		// The connection's deadline is ctx's: it may fire a moment
		// before ctx says it is done.
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("no answer within %v: %w", p.timeout, context.DeadlineExceeded)
		}
		return fmt.Errorf("CONNECT %s: %w", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CONNECT %s %w", addr, &proxyRefusedError{Status: resp.Status})
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("CONNECT %s: the proxy sent %d bytes past its answer", addr, br.Buffered())
	}
	if stop() {
		conn.SetDeadline(time.Time{})
		return nil
	}
	return fmt.Errorf("CONNECT %s: %w", addr, context.Cause(ctx))
}

// socks opens a tunnel to addr through the SOCKS5 proxy pu with
// golang.org/x/net/proxy, user name and password from pu's user
// information; the target's name goes to the proxy unresolved, as
// net/http does for socks5 and socks5h alike.
func (p *proxyTunnel) socks(ctx context.Context, pu *url.URL, addr string) (net.Conn, error) {
	name := RedactURL(pu.String())
	d, err := proxy.FromURL(pu, dialFunc(p.dial))
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("proxy %s: no context dialer", name)
	}
	conn, err := cd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return conn, nil
}

// dialFunc is a dial function as a [proxy.Dialer] and
// [proxy.ContextDialer]: how the SOCKS dialer reaches the proxy.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// recordedRequest returns req, a request as sent, as its WARC record
// keeps it, with the value of every field whose canonical name is in
// secret replaced by "***", and without its Proxy-Authorization fields
// when it went to a proxy: net/http sends a plain http request to a
// proxy with its target in absolute form ("GET http://host/path
// HTTP/1.1") and the credentials of the proxy's URL in that field. They
// are the proxy's, not part of the request to the target, and a record
// must not keep them. req is returned as it is when nothing changes.
func recordedRequest(req []byte, secret map[string]bool) []byte {
	_, target, _ := bytes.Cut(req, []byte(" "))
	toProxy := len(target) > 0 && !bytes.HasPrefix(target, []byte("/"))
	if !toProxy && len(secret) == 0 {
		return req
	}
	head := req
	if end := bytes.Index(req, []byte("\r\n\r\n")); end >= 0 {
		head = req[:end+2]
	}
	var out []byte
	for i := 0; i < len(head); {
		j := len(head)
		if k := bytes.Index(head[i:], []byte("\r\n")); k >= 0 {
			j = i + k + 2
		}
		name, _, _ := bytes.Cut(head[i:j], []byte(":"))
		key := http.CanonicalHeaderKey(string(bytes.TrimSpace(name)))
		switch {
		case i > 0 && toProxy && key == "Proxy-Authorization":
			if out == nil {
				out = append(make([]byte, 0, len(req)), req[:i]...)
			}
		case i > 0 && secret[key]:
			if out == nil {
				out = append(make([]byte, 0, len(req)), req[:i]...)
			}
			out = append(append(out, name...), ": ***\r\n"...)
		case out != nil:
			out = append(out, head[i:j]...)
		}
		i = j
	}
	if out == nil {
		return req
	}
	return append(out, req[len(head):]...)
}
