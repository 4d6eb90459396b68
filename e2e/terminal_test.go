//go:build unix

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestStderrEscapesControlCharacters: text that trawl did not write
// itself (here the name of an input file) reaches stderr with its control
// characters escaped: it cannot retitle the window, clear the screen or
// forge a line.
func TestStderrEscapesControlCharacters(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "urls\x1b]0;pwned\x07\x1b[2J\nfake: ok.txt")
	res := runTrawl(t, testContext(t), nil, "fetch", name)
	if res.code != 2 {
		t.Errorf("exit code %d, want 2; stderr:\n%q", res.code, res.stderr)
	}
	body := strings.TrimSuffix(res.stderr, "\n")
	if strings.ContainsAny(body, "\x1b\x07\n") {
		t.Errorf("raw control characters on stderr: %q", res.stderr)
	}
	if want := `urls\x1b]0;pwned\x07\x1b[2J\nfake: ok.txt`; !strings.Contains(res.stderr, want) {
		t.Errorf("stderr %q does not show the name escaped as %q", res.stderr, want)
	}
}
