package crawler

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func mustParseURLs(t testing.TB, raws ...string) []*url.URL {
	t.Helper()
	var us []*url.URL
	for _, r := range raws {
		u, err := ParseURL(r)
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	return us
}

func TestParseScopeMode(t *testing.T) {
	tests := []struct {
		in      string
		want    ScopeMode
		wantErr bool
	}{
		{"host", ScopeHost, false},
		{"domain", ScopeDomain, false},
		{"prefix", ScopePrefix, false},
		{"any", ScopeAny, false},
		{"host-any-port", ScopeHostAnyPort, false},
		{" Domain ", ScopeDomain, false},
		{"", 0, true},
		{"site", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseScopeMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseScopeMode(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("ParseScopeMode(%q) error %q does not name the input", tt.in, err)
		}
		if err == nil && got.String() != strings.ToLower(strings.TrimSpace(tt.in)) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	var m ScopeMode
	if err := m.Set("prefix"); err != nil || m != ScopePrefix {
		t.Errorf("Set(prefix) = %v, mode %v", err, m)
	}
}

func TestScopeCheck(t *testing.T) {
	seeds := []string{"https://example.com/docs/intro.html", "http://shop.example.co.uk/", "http://127.0.0.1:8080/a/"}
	tests := []struct {
		name  string
		mode  ScopeMode
		url   string
		depth int
		want  bool
	}{
		{"host: same host", ScopeHost, "https://example.com/other", 1, true},
		{"host: http for an https seed, default ports", ScopeHost, "http://example.com/", 1, true},
		{"host: other port", ScopeHost, "https://example.com:8443/", 1, false},
		{"host: other scheme and port", ScopeHost, "http://example.com:8443/", 1, false},
		{"host: https for an http seed, default ports", ScopeHost, "https://shop.example.co.uk/", 1, true},
		{"host: www form", ScopeHost, "https://www.example.com/", 1, true},
		{"host: other subdomain", ScopeHost, "https://blog.example.com/", 1, false},
		{"host: other host", ScopeHost, "https://example.org/", 1, false},
		{"host: not normalised input", ScopeHost, "HTTPS://EXAMPLE.com:443/x#y", 1, true},
		{"host: IP seed", ScopeHost, "http://127.0.0.1:8080/z", 1, true},
		{"host: IP seed, default port", ScopeHost, "http://127.0.0.1/z", 1, false},
		{"host: IP seed, another port", ScopeHost, "http://127.0.0.1:6379/", 1, false},
		{"host: IP seed, other scheme same port", ScopeHost, "https://127.0.0.1:8080/z", 1, false},
		{"host-any-port: other scheme and port", ScopeHostAnyPort, "http://example.com:8443/", 1, true},
		{"host-any-port: IP seed, another port", ScopeHostAnyPort, "http://127.0.0.1:6379/", 1, true},
		{"host-any-port: www form", ScopeHostAnyPort, "https://www.example.com/", 1, true},
		{"host-any-port: other host", ScopeHostAnyPort, "https://example.org/", 1, false},
		{"domain: subdomain", ScopeDomain, "https://blog.example.com/", 1, true},
		{"domain: public suffix with two labels", ScopeDomain, "http://other.example.co.uk/", 1, true},
		{"domain: sibling under public suffix", ScopeDomain, "http://evil.co.uk/", 1, false},
		{"domain: other domain", ScopeDomain, "https://example.org/", 1, false},
		{"domain: IP seed is a host", ScopeDomain, "http://127.0.0.1:9/", 1, true},
		{"domain: other IP", ScopeDomain, "http://127.0.0.2/", 1, false},
		{"prefix: under directory", ScopePrefix, "https://example.com/docs/a/b", 1, true},
		{"prefix: the directory", ScopePrefix, "https://example.com/docs/", 1, true},
		{"prefix: parent", ScopePrefix, "https://example.com/", 1, false},
		{"prefix: sibling", ScopePrefix, "https://example.com/docs-old/", 1, false},
		{"prefix: other scheme", ScopePrefix, "http://example.com/docs/a", 1, false},
		{"prefix: query seed ignored", ScopePrefix, "http://shop.example.co.uk/x?y", 1, true},
		{"prefix: port matters", ScopePrefix, "http://127.0.0.1/a/", 1, false},
		{"any: anything", ScopeAny, "https://anything.example/", 9, true},
		{"any: invalid url", ScopeAny, "ftp://example.com/", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewScope(mustParseURLs(t, seeds...), ScopeOptions{Mode: tt.mode})
			err := s.Check(tt.url, tt.depth)
			if (err == nil) != tt.want {
				t.Fatalf("Check(%q) = %v, want allowed %v", tt.url, err, tt.want)
			}
			if s.Allows(tt.url, tt.depth) != tt.want {
				t.Errorf("Allows(%q) disagrees with Check", tt.url)
			}
			if err != nil && KindOf(err) != KindOutOfScope && KindOf(err) != KindInvalidURL {
				t.Errorf("Check(%q) kind %q", tt.url, KindOf(err))
			}
		})
	}
}

func TestScopeFilters(t *testing.T) {
	seeds := mustParseURLs(t, "https://example.com/")
	opts := ScopeOptions{
		Mode:     ScopeHost,
		Include:  []*regexp.Regexp{regexp.MustCompile(`/products/`), regexp.MustCompile(`/blog/`)},
		Exclude:  []*regexp.Regexp{regexp.MustCompile(`\?sort=`), regexp.MustCompile(`(?i)\.pdf$`)},
		MaxDepth: 2,
	}
	tests := []struct {
		name, url string
		depth     int
		want      string // "" allowed, else a part of the error
	}{
		{"included", "https://example.com/products/1", 1, ""},
		{"second include", "https://example.com/blog/x", 2, ""},
		{"not included", "https://example.com/about", 1, "no --include"},
		{"excluded wins", "https://example.com/products/?sort=price", 1, `--exclude "\\?sort="`},
		{"exclude sees normal form", "https://example.com/products/A.PDF#p", 1, "--exclude"},
		{"too deep", "https://example.com/products/1", 3, "depth 3 is past the max depth 2"},
		{"out of host first", "https://other.example/products/1", 1, "outside the host scope"},
	}
	s := NewScope(seeds, opts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(tt.url, tt.depth)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check(%q) = %v, want allowed", tt.url, err)
			case tt.want != "" && err == nil:
				t.Fatalf("Check(%q) allowed, want %q", tt.url, tt.want)
			case tt.want != "" && (KindOf(err) != KindOutOfScope || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check(%q) = %v, want out_of_scope with %q", tt.url, err, tt.want)
			}
		})
	}
	if err := NewScope(seeds, ScopeOptions{}).Check("https://example.com/deep", 1000); err != nil {
		t.Errorf("MaxDepth 0 should not limit depth: %v", err)
	}
}

