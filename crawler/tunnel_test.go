package crawler

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/structured"
	"github.com/trawl-dev/trawl/warc"
)

// testProxy is a forward proxy for the tests: CONNECT tunnels and
// absolute-form requests, each sent to the address to whatever its
// target (so that a target named example.com reaches a test server), a
// basic Proxy-Authorization required when user is set. It logs what it
// was asked.
type testProxy struct {
	srv        *httptest.Server
	to         string
	user, pass string
	upstream   *http.Transport // for plain requests

	mu       sync.Mutex
	connects []string // CONNECT targets
	auths    []string // Proxy-Authorization of every request
	gets     []string // request URIs of plain requests
}

func newTestProxy(t *testing.T, to, user, pass string, withTLS bool) *testProxy {
	t.Helper()
	p := &testProxy{to: to, user: user, pass: pass, upstream: &http.Transport{}}
	t.Cleanup(p.upstream.CloseIdleConnections)
	p.srv = httptest.NewUnstartedServer(p)
	if withTLS {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)
	return p
}

// url is the proxy's URL, with the user information given.
func (p *testProxy) url(userinfo string) *url.URL {
	u, err := url.Parse(p.srv.URL)
	if err != nil {
		panic(err)
	}
	if userinfo != "" {
		user, pass, _ := strings.Cut(userinfo, ":")
		u.User = url.UserPassword(user, pass)
	}
	return u
}

func (p *testProxy) log() (connects, auths, gets []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...), append([]string(nil), p.auths...), append([]string(nil), p.gets...)
}

func (p *testProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.auths = append(p.auths, r.Header.Get("Proxy-Authorization"))
	if r.Method == http.MethodConnect {
		p.connects = append(p.connects, r.Host)
	} else {
		p.gets = append(p.gets, r.RequestURI)
	}
	p.mu.Unlock()
	if p.user != "" && r.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass)) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "who are you", http.StatusProxyAuthRequired)
		return
	}
	if r.Method != http.MethodConnect {
		p.forward(w, r)
		return
	}
	up, err := net.Dial("tcp", p.to)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	pipe(conn, up)
}

// forward sends a plain proxied request on to p.to.
func (p *testProxy) forward(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(context.Background())
	out.RequestURI = ""
	out.URL.Host = p.to
	out.Header.Del("Proxy-Authorization")
	resp, err := p.upstream.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// pipe copies between a and b both ways until either side ends, then
// closes both.
func pipe(a, b net.Conn) {
	structured.WithTaskGroup(context.Background(), func(ctx context.Context, tg *structured.TaskGroup) error {
		half := func(dst, src net.Conn) {
			tg.StartSoon(func(context.Context) error {
				io.Copy(dst, src)
				a.Close()
				b.Close()
				return nil
			})
		}
		half(a, b)
		half(b, a)
		return nil
	})
}

// testSOCKS5 is a SOCKS5 proxy for the tests (RFC 1928, with the user
// name and password method of RFC 1929 when user is set): every CONNECT
// goes to to, whatever its target; the targets asked for are logged.
type testSOCKS5 struct {
	ln         net.Listener
	to         string
	user, pass string

	mu      sync.Mutex
	targets []string
}

// withSOCKS5 runs body with a SOCKS5 test proxy serving meanwhile.
func withSOCKS5(t *testing.T, to, user, pass string, body func(s *testSOCKS5)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testSOCKS5{ln: ln, to: to, user: user, pass: pass}
	structured.WithTaskGroup(t.Context(), func(ctx context.Context, tg *structured.TaskGroup) error {
		tg.StartSoon(func(context.Context) error {
			for {
				c, err := ln.Accept()
				if err != nil {
					return nil
				}
				tg.StartSoon(func(context.Context) error { s.serve(c); return nil })
			}
		})
		defer ln.Close()
		body(s)
		return nil
	})
}

func (s *testSOCKS5) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return
	}
	methods := buf[2 : 2+int(buf[1])]
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	want := byte(0)
	if s.user != "" {
		want = 2
	}
	if !bytes.Contains(methods, []byte{want}) {
		c.Write([]byte{5, 0xff})
		return
	}
	c.Write([]byte{5, want})
	if want == 2 {
		var h [2]byte
		io.ReadFull(c, h[:])
		user := make([]byte, h[1])
		io.ReadFull(c, user)
		io.ReadFull(c, h[:1])
		pass := make([]byte, h[0])
		io.ReadFull(c, pass)
		if string(user) != s.user || string(pass) != s.pass {
			c.Write([]byte{1, 1})
			return
		}
		c.Write([]byte{1, 0})
	}
	if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[1] != 1 {
		return
	}
	var host string
	switch buf[3] {
	case 1:
		io.ReadFull(c, buf[:4])
		host = net.IP(buf[:4]).String()
	case 3:
		io.ReadFull(c, buf[:1])
		name := make([]byte, buf[0])
		io.ReadFull(c, name)
		host = string(name)
	default:
		return
	}
	io.ReadFull(c, buf[:2])
	s.mu.Lock()
	s.targets = append(s.targets, net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(buf[:2])))))
	s.mu.Unlock()
	up, err := net.Dial("tcp", s.to)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	c.SetDeadline(time.Time{})
	pipe(c, up)
}

