package crawler

import (
	"errors"
	"net/netip"
	"testing"
)

func TestIsPublicAddr(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"172.32.0.1", true},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"100.128.0.1", true},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.1.2.3", false},
		{"::ffff:192.168.0.1", false},
		{"::ffff:8.8.8.8", true},
		// IPv6 addresses that carry an IPv4 one are judged by it too.
		{"64:ff9b::7f00:1", false},           // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},        // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", true},           // NAT64 of 8.8.8.8
		{"64:ff9b:1::a00:1", false},          // local-use NAT64 of 10.0.0.1
		{"64:ff9b:1::808:808", true},         // local-use NAT64 of 8.8.8.8
		{"64:ff9b:1:a00:1::808:808", false},  // not the /96 layout: IPv4 unknown
		{"2002:7f00:1::1", false},            // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},          // 6to4 of 192.168.1.1
		{"2002:808:808::1", true},            // 6to4 of 8.8.8.8
		{"2001:0:808:808::80ff:fefe", false}, // Teredo, client 127.0.1.1
		{"2001:0:808:808::f5ff:fffe", false}, // Teredo, client 10.0.0.1
		{"2001:0:a00:1::f7f7:f7f7", false},   // Teredo, server 10.0.0.1
		{"2001:0:808:808::f7f7:f7f7", true},  // Teredo, client 8.8.8.8
		{"::7f00:1", false},                  // IPv4-compatible 127.0.0.1
		{"::a9fe:a9fe", false},               // IPv4-compatible 169.254.169.254
		{"::ffff:0:a00:1", false},            // IPv4-translated 10.0.0.1
		{"2001:4860::8888", true},            // not Teredo (2001:4860::/32)
	}
	for _, tt := range tests {
		if got := isPublicAddr(netip.MustParseAddr(tt.addr)); got != tt.public {
			t.Errorf("isPublicAddr(%s) = %v, want %v", tt.addr, got, tt.public)
		}
	}
}

// TestGuardControl calls the dialer's Control func directly, as the
// dialer would after resolving, without connecting anywhere.
func TestGuardControl(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:80", "[::ffff:127.0.0.1]:443", "10.0.0.8:8080", "[fe80::1%eth0]:80", "169.254.169.254:80", "garbage"} {
		err := guardControl("tcp4", addr, nil)
		if !errors.Is(err, errDeniedPrivate) {
			t.Errorf("guardControl(%s) = %v, want a denied-private error", addr, err)
		}
		if k := transportKind(err, false); k != KindDeniedPrivate {
			t.Errorf("kind of the refusal of %s = %q, want %q", addr, k, KindDeniedPrivate)
		}
	}
	if err := guardControl("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("guardControl refused a public address: %v", err)
	}
	if newDialer(false).Control != nil {
		t.Error("the dialer guards without DenyPrivate")
	}
}
