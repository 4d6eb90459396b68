//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/structured"
)

// plantedPage is a page of the planted site: HTML with a title, a
// description (when not empty), an h1 and links.
func plantedPage(title, desc string, links ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html><html><head><title>%s</title>", title)
	if desc != "" {
		fmt.Fprintf(&b, `<meta name="description" content="%s">`, desc)
	}
	fmt.Fprintf(&b, "</head><body><h1>%s</h1>", title)
	for _, l := range links {
		fmt.Fprintf(&b, `<a href="%s">%s</a> `, l, l)
	}
	return b.String() + "</body></html>"
}

// plantedSite serves a site with known problems: two 404s (one linked
// from two pages), a redirect chain of two hops, a redirect loop, two
// pages with the same title, a page without a description, a page with
// two h1 and a slow page. Everything else is clean. extra adds pages (path → HTML) that
// the home page links to.
func plantedSite(t *testing.T, extra map[string]string) *httptest.Server {
	t.Helper()
	home := []string{"/a", "/b", "/slow", "/missing", "/chain1", "/loop1", "/headings"}
	for _, p := range slices.Sorted(maps.Keys(extra)) {
		home = append(home, p)
	}
	pages := map[string]string{
		"/":      plantedPage("Home", "The home page", home...),
		"/a":     plantedPage("Same title", "About a", "/missing", "/gone"),
		"/b":     plantedPage("Same title", "", "/a"),
		"/slow":  plantedPage("Slow", "A slow page", "/"),
		"/final": plantedPage("Final", "The end of the chain", "/"),
		// Two h1, and one in a script and one in a comment that are not.
		"/headings": strings.Replace(plantedPage("Headings", "A page with two h1", "/"), "</body>",
			`<script>document.write("<h1>no</h1>")</script><!-- <h1>no</h1> --><div><h1>Second</h1></div></body>`, 1),
	}
	for p, h := range extra {
		pages[p] = h
	}
	redirects := map[string]string{"/chain1": "/chain2", "/chain2": "/final", "/loop1": "/loop2", "/loop2": "/loop1"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to, ok := redirects[r.URL.Path]; ok {
			http.Redirect(w, r, to, http.StatusMovedPermanently)
			return
		}
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/slow" && !serverLatency(r, time.Second) { // slower than any page under load
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// reportJSON is the part of the JSON report the tests read.
type reportJSON struct {
	Coverage struct {
		Mode      string `json:"mode"`
		Records   int    `json:"records"`
		Truncated bool   `json:"truncated"`
	} `json:"coverage"`
	Findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Count    int    `json:"count"`
		Items    []struct {
			URL        string   `json:"url"`
			Status     int      `json:"status"`
			Referrer   string   `json:"referrer"`
			LinkedFrom int      `json:"linked_from"`
			Chain      []string `json:"chain"`
			Value      string   `json:"value"`
			URLs       []string `json:"urls"`
			H1Count    int      `json:"h1_count"`
		} `json:"items"`
	} `json:"findings"`
	Slowest []struct {
		URL string `json:"url"`
	} `json:"slowest"`
}

// crawlPlanted crawls srv into a file and returns its path.
func crawlPlanted(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "site.jsonl")
	res := runTrawl(t, testContext(t), nil, args("crawl", "-q", "-o", out, srv.URL+"/")...)
	if res.code != 0 {
		t.Fatalf("crawl: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	return out
}

// TestReportFindsPlantedProblems: trawl crawl of a site with planted
// problems, then trawl report --format json finds exactly those, with
// the referrers and link counts of the broken links and every hop of
// the chain, and the slow page first among the slowest.
func TestReportFindsPlantedProblems(t *testing.T) {
	t.Parallel()
	srv := plantedSite(t, nil)
	site := crawlPlanted(t, srv)
	res := runTrawl(t, testContext(t), nil, "report", "--format", "json", site)
	if res.code != 0 {
		t.Fatalf("report: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	var rep reportJSON
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, res.stdout)
	}
	u := func(p string) string { return srv.URL + p }
	got := map[string][]string{}
	for _, f := range rep.Findings {
		for _, it := range f.Items {
			got[f.ID] = append(got[f.ID], strings.TrimPrefix(it.URL, srv.URL))
		}
		switch f.ID {
		case "broken-4xx":
			for _, it := range f.Items {
				// The referrer is the page the URL was first found on: /missing
				// is linked from / and from /a, and / queues its links one by
				// one while /a (queued first) may be fetched and queue its own.
				referrers := map[string][]string{u("/missing"): {u("/"), u("/a")}, u("/gone"): {u("/a")}}[it.URL]
				linked := map[string]int{u("/missing"): 2, u("/gone"): 1}[it.URL]
				if it.Status != 404 || !slices.Contains(referrers, it.Referrer) || it.LinkedFrom != linked {
					t.Errorf("broken %s: status %d, referrer %q, linked from %d; want 404, one of %v, %d", it.URL, it.Status, it.Referrer, it.LinkedFrom, referrers, linked)
				}
			}
		case "redirect-chain":
			if c := f.Items[0].Chain; !slices.Equal(c, []string{u("/chain1"), u("/chain2"), u("/final")}) {
				t.Errorf("chain %v", c)
			}
		case "h1-multiple":
			if it := f.Items[0]; it.H1Count != 2 || it.Value != "Headings" {
				t.Errorf("multiple h1: %d, first %q; want 2, %q", it.H1Count, it.Value, "Headings")
			}
		case "title-duplicate":
			if it := f.Items[0]; it.Value != "Same title" || !slices.Equal(it.URLs, []string{u("/a"), u("/b")}) {
				t.Errorf("duplicate titles %q on %v", it.Value, it.URLs)
			}
		}
	}
	want := map[string][]string{
		"broken-4xx":          {"/missing", "/gone"},
		"redirect-chain":      {"/chain1"},
		"redirect-loop":       {"/loop1"},
		"title-duplicate":     {"/a"},
		"description-missing": {"/b"},
		"h1-multiple":         {"/headings"},
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	for id, urls := range want {
		if !slices.Equal(got[id], urls) {
			t.Errorf("%s: %v, want %v", id, got[id], urls)
		}
	}
	if len(rep.Slowest) == 0 || rep.Slowest[0].URL != u("/slow") {
		t.Errorf("slowest %v, want /slow first", rep.Slowest)
	}
	if rep.Coverage.Mode != "crawl" || rep.Coverage.Truncated {
		t.Errorf("coverage %+v", rep.Coverage)
	}
}

// TestReportFailOn: --fail-on exits 1 when a finding of that severity or
// worse exists and 0 otherwise, having written the report either way;
// a crawl output that is not one is a usage error naming the line.
func TestReportFailOn(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	planted := crawlPlanted(t, plantedSite(t, nil))
	empty := writeFile(t, "empty.jsonl", "")
	clean := writeFile(t, "clean.jsonl", `{"url":"https://s.test/","status":200,"content_type":"text/html","title":"Home","description":"d","h1":"Home","links":[],"redirects":[],"depth":0}`+"\n")
	for _, tc := range []struct {
		file, failOn string
		code         int
	}{
		{planted, "critical", 1}, // the loop
		{planted, "high", 1},
		{planted, "low", 1},
		{clean, "low", 0},
		{clean, "critical", 0},
		{empty, "low", 1}, // nothing checked does not pass the gate
	} {
		out := filepath.Join(dir, "report.xml")
		os.Remove(out)
		res := runTrawl(t, ctx, nil, "report", "--format", "junit", "--fail-on", tc.failOn, "-o", out, tc.file)
		if res.code != tc.code {
			t.Errorf("--fail-on %s on %s: exit code %d, want %d; stderr:\n%s", tc.failOn, filepath.Base(tc.file), res.code, tc.code, res.stderr)
		}
		if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "<testsuites>") {
			t.Errorf("--fail-on %s on %s: junit report not written (%v)", tc.failOn, filepath.Base(tc.file), err)
		}
	}
	bad := writeFile(t, "bad.jsonl", `{"url":"https://s.test/","status":200}`+"\nthis is not a record\n")
	for _, a := range [][]string{
		{"report", "-o", filepath.Join(dir, "r.html"), bad},
		{"report", "--format", "pdf", clean},
		{"report", "--fail-on", "medium", clean},
		{"report", "--fail-on", "", clean}, // an empty gate is not no gate
		{"report", filepath.Join(dir, "absent.jsonl")},
		{"report"},
	} {
		res := runTrawl(t, ctx, nil, a...)
		if res.code != 2 || res.stdout != "" {
			t.Errorf("trawl %v: exit code %d, stdout %q; want 2 and nothing", a, res.code, res.stdout)
		}
	}
	if res := runTrawl(t, ctx, nil, "report", "-o", filepath.Join(dir, "r.html"), bad); !strings.Contains(res.stderr, "bad.jsonl line 2") {
		t.Errorf("stderr %q does not name bad.jsonl line 2", res.stderr)
	}

	// A missing file is found before any input is read: here standard
	// input never ends, so reading it first would never get to the name.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	absent := filepath.Join(dir, "absent.jsonl")
	res := runTrawl(t, qctx, r, "report", "--format", "json", "--compare", clean, "-", absent)
	if res.code != 2 || !strings.Contains(res.stderr, "absent.jsonl") {
		t.Errorf("report - absent.jsonl with standard input open: exit code %d, stderr %q; want 2 naming absent.jsonl", res.code, res.stderr)
	}
	// A file given twice (as old and new) is read from its start both times.
	res = runTrawl(t, ctx, nil, "report", "--format", "json", "--compare", clean, clean)
	var rep struct {
		Coverage struct{ Records int }
		Compare  struct{ Added struct{ Count int } }
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); res.code != 0 || err != nil || rep.Coverage.Records != 1 || rep.Compare.Added.Count != 0 {
		t.Errorf("report --compare clean clean: exit code %d (%v), records %d, added %d; want 1 and 0", res.code, err, rep.Coverage.Records, rep.Compare.Added.Count)
	}
}

// TestReportTerminal: with no -o, the HTML report goes to standard
// output when it is a pipe, and is refused on a terminal with a message
// that says what to do.
func TestReportTerminal(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	clean := writeFile(t, "clean.jsonl", `{"url":"https://s.test/","status":200,"content_type":"text/html","title":"Home","links":[],"redirects":[],"depth":0}`+"\n")
	res := runTrawl(t, ctx, nil, "report", clean)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "<!DOCTYPE html>") {
		t.Errorf("report to a pipe: exit code %d, stdout starts %.40q; stderr:\n%s", res.code, res.stdout, res.stderr)
	}
	onTTY(t, ctx, func(ctx context.Context, tg *structured.TaskGroup) {
		p := startOnTTY(t, ctx, tg, ttyOpts{stdout: true}, "report", clean)
		if code := p.wait(); code != 2 {
			t.Errorf("report to a terminal: exit code %d, want 2", code)
		}
		if out := p.stderr.String(); !strings.Contains(out, "not writing an HTML report to the terminal: give -o report.html") || strings.Contains(out, "<html") {
			t.Errorf("terminal shows:\n%s", out)
		}
	})
}