// tlsSite is an HTTPS test server of captureSite and the roots that
// trust it (and every other httptest TLS server: they share a
// certificate, valid for example.com and 127.0.0.1).
func tlsSite(t *testing.T) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewUnstartedServer(captureSite())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return srv, roots
}

// wantNoSecret fails when secret is anywhere in the records.
func wantNoSecret(t *testing.T, recs []*warc.ReadRecord, secret string) {
	t.Helper()
	for _, r := range recs {
		if bytes.Contains(r.Block, []byte(secret)) || strings.Contains(fmt.Sprint(r.Header), secret) {
			t.Errorf("%s record holds the proxy's password:\n%s", r.Type(), r.Block)
		}
	}
}

// TestCaptureThroughProxy: an https page fetched through an http, an
// https and a SOCKS5 proxy is archived as with a direct connection:
// request and response records of the plain HTTP/1.1 above TLS, named by
// the target's URL, with digests computed here; the proxy got the
// credentials of its URL, and they are in no record.
func TestCaptureThroughProxy(t *testing.T) {
	srv, roots := tlsSite(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	target := "https://example.com:" + port + "/chunked" // the proxies resolve nothing: they go to srv
	for _, kind := range []string{"http", "https", "socks5"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "socks5" {
				withSOCKS5(t, srv.Listener.Addr().String(), "alice", "s3cret-pw", func(s *testSOCKS5) {
					pu := &url.URL{Scheme: "socks5", Host: s.ln.Addr().String(), User: url.UserPassword("alice", "s3cret-pw")}
					captureThrough(t, pu, roots, target)
					s.mu.Lock()
					defer s.mu.Unlock()
					if fmt.Sprint(s.targets) != "[example.com:"+port+"]" {
						t.Errorf("the proxy was asked for %v, want one tunnel to example.com:%s", s.targets, port)
					}
				})
				return
			}
			p := newTestProxy(t, srv.Listener.Addr().String(), "alice", "s3cret-pw", kind == "https")
			captureThrough(t, p.url("alice:s3cret-pw"), roots, target)
			connects, auths, _ := p.log()
			if fmt.Sprint(connects) != "[example.com:"+port+"]" {
				t.Errorf("the proxy was asked for %v, want one tunnel to example.com:%s", connects, port)
			}
			for _, a := range auths {
				if a != "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pw")) {
					t.Errorf("CONNECT with Proxy-Authorization %q", a)
				}
			}
		})
	}
}

