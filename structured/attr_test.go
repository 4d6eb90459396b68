package structured

import (
	"net"
	"strings"
	"testing"
)

var (
	attrTestRemote = NewAttribute[net.Addr]("remote address")
	attrTestTLS    = NewAttribute[uint16]("tls version")
	attrTestBytes  = NewAttribute[int64]("bytes")
)

func TestAttributeIdentity(t *testing.T) {
	a := NewAttribute[string]("name")
	b := NewAttribute[string]("name")
	if a == b {
		t.Fatal("two attributes with the same name compare equal")
	}
	var s AttributeSet
	SetAttribute(&s, a, "from a")
	if _, ok := Extra(&s, b); ok {
		t.Fatal("attribute b found a value set for a")
	}
	if v, ok := Extra(&s, a); !ok || v != "from a" {
		t.Fatalf("Extra(a) = %q, %v; want \"from a\", true", v, ok)
	}
	if got := a.String(); got != "name (string)" {
		t.Fatalf("String() = %q", got)
	}
}

func TestAttributeOuterWins(t *testing.T) {
	var inner, outer AttributeSet
	SetAttribute(&inner, attrTestTLS, 0x0303)
	SetAttribute(&inner, attrTestBytes, 1)
	outer.Wrap(&inner)
	SetAttribute(&outer, attrTestBytes, 2)

	if v, ok := Extra(&outer, attrTestTLS); !ok || v != 0x0303 {
		t.Errorf("inner attribute through outer = %v, %v", v, ok)
	}
	if v, ok := Extra(&outer, attrTestBytes); !ok || v != 2 {
		t.Errorf("attribute set on both layers = %v, %v; want the outer 2", v, ok)
	}
	if _, ok := Extra(&outer, attrTestRemote); ok {
		t.Error("attribute set nowhere was found")
	}
	if _, ok := Extra[int64](nil, attrTestBytes); ok {
		t.Error("nil provider has an attribute")
	}
}

func TestAttributeFuncIsLive(t *testing.T) {
	var s AttributeSet
	var n int64
	SetAttributeFunc(&s, attrTestBytes, func() int64 { return n })
	n = 42
	if v, _ := Extra(&s, attrTestBytes); v != 42 {
		t.Fatalf("Extra = %d, want the current 42", v)
	}
}

func TestAttributeNilInterfaceValue(t *testing.T) {
	var s AttributeSet
	SetAttribute(&s, attrTestRemote, nil)
	v, ok := Extra(&s, attrTestRemote)
	if !ok || v != nil {
		t.Fatalf("Extra = %v, %v; want nil, true", v, ok)
	}
}

type badProvider struct{}

func (badProvider) ExtraAttribute(any) (any, bool) { return "not an int64", true }

func TestAttributeWrongTypePanics(t *testing.T) {
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "bytes (int64)") || !strings.Contains(msg, "string") {
			t.Fatalf("panic = %v; want a message naming the attribute and the type", r)
		}
	}()
	Extra[int64](badProvider{}, attrTestBytes)
}
