//go:build unix

package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestFetchDeepNesting: pages nested 600 levels deep in <svg> or <div>,
// past the HTML parser's limit of 512, give their title and links, with
// and without --select, instead of a decode error.
func TestFetchDeepNesting(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pages := map[string]page{}
	for _, tag := range []string{"svg", "div"} {
		deep := strings.Repeat("<"+tag+">", 600) + `<a href="/deep">deep</a>` + strings.Repeat("</"+tag+">", 600)
		pages["/"+tag] = htmlPage("Deep "+tag, `<p class="x">before</p>`+deep+`<p class="x">after</p><a href="/after">after</a>`)
	}
	s := newSite(t, pages, -1)
	for _, extra := range [][]string{nil, {"--select", "x=p.x"}} {
		res := runTrawl(t, ctx, nil, args("fetch", append(extra, urlFile(t, s.urls("/svg", "/div")))...)...)
		if res.code != 0 {
			t.Fatalf("%q: exit code %d, want 0; stderr:\n%s", extra, res.code, res.stderr)
		}
		recs := parseJSONL(t, res.stdout)
		if len(recs) != 2 {
			t.Fatalf("%q: %d records, want 2", extra, len(recs))
		}
		for _, r := range recs {
			tag := r.URL[strings.LastIndexByte(r.URL, '/')+1:]
			if r.Error != nil || r.Title != "Deep "+tag || !slices.Equal(r.Links, []string{s.URL + "/deep", s.URL + "/after"}) {
				t.Errorf("%q: record %+v", extra, r)
			}
			if extra != nil && !slices.Equal(r.Fields["x"], []string{"before", "after"}) {
				t.Errorf("%q: fields %q, want x = [before after]", extra, r.Fields)
			}
		}
	}
}