// captureThrough fetches target through the proxy pu under capture and
// checks its records.
func captureThrough(t *testing.T, pu *url.URL, roots *x509.CertPool, target string) {
	t.Helper()
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, Proxy: pu, rootCAs: roots, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err, recs := archiveOne(t, f, target)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Proto != "HTTP/1.1" || resp.TLSVersion == "" {
		t.Errorf("proto %s, TLS %q; want HTTP/1.1 over TLS made by trawl", resp.Proto, resp.TLSVersion)
	}
	reqs, resps := ofType(recs, warc.TypeRequest), ofType(recs, warc.TypeResponse)
	if len(reqs) != 1 || len(resps) != 1 || len(ofType(recs, warc.TypeMetadata)) != 1 {
		t.Fatalf("records %v, want a request, a response and a metadata", types(recs))
	}
	u, _ := url.Parse(target)
	if want := "GET " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\n"; !strings.HasPrefix(string(reqs[0].Block), want) {
		t.Errorf("request block %q, want it to start with %q", reqs[0].Block, want)
	}
	r := resps[0]
	if !bytes.HasPrefix(r.Block, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Errorf("response block %q, want the plain-text HTTP/1.1 response", r.Block)
	}
	for _, rec := range []*warc.ReadRecord{reqs[0], r} {
		if got := rec.Header.Get("WARC-Target-URI"); got != target {
			t.Errorf("%s target %s, want %s", rec.Type(), got, target)
		}
		if got, want := rec.Header.Get("WARC-Block-Digest"), sha1B32(rec.Block); got != want {
			t.Errorf("%s block digest %s, want %s", rec.Type(), got, want)
		}
	}
	if got, want := r.Header.Get("WARC-Payload-Digest"), sha1B32([]byte("<title>chunked</title><p>second chunk</p>")); got != want {
		t.Errorf("payload digest %s, want %s", got, want)
	}
	if got := r.Header.Get("WARC-IP-Address"); got != "127.0.0.1" {
		t.Errorf("ip %q, want the proxy's", got)
	}
	wantNoSecret(t, recs, "s3cret-pw")
	wantNoSecret(t, recs, base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pw")))
}

