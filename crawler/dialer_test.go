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
