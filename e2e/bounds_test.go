//go:build unix

package e2e

import (
	"fmt"
	"testing"
)

// --scope host keeps to the seed's port: a link to another port of the
// same host (a local Redis, an admin port) is not followed. --scope
// host-any-port follows it.
func TestCrawlScopeHostKeepsPort(t *testing.T) {
	other := newSite(t, map[string]page{"/admin": htmlPage("Admin", "<p>secret</p>")}, -1)
	home := newSite(t, map[string]page{
		"/":    htmlPage("Home", fmt.Sprintf(`<a href="/p/1">one</a> <a href="%s/admin">admin</a>`, other.URL)),
		"/p/1": htmlPage("One", "<p>no links</p>"),
	}, -1)
	for _, tt := range []struct {
		scope     string
		wantAdmin int
	}{{"host", 0}, {"host-any-port", 1}} {
		t.Run(tt.scope, func(t *testing.T) {
			before := other.hitsOf("/admin")
			res := runTrawl(t, testContext(t), nil, "crawl", "-q", "--scope", tt.scope, home.URL+"/")
			if res.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
			}
			recs := byURL(t, parseJSONL(t, res.stdout))
			if _, ok := recs[home.URL+"/p/1"]; !ok {
				t.Errorf("the link on the seed's port was not followed: %v", recs)
			}
			_, fetched := recs[other.URL+"/admin"]
			if got := other.hitsOf("/admin") - before; got != tt.wantAdmin || fetched != (tt.wantAdmin == 1) {
				t.Errorf("--scope %s: the other port was requested %d times (in output: %v), want %d", tt.scope, got, fetched, tt.wantAdmin)
			}
		})
	}
}
