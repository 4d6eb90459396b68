//go:build unix

package e2e

import (
	"strings"
	"testing"
)

// TestProgressOnlyOnTerminal: with stderr on a pipe, the default
// (--progress auto) draws nothing, however long the run, while
// --progress always draws. Both runs wait at the same site: once the
// always run has redrawn after both were held, the auto run has had
// the time to draw too, had it wanted.
func TestProgressOnlyOnTerminal(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(4), 0)
	always := startTrawl(t, ctx, nil, args("fetch", "--progress", "always", s.URL+"/p/0", s.URL+"/p/1")...)
	auto := startTrawl(t, ctx, nil, args("fetch", s.URL+"/p/2", s.URL+"/p/3")...)
	if err := s.waitHeld(ctx, 2); err != nil {
		t.Fatal(err)
	}
	draws := strings.Count(always.stderr.String(), "\r")
	if err := always.stderr.waitFor(ctx, func(s string) bool { return strings.Count(s, "\r") > draws+1 }); err != nil {
		t.Fatalf("--progress always drew nothing: %v", err)
	}
	s.release()
	if code := always.wait(); code != 0 {
		t.Errorf("--progress always: exit code %d, want 0; stderr:\n%s", code, always.stderr)
	}
	if code := auto.wait(); code != 0 {
		t.Errorf("--progress auto: exit code %d, want 0; stderr:\n%s", code, auto.stderr)
	}
	if !strings.Contains(always.stderr.String(), "trawl:") {
		t.Errorf("--progress always: no progress on stderr:\n%q", always.stderr)
	}
	stderr := auto.stderr.String()
	if strings.ContainsAny(stderr, "\r\x1b█") || strings.Contains(stderr, "errors (") {
		t.Errorf("progress drawn on a stderr that is not a terminal:\n%q", stderr)
	}
	if !strings.HasPrefix(stderr, "trawl: 2 URLs in ") {
		t.Errorf("stderr of the auto run holds more than the summary:\n%q", stderr)
	}
	for _, p := range []*proc{always, auto} {
		if recs := parseJSONL(t, p.stdout.String()); len(recs) != 2 {
			t.Errorf("%d records, want 2:\n%s", len(recs), p.stdout)
		}
	}
}
