package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// build reads the fixtures named into a report: name.old.jsonl, when it
// exists, is the older crawl to compare with.
func build(t *testing.T, names ...string) *Report {
	t.Helper()
	b := NewBuilder(Options{TopN: 3, MaxGroupURLs: 2})
	for _, name := range names {
		old := filepath.Join("testdata", name+".old.jsonl")
		if f, err := os.Open(old); err == nil {
			if err := b.ReadOld(t.Context(), old, f); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	for _, name := range names {
		path := filepath.Join("testdata", name+".jsonl")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Read(t.Context(), path, f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return b.Report()
}

// TestGolden runs the checks over each fixture and compares the JSON
// report with testdata/NAME.golden.json (go test -update rewrites them;
// review the diff). Each fixture plants the problems of a group of
// checks; the golden says which findings come out.
func TestGolden(t *testing.T) {
	for _, name := range []string{"broken", "redirects", "content", "canonical", "coverage", "orphan", "clean", "list", "compare", "h1"} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, build(t, name)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("report of %s differs from %s (go test ./report -run TestGolden -update, then review):\n%s", name, golden, buf.String())
			}
		})
	}
}

// findingIDs returns the check IDs found and their counts.
func findingIDs(r *Report) map[string]int {
	m := map[string]int{}
	for _, f := range r.Findings {
		m[f.ID] = f.Count
	}
	return m
}

// TestChecksFound states what each fixture must find, independently of
// the goldens, so that a golden updated by mistake does not hide a check
// that stopped working.
func TestChecksFound(t *testing.T) {
	for name, want := range map[string]map[string]int{
		"broken":    {"broken-4xx": 2, "broken-5xx": 1, "broken-network": 1},
		"redirects": {"redirect-chain": 1, "redirect-loop": 1, "redirect-to-error": 1},
		"content": {"title-missing": 1, "title-duplicate": 1, "title-too-long": 1, "description-missing": 1,
			"description-duplicate": 1, "description-too-long": 1, "h1-missing": 1, "duplicate-content": 1},
		"canonical": {"broken-5xx": 1, "canonical-to-redirect": 1, "canonical-to-error": 1, "canonical-other-host": 1, "canonical-to-noindex": 1, "noindex": 1},
		"coverage":  {},
		"orphan":    {"orphan": 1},
		"clean":     {},
		"list":      {"broken-4xx": 1},
		"h1":        {"h1-multiple": 2}, // the redirect's record is its target's page
	} {
		got := findingIDs(build(t, name))
		if len(got) != len(want) {
			t.Errorf("%s: found %v, want %v", name, got, want)
			continue
		}
		for id, n := range want {
			if got[id] != n {
				t.Errorf("%s: found %v, want %v", name, got, want)
				break
			}
		}
	}
}

// TestH1Multiple: a page's h1-multiple item has its h1 count and first
// h1; the coverage note on multiple h1 stays only while no record has
// h1_count, which trawl writes for two or more h1 only.
func TestH1Multiple(t *testing.T) {
	rep := build(t, "h1")
	var items []Item
	for _, f := range rep.Findings {
		if f.ID == "h1-multiple" {
			items = f.Items
		}
	}
	if len(items) != 2 || items[0].URL != "https://h.test/one" || items[0].H1Count != 5 || items[0].Value != "First of five" ||
		items[1].URL != "https://h.test/two" || items[1].H1Count != 2 {
		t.Errorf("h1-multiple items = %+v", items)
	}
	note := func(r *Report) bool {
		return slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "multiple h1") })
	}
	if note(rep) {
		t.Errorf("records with h1_count still have the note: %q", rep.Notes)
	}
	if clean := build(t, "clean"); !note(clean) {
		t.Errorf("records without h1_count lack the note: %q", clean.Notes)
	}
}

// TestBrokenReferrersAndLinkCounts: a broken URL lists the page that
// found it and the number of crawled pages that link to it.
func TestBrokenReferrersAndLinkCounts(t *testing.T) {
	r := build(t, "broken")
	for _, f := range r.Findings {
		for _, it := range f.Items {
			if it.URL == "https://s.test/missing" && (it.Referrer != "https://s.test/" || it.LinkedFrom != 2) {
				t.Errorf("missing: referrer %q linked from %d, want https://s.test/ and 2", it.Referrer, it.LinkedFrom)
			}
		}
	}
}

// TestCoverageTruncated: a crawl that left same-host links unfetched,
// was cancelled and hit robots.txt says so, and makes no orphan claim.
func TestCoverageTruncated(t *testing.T) {
	c := build(t, "coverage").Coverage
	if !c.Truncated || !c.Incomplete || c.NotCrawled != 2 || c.RobotsBlocked != 1 || c.Cancelled != 1 ||
		c.LinksTruncated != 1 || c.Duplicates != 1 || c.Invalid != 1 || c.Mode != "crawl" || c.OffHost != 1 {
		t.Errorf("coverage %+v", c)
	}
	if got := findingIDs(build(t, "coverage"))["orphan"]; got != 0 {
		t.Errorf("%d orphans claimed for a truncated crawl", got)
	}
}

// TestCompare: pages added, removed, status and title changed.
func TestCompare(t *testing.T) {
	c := build(t, "compare").Compare
	if c == nil || c.Added.Count != 1 || c.Removed.Count != 1 || c.StatusChanged.Count != 1 || c.StatusChanged.Items[0].URL != "https://s.test/b" || c.TitleChanged.Count != 1 {
		t.Fatalf("compare %+v", c)
	}
	if c.Added.Items[0].URL != "https://s.test/c" || c.Removed.Items[0].URL != "https://s.test/d" || c.TitleChanged.Items[0].URL != "https://s.test/a" {
		t.Errorf("compare %+v", c)
	}
}

