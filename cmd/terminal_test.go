package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/trawl-dev/trawl/crawler"
)

func TestTerminalSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain https://example.com/ 200", "plain https://example.com/ 200"},
		{"caf\u00e9 \u2013 \U0001F600", "caf\u00e9 \u2013 \U0001F600"},
		{"\x1b]0;owned\x07title", `\x1b]0;owned\x07title`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"line\nforged: ok\r\tx", `line\nforged: ok\r\tx`},
		{"nul\x00 del\x7f", `nul\x00 del\x7f`},
		{"c1 \u009b31m \u0085", `c1 \u009b31m \u0085`},
		{"8-bit csi \x9b31m \xff", `8-bit csi \x9b31m \xff`},
		{"bidi \u202eesrever\u202c \u2066x\u2069 \u200f", `bidi \u202eesrever\u202c \u2066x\u2069 \u200f`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := terminalSafe(tt.in); got != tt.want {
			t.Errorf("terminalSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := terminalSafeLines("a\x1b\nb\n"), "a\\x1b\nb\n"; got != want {
		t.Errorf("terminalSafeLines = %q, want %q", got, want)
	}
}

// hostile is text from a page, a server or a certificate: a window title
// change, a screen clear and a forged line.
const hostile = "evil\x1b]0;pwned\x07\x1b[2J\nfake: line\u009b1m\xff"

// wantSafe fails the test when out holds a raw control character (other
// than the line breaks between lines) or invalid UTF-8, or lost the
// escaped form of hostile.
func wantSafe(t *testing.T, what, out string) {
	t.Helper()
	body := strings.TrimSuffix(out, "\n")
	if !utf8.ValidString(out) || strings.ContainsFunc(body, func(r rune) bool {
		return r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f
	}) {
		t.Errorf("%s: raw control characters reach the terminal: %q", what, out)
	}
	if !strings.Contains(out, terminalSafe(hostile)) {
		t.Errorf("%s: %q does not show %q", what, out, terminalSafe(hostile))
	}
}

func TestWarningsAreTerminalSafe(t *testing.T) {
	io, _, _, errOut := TestIO()
	o := &RunOptions{IO: io}
	o.warnf("trawl: %s", "sitemap "+hostile+" skipped")
	wantSafe(t, "warning", errOut.String())
	if n := strings.Count(errOut.String(), "\n"); n != 1 {
		t.Errorf("warning takes %d lines, want 1: %q", n, errOut.String())
	}
}

func TestSummaryIsTerminalSafe(t *testing.T) {
	io, _, _, errOut := TestIO()
	printSummary(io.ErrOut, crawler.Summary{Done: 1, Failed: 1, ByKind: map[crawler.Kind]int{crawler.Kind(hostile): 1}}, "", false)
	wantSafe(t, "summary", errOut.String())
}

func TestErrorsAreTerminalSafe(t *testing.T) {
	for name, err := range map[string]error{
		"exit error":  &ExitError{Code: ExitUsage, Err: errors.New("tls: certificate is valid for " + hostile)},
		"other error": errors.New("open " + hostile + ": no such file"),
	} {
		io, _, _, errOut := TestIO()
		root := &cobra.Command{Use: "trawl", SilenceErrors: true, SilenceUsage: true,
			RunE: func(*cobra.Command, []string) error { return err }}
		root.SetOut(io.Out)
		root.SetErr(io.ErrOut)
		run(context.Background(), io, root, nil)
		wantSafe(t, name, errOut.String())
	}
}
