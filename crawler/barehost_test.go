package crawler

import (
	"strings"
	"testing"
)

func TestNormalizeInput(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bare     bool
		err      string // in the message, when an error is expected
	}{
		{in: "https://example.com/a", want: "https://example.com/a"},
		{in: "http:/example.com/", want: "http://example.com/"},
		{in: "example.com", want: "https://example.com/", bare: true},
		{in: "Example.COM/path?q=1", want: "https://example.com/path?q=1", bare: true},
		{in: "127.0.0.1:8080/x", want: "https://127.0.0.1:8080/x", bare: true},
		{in: "localhost:8901", want: "https://localhost:8901/", bare: true},
		{in: "[::1]:8080/", want: "https://[::1]:8080/", bare: true},
		{in: "www.example.com:443/", want: "https://www.example.com/", bare: true},
		{in: "foo", err: "no scheme; did you mean https://foo?"},
		{in: "3.5", err: "no scheme; did you mean https://3.5?"},
		{in: "/just/a/path", err: "no scheme and no host"},
		{in: "hello world", err: "no scheme and no host"},
		{in: "htp://example.com/x", err: `unsupported scheme "htp"; did you mean https://example.com/x?`},
		{in: "httpss://example.com/", err: `unsupported scheme "httpss"; did you mean https://example.com/?`},
		{in: "ftp://example.com/", err: `unsupported scheme "ftp" (want http or https)`},
		{in: "mailto:someone@example.com", err: `unsupported scheme "mailto"`},
		{in: "javascript:alert(1)", err: `unsupported scheme "javascript"`},
		{in: "user:pw@example.com", err: `unsupported scheme "user"`},
	} {
		got, bare, err := NormalizeInput(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || KindOf(err) != KindInvalidURL {
				t.Errorf("NormalizeInput(%q) = %q, %v; want an invalid_url error with %q", tc.in, got, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "first path segment") {
				t.Errorf("NormalizeInput(%q): Go's parser message: %v", tc.in, err)
			}
		case err != nil || got != tc.want || bare != tc.bare:
			t.Errorf("NormalizeInput(%q) = %q, %v, %v; want %q, %v", tc.in, got, bare, err, tc.want, tc.bare)
		}
	}
}

func TestIsBareHostArgument(t *testing.T) {
	for a, want := range map[string]bool{
		"example.com":         true,
		"example.com/urls":    true,
		"127.0.0.1:8080":      true,
		"urls.txt":            false, // a misspelt file, most likely
		"export.CSV":          false,
		"list.txt/":           true, // a path: a host
		"no-dot":              false,
		"https://example.com": false, // a URL, not a bare host
	} {
		if got := isBareHostArgument(a); got != want {
			t.Errorf("isBareHostArgument(%q) = %v, want %v", a, got, want)
		}
	}
}

func TestCleanInputLine(t *testing.T) {
	for in, want := range map[string]string{
		"  https://a.test/  ":      "https://a.test/",
		`"https://a.test/"`:        "https://a.test/",
		`'https://a.test/'`:        "https://a.test/",
		` " https://a.test/ " `:    "https://a.test/",
		"https://a.test/ # first":  "https://a.test/",
		"https://a.test/\t# first": "https://a.test/",
		"https://a.test/#frag":     "https://a.test/#frag",
		"https://a.test/a b # c":   "https://a.test/a b",
		"# a comment":              "",
		`""`:                       "",
		`"https://a.test/`:         `"https://a.test/`,
	} {
		if got := cleanInputLine(in); got != want {
			t.Errorf("cleanInputLine(%q) = %q, want %q", in, got, want)
		}
	}
}