// TestItemIDsStable: an item's ID depends on the check and the URL only.
func TestItemIDsStable(t *testing.T) {
	if a, b := itemID("broken-4xx", "https://s.test/x"), itemID("broken-4xx", "https://s.test/x"); a != b || !strings.HasPrefix(a, "broken-4xx-") {
		t.Fatalf("IDs %q %q", a, b)
	}
	if itemID("broken-4xx", "https://s.test/x") == itemID("broken-4xx", "https://s.test/y") {
		t.Fatal("two URLs share an ID")
	}
}

// TestItemsCapped: past MaxItems the items stop, the count goes on.
func TestItemsCapped(t *testing.T) {
	b := NewBuilder(Options{MaxItems: 2})
	in := ""
	for _, p := range []string{"a", "b", "c", "d"} {
		in += `{"url":"https://s.test/` + p + `","status":404,"links":[],"redirects":[],"depth":0}` + "\n"
	}
	if err := b.Read(t.Context(), "in", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	f := b.Report().Findings[0]
	if f.Count != 4 || len(f.Items) != 2 || !f.Truncated {
		t.Fatalf("finding %+v", f)
	}
}

// TestBadRecord: a line that is not a trawl record is an error naming
// the input and the line.
func TestBadRecord(t *testing.T) {
	for _, in := range []string{"{\"url\":\"https://s.test/\"}\nnot json\n", "{\"url\":\"https://s.test/\"}\n[1]\n", "\n{\"status\":200}\n", "{\"url\":\"https://s.test/\",\"links\":[1]}\n{}"} {
		err := NewBuilder(Options{}).Read(t.Context(), "site.jsonl", strings.NewReader(in))
		if !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), "site.jsonl line ") {
			t.Errorf("Read(%q): %v, want ErrBadRecord naming site.jsonl and the line", in, err)
		}
	}
}

// TestFormats: every format writes the clean site's "no issues", and the
// JUnit is well-formed XML with a failure per check that found something.
func TestFormats(t *testing.T) {
	var md, html bytes.Buffer
	if err := WriteMarkdown(&md, build(t, "clean")); err != nil || !strings.Contains(md.String(), "No issues found") {
		t.Errorf("markdown of a clean site (%v):\n%s", err, md.String())
	}
	if err := WriteHTML(&html, build(t, "clean"), HTMLOptions{}); err != nil || !strings.Contains(html.String(), "No issues found") {
		t.Errorf("html of a clean site: %v", err)
	}
	var x bytes.Buffer
	if err := WriteJUnit(&x, build(t, "broken")); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(x.Bytes(), &suites); err != nil {
		t.Fatalf("junit: %v\n%s", err, x.String())
	}
	s := suites.Suites[0]
	if s.Failures != 3 || s.Tests < 15 {
		t.Errorf("junit: %d failures of %d tests, want 3 of all checks", s.Failures, s.Tests)
	}
	var j map[string]any
	var jb bytes.Buffer
	if err := WriteJSON(&jb, build(t, "broken")); err != nil || json.Unmarshal(jb.Bytes(), &j) != nil {
		t.Fatalf("json: %v", err)
	}
}

// TestHTMLUntrustedValues: values from crawled pages are escaped where
// they land, and a URL becomes a link only when it is http(s).
func TestHTMLUntrustedValues(t *testing.T) {
	in := `{"url":"https://s.test/a","status":200,"content_type":"text/html","title":"<script>alert(1)</script>` + strings.Repeat("x", 60) + `","h1":"h","description":"\"><img src=x onerror=alert(2)>","links":[],"redirects":[],"depth":0}
{"url":"javascript:alert(3)","status":404,"links":[],"redirects":[],"depth":0}
`
	b := NewBuilder(Options{})
	if err := b.Read(t.Context(), "in", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteHTML(&out, b.Report(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, bad := range []string{"<script>alert", "<img", `href="javascript:`} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d <script> tags, want 1", n)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "<td>javascript:alert(3)</td>", `<a href="https://s.test/a"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestHTMLLongURLShortened: a URL is shown cut to 200 characters (its
// link keeps it whole).
func TestHTMLLongURLShortened(t *testing.T) {
	long := "https://s.test/" + strings.Repeat("a", 8000)
	b := NewBuilder(Options{})
	if err := b.Read(t.Context(), "in", strings.NewReader(`{"url":"`+long+`","status":404,"links":[],"redirects":[],"depth":0}`+"\n")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteHTML(&out, b.Report(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), ">"+long+"<") {
		t.Errorf("the long URL is shown whole")
	}
	if !strings.Contains(out.String(), ">"+long[:199]+"…</a>") {
		t.Error("the link text is not the URL cut to 200 characters")
	}
}

// TestEmptyInput: no records is said as such, not as a clean site.
func TestEmptyInput(t *testing.T) {
	b := NewBuilder(Options{})
	if err := b.Read(t.Context(), "empty", strings.NewReader("\n")); err != nil {
		t.Fatal(err)
	}
	rep := b.Report()
	var html, md bytes.Buffer
	if err := WriteHTML(&html, rep, HTMLOptions{}); err != nil || !strings.Contains(html.String(), "No records.") || strings.Contains(html.String(), "No issues found") {
		t.Errorf("html of no records (%v)", err)
	}
	if err := WriteMarkdown(&md, rep); err != nil || !strings.Contains(md.String(), "No records") {
		t.Errorf("markdown of no records (%v):\n%s", err, md.String())
	}
}
