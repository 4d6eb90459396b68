//go:build unix

package e2e

import (
	"strings"
	"testing"
)

// Issue 12, item 9: seeds with missing or backslashed slashes are read as
// browsers read them, as arguments and in files.
func TestFetchSeedsMissingSlashes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, numberedPages(3), -1)
	host := strings.TrimPrefix(s.URL, "http://")
	file := urlFile(t, []string{"http:" + host + "/p/1", `HTTP:\\` + host + `\p\2`})
	res := runTrawl(t, ctx, nil, args("fetch", "http:/"+host+"/p/0", file)...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	got := byURL(t, parseJSONL(t, res.stdout))
	for _, u := range s.urls(numberedPaths(3)...) {
		if r, ok := got[u]; !ok || r.Status != 200 || r.Error != nil {
			t.Errorf("record for %s: %+v (found %v); want status 200", u, r, ok)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d records, want 3: %v", len(got), got)
	}
}