func TestScopeAdmit(t *testing.T) {
	s := NewScope(nil, ScopeOptions{MaxPages: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if s.Admit() {
					mu.Lock()
					got++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if got != 50 || s.Admitted() != 50 {
		t.Errorf("admitted %d (Admitted() = %d), want 50", got, s.Admitted())
	}
	if s.Admit() {
		t.Error("Admit after the limit returned true")
	}
	unlimited := NewScope(nil, ScopeOptions{})
	for range 1000 {
		if !unlimited.Admit() {
			t.Fatal("MaxPages 0 refused a page")
		}
	}
}

// TestScopeReadmit: pages admitted by an interrupted run count against
// MaxPages in the resumed one.
func TestScopeReadmit(t *testing.T) {
	s := NewScope(nil, ScopeOptions{MaxPages: 5})
	s.Readmit(3)
	got := 0
	for range 10 {
		if s.Admit() {
			got++
		}
	}
	if got != 2 {
		t.Fatalf("after Readmit(3), %d pages admitted of --max-pages 5, want 2", got)
	}
}

func TestScopeAllowsSitemap(t *testing.T) {
	seeds := mustParseURLs(t, "https://example.com/docs/intro.html", "http://127.0.0.1:8080/a/")
	tests := []struct {
		mode ScopeMode
		url  string
		want bool
	}{
		{ScopeHost, "https://example.com/sitemap.xml", true},
		{ScopeHost, "https://www.example.com/sitemap.xml", true},
		{ScopeHost, "https://cdn.example.net/sitemap.xml", false},
		{ScopeHost, "http://127.0.0.2:8080/sitemap.xml", false},
		{ScopeHost, "http://127.0.0.1:6379/sitemap.xml", false},
		{ScopePrefix, "https://example.com/sitemap.xml", true}, // the site's root, outside /docs/
		{ScopePrefix, "http://127.0.0.1:8080/sitemap.xml", true},
		{ScopePrefix, "https://example.com:8443/sitemap.xml", false},
		{ScopePrefix, "https://other.example.com/sitemap.xml", false},
		{ScopeDomain, "https://cdn.example.com/sitemap.xml", true},
		{ScopeDomain, "https://example.org/sitemap.xml", false},
		{ScopeAny, "https://example.org/sitemap.xml", true},
	}
	for _, tt := range tests {
		// --include and --exclude judge pages, not sitemap files.
		s := NewScope(seeds, ScopeOptions{Mode: tt.mode, Include: []*regexp.Regexp{regexp.MustCompile(`/docs/`)}})
		if got := s.AllowsSitemap(tt.url); got != tt.want {
			t.Errorf("%v: AllowsSitemap(%s) = %v, want %v", tt.mode, tt.url, got, tt.want)
		}
	}
}

func TestScopeModeNames(t *testing.T) {
	for _, name := range ScopeModeNames() {
		if m, err := ParseScopeMode(name); err != nil || m.String() != name {
			t.Errorf("ScopeModeNames has %q, which parses to %v, %v", name, m, err)
		}
	}
	if n := len(ScopeModeNames()); n != 5 {
		t.Errorf("%d scope modes, want 5", n)
	}
}

// outsideFastSeeds are the seeds the fast refusal is checked against:
// names, www forms, an IP with a port, localhost.
var outsideFastSeeds = []string{"https://example.com/docs/", "http://www.shop.test/", "http://127.0.0.1:8080/a/", "http://localhost/", "http://a-b.c9.example/"}

// TestScopeOutsideFast: the refusal by host without a parse answers for
// plain external links, and never refuses what Check allows.
func TestScopeOutsideFast(t *testing.T) {
	for _, tt := range []struct {
		url  string
		fast bool // refused without a parse
	}{
		{"https://example.org/ext/7/0", true},
		{"http://example.org", true},
		{"https://blog.example.com/?q=1", true},
		{"http://other.test#x", true},
		{"https://example.com/other", false},    // in scope
		{"http://www.example.com/", false},      // in scope (www form)
		{"https://shop.test/", false},           // in scope (www form of the seed)
		{"http://localhost/x", false},           // in scope
		{"http://a-b.c9.example/", false},       // in scope
		{"http://127.0.0.1:8080/z", false},      // a port: parsed
		{"http://127.1/", false},                // a number: parsed
		{"http://0x7f.1/", false},               // a number: parsed
		{"http://example.org:80/", false},       // a port
		{"http://EXAMPLE.org/", false},          // upper case
		{"HTTP://example.org/", false},          // upper case scheme
		{"http://user@example.org/", false},     // user info
		{"http://example.org./", false},         // trailing dot
		{"http://xn--nxasmq6b.example/", false}, // IDNA
		{"http://exa\tmple.org/", false},        // a tab, removed by parsing
		{`http://example.org\@localhost/`, false},
		{"ftp://example.org/", false},
		{"//example.org/", false},
	} {
		for _, mode := range []ScopeMode{ScopeHost, ScopeHostAnyPort, ScopeDomain, ScopePrefix, ScopeAny} {
			s := NewScope(mustParseURLs(t, outsideFastSeeds...), ScopeOptions{Mode: mode})
			want := tt.fast && (mode == ScopeHost || mode == ScopeHostAnyPort)
			if got := s.outsideFast(tt.url); got != want {
				t.Errorf("%v: outsideFast(%q) = %v, want %v", mode, tt.url, got, want)
			}
			if s.refuses(tt.url, 1) != (s.Check(tt.url, 1) != nil) {
				t.Errorf("%v: refuses(%q) = %v, Check: %v", mode, tt.url, s.refuses(tt.url, 1), s.Check(tt.url, 1))
			}
		}
	}
}

// FuzzScopeOutsideFast: a URL refused without a parse is refused by
// Check.
func FuzzScopeOutsideFast(f *testing.F) {
	for _, u := range []string{"https://example.org/x", "http://127.1/", "http://www.example.com/", "http://example.org\\@localhost/", "http://localhost./", "http://shop.test"} {
		f.Add(u)
	}
	scopes := []*Scope{
		NewScope(mustParseURLs(f, outsideFastSeeds...), ScopeOptions{Mode: ScopeHost}),
		NewScope(mustParseURLs(f, outsideFastSeeds...), ScopeOptions{Mode: ScopeHostAnyPort}),
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, s := range scopes {
			if s.outsideFast(raw) && s.Check(raw, 1) == nil {
				t.Fatalf("%v: %q refused by its host, allowed by Check", s.opts.Mode, raw)
			}
		}
	})
}
