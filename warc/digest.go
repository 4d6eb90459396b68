package warc

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Digest algorithms for WARC-Block-Digest and WARC-Payload-Digest.
const (
	SHA1   = "sha1"   // base32, as the Internet Archive and pywb write it
	SHA256 = "sha256" // base32 too
)

// ErrUnknownDigest is returned for a digest algorithm other than [SHA1]
// and [SHA256].
var ErrUnknownDigest = errors.New("unknown digest algorithm: want sha1 or sha256")

// CheckDigest returns nil when algo is a digest algorithm the package
// writes.
func CheckDigest(algo string) error {
	if algo != SHA1 && algo != SHA256 {
		return fmt.Errorf("%q: %w", algo, ErrUnknownDigest)
	}
	return nil
}

func newHash(algo string) hash.Hash {
	if algo == SHA256 {
		return sha256.New()
	}
	return sha1.New()
}

// DigestOf returns "algo:BASE32" of the pieces of p, concatenated.
func DigestOf(algo string, p ...[]byte) string {
	h := newHash(algo)
	for _, b := range p {
		h.Write(b)
	}
	return sum(algo, h)
}

// sum is "algo:BASE32" of what was written to h.
func sum(algo string, h hash.Hash) string {
	var b [sha256.Size]byte
	return algo + ":" + base32.StdEncoding.EncodeToString(h.Sum(b[:0]))
}

// checkDigestValue reports whether want ("algo:value", base32 or hex)
// is the digest of p.
func checkDigestValue(want string, p []byte) error {
	algo, val, ok := strings.Cut(want, ":")
	algo = strings.ToLower(algo)
	if !ok || (algo != SHA1 && algo != SHA256) {
		return fmt.Errorf("digest %q: %w", want, ErrUnknownDigest)
	}
	got := DigestOf(algo, p)
	if strings.EqualFold(got, algo+":"+val) {
		return nil
	}
	h := newHash(algo)
	h.Write(p)
	if strings.EqualFold(fmt.Sprintf("%x", h.Sum(nil)), val) {
		return nil
	}
	return fmt.Errorf("%w: want %s, got %s", ErrDigestMismatch, want, got)
}

// ErrDigestMismatch is returned by [Record.Verify] for a digest that is not
// that of the record.
var ErrDigestMismatch = errors.New("digest mismatch")
