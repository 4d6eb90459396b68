package report

import (
	"errors"
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

// TestTornLastLine: a last line cut short (no newline, not whole JSON: a
// crawl still being written, or killed mid-record) is left out with a
// note, the records before it counted; a bad line anywhere else, or a
// whole JSON line without its url, is still an error.
func TestTornLastLine(t *testing.T) {
	b := NewBuilder(Options{})
	in := "{\"url\":\"https://s.test/\",\"status\":200}\n{\"url\":\"https://s.test/a\",\"status\":200}\n{\"url\":\"https://s.test/b\",\"sta"
	if err := b.Read(t.Context(), "site.jsonl", strings.NewReader(in)); err != nil {
		t.Fatalf("Read: %v", err)
	}
	rep := b.Report()
	if rep.Coverage.Records != 2 {
		t.Errorf("%d records, want 2", rep.Coverage.Records)
	}
	found := false
	for _, n := range rep.Notes {
		found = found || strings.Contains(n, "site.jsonl line 3 left out")
	}
	if !found {
		t.Errorf("notes %q, want one on line 3", rep.Notes)
	}
	for _, bad := range []string{
		"{\"url\":\"https://s.test/\",\"sta\n{\"url\":\"https://s.test/a\"}\n", // cut, but not last
		"{\"url\":\"https://s.test/\"}\n{\"url\":\"https://s.test/b\",\"sta\n", // last, but ends its line
		"{\"url\":\"https://s.test/\"}\n{\"status\":200}",                      // whole JSON without url
	} {
		if err := NewBuilder(Options{}).Read(t.Context(), "site.jsonl", strings.NewReader(bad)); !errors.Is(err, ErrBadRecord) {
			t.Errorf("Read(%q): %v, want ErrBadRecord", bad, err)
		}
	}
}
