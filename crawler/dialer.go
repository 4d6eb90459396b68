package crawler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpproxy"
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

// IPv6 ranges whose addresses carry an IPv4 address, which a translator,
// relay or tunnel on the way may turn into a connection to that IPv4
// address.
var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")  // RFC 8215
	sixToFour      = netip.MustParsePrefix("2002::/16")       // RFC 3056
	teredo         = netip.MustParsePrefix("2001::/32")       // RFC 4380
	v4Compatible   = netip.MustParsePrefix("::/96")           // RFC 4291, deprecated
	v4Translated   = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765 (SIIT)
)

// embeddedIPv4 returns the IPv4 addresses that the IPv6 address a carries
// by one of the translation or tunnelling schemes above, and whether a
// belongs to such a scheme. An address of 64:ff9b:1::/48 whose bits
// between the prefix and the last 32 are not zero is not in the /96 layout
// every deployment uses; its IPv4 cannot be told, and it comes back as
// 0.0.0.0, which the guard refuses.
func embeddedIPv4(a netip.Addr) ([]netip.Addr, bool) {
	if !a.Is6() {
		return nil, false
	}
	b := a.As16()
	last := netip.AddrFrom4([4]byte(b[12:16]))
	switch {
	case nat64WellKnown.Contains(a), v4Compatible.Contains(a), v4Translated.Contains(a):
		return []netip.Addr{last}, true
	case nat64Local.Contains(a):
		for _, x := range b[6:12] {
			if x != 0 {
				return []netip.Addr{netip.IPv4Unspecified()}, true
			}
		}
		return []netip.Addr{last}, true
	case sixToFour.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}, true
	case teredo.Contains(a):
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}, true
	}
	return nil, false
}

// isPublicAddr reports whether a is an address the private-network guard
// lets through: not loopback, private (RFC 1918, fc00::/7), link-local,
// carrier-grade NAT, unspecified or multicast. IPv6 addresses that embed
// an IPv4 address (IPv4-mapped, -compatible and -translated, NAT64, 6to4,
// Teredo's server and client) are judged by the IPv4 addresses they carry
// as well.
func isPublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !isPublicAddrOnly(a) {
		return false
	}
	if v4s, ok := embeddedIPv4(a); ok {
		for _, v4 := range v4s {
			if !isPublicAddrOnly(v4) {
				return false
			}
		}
	}
	return true
}

// isPublicAddrOnly is isPublicAddr for a itself, ignoring what it embeds.
func isPublicAddrOnly(a netip.Addr) bool {
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
// denyPrivate it refuses non-public addresses at dial time. A request sent
// through a proxy dials only the proxy: [proxyGuard] checks its target.
func newDialer(denyPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if denyPrivate {
		d.Control = guardControl
	}
	return d
}

// proxyGuard is the private-network guard for requests that go through a
// proxy, where the dialer only ever sees the proxy's address. Before a
// request is handed to the proxy, its target host is checked: a literal
// IP as is, a name by resolving it here and refusing it if any answer is
// not public. This runs for every request, so for every redirect hop too.
//
// What it cannot do: the proxy resolves the name again on its own, and a
// name whose answers change between the two lookups (DNS rebinding) can
// still lead the proxy to a private address. The proxy's own address is
// the user's choice and is not checked: a proxy on the local network
// works with --deny-private.
type proxyGuard struct {
	next     func(*http.Request) (*url.URL, error)
	resolver *net.Resolver
	guarded  *net.Dialer // for everything but the proxies
	direct   *net.Dialer // for the proxies

	mu      sync.Mutex
	proxies map[string]bool // "host:port" of the proxies handed out
}

// newProxyGuard returns the guard for the proxy func next and the
// guarded dialer. known are the proxies next may return, known before
// any request: a request that goes direct (NO_PROXY, a loopback host) to
// one of their addresses is checked here too, since the dialer lets the
// proxies' addresses through unguarded.
func newProxyGuard(next func(*http.Request) (*url.URL, error), guarded *net.Dialer, known ...*url.URL) *proxyGuard {
	direct := *guarded
	direct.Control = nil
	g := &proxyGuard{next: next, resolver: net.DefaultResolver, guarded: guarded, direct: &direct, proxies: map[string]bool{}}
	for _, pu := range known {
		if pu != nil {
			g.proxies[proxyAddr(pu)] = true
		}
	}
	return g
}

// proxy is the transport's Proxy func: next's choice, once the target is
// known to be public.
func (g *proxyGuard) proxy(req *http.Request) (*url.URL, error) {
	pu, err := g.next(req)
	if err != nil {
		return pu, err
	}
	if pu == nil {
		// Direct: the dialer guards it, except at a proxy's address.
		g.mu.Lock()
		atProxy := g.proxies[proxyAddr(req.URL)]
		g.mu.Unlock()
		if atProxy {
			return nil, g.checkTarget(req.Context(), req.URL.Hostname())
		}
		return nil, nil
	}
	if err := g.checkTarget(req.Context(), req.URL.Hostname()); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.proxies[proxyAddr(pu)] = true
	g.mu.Unlock()
	return pu, nil
}

// checkTarget refuses host unless it is, or resolves only to, public
// addresses.
func (g *proxyGuard) checkTarget(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if !isPublicAddr(a) {
			return &deniedAddrError{addr: host}
		}
		return nil
	}
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s before handing it to the proxy: %w", host, err)
	}
	for _, a := range addrs {
		if !isPublicAddr(a) {
			return &deniedAddrError{addr: fmt.Sprintf("%s (%s)", host, a)}
		}
	}
	return nil
}

// dialContext dials a proxy handed out by proxy as is, and anything else
// through the guard.
func (g *proxyGuard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	g.mu.Lock()
	isProxy := g.proxies[addr]
	g.mu.Unlock()
	if isProxy {
		return g.direct.DialContext(ctx, network, addr)
	}
	return g.guarded.DialContext(ctx, network, addr)
}

// envProxies returns the proxies the environment names (HTTP_PROXY,
// HTTPS_PROXY and their lower-case forms), read as net/http reads them.
func envProxies() []*url.URL {
	cfg := httpproxy.FromEnvironment()
	var out []*url.URL
	for _, s := range []string{cfg.HTTPProxy, cfg.HTTPSProxy} {
		if s == "" {
			continue
		}
		pu, err := url.Parse(s)
		if err != nil || pu.Scheme == "" || pu.Host == "" {
			if pu, err = url.Parse("http://" + s); err != nil {
				continue
			}
		}
		out = append(out, pu)
	}
	return out
}

// proxyAddr is the "host:port" the transport dials for the proxy pu, the
// port defaulting by scheme as net/http does; for a request's URL, the
// "host:port" a direct request dials.
func proxyAddr(pu *url.URL) string {
	port := pu.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[pu.Scheme]
	}
	return net.JoinHostPort(pu.Hostname(), port)
}
