package crawler

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// errDeniedPrivate is the detail of a [KindDeniedPrivate] error: the
// dialer refused an address that is not on the public internet.
var errDeniedPrivate = errors.New("address is not public")

// deniedAddrError names the address the guard refused.
type deniedAddrError struct {
	addr string
}

func (e *deniedAddrError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: address is not public", e.addr)
}

func (e *deniedAddrError) Unwrap() error { return errDeniedPrivate }

// cgnat is the carrier-grade NAT range of RFC 6598, which netip does not
// count as private.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// isPublicAddr reports whether a is an address the private-network guard
// lets through: not loopback, private (RFC 1918, fc00::/7), link-local,
// carrier-grade NAT, unspecified or multicast. IPv4-mapped IPv6 addresses
// are judged as the IPv4 address they carry.
func isPublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case !a.IsValid(),
		a.IsLoopback(),
		a.IsPrivate(),
		a.IsLinkLocalUnicast(),
		a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(),
		a.IsMulticast(),
		a.IsUnspecified(),
		cgnat.Contains(a):
		return false
	}
	if a.Is4() && a.As4()[0] == 0 { // 0.0.0.0/8, "this network"
		return false
	}
	return true
}

// guardControl is a [net.Dialer] Control func. It runs after name
// resolution and before the connection is made, with the address actually
// dialed, so a host name that resolves to a private address, or a redirect
// to one, is refused as well as a literal IP.
func guardControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &deniedAddrError{addr: address}
	}
	if !isPublicAddr(ap.Addr()) {
		return &deniedAddrError{addr: address}
	}
	return nil
}

// newDialer returns the dialer for the fetcher's transport. With
// denyPrivate it refuses non-public addresses at dial time. When a proxy is
// in use the only address dialed is the proxy's, so the guard applies to
// the proxy address, and the proxy alone decides where the target is.
func newDialer(denyPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if denyPrivate {
		d.Control = guardControl
	}
	return d
}
