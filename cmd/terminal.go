package cmd

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// terminalSafe returns s fit to be printed on a terminal: every control
// character (C0 with tab, newline and carriage return among them, DEL,
// C1, and the bidirectional formatting characters) is written as a
// visible escape (\n, \t, \r, \x1b, \u009b, \u202e) and each
// byte that is not valid UTF-8 as \xNN, so that nothing from a page, a
// server, a certificate or an input file can move the cursor, retitle
// the window, forge a line or reach the terminal as an 8-bit CSI.
//
// It is the one gate for human-facing output: warnings, errors, the
// summary, the progress line and `trawl stats` pass what they print
// through it. Text without such characters is returned as it is.
func terminalSafe(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isBidiControl reports whether r is a bidirectional formatting
// character (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069): a
// hostile title could use one to show a warning's words in another order.
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// terminalSafeLines is [terminalSafe] for text of several lines: each line
// is made safe, and the line breaks between them are kept.
func terminalSafeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = terminalSafe(l)
	}
	return strings.Join(lines, "\n")
}