// TestCaptureProxyRefused: a proxy that answers CONNECT with 407 fails
// the URL with the kind net/http's own tunnel gives (connect), an error
// naming the proxy with its password redacted and the status, and
// nothing archived.
func TestCaptureProxyRefused(t *testing.T) {
	srv, roots := tlsSite(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p := newTestProxy(t, srv.Listener.Addr().String(), "alice", "right-pw", false)
	pu := p.url("alice:wrong-pw")
	for _, capture := range []bool{false, true} {
		f, err := NewFetcher(Config{Capture: capture, IgnoreRobots: true, Proxy: pu, rootCAs: roots, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		ctx, take := WithCapture(t.Context())
		_, err = f.Fetch(ctx, "https://example.com:"+port+"/gzip")
		wantKind(t, err, KindConnect)
		msg := err.Error()
		if strings.Contains(msg, "wrong-pw") || !strings.Contains(msg, "Proxy Authentication Required") {
			t.Errorf("capture %v: error %q, want the status and no password", capture, msg)
		}
		if capture {
			if want := "proxy " + RedactURL(pu.String()); !strings.Contains(msg, want) || !strings.Contains(msg, "407") {
				t.Errorf("error %q, want it to name %q and the status 407", msg, want)
			}
			res := NewResult(Request{URL: "https://example.com:" + port + "/gzip"}, nil, err, time.Now())
			if res.Error == nil || res.Error.Kind != KindConnect || strings.Contains(res.Error.Message, "wrong-pw") {
				t.Errorf("record error %+v", res.Error)
			}
		}
		if ex := take(); len(ex) != 0 {
			t.Errorf("capture %v: %d exchanges, want none: the target never answered", capture, len(ex))
		}
	}
	if connects, _, _ := p.log(); len(connects) != 2 {
		t.Errorf("CONNECTs %v, want one per fetcher", connects)
	}
}

// publicCert returns a self-signed certificate for the IP address ip.
func publicCert(t *testing.T, ip string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestCaptureProxyDenyPrivate: with DenyPrivate, an https target through
// the proxy is checked before the tunnel is asked for: a private one is
// refused and the proxy never hears of it; a public one (192.0.2.1,
// which the test proxy takes to a local server) is tunnelled and
// archived, the proxy on loopback being the user's choice.
func TestCaptureProxyDenyPrivate(t *testing.T) {
	cert := publicCert(t, "192.0.2.1")
	srv := httptest.NewUnstartedServer(captureSite())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	roots.AddCert(leaf)
	p := newTestProxy(t, srv.Listener.Addr().String(), "", "", false)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, DenyPrivate: true, Proxy: p.url(""), rootCAs: roots, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	_, err = f.Fetch(ctx, srv.URL+"/gzip") // https://127.0.0.1:port
	cancel()
	wantKind(t, err, KindDeniedPrivate)
	if connects, _, _ := p.log(); len(connects) != 0 {
		t.Errorf("the proxy was asked for %v, want nothing", connects)
	}

	resp, err, recs := archiveOne(t, f, "https://192.0.2.1/gzip")
	if err != nil {
		t.Fatal(err)
	}
	if connects, _, _ := p.log(); fmt.Sprint(connects) != "[192.0.2.1:443]" {
		t.Errorf("the proxy was asked for %v, want 192.0.2.1:443", connects)
	}
	if resps := ofType(recs, warc.TypeResponse); resp.Status != 200 || len(resps) != 1 || resps[0].Header.Get("WARC-Target-URI") != "https://192.0.2.1/gzip" {
		t.Errorf("status %d, records %v; want the page archived", resp.Status, types(recs))
	}
}

// TestCaptureHTTPThroughProxy: a plain http request through a proxy goes
// to it in absolute form, as net/http sends it; its records name the
// target (not the proxy) and the request record holds the request as
// sent except the Proxy-Authorization trawl added for the proxy.
func TestCaptureHTTPThroughProxy(t *testing.T) {
	srv := httptest.NewServer(captureSite())
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p := newTestProxy(t, srv.Listener.Addr().String(), "alice", "s3cret-pw", false)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, Proxy: p.url("alice:s3cret-pw"), Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	target := "http://example.com:" + port + "/gzip"
	_, err, recs := archiveOne(t, f, target)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, gets := p.log(); fmt.Sprint(gets) != "["+target+"]" {
		t.Errorf("the proxy got %v, want %s", gets, target)
	}
	reqs, resps := ofType(recs, warc.TypeRequest), ofType(recs, warc.TypeResponse)
	if len(reqs) != 1 || len(resps) != 1 {
		t.Fatalf("records %v, want a request and a response", types(recs))
	}
	if want := "GET " + target + " HTTP/1.1\r\nHost: example.com:" + port + "\r\n"; !strings.HasPrefix(string(reqs[0].Block), want) {
		t.Errorf("request block %q, want it to start with %q", reqs[0].Block, want)
	}
	if !bytes.HasSuffix(reqs[0].Block, []byte("\r\n\r\n")) || bytes.Contains(bytes.ToLower(reqs[0].Block), []byte("proxy-authorization")) {
		t.Errorf("request block %q, want a whole head without Proxy-Authorization", reqs[0].Block)
	}
	for _, rec := range []*warc.ReadRecord{reqs[0], resps[0]} {
		if got := rec.Header.Get("WARC-Target-URI"); got != target {
			t.Errorf("%s target %s, want %s", rec.Type(), got, target)
		}
		if got, want := rec.Header.Get("WARC-Block-Digest"), sha1B32(rec.Block); got != want {
			t.Errorf("%s block digest %s, want %s", rec.Type(), got, want)
		}
	}
	if got, want := resps[0].Header.Get("WARC-Payload-Digest"), sha1B32(gzipped("<title>gzip</title>")); got != want {
		t.Errorf("payload digest %s, want %s", got, want)
	}
	wantNoSecret(t, recs, "s3cret-pw")
	wantNoSecret(t, recs, base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pw")))
}

// TestWithoutProxyAuth: Proxy-Authorization leaves a request sent to a
// proxy (absolute form), whatever its case or place; a request sent to
// its server keeps every field.
func TestWithoutProxyAuth(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic eA==\r\nX: 1\r\n\r\n", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: 1\r\n\r\n"},
		{"GET http://a.test/ HTTP/1.1\r\nproxy-authorization: Basic eA==\r\n\r\n", "GET http://a.test/ HTTP/1.1\r\n\r\n"},
		{"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nPROXY-AUTHORIZATION : Basic eA==", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n"}, // cut short by the limit
		{"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n"},
		{"GET / HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic eA==\r\n\r\n", "GET / HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic eA==\r\n\r\n"},
		{"", ""},
	} {
		if got := string(recordedRequest([]byte(c.in), nil)); got != c.want {
			t.Errorf("recordedRequest(%q, nil) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCaptureProxySilent: a proxy that never answers the CONNECT fails
// the URL with kind timeout, and trawl gives up the tunnel within the
// timeout too, not only when the fetcher is closed (net/http goes on
// dialing after the request gives up).
func TestCaptureProxySilent(t *testing.T) {
	gaveUp := make(chan struct{})
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.Copy(io.Discard, conn) // until trawl hangs up
		close(gaveUp)
	}))
	t.Cleanup(p.Close)
	pu, _ := url.Parse(p.URL)
	f, err := NewFetcher(Config{Capture: true, IgnoreRobots: true, Proxy: pu, Timeout: 300 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = f.Fetch(t.Context(), "https://example.com/")
	wantKind(t, err, KindTimeout)
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Fatal("trawl still holds the tunnel 10s after the timeout")
	}
}
