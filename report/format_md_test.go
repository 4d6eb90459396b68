package report

import (
	"strings"
	"testing"
)

// TestMDEscapeKeepsCells: no value can end a Markdown table cell or start
// markup, a backslash before a | included (`\|` became `\\|`: a literal
// backslash and a cell separator).
func TestMDEscapeKeepsCells(t *testing.T) {
	for _, v := range []string{`a|b`, `a\|b`, `a\\|b`, "a\n|b", "x`|`y", `\`} {
		got := mdEscape(v)
		// Every | must be preceded by an odd number of backslashes.
		for i := strings.IndexByte(got, '|'); i >= 0; {
			n := 0
			for j := i - 1; j >= 0 && got[j] == '\\'; j-- {
				n++
			}
			if n%2 == 0 {
				t.Errorf("mdEscape(%q) = %q: a | that ends the cell", v, got)
				break
			}
			k := strings.IndexByte(got[i+1:], '|')
			if k < 0 {
				break
			}
			i += 1 + k
		}
	}
}
