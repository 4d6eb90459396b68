package render

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"
)

// certs makes the certificates the proxy shows the browser for https
// origins, one per host, all from one key made for the run. They are
// self-signed: the browser runs with --ignore-certificate-errors, which
// is safe here because it talks to nothing but this proxy, and the proxy
// fetches every https URL through trawl's fetcher, which verifies the
// real server's certificate as for any page.
type certs struct {
	key    *ecdsa.PrivateKey
	mu     sync.Mutex
	byHost map[string]*tls.Certificate
}

func newCerts() (*certs, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make the render proxy's key: %w", err)
	}
	return &certs{key: key, byHost: map[string]*tls.Certificate{}}, nil
}

// maxCerts bounds the certificate cache.
const maxCerts = 1024

func (c *certs) forHost(host string) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert, ok := c.byHost[host]; ok {
		return cert, nil
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &c.key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("make a certificate for %s: %w", host, err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: c.key}
	if len(c.byHost) >= maxCerts {
		clear(c.byHost)
	}
	c.byHost[host] = cert
	return cert, nil
}

// serveConnect answers a CONNECT (an https origin, or a WebSocket): the
// tunnel is opened to the browser, TLS is ended here with a certificate
// for the host, and each HTTP/1.1 request read from it is made by the
// fetcher as https://host:port/path, like a plain proxied request.
// WebSockets are not proxied: their upgrade is answered 403.
func (p *proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		http.Error(w, "trawl render proxy: bad CONNECT target", http.StatusBadRequest)
		return
	}
	cert, err := p.certs.forHost(host)
	if err != nil {
		http.Error(w, "trawl render proxy: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "trawl render proxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	p.tunnels.Store(conn, true)
	defer p.tunnels.Delete(conn)
	if _, err := rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n"); err != nil || rw.Flush() != nil {
		return
	}
	tconn := tls.Server(&bufferedConn{Conn: conn, r: rw.Reader}, &tls.Config{
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	})
	defer tconn.Close()
	conn.SetDeadline(time.Now().Add(tunnelIdle))
	if err := tconn.HandshakeContext(r.Context()); err != nil {
		return
	}
	origin := "https://" + host
	if port != "443" {
		origin += ":" + port
	}
	br := bufio.NewReader(tconn)
	for {
		conn.SetDeadline(time.Now().Add(tunnelIdle))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		conn.SetDeadline(time.Time{})
		resp := p.respond(r.Context(), req, origin+req.URL.RequestURI())
		req.Body.Close()
		conn.SetDeadline(time.Now().Add(tunnelIdle))
		if err := resp.Write(tconn); err != nil || resp.Close {
			return
		}
	}
}

// tunnelIdle is the longest a tunnel waits for the browser.
const tunnelIdle = 60 * time.Second

// bufferedConn is a net.Conn whose reads first drain what the HTTP
// server had buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }
