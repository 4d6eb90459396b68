//go:build unix

package e2e

import (
	"strings"
	"testing"
)

// contentArticle is an article page with navigation, a relative link and
// a footer.
const contentArticle = `<nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<article><h2>Night trains</h2>
<p>The night train from the capital leaves at ten and arrives at seven, in time for breakfast by the harbour. Sleeping cars have two or four berths, and the dining car serves soup until midnight.</p>
<p>Tickets go on sale ninety days ahead; see the <a href="fares/2026">fare_table</a> for prices. The train runs every day except on the twenty-fourth of December, when the crews have the night off.</p>
<p>Bicycles travel in the luggage van if they are booked in advance, at a flat fee per journey, and pets ride free in a basket.</p>
</article>
<footer>Railway Company, all rights reserved</footer>`

// TestContentFields: --fields url,markdown,text,extract gives the main
// content as Markdown (links absolute, navigation and footer left out)
// and as text, with how it was chosen; the default record has none of it.
func TestContentFields(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{"/trains/night": htmlPage("Night trains", contentArticle)}, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--fields", "url,markdown,text,extract,word_count", s.URL+"/trains/night")...)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	recs := rawRecords(t, res.stdout)
	if len(recs) != 1 {
		t.Fatalf("%d records:\n%s", len(recs), res.stdout)
	}
	r := recs[0]
	md, _ := r["markdown"].(string)
	for _, want := range []string{"see the [fare_table] for", "\n[fare_table]: " + s.URL + "/trains/fares/2026", "twenty-fourth of December"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "About us") || strings.Contains(md, "all rights reserved") {
		t.Errorf("markdown keeps navigation or footer:\n%s", md)
	}
	text, _ := r["text"].(string)
	if !strings.Contains(text, "fare_table for prices") || !strings.Contains(text, "midnight.\n\nTickets") {
		t.Errorf("text:\n%s", text)
	}
	ex, _ := r["extract"].(map[string]any)
	if ex["method"] != "readability" || ex["coverage"] == nil {
		t.Errorf("extract = %v", r["extract"])
	}
	if wc, _ := r["word_count"].(float64); wc < 50 {
		t.Errorf("word_count = %v", r["word_count"])
	}
	if len(r) != 5 {
		t.Errorf("record has %d fields, want the 5 asked for: %v", len(r), r)
	}

	// CSV: the content columns, the markdown in one cell.
	res = runTrawl(t, ctx, nil, args("fetch", "--format", "csv", "--fields", "url,extract,markdown", s.URL+"/trains/night")...)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "url,extract,markdown\n") || !strings.Contains(res.stdout, `{""method"":""readability""`) || !strings.Contains(res.stdout, "midnight.\n\nTickets") {
		t.Errorf("csv: exit %d:\n%s", res.code, res.stdout)
	}

	// Without the content fields, the record has none of them.
	res = runTrawl(t, ctx, nil, args("fetch", s.URL+"/trains/night")...)
	for _, f := range []string{`"markdown"`, `"text"`, `"extract"`} {
		if strings.Contains(res.stdout, f) {
			t.Errorf("default record has %s:\n%s", f, res.stdout)
		}
	}
}

// TestContentSelectorFlags: --content-selector makes the main content
// the matches (method "selector"), --exclude-selector removes elements;
// either without a content field, or a bad selector, is a usage error.
func TestContentSelectorFlags(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSite(t, map[string]page{"/n": htmlPage("Night trains", contentArticle)}, -1)
	res := runTrawl(t, ctx, nil, args("fetch", "--fields", "markdown,extract", "--content-selector", "nav, footer", "--exclude-selector", "a[href='/']", s.URL+"/n")...)
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	r := rawRecords(t, res.stdout)[0]
	md, _ := r["markdown"].(string)
	if !strings.Contains(md, "About us") || !strings.Contains(md, "all rights reserved") || strings.Contains(md, "Home") || strings.Contains(md, "Night trains") {
		t.Errorf("selector markdown:\n%s", md)
	}
	if ex, _ := r["extract"].(map[string]any); ex["method"] != "selector" {
		t.Errorf("extract = %v", r["extract"])
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--content-selector", "article"}, "--content-selector"},
		{[]string{"--fields", "url,markdown", "--exclude-selector", "div["}, `--exclude-selector: invalid CSS selector "div["`},
	} {
		res := runTrawl(t, ctx, nil, args("fetch", append(tc.args, s.URL+"/n")...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}
