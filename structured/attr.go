package structured

import (
	"fmt"
	"reflect"
)

// An Attribute is a typed key for a fact that a resource exposes: the
// remote address of a connection, the TLS version a wrapper negotiated, the
// number of bytes a counting layer has seen. Attributes are compared by
// identity: two calls of [NewAttribute] with the same name give different
// keys, so independent packages cannot collide. Create them once, as
// package-level variables.
//
// The zero Attribute is a key of its own that nothing should set; use
// NewAttribute.
type Attribute[T any] struct {
	key *attributeKey
}

// attributeKey is never zero-sized, so that each allocation is a distinct
// pointer.
type attributeKey struct {
	name string
}

// NewAttribute returns a new attribute key for values of type T. name is
// for messages and debugging only; it does not take part in lookups.
func NewAttribute[T any](name string) Attribute[T] {
	return Attribute[T]{key: &attributeKey{name: name}}
}

// Name returns the name given to [NewAttribute].
func (a Attribute[T]) Name() string {
	if a.key == nil {
		return ""
	}
	return a.key.name
}

// String returns the name followed by the value type, as in
// "remote address (net.Addr)".
func (a Attribute[T]) String() string {
	return fmt.Sprintf("%s (%v)", a.Name(), reflect.TypeFor[T]())
}

// An AttributeProvider exposes typed attributes. Look values up with
// [Extra], which is type-safe; ExtraAttribute is the untyped hook that a
// provider implements, usually by embedding an [AttributeSet].
//
// ExtraAttribute receives an [Attribute] value as key and returns the
// value for it, whose dynamic type must be the attribute's T (or nil for an
// interface T), and whether the provider, or anything it wraps, has it.
type AttributeProvider interface {
	ExtraAttribute(key any) (any, bool)
}

// Extra returns the value of attr from p, and whether p has it. A provider
// that wraps another is searched first, then what it wraps: the outermost
// layer that sets an attribute wins.
//
// Extra panics if the provider returns a value of the wrong type: that is a
// bug in the provider, not a missing attribute.
func Extra[T any](p AttributeProvider, attr Attribute[T]) (T, bool) {
	var zero T
	if p == nil {
		return zero, false
	}
	v, ok := p.ExtraAttribute(attr)
	if !ok {
		return zero, false
	}
	if t, isT := v.(T); isT {
		return t, true
	}
	if v == nil && any(zero) == nil { // nil for an interface type T
		return zero, true
	}
	panic(fmt.Sprintf("structured: attribute %v: provider %T returned a %T", attr, p, v))
}

// An AttributeSet holds the attributes of one layer and, optionally, the
// provider it wraps. Embed it in a wrapper type to make that type an
// [AttributeProvider]: set the layer's own attributes with [SetAttribute]
// or [SetAttributeFunc] and call [AttributeSet.Wrap] with the inner
// resource; lookups try the layer's own attributes first, then the inner
// provider's.
//
// The zero value is an empty set that wraps nothing. Set up the set before
// sharing it: lookups are safe for concurrent use with each other, not with
// SetAttribute, SetAttributeFunc or Wrap. An attribute whose value changes
// over time (a byte count) should be set with SetAttributeFunc.
type AttributeSet struct {
	getters map[any]func() any
	inner   AttributeProvider
}

// SetAttribute sets attr to the fixed value v in s, replacing any earlier
// value for attr in s.
func SetAttribute[T any](s *AttributeSet, attr Attribute[T], v T) {
	SetAttributeFunc(s, attr, func() T { return v })
}

// SetAttributeFunc makes get the source of attr in s: every lookup calls
// it. get must be safe to call from any goroutine that looks attributes up.
func SetAttributeFunc[T any](s *AttributeSet, attr Attribute[T], get func() T) {
	if s.getters == nil {
		s.getters = make(map[any]func() any)
	}
	s.getters[attr] = func() any { return get() }
}

// Wrap makes inner the provider that lookups fall back to when s does not
// have an attribute. A nil inner removes the fallback.
func (s *AttributeSet) Wrap(inner AttributeProvider) {
	s.inner = inner
}

// ExtraAttribute implements [AttributeProvider]: it returns the value set
// in s for key, or else the inner provider's.
func (s *AttributeSet) ExtraAttribute(key any) (any, bool) {
	if get, ok := s.getters[key]; ok {
		return get(), true
	}
	if s.inner == nil {
		return nil, false
	}
	return s.inner.ExtraAttribute(key)
}

var _ AttributeProvider = (*AttributeSet)(nil)
