//go:build unix

package e2e

import (
	"strings"
	"testing"
)

// TestVersionFlag: --version and -V print what trawl version prints.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	want := runTrawl(t, ctx, nil, "version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "trawl ") {
		t.Fatalf("trawl version: exit %d, stdout %q", want.code, want.stdout)
	}
	for _, flag := range []string{"--version", "-V"} {
		res := runTrawl(t, ctx, nil, flag)
		if res.code != 0 || res.stdout != want.stdout {
			t.Errorf("trawl %s: exit %d, stdout %q; want 0 and %q (stderr %q)", flag, res.code, res.stdout, want.stdout, res.stderr)
		}
	}
}

// TestDurationsInSeconds: a bare number given to a duration flag is a
// number of seconds: --timeout 5 lets a quick page through (5ns would
// not), and every duration flag takes one.
func TestDurationsInSeconds(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(1), -1)
	res := runTrawl(t, ctx, nil, "fetch", "--timeout", "5", "--max-time", "60", "--grace", "0.5", "--max-retry-after", "30", s.URL+"/p/0")
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	recs := parseJSONL(t, res.stdout)
	if len(recs) != 1 || recs[0].Status != 200 {
		t.Errorf("want one 200 record, got:\n%s", res.stdout)
	}
	bad := runTrawl(t, ctx, nil, "fetch", "--timeout", "NaN", s.URL+"/p/0")
	if bad.code != 2 || !strings.Contains(bad.stderr, "--timeout") {
		t.Errorf("--timeout NaN: exit %d, want 2 naming the flag; stderr:\n%s", bad.code, bad.stderr)
	}
}
