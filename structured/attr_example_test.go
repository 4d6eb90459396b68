package structured_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"github.com/trawl-dev/trawl/structured"
)

// Attributes that the layers of a connection expose. Each package that
// defines a layer declares its own, once.
var (
	RemoteAddr = structured.NewAttribute[net.Addr]("remote address")
	TLSVersion = structured.NewAttribute[uint16]("tls version")
	ALPN       = structured.NewAttribute[string]("negotiated protocol")
	BytesSent  = structured.NewAttribute[int64]("bytes sent")
)

// rawConn is the bottom layer: a stand-in for a TCP connection.
type rawConn struct {
	structured.AttributeSet
	io.Writer
}

func newRawConn(w io.Writer, remote net.Addr) *rawConn {
	c := &rawConn{Writer: w}
	structured.SetAttribute(&c.AttributeSet, RemoteAddr, remote)
	return c
}

// tlsLayer stands in for a TLS client wrapper: it adds what the handshake
// negotiated and exposes the attributes of the connection it wraps.
type tlsLayer struct {
	structured.AttributeSet
	io.Writer
}

func newTLSLayer(inner *rawConn) *tlsLayer {
	c := &tlsLayer{Writer: inner}
	c.Wrap(inner)
	structured.SetAttribute(&c.AttributeSet, TLSVersion, tls.VersionTLS13)
	structured.SetAttribute(&c.AttributeSet, ALPN, "h2")
	return c
}

// countingLayer counts what goes through it; its count is live.
type countingLayer struct {
	structured.AttributeSet
	w io.Writer
	n atomic.Int64
}

func newCountingLayer(inner *tlsLayer) *countingLayer {
	c := &countingLayer{w: inner}
	c.Wrap(inner)
	structured.SetAttributeFunc(&c.AttributeSet, BytesSent, c.n.Load)
	return c
}

func (c *countingLayer) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func ExampleAttributeSet() {
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 443}
	conn := newCountingLayer(newTLSLayer(newRawConn(io.Discard, remote)))
	fmt.Fprint(conn, "GET / HTTP/1.1\r\n\r\n")

	// The outermost layer answers for all of them.
	addr, _ := structured.Extra(conn, RemoteAddr)
	version, _ := structured.Extra(conn, TLSVersion)
	proto, _ := structured.Extra(conn, ALPN)
	sent, _ := structured.Extra(conn, BytesSent)
	fmt.Println("remote:", addr)
	fmt.Println("tls:", tls.VersionName(version), proto)
	fmt.Println("sent:", sent)

	// An inner layer knows nothing of the layers around it.
	_, ok := structured.Extra(conn.w.(*tlsLayer), BytesSent)
	fmt.Println("tls layer knows bytes sent:", ok)
	// Output:
	// remote: 192.0.2.7:443
	// tls: TLS 1.3 h2
	// sent: 18
	// tls layer knows bytes sent: false
}
