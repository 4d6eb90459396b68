//go:build unix

package e2e

import (
	"fmt"
	"os"
	"testing"
)

// TestStdinStreamed: results of URLs read from a standard input that is
// still open come out at once, and SIGINT ends a run waiting for more
// input with exit 130.
func TestStdinStreamed(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := startTrawl(t, ctx, r, args("fetch", "-")...)
	r.Close()
	for i := range 3 {
		fmt.Fprintf(w, "%s/p/%d\n", s.URL, i)
		if err := p.stdout.waitFor(ctx, lines(i+1)); err != nil {
			t.Fatalf("the result of input line %d did not come while stdin stays open: %v", i+1, err)
		}
	}
	p.signal(os.Interrupt)
	if code := p.wait(); code != 130 {
		t.Errorf("exit code %d, want 130; stderr:\n%s", code, p.stderr)
	}
	if recs := byURL(t, parseJSONL(t, p.stdout.String())); len(recs) != 3 {
		t.Errorf("%d records, want 3", len(recs))
	}
}

// TestStdinMaxTime: --max-time ends a run waiting for more input.
func TestStdinMaxTime(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := startTrawl(t, ctx, r, args("fetch", "--max-time", "300ms", "-")...)
	r.Close()
	fmt.Fprintf(w, "%s/p/0\n", s.URL)
	if code := p.wait(); code != 1 && code != 0 {
		t.Errorf("exit code %d, want 0 or 1; stderr:\n%s", code, p.stderr)
	}
	if recs := parseJSONL(t, p.stdout.String()); len(recs) != 1 {
		t.Errorf("%d records, want 1", len(recs))
	}
}
