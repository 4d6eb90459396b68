package crawler

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// Connection facts a [Response] exposes as typed attributes; look them up
// with [structured.Extra].
var (
	// AttrRemoteAddr is the address of the peer the response came from,
	// "ip:port" (the proxy's when a proxy is used).
	AttrRemoteAddr = structured.NewAttribute[string]("remote address")
	// AttrProto is the protocol of the response, "HTTP/1.1" or "HTTP/2.0".
	AttrProto = structured.NewAttribute[string]("protocol")
	// AttrTLSVersion is the TLS version negotiated, "TLS 1.3"; unset for
	// plain HTTP.
	AttrTLSVersion = structured.NewAttribute[string]("tls version")
	// AttrConnReused reports whether the request went over a kept-alive
	// connection.
	AttrConnReused = structured.NewAttribute[bool]("connection reused")
)

// maxHeaderBytes bounds the response headers the transport reads; a server
// sending more gets the request failed, not the crawler's memory.
const maxHeaderBytes = 256 << 10

// newTransport returns the transport the fetcher uses for every request:
// one connection pool for the run, sized for the per-host limit, with
// bounded dial, TLS and header waits, and compression left to body.go so
// that the max-body limit counts decoded bytes.
func newTransport(cfg *Config) *http.Transport {
	proxy := http.ProxyFromEnvironment
	if cfg.Proxy != nil {
		proxy = http.ProxyURL(cfg.Proxy)
	}
	decide := proxy // which proxy, if any, a request goes through
	dialer := newDialer(cfg.DenyPrivate)
	dial := dialer.DialContext
	if cfg.DenyPrivate {
		known := []*url.URL{cfg.Proxy}
		if cfg.Proxy == nil {
			known = envProxies()
		}
		g := newProxyGuard(proxy, dialer, known...)
		proxy, dial = g.proxy, g.dialContext
	}
	perHost := max(cfg.PerHost, 0)
	t := &http.Transport{
		Proxy:                  proxy,
		DialContext:            dial,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    min(10*time.Second, cfg.Timeout),
		ResponseHeaderTimeout:  cfg.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    max(perHost, 2),
		MaxConnsPerHost:        perHost,
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	if cfg.rootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: cfg.rootCAs}
	}
	if cfg.Capture {
		// HTTP/1.1 only, and TLS made here so that the tap sees the
		// bytes above it: the WARC records hold the messages as sent.
		// That holds through a proxy too: the tunnel of an https
		// request is made here as well (proxyTunnel).
		t.ForceAttemptHTTP2 = false
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		t.Proxy = tunnelProxy(proxy)
		tunnel := &proxyTunnel{decide: decide, dial: dial, roots: cfg.rootCAs, timeout: cfg.Timeout}
		t.DialContext, t.DialTLSContext = tapDialers(dial, tunnel.open, cfg.rootCAs, t.TLSHandshakeTimeout)
	}
	return t
}

// transportKind classifies an error from a round trip or a body read.
// afterConn tells whether a connection had been obtained: an unknown
// failure before that is a failure to connect, after it a reset.
func transportKind(err error, afterConn bool) Kind {
	var (
		dnsErr   *net.DNSError
		denied   *deniedAddrError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		alertErr tls.AlertError
		opErr    *net.OpError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &denied):
		return KindDeniedPrivate
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &unknown),
		errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &alertErr),
		strings.Contains(err.Error(), "tls: "):
		return KindTLS
	case strings.Contains(err.Error(), "server response headers exceeded"):
		return KindTooLarge
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &opErr) && opErr.Op == "dial":
		return KindConnect
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.EOF):
		return KindReset
	case errors.Is(err, io.ErrUnexpectedEOF):
		if afterConn {
			return KindTruncated
		}
		return KindReset
	case !afterConn:
		return KindConnect
	}
	return KindReset
}

// hostKey is the key of u's host for the per-host limits: host and port,
// lower-case, the default port for the scheme made explicit so that
// "a.example" and "a.example:443" share their limits.
func hostKey(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// tlsVersionName names a TLS version as "TLS 1.3".
func tlsVersionName(v uint16) string {
	return tls.VersionName(v)
}
