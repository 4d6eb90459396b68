package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSinceCSV: a previous output in CSV (*.csv) is a PREV like JSON
// Lines: its validators go out, a 304 carries the columns there are (the
// title, the content hash, a --select field), changes are right; a torn
// last row is ignored. A CSV without a column the index needs is refused
// naming it, as is a CSV without links for a crawl.
func TestSinceCSV(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newSinceSite(t, map[string]sincePage{
		"/etag": {body: `<title>=etag</title><h2>x</h2><h2>y</h2>`, etag: `"e1"`},
		"/lm":   {body: "<title>lm</title><h2>z</h2>", lastModified: lmDate},
		"/edit": {body: "<title>edit</title>", etag: `"x1"`},
		"/gone": {body: "<title>gone</title>", etag: `"g1"`},
	})
	dir := t.TempDir()
	in := urlFile(t, s.urlsOf("/etag", "/lm", "/edit", "/gone"))
	prev := filepath.Join(dir, "prev.csv")
	if res := runTrawl(t, ctx, nil, args("fetch", "-q", "--select", "h2=h2", "-o", prev, in)...); res.code != 0 {
		t.Fatalf("run 1: exit %d: %s", res.code, res.stderr)
	}
	// A torn last row, as a crash leaves it.
	f, err := os.OpenFile(prev, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s.URL + `/torn,,"ti`)
	f.Close()
	s.set("/edit", &sincePage{body: "<title>edit 2</title>", etag: `"x2"`})
	s.set("/gone", nil)

	out := filepath.Join(dir, "out.jsonl")
	res := runTrawl(t, ctx, nil, args("fetch", "-q", "--select", "h2=h2", "--since", prev, "-o", out, in)...)
	if res.code != 0 {
		t.Fatalf("run 2: exit %d: %s", res.code, res.stderr)
	}
	got := readSinceRecords(t, out)
	for path, w := range map[string]struct {
		change string
		status int
		title  string
	}{
		"/etag": {"unchanged", 304, "=etag"}, "/lm": {"unchanged", 304, "lm"},
		"/edit": {"changed", 200, "edit 2"}, "/gone": {"gone", 404, ""},
	} {
		r := got[s.URL+path]
		if r.Change != w.change || r.Status != w.status || r.Title != w.title {
			t.Errorf("%s: change %q status %d title %q, want %q %d %q", path, r.Change, r.Status, r.Title, w.change, w.status, w.title)
		}
		if w.status == 304 && (len(r.ContentHash) != 64 || r.PreviousFetchedAt == "") {
			t.Errorf("%s: a 304 from a CSV PREV carries %+v", path, r)
		}
	}
	if inm, _ := s.lastHeaders("/etag"); inm != `"e1"` {
		t.Errorf("/etag: If-None-Match %q, want the CSV's etag", inm)
	}
	if _, ims := s.lastHeaders("/lm"); ims != lmDate {
		t.Errorf("/lm: If-Modified-Since %q, want the CSV's last_modified", ims)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), `"fields":{"h2":["x","y"]}`) {
		t.Errorf("the --select field is not carried forward from the CSV:\n%s", b)
	}

	// A crawl from a CSV with links walks through the 304s.
	crawlPrev := filepath.Join(dir, "crawl.csv")
	s.set("/", &sincePage{body: `<title>home</title><a href="/etag">e</a>`, etag: `"h"`})
	s.set("/etag", &sincePage{body: `<title>=etag</title><a href="/lm">l</a>`, etag: `"e2"`})
	for n, a := range [][]string{{"-o", crawlPrev, "--fields", "+links"}, {"--since", crawlPrev, "-o", filepath.Join(dir, "crawl.jsonl")}} {
		if res := runTrawl(t, ctx, nil, args("crawl", append(append([]string{"-q"}, a...), s.URL+"/")...)...); res.code != 0 {
			t.Fatalf("crawl %d: exit %d: %s", n+1, res.code, res.stderr)
		}
	}
	crawled := readSinceRecords(t, filepath.Join(dir, "crawl.jsonl"))
	if len(crawled) != 3 || crawled[s.URL+"/lm"].Change != "unchanged" || crawled[s.URL+"/etag"].Status != 304 {
		t.Errorf("re-crawl from a CSV PREV: %v, want /, /etag (304) and /lm, unchanged", crawled)
	}

	// A CSV without status; a crawl from a CSV without links.
	rows, err := csv.NewReader(strings.NewReader("url,fetched_at,title\nhttp://x/,2026-01-01T00:00:00Z,x\n")).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	wf, _ := os.Create(bad)
	csv.NewWriter(wf).WriteAll(rows)
	wf.Close()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no status column", args("fetch", "--since", bad, "-o", filepath.Join(dir, "o1.jsonl"), in), "missing column status"},
		{"crawl without links", args("crawl", "--since", prev, "-o", filepath.Join(dir, "o2.jsonl"), s.URL+"/etag"), "needs the links column"},
	} {
		res := runTrawl(t, ctx, nil, c.args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, res.code, res.stderr, c.want)
		}
	}
}
