package crawler

import (
	"net/url"
	"testing"
)

// FuzzNormalize checks that Normalize never panics, that it only fails
// with an invalid_url *Error, and that its output is a fixed point.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"http://example.com",
		"HTTPS://User:Pass@Bücher.DE:0443/a/./b/../%7e?q=%zz#f",
		"http://[2001:db8::1]:80/",
		`http:\\example.com\a b`,
		"http://example.com/%2e%2E/x?y=%2f",
		" http://exa\tmple.com/ ",
		"mailto:a@b",
		"http://a..b/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := Normalize(raw)
		if err != nil {
			if KindOf(err) != KindInvalidURL {
				t.Fatalf("Normalize(%q) error %v is not invalid_url", raw, err)
			}
			return
		}
		again, err := Normalize(n)
		if err != nil {
			t.Fatalf("Normalize(%q) = %q, which does not normalise: %v", raw, n, err)
		}
		if again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, n, again)
		}
	})
}

// FuzzResolveLink checks that a followed link is already normal.
func FuzzResolveLink(f *testing.F) {
	for _, s := range []string{"../a", "//h.example/x", "javascript:x", "https:b", "?q", "#f", " \n/a\tb "} {
		f.Add(s)
	}
	base, err := url.Parse("https://example.com/dir/page?x=1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, href string) {
		got, ok := ResolveLink(base, href)
		if !ok {
			return
		}
		n, err := Normalize(got)
		if err != nil || n != got {
			t.Fatalf("ResolveLink(%q) = %q, which normalises to %q, %v", href, got, n, err)
		}
	})
}
