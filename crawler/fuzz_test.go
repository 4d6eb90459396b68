package crawler

import (
	"bytes"
	"net/url"
	"strings"
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
		"http:/0xffffffff:0/a|b?c='d'",
		"http://a:@[::ffff:1.2.3.4]/%2e%2E/x",
		"https://xn--bcher-kva.XN--pokxncvks./!(*)",
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
		// ParseURL gives the same URL, and Go's HTTP client, which
		// parses the string again, reads it back unchanged.
		if u, err := ParseURL(raw); err != nil || u.String() != n {
			t.Fatalf("ParseURL(%q) = %v, %v; Normalize gave %q", raw, u, err, n)
		}
		if u, err := url.Parse(n); err != nil || u.String() != n {
			t.Fatalf("url.Parse(%q) = %v, %v", n, u, err)
		}
	})
}

// FuzzResolveLink checks that a followed link is already normal.
func FuzzResolveLink(f *testing.F) {
	for _, s := range []string{"../a", "//h.example/x", "javascript:x", "https:b", "?q", "#f", " \n/a\tb ", `\x`, "http:foo.com", ":a", "///h/p", "//0x7f.1:0/"} {
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
		// Links are printable ASCII: records write them without cleaning.
		for i := 0; i < len(got); i++ {
			if got[i] <= ' ' || got[i] >= 0x7f {
				t.Fatalf("ResolveLink(%q) = %q, with byte %#x at %d", href, got, got[i], i)
			}
		}
		// Redirects resolve the same way.
		if r, err := resolveReference(base, href); err != nil || r.String() != got {
			t.Fatalf("ResolveLink(%q) = %q, but as a redirect %v, %v", href, got, r, err)
		}
	})
}

// FuzzExtract checks that any body, however broken, decodes and extracts
// without error or panic, and that links come out normal and unique.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		`<html lang=en><title>t</title><base href="/b/"><a href="x">x</a><a href="javascript:x">`,
		`<table><h1>a<a href=' //h.example/ '>`,
		"\xff\xfe<\x00a\x00 \x00h\x00r\x00e\x00f\x00=\x00x\x00>\x00",
		`<meta charset="koi8-r"><link rel=canonical href="..">` + "\xe9",
		`<svg><title>s</title><a href="/s">`,
		"<title>t\x00\x1b[0m</title>" + strings.Repeat("<svg>", 600) + `<a href="/deep">`,
		`<svg><style>` + strings.Repeat("<g>", 520) + `</style></svg><a href="/b">`,
		strings.Repeat("<div></span><b x=1>", 300),
	} {
		f.Add([]byte(s))
	}
	base, err := url.Parse("https://example.com/dir/page")
	if err != nil {
		f.Fatal(err)
	}
	sels := []Selector{}
	for _, spec := range []string{"t=title", "a=a@href", "p=div p, li"} {
		s, err := ParseSelector(spec)
		if err != nil {
			f.Fatal(err)
		}
		sels = append(sels, s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := DecodeBody(bytes.NewReader(body), "text/html")
		if err != nil {
			t.Fatal(err)
		}
		p, err := Extract(b, base, sels)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, l := range p.Links {
			if n, err := Normalize(l); err != nil || n != l {
				t.Fatalf("link %q is not normal: %q, %v", l, n, err)
			}
			if seen[l] {
				t.Fatalf("duplicate link %q", l)
			}
			seen[l] = true
		}
		if p.Canonical != "" {
			if n, err := Normalize(p.Canonical); err != nil || n != p.Canonical {
				t.Fatalf("canonical %q is not normal", p.Canonical)
			}
		}
		if len(p.Fields) != 3 {
			t.Fatalf("fields %v, want 3 names", p.Fields)
		}
		texts := []string{p.Title, p.Description, p.H1, p.Lang}
		for _, v := range p.Fields {
			texts = append(texts, v...)
		}
		for _, s := range texts {
			if CleanText(s) != s {
				t.Fatalf("text %q is not clean", s)
			}
		}
	})
}
